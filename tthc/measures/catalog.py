"""The catalog of measures: what every indicator counts, as expressions over fact rows.

Each measure is declared here once: the subject whose fact rows it counts, its denominator and
numerator as expressions (`tthc.expr`), the words that say what they count, and the column that
places a row in a period. `tthc.measures.evaluation` counts them in Python (the reference) and
`tthc.measures.queries` compiles them to ClickHouse SQL.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

from tthc.expr import (
    AddSeconds,
    AsOf,
    ClosedSeconds,
    Coalesce,
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
    eq,
    gt,
    is_null,
    le,
    lit,
    lt,
    ne,
    not_,
    not_null,
)
from tthc.facts import Scalar, Subject, column_type_of

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
# a dossier's due date at the cutoff plus the supplement time it does not owe
EFFECTIVE_DUE = AddSeconds(DUE, _PAUSE)
DOSSIER_ON_TIME = all_of(
    lt(SUPPLEMENT_REQUESTS, lit(2)),
    any_of(is_null(DUE), le(CLOCK_END, EFFECTIVE_DUE)),
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
        if self.period_column is not None:
            placed = column_type_of(self.subject, self.period_column)
            if placed.scalar not in (Scalar.instant, Scalar.day) or placed.array:
                raise ValueError(
                    f"measure {self.key!r}: a row's period is placed by an instant or a day, "
                    f"not by {self.period_column!r}"
                )


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


# The dossiers whose procedures form the sets of DOSSIER_SETS: those a dossier measure counts.
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
