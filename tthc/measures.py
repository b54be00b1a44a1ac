"""What every indicator counts: a numerator and a denominator over fact rows, declared once.

A measure names the facts it counts (dossiers, feedback, procedures, communes), which rows form
its denominator, which of those are good (its numerator), and which column places a row in a
period. The same declaration is evaluated in Python (the reference) and compiled to ClickHouse
SQL (the aggregator and the API), so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, is_dataclass
from dataclasses import fields as dataclass_fields
from dataclasses import replace as dataclass_replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from tthc.calendar import local_date
from tthc.expr import (
    AddSeconds,
    AsOf,
    ClosedSeconds,
    Coalesce,
    Col,
    CountUpTo,
    Element,
    Expr,
    Greatest,
    HasAny,
    If,
    In,
    Least,
    Minus,
    SecondsBetween,
    Var,
    all_of,
    any_of,
    col,
    compile_sql,
    eq,
    gt,
    is_null,
    le,
    lit,
    lt,
    ne,
    not_,
    not_null,
    sql_literal,
    truthy,
)
from tthc.periods import Period


class Subject(StrEnum):
    """The kind of fact row a measure counts; each has its own table."""

    dossier = "dossier"
    feedback = "feedback"
    procedure = "procedure"
    commune = "commune"


CUTOFF = Var("cutoff")  # the instant the period is judged at
CUTOFF_DATE = Var("cutoff_date")  # its calendar day in Vietnam
LEVELS = Var("levels")  # the unit levels present in the subtree


def by_cutoff(column: str | Expr) -> Expr:
    """The thing happened, and by the cutoff."""
    instant = col(column) if isinstance(column, str) else column
    return all_of(not_null(instant), le(instant, CUTOFF))


def as_of_cutoff(times: str, values: str, before: Expr) -> Expr:
    """What a value that changes over time was at the cutoff (`before` its first change)."""
    return Coalesce((AsOf(col(times), col(values), CUTOFF), before))


def on_or_before(column: str, deadline: Expr) -> Expr:
    """Done by its deadline, or not done yet (at the cutoff) and the deadline not yet passed."""
    return any_of(
        all_of(by_cutoff(column), le(col(column), deadline)),
        all_of(not_(by_cutoff(column)), le(CUTOFF, deadline)),
    )


# --- Dossiers ----------------------------------------------------------------------------------

# Received by the cutoff and not refused at intake by then.
COUNTED = all_of(by_cutoff("received_at"), not_(by_cutoff("refused_at")))
COUNTED_WORDS = (
    "dossiers received in the period by the cutoff and not refused at intake by then, "
    "withdrawn ones included"
)

# 2.1, as it stood at the cutoff. The clock runs from receipt to the end of processing, or to
# the cutoff while the dossier is open; the time the applicant had a supplement request (the
# first: a second makes the dossier late) is taken off, from the request to its answer (to the
# clock's end while unanswered), clipped to the clock, unless the answer re-set the due date.
# The due date is the one in force at the cutoff; a dossier with none cannot be late.
SUPPLEMENT_REQUESTS = CountUpTo(col("supplement_requested_at"), CUTOFF)
DUE = AsOf(col("due_changed_at"), col("due_values"), CUTOFF)
_END = If(by_cutoff("ended_at"), col("ended_at"))
CLOCK_END = Coalesce((_END, CUTOFF))
_REQUESTED = Element(col("supplement_requested_at"), 1)
_ANSWERED = Element(col("supplement_answered_at"), 1)
_ANSWERED_BY_CUTOFF = If(by_cutoff(_ANSWERED), _ANSWERED)
_DUE_RESET = all_of(by_cutoff(_ANSWERED), Element(col("supplement_due_reset"), 1))
# the start of a supplement request unanswered at the cutoff: the clock stopped there
PAUSED_SINCE = If(all_of(by_cutoff(_REQUESTED), is_null(_ANSWERED_BY_CUTOFF)), _REQUESTED)
_PAUSE = Coalesce(
    (
        If(
            all_of(by_cutoff(_REQUESTED), not_(_DUE_RESET)),
            Greatest(
                lit(0),
                SecondsBetween(
                    Greatest(_REQUESTED, col("received_at")),
                    Least(Coalesce((_ANSWERED_BY_CUTOFF, CLOCK_END)), CLOCK_END),
                ),
            ),
        ),
        lit(0),
    )
)
_EFFECTIVE_DUE = AddSeconds(DUE, _PAUSE)
DOSSIER_ON_TIME = all_of(
    lt(SUPPLEMENT_REQUESTS, lit(2)),
    any_of(is_null(DUE), le(CLOCK_END, _EFFECTIVE_DUE)),
)
# The rules above in words, for the reference page: each says what DOSSIER_ON_TIME computes.
ON_TIME_RULES = (
    "A dossier is on time when the end of its processing (the first of processed, result "
    "returned, stopped, withdrawn) is no later than its due date; one still open at the cutoff "
    "is judged at the cutoff, and turns late the moment its due date passes, with no new event.",
    "The due date is the one in force at the cutoff: the latest given by then (at receipt, by "
    "a correction, or re-set with a supplement's answer), else the procedure's time limit "
    "from receipt. A dossier with neither cannot be late.",
    "A second supplement request made by the cutoff makes the dossier late.",
    "The time the applicant has a supplement request is taken off the clock: from the request "
    "to the answer, or, while unanswered, to the end of processing (to the cutoff if open). "
    "Only the part inside the dossier's own processing counts, from receipt to the end (or the "
    "cutoff): a request made after the end adds nothing, and of one answered after the end "
    "only the part before it counts.",
    "A request never answered thus stops the clock where it was made: a dossier that ended "
    "while waiting for the applicant is judged at the moment of the request, and ending it "
    "does not restart the clock.",
    "A request made after the due date had passed cannot turn a late dossier on time: the "
    "clock had passed the due date before the pause began.",
    "When the answer re-set the due date and says so, the pause is already in the new due "
    "date and is not taken off a second time; until that answer comes, the request pauses "
    "the clock like any other.",
    "A past period is judged at its last second with only what had happened by then: an "
    "answer, an end or a new due date after the period's end does not change its score.",
    "5.4 counts a dossier as satisfied only if it is on time by these rules.",
)
DOSSIER_ON_TIME_WORDS = (
    "dossiers with at most one supplement request by the cutoff whose processing ended by the "
    "due date in force (or, open, had not passed it at the cutoff), the applicant's supplement "
    "time taken off: from the request to its answer, or to the end while unanswered, only "
    "within receipt to the end (or the cutoff), and not where the answer re-set the due date; "
    "or with no due date"
)

# The latest rating by the cutoff was dissatisfied (dossiers and feedback alike).
DISSATISFIED = as_of_cutoff("rated_at", "rated_dissatisfied", lit(False))

# --- Feedback ----------------------------------------------------------------------------------

# 5.2: accepted or refused in time, more information asked for in time, handled in time; one
# still open is on time while its deadlines have not passed.
FEEDBACK_ON_TIME = all_of(
    on_or_before("decided_at", col("decide_due_at")),
    any_of(
        not_(by_cutoff("info_requested_at")),
        le(col("info_requested_at"), col("info_request_due_at")),
    ),
    on_or_before("ended_at", col("handle_due_at")),
)
FEEDBACK_ON_TIME_WORDS = (
    "feedback accepted or refused, asked for more information (if at all), and answered or "
    "refused, each by its deadline in working days from receipt (`feedback_*_working_days`); "
    "one still open at the cutoff while its deadlines have not passed"
)

# --- Procedures --------------------------------------------------------------------------------

# Procedures under the authority of a subtree: those handled at a level the subtree has.
UNDER_AUTHORITY = all_of(col("configured"), HasAny(col("authority_levels"), LEVELS))
UNDER_AUTHORITY_WORDS = (
    "procedures under the unit's authority (configured, handled at a level its subtree has), "
    "whatever the period"
)
ONLINE_SERVICE = ne(col("online_service"), lit("none"))

# Procedures announced in the period, placed there by their first decision (1.1, 1.2).
ANNOUNCED = all_of(not_null(col("first_announced_on")), le(col("first_announced_on"), CUTOFF_DATE))
ANNOUNCED_WORDS = (
    "procedures whose first announcement decision the unit made in the period, by the "
    "cutoff's day (each once, however many decisions)"
)

# Sets of procedure codes drawn from the subtree's dossiers of the period (3.2, 3.5b).
DOSSIER_SETS: dict[str, Expr] = {
    "procedures_with_online_dossiers": all_of(COUNTED, eq(col("channel"), lit(2))),
    "procedures_paid_online": all_of(COUNTED, by_cutoff("paid_online_at")),
}


@dataclass(frozen=True)
class Measure:
    key: str
    subject: Subject
    denominator: Expr
    numerator: Expr  # evaluated on denominator rows only; for an average, the value to sum
    period_column: str | None  # None: rows are counted whatever the period
    unit_column: str | None = "unit"  # None: scoped by the expression (authority levels)
    average: bool = False  # numerator / denominator is a mean, in `average_unit` seconds
    average_unit: int = 86_400
    _: KW_ONLY
    # The numerator and the denominator in words, for the reference page and the API: what a
    # reader is told is counted, so they must say what the expressions above compute.
    counts: str
    out_of: str

    def __post_init__(self) -> None:
        for name in ("counts", "out_of"):
            text = getattr(self, name)
            if not text.strip() or "\n" in text:
                raise ValueError(f"measure {self.key!r}: `{name}` must be one line of words")


def _words_follow_rows(key: str, default_rows: bool, default_words: bool) -> None:
    """A helper's default denominator comes with its words: overriding one but not the other
    would describe rows the measure does not count."""
    if default_rows != default_words:
        raise ValueError(f"measure {key!r}: give `denominator` and `out_of` together")


def _dossiers(
    key: str,
    numerator: Expr,
    *,
    counts: str,
    denominator: Expr = COUNTED,
    out_of: str = COUNTED_WORDS,
) -> Measure:
    _words_follow_rows(key, denominator is COUNTED, out_of == COUNTED_WORDS)
    return Measure(
        key, Subject.dossier, denominator, numerator, "received_at", counts=counts, out_of=out_of
    )


def _feedback(key: str, numerator: Expr, *, counts: str) -> Measure:
    return Measure(
        key,
        Subject.feedback,
        by_cutoff("received_at"),
        numerator,
        "received_at",
        counts=counts,
        out_of="feedback received in the period, by the cutoff",
    )


def _announced(
    key: str, numerator: Expr, *, counts: str, denominator: Expr, out_of: str, period: str | None
) -> Measure:
    return Measure(
        key,
        Subject.procedure,
        denominator,
        numerator,
        period,
        "announcing_unit",
        counts=counts,
        out_of=out_of,
    )


def _authority(
    key: str,
    numerator: Expr,
    *,
    counts: str,
    denominator: Expr = UNDER_AUTHORITY,
    out_of: str = UNDER_AUTHORITY_WORDS,
) -> Measure:
    _words_follow_rows(key, denominator is UNDER_AUTHORITY, out_of == UNDER_AUTHORITY_WORDS)
    return Measure(
        key, Subject.procedure, denominator, numerator, None, None, counts=counts, out_of=out_of
    )


MEASURES: dict[str, Measure] = {
    m.key: m
    for m in [
        _announced(
            "procedures_announced_on_time",
            any_of(
                is_null(col("first_late_decision_on")),
                gt(col("first_late_decision_on"), CUTOFF_DATE),
            ),
            counts="procedures whose every announcement decision made by the cutoff's day, "
            "later ones than the first included, came at least "
            "`announcement_lead_working_days` working days before its legal basis took effect",
            denominator=ANNOUNCED,
            out_of=ANNOUNCED_WORDS,
            period="first_announced_on",
        ),
        _announced(
            "procedures_published_on_time",
            any_of(
                all_of(
                    not_null(col("first_published_on")),
                    le(col("first_published_on"), CUTOFF_DATE),
                    le(col("first_published_on"), col("publish_due_on")),
                ),
                all_of(
                    any_of(
                        is_null(col("first_published_on")),
                        gt(col("first_published_on"), CUTOFF_DATE),
                    ),
                    le(CUTOFF_DATE, col("publish_due_on")),
                ),
            ),
            counts="procedures first published on the national database within "
            "`publication_working_days` working days of their first decision, or not yet "
            "published on the cutoff's day and not yet overdue",
            denominator=ANNOUNCED,
            # placed by the day publication falls due, not the decision's: a decision at the
            # end of a month is judged with the procedures due to be published in the next
            out_of="procedures announced by the unit whose publication fell due in the period "
            "(`publication_working_days` working days after their first decision)",
            period="publish_due_on",
        ),
        _announced(
            "procedures_published_in_full",
            Coalesce(
                (AsOf(col("published_on"), col("published_complete"), CUTOFF_DATE), lit(False))
            ),
            counts="procedures whose latest publication by the cutoff's day carries all 7 "
            "required components",
            denominator=all_of(
                not_null(col("first_published_on")), le(col("first_published_on"), CUTOFF_DATE)
            ),
            out_of="procedures whose first announcement decision the unit made, published on the "
            "national database by the cutoff's day, whatever the period",
            period=None,
        ),
        _dossiers(
            "dossiers_synced",
            all_of(
                by_cutoff("synced_at"),
                any_of(is_null(col("sync_due_at")), le(col("synced_at"), col("sync_due_at"))),
            ),
            counts="dossiers first synced to the national portal by the cutoff, and within "
            "`sync_max_delay_hours` of receipt when that setting is not 0",
        ),
        _dossiers("dossiers_on_time", DOSSIER_ON_TIME, counts=DOSSIER_ON_TIME_WORDS),
        Measure(
            "average_processing_days",
            Subject.dossier,
            denominator=all_of(COUNTED, by_cutoff("ended_at"), not_(by_cutoff("withdrawn_at"))),
            out_of="dossiers received in the period, accepted at intake, ended by the cutoff "
            "and not withdrawn by then",
            # all supplement time off, even where the due date was re-set for it: 2.2 measures
            # the unit's processing time, which a re-set due date does not change
            numerator=Minus(
                SecondsBetween(col("received_at"), col("ended_at")),
                ClosedSeconds(
                    col("supplement_requested_at"),
                    col("supplement_answered_at"),
                    col("ended_at"),
                    CUTOFF,
                ),
            ),
            counts="each dossier's time from receipt to end (processed, returned or stopped), "
            "less all its supplement time answered by the cutoff, up to that end",
            period_column="received_at",
            average=True,
        ),
        _authority(
            "procedures_online",
            ONLINE_SERVICE,
            counts="procedures offered as an online service (partial or full)",
        ),
        _authority(
            "online_services_used",
            In(col("code"), "procedures_with_online_dossiers"),
            counts="procedures with at least one online dossier received in the period by the "
            "subtree and accepted at intake",
            denominator=all_of(UNDER_AUTHORITY, ONLINE_SERVICE),
            out_of="procedures under the unit's authority (configured, handled at a level its "
            "subtree has) offered online, whatever the period",
        ),
        _dossiers(
            "dossiers_online",
            eq(col("channel"), lit(2)),
            counts="dossiers submitted online (channel 2)",
        ),
        _dossiers(
            "dossiers_full_online",
            all_of(eq(col("channel"), lit(2)), eq(col("online_service"), lit("full"))),
            counts="dossiers submitted online (channel 2) for a procedure offered as a "
            "full-online service",
            denominator=all_of(COUNTED, col("full_online_eligible")),
            out_of="dossiers received in the period and accepted at intake whose procedure is "
            "eligible for full-online service",
        ),
        _authority(
            "fee_procedures_payment_integrated",
            col("payment_integrated"),
            counts="fee-bearing procedures integrated with online payment",
            denominator=all_of(UNDER_AUTHORITY, col("fee_bearing")),
            out_of="fee-bearing procedures under the unit's authority (configured, handled at a "
            "level its subtree has), whatever the period",
        ),
        _authority(
            "fee_procedures_paid_online",
            In(col("code"), "procedures_paid_online"),
            counts="fee-bearing procedures with at least one dossier received in the period by "
            "the subtree, accepted at intake and paid online",
            denominator=all_of(UNDER_AUTHORITY, col("fee_bearing")),
            out_of="fee-bearing procedures under the unit's authority (configured, handled at a "
            "level its subtree has), whatever the period",
        ),
        _dossiers(
            "dossiers_paid_online",
            by_cutoff("paid_online_at"),
            counts="dossiers with at least one payment made online by the cutoff",
            denominator=all_of(
                COUNTED, gt(as_of_cutoff("fee_changed_at", "fee_values", lit(0)), lit(0))
            ),
            out_of="dossiers received in the period and accepted at intake with a fee (the "
            "latest assessed, or all paid) above 0 at the cutoff",
        ),
        _dossiers(
            "dossiers_electronic_result",
            by_cutoff("result_electronic_at"),
            counts="dossiers whose result was issued electronically by the cutoff",
            denominator=all_of(COUNTED, col("returns_result_document"), by_cutoff("returned_at")),
            out_of="dossiers received in the period and accepted at intake whose procedure "
            "returns a result document and whose result was returned by the cutoff",
        ),
        _dossiers(
            "dossiers_digitized",
            all_of(
                by_cutoff("digitized_at"),
                # the result too, where one was issued
                any_of(
                    not_(by_cutoff("returned_at")),
                    not_(col("returns_result_document")),
                    by_cutoff("result_electronic_at"),
                    by_cutoff("result_digitized_at"),
                ),
            ),
            counts="dossiers with at least one component digitized by the cutoff and, if a "
            "result document was returned by then, an electronic or digitized result",
        ),
        _dossiers(
            "dossiers_reusing_data",
            by_cutoff("reused_at"),
            counts="dossiers with at least one component reused from digitized data by the cutoff",
        ),
        _dossiers(
            "dossiers_data_store",
            any_of(by_cutoff("data_store_at"), by_cutoff("result_pushed_at")),
            counts="dossiers with at least one component taken from the citizen's data store, "
            "or their result pushed to it, by the cutoff",
        ),
        _authority(
            "individual_procedures_population_data",
            col("uses_population_data"),
            counts="procedures for individuals that use the population database",
            denominator=all_of(UNDER_AUTHORITY, col("for_individuals")),
            out_of="procedures for individuals under the unit's authority (configured, handled "
            "at a level its subtree has), whatever the period",
        ),
        _dossiers(
            "dossiers_population_data",
            by_cutoff("identity_verified_at"),
            counts="dossiers whose applicant's identity was verified through VNeID or the "
            "population database by the cutoff",
        ),
        Measure(
            "communes_certified_copies",
            Subject.commune,
            denominator=lit(True),
            out_of="communes of the subtree as they are today, each with what the communes "
            "merged into it did, whatever the period",
            numerator=all_of(
                le(col("certified_copy_offered_since"), CUTOFF_DATE),
                le(col("first_certified_copy_at"), CUTOFF),
            ),
            counts="communes that offered electronic certified copies by the cutoff's day and "
            "issued one by the cutoff",
            period_column=None,
            unit_column="code",
        ),
        _feedback(
            "feedback_classified",
            by_cutoff("classified_at"),
            counts="feedback classified (given a category) by the cutoff",
        ),
        _feedback("feedback_on_time", FEEDBACK_ON_TIME, counts=FEEDBACK_ON_TIME_WORDS),
        _feedback(
            "feedback_satisfaction",
            all_of(not_(DISSATISFIED), not_(by_cutoff("complained_again_at")), FEEDBACK_ON_TIME),
            counts="feedback whose latest rating by the cutoff is not dissatisfied, not "
            "complained about again by then, and on time as `feedback_on_time` counts",
        ),
        _dossiers(
            "dossier_satisfaction",
            all_of(not_(DISSATISFIED), not_(by_cutoff("complaint_at")), DOSSIER_ON_TIME),
            counts="dossiers whose latest rating by the cutoff is not dissatisfied, with no "
            "complaint by then, and on time as `dossiers_on_time` counts",
        ),
    ]
}


# --- Where and when: the scope of a computation --------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """A unit subtree and a period, judged at a cutoff instant."""

    units: frozenset[str]  # every unit code of the subtree, merged (historical) ones included
    # (any commune code, today's commune it counts for): 4.6 counts today's communes, with
    # what the communes merged into them did
    commune_codes: tuple[tuple[str, str], ...]
    levels: frozenset[str]  # the levels present in the subtree (procedures under its authority)
    period: Period
    cutoff: datetime

    @property
    def communes(self) -> frozenset[str]:
        return frozenset(today for _, today in self.commune_codes)

    def env(self) -> dict[str, Any]:
        return {**_cutoff_env(self.cutoff), "levels": sorted(self.levels)}

    def in_period(self, value: Any) -> bool:
        if isinstance(value, datetime):
            return self.period.start <= value < self.period.end
        return value is not None and self.period.start_date <= value < self.period.end_date


def _cutoff_env(cutoff: datetime) -> dict[str, Any]:
    return {"cutoff": cutoff, "cutoff_date": local_date(cutoff)}


@dataclass(frozen=True)
class Tally:
    numerator: float
    denominator: int

    @property
    def rate(self) -> float | None:
        return None if self.denominator == 0 else self.numerator / self.denominator


@dataclass(frozen=True)
class FactTables:
    """Fact rows by subject, as dicts (what ClickHouse would hold)."""

    dossier: Sequence[Mapping[str, Any]] = ()
    feedback: Sequence[Mapping[str, Any]] = ()
    procedure: Sequence[Mapping[str, Any]] = ()
    commune: Mapping[str, Mapping[str, Any]] = None  # type: ignore[assignment]

    def rows(self, subject: Subject, scope: Scope) -> Iterable[Mapping[str, Any]]:
        if subject is Subject.commune:
            return _merged_communes(self.commune or {}, scope)
        rows: Sequence[Mapping[str, Any]] = getattr(self, subject.value)
        return rows


_COMMUNE_FACTS = ("certified_copy_offered_since", "first_certified_copy_at")


def _merged_communes(facts: Mapping[str, Mapping[str, Any]], scope: Scope) -> list[dict[str, Any]]:
    """One row per commune of today, with the earliest of what it and its predecessors did."""
    rows: dict[str, dict[str, Any]] = {
        today: {"code": today, **dict.fromkeys(_COMMUNE_FACTS)} for today in scope.communes
    }
    for code, today in scope.commune_codes:
        for column in _COMMUNE_FACTS:
            value = facts.get(code, {}).get(column)
            current = rows[today][column]
            if value is not None and (current is None or value < current):
                rows[today][column] = value
    return [rows[c] for c in sorted(rows)]


def _in_scope(measure: Measure, row: Mapping[str, Any], scope: Scope) -> bool:
    unit_column = measure.unit_column if measure.subject is not Subject.commune else None
    if unit_column and row[unit_column] not in scope.units:
        return False
    return measure.period_column is None or scope.in_period(row[measure.period_column])


def reference_env(measure: Measure, facts: FactTables, scope: Scope) -> dict[str, Any]:
    """What the measure's expressions read besides a row, in Python: the cutoff, the subtree's
    levels and the sets of procedures drawn from the scope's dossiers."""
    env: dict[str, Any] = scope.env()
    for name in _sets_used(measure):
        env[name] = {
            row["procedure"]
            for row in facts.dossier
            if _in_scope(_DOSSIER_SCOPE, row, scope) and truthy(DOSSIER_SETS[name].eval(row, env))
        }
    return env


def tally(measure: Measure, facts: FactTables, scope: Scope) -> Tally:
    """The reference count of one measure, in Python."""
    env = reference_env(measure, facts, scope)
    numerator: float = 0
    denominator = 0
    for row in facts.rows(measure.subject, scope):
        if not _in_scope(measure, row, scope) or not truthy(measure.denominator.eval(row, env)):
            continue
        denominator += 1
        value = measure.numerator.eval(row, env)
        if measure.average:
            numerator += value or 0
        elif truthy(value):
            numerator += 1
    return Tally(numerator, denominator)


def tally_by_procedure(measure: Measure, facts: FactTables, scope: Scope) -> dict[str, Tally]:
    """The reference count of a dossier measure, per procedure of the dossiers it counts
    (2.2 is defined per procedure; any dossier rate can be read so, to find the weak ones)."""
    _require_dossiers(measure)
    rows_by_procedure: dict[str, list[Mapping[str, Any]]] = {}
    for row in facts.dossier:
        rows_by_procedure.setdefault(row["procedure"], []).append(row)
    found = {
        procedure: tally(measure, FactTables(dossier=rows), scope)
        for procedure, rows in rows_by_procedure.items()
    }
    return {procedure: t for procedure, t in found.items() if t.denominator}


def _require_dossiers(measure: Measure) -> None:
    if measure.subject is not Subject.dossier:
        raise ValueError(f"measure {measure.key!r} counts {measure.subject.value}, not dossiers")


_DOSSIER_SCOPE = Measure(
    "_",
    Subject.dossier,
    COUNTED,
    COUNTED,
    "received_at",
    counts="dossiers accepted at intake",
    out_of="dossiers received in the period",
)


def _sets_used(measure: Measure) -> list[str]:
    return [name for name in DOSSIER_SETS if "{" + name + "}" in measure.numerator.sql()]


# --- The same, in ClickHouse SQL -----------------------------------------------------------------


@dataclass(frozen=True)
class TableNames:
    dossier: str = "dossier_facts"
    feedback: str = "feedback_facts"
    procedure: str = "procedure_facts"
    commune: str = "commune_facts"


def _scope_sql(measure: Measure, scope: Scope) -> str:
    terms = []
    if measure.unit_column and measure.subject is not Subject.commune:
        terms.append(f"{measure.unit_column} IN {sql_literal(scope.units)}")
    if measure.period_column:
        column = measure.period_column
        if column.endswith("_on"):
            bounds = (scope.period.start_date, scope.period.end_date)
        else:
            bounds = (scope.period.start, scope.period.end)
        terms.append(
            f"{column} >= {sql_literal(bounds[0])} AND {column} < {sql_literal(bounds[1])}"
        )
    return " AND ".join(terms) or "true"


def subject_sql(
    subject: Subject, measures: Iterable[Measure], scope: Scope, tables: TableNames = TableNames()
) -> str:
    """One query that counts every given measure of a subject in one scan.

    It returns one row with columns `<key>__num` and `<key>__den` per measure.
    """
    chosen = [m for m in measures if m.subject is subject]
    env: dict[str, Any] = scope.env()
    for m in chosen:
        env.update(sql_env(m, scope, tables))
    columns = []
    for m in chosen:
        condition = f"({_scope_sql(m, scope)}) AND {compile_sql(m.denominator, env)}"
        value = compile_sql(m.numerator, env)
        if m.average:
            columns.append(f"ifNull(sumIf(toFloat64({value}), {condition}), 0) AS `{m.key}__num`")
        else:
            columns.append(f"countIf({condition} AND {value}) AS `{m.key}__num`")
        columns.append(f"countIf({condition}) AS `{m.key}__den`")
    select = ",\n  ".join(columns)
    return f"SELECT\n  {select}\nFROM {source_sql(subject, scope, tables)}{settings_sql(subject)}"


def sql_env(measure: Measure, scope: Scope, tables: TableNames = TableNames()) -> dict[str, Any]:
    """`reference_env` for SQL: each set of procedures is a subquery on the scope's dossiers."""
    env: dict[str, Any] = scope.env()
    for name in _sets_used(measure):
        condition = compile_sql(DOSSIER_SETS[name], env)
        env[name] = (
            f"SELECT procedure FROM {tables.dossier} FINAL WHERE "
            f"{_scope_sql(_DOSSIER_SCOPE, scope)} AND {condition}"
        )
    return env


def source_sql(subject: Subject, scope: Scope, tables: TableNames = TableNames()) -> str:
    """What a subject's rows are read from: its table, or for communes one row per commune of
    today with the earliest of what it and its predecessors did (as `_merged_communes`)."""
    if subject is not Subject.commune:
        return f"{getattr(tables, subject.value)} FINAL"
    pairs = ", ".join(f"({sql_literal(a)}, {sql_literal(b)})" for a, b in scope.commune_codes)
    merged = ", ".join(f"min(f.{c}) AS {c}" for c in _COMMUNE_FACTS)
    typed = f"CAST([{pairs}], 'Array(Tuple(String, String))')"  # typed even when empty
    codes = f"SELECT pair.1 AS code, pair.2 AS today FROM (SELECT arrayJoin({typed}) AS pair)"
    return (
        f"(SELECT c.today AS code, {merged} FROM ({codes}) AS c "
        f"LEFT JOIN (SELECT * FROM {tables.commune} FINAL) AS f ON f.code = c.code "
        "GROUP BY c.today)"
    )


def settings_sql(subject: Subject) -> str:
    """The query settings `source_sql` needs: a commune with no facts has NULLs, not zeros."""
    return "\nSETTINGS join_use_nulls = 1" if subject is Subject.commune else ""


def by_procedure_sql(measure: Measure, scope: Scope, tables: TableNames = TableNames()) -> str:
    """`tally_by_procedure` in one query: rows (procedure, numerator, denominator)."""
    _require_dossiers(measure)
    env: dict[str, Any] = scope.env()
    condition = f"({_scope_sql(measure, scope)}) AND {compile_sql(measure.denominator, env)}"
    value = compile_sql(measure.numerator, env)
    numerator = f"ifNull(sum(toFloat64({value})), 0)" if measure.average else f"countIf({value})"
    return (
        f"SELECT procedure, {numerator} AS numerator, count() AS denominator\n"
        f"FROM {tables.dossier} FINAL\nWHERE {condition}\nGROUP BY procedure"
    )


# --- Many units at once: one query per subject, rolled up over the tree ---------------------------

# a dossier's due date at the cutoff plus the supplement time it does not owe
EFFECTIVE_DUE = _EFFECTIVE_DUE


def in_scope(measure: Measure, row: Mapping[str, Any], scope: Scope) -> bool:
    """Whether a row of `measure`'s table is in `scope` (unit and period), in Python."""
    return _in_scope(measure, row, scope)


def scope_sql(measure: Measure, scope: Scope) -> str:
    """The SQL condition that puts a row of `measure`'s table in `scope` (unit and period)."""
    return _scope_sql(measure, scope)


_TARGET = "_target"  # the key of the scope a row of a grouped query belongs to
_KEY = "_key"  # what a grouped query's row is keyed by: a unit code, or a scope's key


@dataclass(frozen=True)
class _Pair(Expr):
    """A tuple of two values, for `(scope, value) IN (subquery)`."""

    first: Expr
    second: Expr

    def sql(self) -> str:
        return f"({self.first.sql()}, {self.second.sql()})"

    def eval(self, row: Mapping[str, Any], env: Mapping[str, Any]) -> Any:
        return (self.first.eval(row, env), self.second.eval(row, env))


def _substituted(expr: Expr, variables: Mapping[str, Expr], key: Expr) -> Expr:
    """The expression with some variables read from columns, and each set made a set of
    (key, value) pairs: what differs between scopes, taken from each row's scope."""
    if isinstance(expr, Var) and expr.name in variables:
        return variables[expr.name]
    if isinstance(expr, In):
        return In(_Pair(key, _substituted(expr.term, variables, key)), expr.set_name)
    if not is_dataclass(expr):
        return expr
    changes: dict[str, Any] = {}
    for f in dataclass_fields(expr):
        value = getattr(expr, f.name)
        if isinstance(value, Expr):
            changes[f.name] = _substituted(value, variables, key)
        elif isinstance(value, tuple) and all(isinstance(v, Expr) for v in value):
            changes[f.name] = tuple(_substituted(v, variables, key) for v in value)
    return dataclass_replace(expr, **changes) if changes else expr


def _per_target(expr: Expr) -> Expr:
    """Per scope of a grouped query: the subtree's levels and the sets drawn from its dossiers."""
    return _substituted(expr, {LEVELS.name: Col("_levels")}, Col(_TARGET))


def _additive(measure: Measure) -> bool:
    """Counted per unit and summed over a subtree gives the subtree's count: the measure is
    scoped by a unit column and its expressions depend on nothing else of the scope."""
    if measure.subject is Subject.commune:
        return True  # one row per commune of today, summed over the subtree's communes
    text = measure.denominator.sql() + measure.numerator.sql()
    return measure.unit_column is not None and "{levels}" not in text and not _sets_used(measure)


@dataclass(frozen=True)
class GroupedQuery:
    """One query of a subject for many scopes, and how its rows become each scope's tallies.

    Rows have a `_key` column and `<measure>__num` / `<measure>__den` columns. With
    `by_unit`, `_key` is a unit code (a commune of today for the commune subject) and a
    scope's tally is the sum over the units of its subtree; otherwise `_key` is the scope's key.
    """

    subject: Subject
    measures: tuple[Measure, ...]
    by_unit: bool
    sql: str


def _select_columns(
    measures: Sequence[Measure], conditions: Sequence[str], values: Sequence[str]
) -> str:
    columns = []
    for m, condition, value in zip(measures, conditions, values, strict=True):
        if m.average:
            columns.append(f"ifNull(sumIf(toFloat64({value}), {condition}), 0) AS `{m.key}__num`")
        else:
            columns.append(f"countIf({condition} AND {value}) AS `{m.key}__num`")
        columns.append(f"countIf({condition}) AS `{m.key}__den`")
    return ",\n  ".join(columns)


def grouped_sql(
    subject: Subject,
    measures: Iterable[Measure],
    scopes: Mapping[str, Scope],
    tables: TableNames = TableNames(),
    set_rows: Mapping[str, str] | None = None,
) -> list[GroupedQuery]:
    """Queries that count the given measures of a subject for every scope at once.

    The scopes must share their period and cutoff (a ranking, a refresh of every unit); they
    differ by subtree. Additive measures are counted per unit in one scan and rolled up in
    Python (`rollup`); the others (procedures under a subtree's authority, and the sets of
    procedures drawn from its dossiers) are counted per scope in SQL. `set_rows` may give, per
    set of DOSSIER_SETS, a query of its (unit, procedure) rows over the scopes' period (from
    the windows); by default they are drawn from the dossier facts.
    """
    chosen = [m for m in measures if m.subject is subject]
    if not chosen or not scopes:
        return []
    everywhere = _everywhere(scopes)
    env: dict[str, Any] = everywhere.env()
    queries = []
    additive = [m for m in chosen if _additive(m)]
    if additive:
        queries.append(_by_unit_query(subject, additive, everywhere, env, tables))
    others = [m for m in chosen if not _additive(m)]
    if others:
        rows = set_rows if set_rows is not None else _fact_set_rows(others, everywhere, env, tables)
        queries.append(_by_scope_query(subject, others, scopes, rows, tables))
    return queries


def _everywhere(scopes: Mapping[str, Scope]) -> Scope:
    """One scope over every unit of scopes sharing their period and cutoff."""
    first = next(iter(scopes.values()))
    if any(s.period != first.period or s.cutoff != first.cutoff for s in scopes.values()):
        raise ValueError("grouped scopes must share their period and cutoff")
    return Scope(
        units=frozenset().union(*(s.units for s in scopes.values())),
        commune_codes=tuple(sorted({p for s in scopes.values() for p in s.commune_codes})),
        levels=frozenset(),
        period=first.period,
        cutoff=first.cutoff,
    )


def _fact_set_rows(
    measures: Iterable[Measure], everywhere: Scope, env: Mapping[str, Any], tables: TableNames
) -> dict[str, str]:
    """The (unit, procedure) rows of each set the measures use, from the period's dossiers."""
    return {
        name: f"SELECT unit, procedure FROM {tables.dossier} FINAL WHERE "
        f"{_period_only(_DOSSIER_SCOPE, everywhere)} AND {compile_sql(DOSSIER_SETS[name], env)}"
        for m in measures
        for name in _sets_used(m)
    }


def _period_only(measure: Measure, scope: Scope) -> str:
    """The period condition of `scope` for `measure`, whatever the unit."""
    return _scope_sql(dataclass_replace(measure, unit_column=None), scope)


def _by_unit_query(
    subject: Subject,
    measures: list[Measure],
    everywhere: Scope,
    env: dict[str, Any],
    tables: TableNames,
) -> GroupedQuery:
    if subject is Subject.commune:
        single = subject_sql(subject, measures, everywhere, tables)
        select, source = single.split("\nFROM ", 1)
        # the one-row query over the merged communes, now one row per commune of today
        source, settings = source.rsplit("\nSETTINGS ", 1)
        keyed = select.replace("SELECT", f"SELECT\n  code AS {_KEY},", 1)
        sql = f"{keyed}\nFROM {source}\nGROUP BY {_KEY}\nSETTINGS {settings}"
        return GroupedQuery(subject, tuple(measures), True, sql)
    unit_columns = {m.unit_column for m in measures}
    if len(unit_columns) != 1:  # measures of one subject scoped by different columns
        raise ValueError(f"measures of {subject} are scoped by {sorted(map(str, unit_columns))}")
    (unit_column,) = unit_columns
    conditions = [
        f"({_period_only(m, everywhere)}) AND {compile_sql(m.denominator, env)}" for m in measures
    ]
    values = [compile_sql(m.numerator, env) for m in measures]
    sql = (
        f"SELECT\n  {unit_column} AS {_KEY},\n  {_select_columns(measures, conditions, values)}\n"
        f"FROM {getattr(tables, subject.value)} FINAL\n"
        f"WHERE {unit_column} IN {sql_literal(everywhere.units)}\n"
        f"GROUP BY {_KEY}"
    )
    return GroupedQuery(subject, tuple(measures), True, sql)


def _by_scope_query(
    subject: Subject,
    measures: list[Measure],
    scopes: Mapping[str, Scope],
    set_rows: Mapping[str, str],
    tables: TableNames,
) -> GroupedQuery:
    if subject is Subject.commune:
        raise ValueError("commune measures are always counted per commune")
    everywhere = _everywhere(scopes)
    env: dict[str, Any] = everywhere.env()
    members = [(unit, key) for key, s in scopes.items() for unit in sorted(s.units)]
    pairs = ", ".join(f"({sql_literal(u)}, {sql_literal(k)})" for u, k in members)
    membership = (
        f"SELECT m.1 AS _unit, m.2 AS {_TARGET} FROM "
        f"(SELECT arrayJoin(CAST([{pairs}], 'Array(Tuple(String, String))')) AS m)"
    )
    for m in measures:
        for name in _sets_used(m):
            env[name] = (
                f"SELECT s.{_TARGET}, f.procedure FROM ({set_rows[name]}) AS f "
                f"INNER JOIN ({membership}) AS s ON f.unit = s._unit"
            )
    targets = ", ".join(
        f"({sql_literal(key)}, {sql_literal(sorted(s.levels))}, {sql_literal(sorted(s.units))})"
        for key, s in scopes.items()
    )
    target_table = (
        f"SELECT t.1 AS {_TARGET}, t.2 AS _levels, t.3 AS _units FROM (SELECT arrayJoin("
        f"CAST([{targets}], 'Array(Tuple(String, Array(String), Array(String)))')) AS t)"
    )
    conditions = []
    for m in measures:
        terms = [_period_only(m, everywhere)]
        if m.unit_column:
            terms.append(f"has(_units, {m.unit_column})")
        conditions.append(
            f"({' AND '.join(terms)}) AND {compile_sql(_per_target(m.denominator), env)}"
        )
    values = [compile_sql(_per_target(m.numerator), env) for m in measures]
    sql = (
        f"SELECT\n  {_TARGET} AS {_KEY},\n  {_select_columns(measures, conditions, values)}\n"
        f"FROM (SELECT * FROM {getattr(tables, subject.value)} FINAL) AS facts\n"
        f"CROSS JOIN ({target_table}) AS targets\n"
        f"GROUP BY {_KEY}"
    )
    return GroupedQuery(subject, tuple(measures), False, sql)


def rollup(
    query: GroupedQuery, rows: Iterable[Mapping[str, Any]], scopes: Mapping[str, Scope]
) -> dict[str, dict[str, Tally]]:
    """Each scope's tallies from a grouped query's rows (summed over its subtree if by unit)."""
    by_key = {row[_KEY]: row for row in rows}
    result: dict[str, dict[str, Tally]] = {}
    for key, scope in scopes.items():
        if not query.by_unit:
            members = [by_key[key]] if key in by_key else []
        elif query.subject is Subject.commune:
            members = [by_key[c] for c in sorted(scope.communes) if c in by_key]
        else:
            members = [by_key[u] for u in sorted(scope.units) if u in by_key]
        tallies = {}
        for m in query.measures:
            numerator = sum(row[f"{m.key}__num"] for row in members)
            tallies[m.key] = Tally(
                float(numerator) if m.average else int(numerator),
                int(sum(row[f"{m.key}__den"] for row in members)),
            )
        result[key] = tallies
    return result


# --- For SQL built elsewhere that judges at a cutoff given as SQL (a dashboard's period) -------


def read_per_row(expr: Expr, variables: Mapping[str, Expr], key: Expr) -> Expr:
    """`expr` with the given variables read from each row's columns, and each set made a set of
    (key, value) pairs: what differs between scopes (or periods), taken from each row."""
    return _substituted(expr, variables, key)


def additive(measure: Measure) -> bool:
    """Counted per unit and summed over a subtree, the measure gives the subtree's count."""
    return _additive(measure)


def tally_columns(
    measures: Sequence[Measure], conditions: Sequence[str], values: Sequence[str]
) -> str:
    """The `<key>__num` and `<key>__den` aggregates of each measure, from the SQL of its
    denominator rows (`conditions`) and its numerator (`values`)."""
    return _select_columns(measures, conditions, values)


# --- One subtree over many periods: the buckets of a trend ----------------------------------------

_BUCKET_VARIABLES = {CUTOFF.name: Col("_cutoff"), CUTOFF_DATE.name: Col("_cutoff_date")}


def _bounds(column: str, scope: Scope) -> tuple[Any, Any]:
    if column.endswith("_on"):
        return scope.period.start_date, scope.period.end_date
    return scope.period.start, scope.period.end


def _bucket_key_sql(column: str, scopes: Mapping[str, Scope]) -> str:
    """The key of the scope whose period holds the row's `column`, '' for none."""
    branches = []
    for key, scope in scopes.items():
        start, end = _bounds(column, scope)
        branches.append(
            f"{column} >= {sql_literal(start)} AND {column} < {sql_literal(end)}, "
            f"{sql_literal(key)}"
        )
    return f"multiIf({', '.join(branches)}, '')"


def _bucket_cutoffs_sql(scopes: Mapping[str, Scope], key: str) -> str:
    keys = sql_literal(list(scopes))
    cutoffs = sql_literal([s.cutoff for s in scopes.values()])
    days = sql_literal([local_date(s.cutoff) for s in scopes.values()])
    return (
        f"arrayElement({cutoffs}, indexOf({keys}, {key})) AS _cutoff, "
        f"arrayElement({days}, indexOf({keys}, {key})) AS _cutoff_date"
    )


def bucketed_sql(
    subject: Subject,
    measures: Iterable[Measure],
    scopes: Mapping[str, Scope],
    tables: TableNames = TableNames(),
) -> list[GroupedQuery]:
    """Queries that count the given measures of a subject for one subtree over many periods
    (the buckets of a trend) at once: one row per scope key, for `rollup`.

    The scopes must share their subtree and have disjoint periods; each keeps its own cutoff.
    A row with a period column lands in the bucket that holds it; a row without one (the state
    of a procedure or a commune) is counted in every bucket, at the bucket's cutoff.
    """
    chosen = [m for m in measures if m.subject is subject]
    if not chosen or not scopes:
        return []
    first = next(iter(scopes.values()))
    if any(
        (s.units, s.commune_codes, s.levels) != (first.units, first.commune_codes, first.levels)
        for s in scopes.values()
    ):
        raise ValueError("bucketed scopes must share their subtree")
    env: dict[str, Any] = {"levels": sorted(first.levels)}
    key = Col(_KEY)
    # the sets drawn from the dossiers of each bucket, keyed by the bucket
    for m in chosen:
        for name in _sets_used(m):
            # judged at the cutoff of the bucket each dossier falls in
            condition = compile_sql(_substituted(DOSSIER_SETS[name], _BUCKET_VARIABLES, key), env)
            bucketed = (
                f"SELECT *, {_bucket_key_sql('received_at', scopes)} AS {_KEY} "
                f"FROM {tables.dossier} FINAL WHERE unit IN {sql_literal(first.units)}"
            )
            env[name] = (
                f"SELECT {_KEY}, procedure FROM (SELECT *, {_bucket_cutoffs_sql(scopes, _KEY)} "
                f"FROM ({bucketed})) WHERE {_KEY} != '' AND {condition}"
            )
    if subject is Subject.commune:
        source = subject_sql(subject, [], first, tables).split("\nFROM ", 1)[1]
        table, settings = source.rsplit("\nSETTINGS ", 1)
        suffix = f"\nSETTINGS {settings}"
    else:
        table, suffix = f"{getattr(tables, subject.value)} FINAL", ""
    queries = []
    by_column: dict[str | None, list[Measure]] = {}
    for m in chosen:
        by_column.setdefault(m.period_column, []).append(m)
    for column, group in by_column.items():
        scoped = [m.unit_column if subject is not Subject.commune else None for m in group]
        shared = scoped[0] if len(set(scoped)) == 1 else None  # filter the scan once
        where = f"{shared} IN {sql_literal(first.units)}" if shared else ""
        if column is not None:  # the row's bucket, and that bucket's cutoff
            rows = (
                f"(SELECT *, {_bucket_key_sql(column, scopes)} AS {_KEY}, "
                f"{_bucket_cutoffs_sql(scopes, _KEY)} FROM {table}"
                f"{' WHERE ' + where if where else ''})"
            )
        else:
            buckets = ", ".join(sql_literal(k) for k in scopes)
            rows = (
                f"(SELECT *, {_bucket_cutoffs_sql(scopes, _KEY)} FROM "
                f"(SELECT * FROM {table}{' WHERE ' + where if where else ''}) AS facts "
                f"CROSS JOIN (SELECT arrayJoin([{buckets}]) AS {_KEY}) AS buckets)"
            )
        conditions = [
            (f"{u} IN {sql_literal(first.units)} AND " if u and u != shared else "")
            + compile_sql(_substituted(m.denominator, _BUCKET_VARIABLES, key), env)
            for m, u in zip(group, scoped, strict=True)
        ]
        values = [
            compile_sql(_substituted(m.numerator, _BUCKET_VARIABLES, key), env) for m in group
        ]
        sql = (
            f"SELECT\n  {_KEY},\n  {_select_columns(group, conditions, values)}\n"
            f"FROM {rows} AS rows\nWHERE {_KEY} != ''\nGROUP BY {_KEY}{suffix}"
        )
        queries.append(GroupedQuery(subject, tuple(group), False, sql))
    return queries
