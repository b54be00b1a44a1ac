"""The dossiers, feedback, procedures or communes behind an indicator: which cost points, why.

A row that cost points is one the measure counts in its denominator but not in its numerator.
Each measure lists the reasons a row can fail it, in order; the first that holds is the row's
reason (for 2.1: a second supplement request, processing ended after the due date, a
supplement asked for after the due date, or still open past the due date). Like the measures,
the listing runs in Python (the reference) and compiles to ClickHouse SQL, from one declaration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tthc.events import ProcedureComponent
from tthc.expr import (
    Coalesce,
    Expr,
    If,
    SecondsBetween,
    all_of,
    col,
    compile_sql,
    gt,
    le,
    lit,
    lt,
    not_,
    not_null,
    sql_literal,
    truthy,
)
from tthc.measures import (
    CUTOFF,
    CUTOFF_DATE,
    DOSSIER_ON_TIME,
    EFFECTIVE_DUE,
    MEASURES,
    PAUSED_SINCE,
    SUPPLEMENT_REQUESTS,
    FactTables,
    Measure,
    Scope,
    Subject,
    TableNames,
    by_cutoff,
    in_scope,
    on_or_before,
    reference_env,
    scope_sql,
    settings_sql,
    source_sql,
    sql_env,
)

_TABLES = TableNames()


class Outcome(StrEnum):
    lost = "lost"  # counted, not good: the rows that cost points
    late = "late"  # the same, in the words of the time indicators (2.1, 5.2)
    good = "good"  # counted in the numerator
    counted = "counted"  # the whole denominator


@dataclass(frozen=True)
class Reason:
    code: str
    label_vi: str
    label_en: str
    condition: Expr  # evaluated on rows that failed the measure only


@dataclass(frozen=True)
class _IsTrue(Expr):
    """True where the term is true; false where it is false or unknown (NULL)."""

    term: Expr

    def sql(self) -> str:
        return f"ifNull({self.term.sql()}, false)"

    def eval(self, row: Mapping[str, Any], env: Mapping[str, Any]) -> bool:
        return truthy(self.term.eval(row, env))


NOT_MET = Reason(
    "not_met", "Không đạt yêu cầu của chỉ số", "Does not meet the indicator", lit(True)
)

_OPEN = not_(by_cutoff("ended_at"))
_LATE_DOSSIER = (
    Reason(
        "second_supplement_request",
        "Yêu cầu bổ sung hồ sơ lần thứ hai",
        "A second supplement request",
        gt(SUPPLEMENT_REQUESTS, lit(1)),
    ),
    Reason(
        "ended_after_due",
        "Kết thúc xử lý sau hạn",
        "Processing ended after the due date",
        all_of(by_cutoff("ended_at"), gt(col("ended_at"), EFFECTIVE_DUE)),
    ),
    Reason(
        "supplement_requested_after_due",
        "Yêu cầu bổ sung khi đã quá hạn",
        "A supplement requested after the due date",
        all_of(_OPEN, by_cutoff(PAUSED_SINCE)),
    ),
    Reason(
        "open_past_due",
        "Chưa có kết quả, đã quá hạn",
        "Still open past the due date",
        all_of(_OPEN, not_(by_cutoff(PAUSED_SINCE)), lt(EFFECTIVE_DUE, CUTOFF)),
    ),
)
_LATE_FEEDBACK = (
    Reason(
        "decided_late",
        "Tiếp nhận hoặc từ chối phản ánh quá hạn",
        "Accepted or refused after the deadline",
        not_(on_or_before("decided_at", col("decide_due_at"))),
    ),
    Reason(
        "info_requested_late",
        "Đề nghị bổ sung thông tin quá hạn",
        "More information asked for after the deadline",
        all_of(
            by_cutoff("info_requested_at"),
            gt(col("info_requested_at"), col("info_request_due_at")),
        ),
    ),
    Reason(
        "handled_late",
        "Xử lý phản ánh quá hạn",
        "Handled after the deadline",
        not_(on_or_before("ended_at", col("handle_due_at"))),
    ),
)


# The seven components of a published procedure (1.3), as the office names them.
COMPONENT_LABELS_VI: dict[str, str] = {
    ProcedureComponent.name.value: "Tên thủ tục",
    ProcedureComponent.steps.value: "Trình tự thực hiện",
    ProcedureComponent.method.value: "Cách thức thực hiện",
    ProcedureComponent.dossier_components.value: "Thành phần hồ sơ",
    ProcedureComponent.processing_time.value: "Thời hạn giải quyết",
    ProcedureComponent.fees.value: "Phí, lệ phí",
    ProcedureComponent.legal_basis.value: "Căn cứ pháp lý",
}


def missing_components_vi(missing: Iterable[str]) -> str:
    """'Thiếu: Phí, lệ phí; Căn cứ pháp lý' for the components a publication lacks."""
    names = [COMPONENT_LABELS_VI.get(c, c) for c in missing]
    return f"Thiếu: {'; '.join(names)}" if names else ""


def _simple(code: str, label_vi: str, label_en: str) -> tuple[Reason, ...]:
    return (Reason(code, label_vi, label_en, lit(True)),)


# Reasons by measure key, first match wins; a measure not listed has NOT_MET only.
REASONS: dict[str, tuple[Reason, ...]] = {
    "dossiers_on_time": _LATE_DOSSIER,
    "dossiers_synced": (
        Reason(
            "not_synced",
            "Chưa đồng bộ lên Cổng DVCQG",
            "Not synced to the national portal",
            not_(by_cutoff("synced_at")),
        ),
        Reason("synced_late", "Đồng bộ lên Cổng DVCQG trễ", "Synced late", lit(True)),
    ),
    "dossiers_online": _simple("not_online", "Hồ sơ không nộp trực tuyến", "Not submitted online"),
    "dossiers_full_online": _simple(
        "not_full_online", "Không phải hồ sơ trực tuyến toàn trình", "Not a full-online dossier"
    ),
    "dossiers_paid_online": _simple(
        "not_paid_online", "Không thanh toán trực tuyến", "Fee not paid online"
    ),
    "dossiers_electronic_result": _simple(
        "result_not_electronic", "Kết quả không phải bản điện tử", "Result not electronic"
    ),
    "dossiers_digitized": (
        Reason(
            "components_not_digitized",
            "Thành phần hồ sơ chưa được số hóa",
            "Components not digitized",
            le(col("digitized_components"), lit(0)),
        ),
        Reason(
            "result_not_digitized",
            "Kết quả giải quyết chưa được số hóa",
            "Result not digitized",
            lit(True),
        ),
    ),
    "dossiers_reusing_data": _simple(
        "no_reuse", "Không tái sử dụng dữ liệu đã số hóa", "No digitized data reused"
    ),
    "dossiers_data_store": _simple(
        "no_data_store",
        "Không kết nối, chia sẻ với kho dữ liệu cá nhân",
        "Not connected to the citizen's data store",
    ),
    "dossiers_population_data": _simple(
        "no_population_data", "Không sử dụng dữ liệu dân cư", "Population data not used"
    ),
    "dossier_satisfaction": (
        Reason(
            "dissatisfied",
            "Người dân đánh giá không hài lòng",
            "Rated dissatisfied",
            col("dissatisfied"),
        ),
        Reason("complaint", "Có khiếu nại", "A complaint was filed", col("complaint")),
        Reason("late", "Giải quyết trễ hạn", "Processed late", not_(_IsTrue(DOSSIER_ON_TIME))),
    ),
    "procedures_announced_on_time": _simple(
        "announced_late",
        "Công bố TTHC chậm so với ngày văn bản quy định có hiệu lực",
        "Announced later than its legal basis required",
    ),
    "procedures_published_on_time": (
        Reason(
            "published_late",
            "Công khai trên Cơ sở dữ liệu quốc gia quá hạn",
            "Published on the national database after the deadline",
            all_of(not_null(col("first_published_on")), le(col("first_published_on"), CUTOFF_DATE)),
        ),
        Reason(
            "not_published_overdue",
            "Chưa công khai, đã quá hạn",
            "Not published yet, past the deadline",
            lit(True),
        ),
    ),
    "procedures_published_in_full": _simple(
        "components_missing",
        "Công khai thiếu thành phần bắt buộc",
        "Published without every required component",
    ),
    "procedures_online": _simple(
        "no_online_service", "Chưa cung cấp dịch vụ công trực tuyến", "No online service"
    ),
    "online_services_used": _simple(
        "no_online_dossier",
        "Không phát sinh hồ sơ trực tuyến trong kỳ",
        "No online dossier in the period",
    ),
    "fee_procedures_payment_integrated": _simple(
        "payment_not_integrated",
        "Chưa tích hợp thanh toán trực tuyến",
        "Not integrated with online payment",
    ),
    "fee_procedures_paid_online": _simple(
        "no_online_payment",
        "Không có hồ sơ thanh toán trực tuyến trong kỳ",
        "No dossier paid online in the period",
    ),
    "individual_procedures_population_data": _simple(
        "no_population_data", "Chưa sử dụng dữ liệu dân cư", "Does not use population data"
    ),
    "communes_certified_copies": (
        Reason(
            "certified_copies_not_offered",
            "Chưa cung cấp dịch vụ chứng thực bản sao điện tử",
            "Electronic certified copies not offered",
            not_(_IsTrue(le(col("certified_copy_offered_since"), CUTOFF_DATE))),
        ),
        Reason(
            "no_certified_copy_issued",
            "Chưa cấp bản sao điện tử nào",
            "No electronic certified copy issued",
            lit(True),
        ),
    ),
    "feedback_classified": _simple("not_classified", "Chưa phân loại", "Not classified"),
    "feedback_on_time": _LATE_FEEDBACK,
    "feedback_satisfaction": (
        Reason(
            "dissatisfied", "Đánh giá không hài lòng", "Rated dissatisfied", col("dissatisfied")
        ),
        Reason(
            "complained_again",
            "Phản ánh lại",
            "Complained again",
            col("complained_again"),
        ),
        *_LATE_FEEDBACK,
    ),
}


def reasons(measure: Measure) -> tuple[Reason, ...]:
    return (*REASONS.get(measure.key, ()), NOT_MET)


class NotListable(ValueError):
    """The measure has no row that loses points by itself."""


def check_listable(measure: Measure) -> None:
    if measure.average:
        raise NotListable("it is an average (monitoring): no single dossier loses points")


def _overdue(due: Expr, end: str) -> Expr:
    """Seconds the clock ran past the due date, to the end (by the cutoff) or the cutoff:
    negative while time is left, NULL without a due date."""
    return SecondsBetween(due, Coalesce((If(by_cutoff(end), col(end)), CUTOFF)))


# What a listing is ordered by, worst first, then by code (which breaks ties, so that pages
# are stable): dossiers and feedback the longest past their (effective) due date first (this
# term, descending), those without one last; procedures and communes failing the most of their
# measures first (`cost_measures`). The same in Python, SQL and the dashboards, so that pages
# split the reference's list.
PAST_DUE: dict[Subject, Expr] = {
    Subject.dossier: _overdue(EFFECTIVE_DUE, "ended_at"),
    Subject.feedback: _overdue(col("handle_due_at"), "ended_at"),
}
ORDER_WORDS = (
    "worst first: dossiers and feedback the longest past their (effective) due date first "
    "(those without one last), procedures and communes failing the most indicators first, "
    "then by code"
)


def cost_measures(subject: Subject) -> tuple[Measure, ...]:
    """The measures a procedure (or a commune) can fail: how many it fails in the scope is
    what it costs, and orders its listings."""
    return tuple(m for m in MEASURES.values() if m.subject is subject and not m.average)


def _sort_key(
    measure: Measure, facts: FactTables, scope: Scope, env: Mapping[str, Any]
) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The order in Python (as `_order_sql`)."""
    past_due = PAST_DUE.get(measure.subject)
    if past_due is not None:

        def by_past_due(row: Mapping[str, Any]) -> tuple[Any, ...]:
            past = past_due.eval(row, env)
            return (past is None, 0 if past is None else -past, row["code"])

        return by_past_due
    judged = [
        (m, condition(m, Outcome.lost), reference_env(m, facts, scope))
        for m in cost_measures(measure.subject)
    ]

    def by_failures(row: Mapping[str, Any]) -> tuple[Any, ...]:
        failed = sum(
            in_scope(m, row, scope) and truthy(lost.eval(row, m_env)) for m, lost, m_env in judged
        )
        return (-failed, row["code"])

    return by_failures


def past_due_sql(subject: Subject) -> str:
    """SQL, with `{variables}`: the seconds past due a dossier or feedback listing is ordered
    by (descending, NULLs last, then by code)."""
    return PAST_DUE[subject].sql()


def _order_sql(measure: Measure, scope: Scope, env: Mapping[str, Any], tables: TableNames) -> str:
    past_due = PAST_DUE.get(measure.subject)
    if past_due is not None:
        return f"{compile_sql(past_due, env)} DESC NULLS LAST, code"
    failures = " + ".join(
        f"toUInt8(({scope_sql(m, scope)}) AND "
        f"{compile_sql(_IsTrue(condition(m, Outcome.lost)), sql_env(m, scope, tables))})"
        for m in cost_measures(measure.subject)
    )
    return f"{failures} DESC, code"


def condition(measure: Measure, outcome: Outcome) -> Expr:
    """Which rows of the measure's table (already in scope) the outcome selects."""
    good = _IsTrue(measure.numerator)
    if outcome is Outcome.counted:
        return measure.denominator
    if outcome is Outcome.good:
        return all_of(measure.denominator, good)
    return all_of(measure.denominator, not_(good))


def reason_of(measure: Measure, row: Mapping[str, Any], env: Mapping[str, Any]) -> Reason | None:
    """Why a row failed the measure (None for a row that did not fail it)."""
    if not truthy(condition(measure, Outcome.lost).eval(row, env)):
        return None
    return next(r for r in reasons(measure) if truthy(r.condition.eval(row, env)))


def listing(
    measure: Measure, facts: FactTables, scope: Scope, outcome: Outcome
) -> list[tuple[Mapping[str, Any], Reason | None]]:
    """The reference listing: rows of the scope the outcome selects, ordered as the SQL orders
    them (worst first, `PAST_DUE`, `cost_measures`), each with its reason."""
    check_listable(measure)
    env = reference_env(measure, facts, scope)
    chosen = condition(measure, outcome)
    selected = [
        row
        for row in facts.rows(measure.subject, scope)
        if in_scope(measure, row, scope) and truthy(chosen.eval(row, env))
    ]
    selected.sort(key=_sort_key(measure, facts, scope, env))
    return [(row, reason_of(measure, row, env)) for row in selected]


def _reason_sql(measure: Measure, env: Mapping[str, Any]) -> str:
    lost = compile_sql(condition(measure, Outcome.lost), env)
    branches = ", ".join(
        f"{compile_sql(r.condition, env)}, {sql_literal(r.code)}" for r in reasons(measure)[:-1]
    )
    cases = f"multiIf({branches}, {sql_literal(NOT_MET.code)})" if branches else "'not_met'"
    return f"if({lost}, {cases}, '')"


def _from_where(
    measure: Measure, scope: Scope, chosen: Expr, tables: TableNames
) -> tuple[str, dict[str, Any]]:
    env = sql_env(measure, scope, tables)
    source = source_sql(measure.subject, scope, tables)
    where = f"({scope_sql(measure, scope)}) AND {compile_sql(chosen, env)}"
    return f"FROM {source} WHERE {where}", env


def listing_sql(
    measure: Measure,
    scope: Scope,
    outcome: Outcome,
    columns: Sequence[str],
    *,
    limit: int,
    offset: int,
    tables: TableNames = _TABLES,
) -> tuple[str, str]:
    """(page query, count query). The page has the given columns plus `reason` ('' for a row
    that did not fail the measure) and, for dossiers, `effective_due_at`."""
    check_listable(measure)
    rows, env = _from_where(measure, scope, condition(measure, outcome), tables)
    extra = [f"{_reason_sql(measure, env)} AS reason"]
    if measure.subject is Subject.dossier:
        extra.append(f"{compile_sql(EFFECTIVE_DUE, env)} AS effective_due_at")
    select = ", ".join([*columns, *extra])
    settings = settings_sql(measure.subject)
    page = (
        f"SELECT {select} {rows} ORDER BY {_order_sql(measure, scope, env, tables)} "
        f"LIMIT {int(limit)} OFFSET {int(offset)}{settings}"
    )
    return page, f"SELECT count() AS n {rows}{settings}"


def reason_counts_sql(measure: Measure, scope: Scope, tables: TableNames = _TABLES) -> str:
    """How many rows of the scope failed the measure for each reason (columns reason, n)."""
    check_listable(measure)
    rows, env = _from_where(measure, scope, condition(measure, Outcome.lost), tables)
    return (
        f"SELECT {_reason_sql(measure, env)} AS reason, count() AS n {rows} "
        f"GROUP BY reason ORDER BY n DESC, reason{settings_sql(measure.subject)}"
    )


def lost_sql(measure: Measure) -> str:
    """SQL, with the measure's `{variables}`: the row counts against the indicator."""
    check_listable(measure)
    return condition(measure, Outcome.lost).sql()


def reason_label_sql(measure: Measure) -> str:
    """SQL, with the measure's `{variables}`: why a row that failed the measure failed, in
    Vietnamese (the first of its reasons that holds), for the dashboards."""
    branches = ", ".join(
        f"{r.condition.sql()}, {sql_literal(r.label_vi)}" for r in reasons(measure)[:-1]
    )
    fallback = sql_literal(NOT_MET.label_vi)
    return f"multiIf({branches}, {fallback})" if branches else fallback
