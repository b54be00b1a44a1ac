"""Variables and panels that several dashboards share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grafanalib import core as g

from dashboards.catalog import grade_mappings, grade_steps
from dashboards.grafana import (
    Column,
    query_variable,
)
from dashboards.panels import query, series, stat, timeseries
from dashboards.sql import (
    FACTS,
    LEVEL_LABELS,
    MONTH_START,
    PERIOD_KIND_ORDER,
    PERIOD_TEXT,
    SCORES,
    TIMEZONE,
    UNITS,
    WATERMARKS,
    level_order,
    quote,
    recent_scores,
    string_array,
)
from tthc.profile import Profile
from tthc.units import UnitLevel

# Grafana variables as the SQL reads them: quoted by Grafana, quotes inside escaped.
UNIT = "${unit:singlequote}"
LEVEL = "${level:singlequote}"
INDICATOR = "${indicator:singlequote}"
PROVINCE = f"level = '{UnitLevel.province.value}'"


# The trends: how many of the last months and quarters they show (each one is scored).
TREND_MONTHS = 6
TREND_QUARTERS = 4


def period_variable() -> g.Template:
    """Every month, quarter and year from the first dossier or feedback received to today, the
    most recent first (months before quarters); none before any."""
    first = (
        "(SELECT minOrNull(t) FROM (SELECT min(received_at) AS t FROM "
        f"{FACTS.dossier} HAVING count() > 0 UNION ALL SELECT min(received_at) AS t FROM "
        f"{FACTS.feedback} HAVING count() > 0))"
    )
    today = f"toDate(now(), '{TIMEZONE}')"
    months = (
        f"WITH toStartOfMonth(toDate({first}, '{TIMEZONE}')) AS first_month\n"
        "SELECT addMonths(assumeNotNull(first_month), toInt32(n)) AS month FROM (SELECT "
        f"arrayJoin(range(if(first_month IS NULL, 0, toUInt32(dateDiff('month', "
        f"assumeNotNull(first_month), {today}) + 1)))) AS n)"
    )
    kinds = (
        "[(formatDateTime(month, '%Y-%m'), 'month', month), "
        "(concat(toString(toYear(month)), '-Q', toString(toQuarter(month))), 'quarter', "
        "toStartOfQuarter(month)), (toString(toYear(month)), 'year', toStartOfYear(month))]"
    )
    periods = (
        "SELECT p.1 AS period, p.2 AS period_kind, p.3 AS period_start "
        f"FROM ({months}) ARRAY JOIN {kinds} AS p"
    )
    return query_variable(
        "period",
        "Kỳ đánh giá",
        f"SELECT period, any({PERIOD_TEXT}) AS text\nFROM ({periods})\n"
        f"GROUP BY period, period_kind\n"
        f"ORDER BY any(period_start) DESC, any({PERIOD_KIND_ORDER}), period",
    )


def level_variable(default: UnitLevel = UnitLevel.department) -> g.Template:
    """The levels today's tree has below the province, for the rankings of one level;
    `default` first when the tree has it."""
    levels = [level.value for level in LEVEL_LABELS]
    labels = [LEVEL_LABELS[level] for level in LEVEL_LABELS]
    text = f"transform(level, {string_array(levels)}, {string_array(labels)}, level)"
    return query_variable(
        "level",
        "Cấp đơn vị",
        f"SELECT level, any({text}) AS text\nFROM {UNITS}\n"
        f"WHERE level != '{UnitLevel.province.value}'\n"
        f"GROUP BY level\nORDER BY level != {quote(default.value)}, any({level_order()})",
    )


def total_stat(profile: Profile, where: str) -> g.Stat:
    """The total on 100, coloured by the profile's grade bands."""
    return stat(
        "Tổng điểm",
        query(f"SELECT total\nFROM {SCORES}\nWHERE {where}", "total"),
        decimals=2,
        unit="suffix: / 100",
        min_value=0,
        max_value=100,
        color_mode="background",
        steps=grade_steps(profile),
        description="Tổng điểm quy về thang 100 của kỳ đang chọn.",
    )


def grade_stat(profile: Profile, where: str) -> g.Stat:
    return stat(
        "Xếp loại",
        query(f"SELECT grade_vi\nFROM {SCORES}\nWHERE {where}", "grade_vi"),
        fields="/^grade_vi$/",
        mappings=grade_mappings(profile),
        color_mode="background",
    )


def missing_stat(where: str) -> g.Stat:
    return stat(
        "Điểm còn thiếu",
        query(f"SELECT 100 - total AS missing\nFROM {SCORES}\nWHERE {where}", "missing"),
        decimals=2,
        description="100 trừ tổng điểm: phần điểm bị mất ở các chỉ tiêu (xem bảng chỉ tiêu).",
        steps=[{"color": "green", "value": None}, {"color": "orange", "value": 10}],
    )


def pipeline_stat() -> g.Stat:
    """When the pipeline last wrote: the scores are computed from what it has written."""
    return stat(
        "Số liệu cập nhật",
        query(
            # Epoch milliseconds: a number, which a stat shows (it skips time fields).
            "SELECT if(count() = 0, NULL, toUnixTimestamp(max(updated_at)) * 1000) AS updated_at"
            f"\nFROM {WATERMARKS} FINAL",
            "updated_at",
        ),
        unit="dateTimeFromNow",
        description="Lần cuối luồng xử lý ghi số liệu vào kho; điểm được tính ngay khi bảng "
        "điều khiển hỏi, từ số liệu đó.",
    )


def data_until_stat() -> g.Stat:
    """How far the data goes: the latest dossier received, whatever the period."""
    return stat(
        "Dữ liệu đến",
        query(
            "SELECT toUnixTimestamp(max(received_at)) * 1000 AS received_at\n"
            f"FROM {FACTS.dossier} FINAL",
            "received_at",
        ),
        unit="dateTimeAsLocal",
        description="Thời điểm tiếp nhận của hồ sơ mới nhất đã về hệ thống: số liệu đến đây.",
    )


def monthly_total(where: str, title: str = "Tổng điểm theo tháng") -> g.TimeSeries:
    """A unit's total of each of the last months, on the months' first days."""
    sql = (
        f"SELECT {MONTH_START} AS time, total\nFROM {recent_scores('month', TREND_MONTHS)}\n"
        f"WHERE {where} AND $__timeFilter(time)\nORDER BY time"
    )
    total = [Column("total", "Tổng điểm")]
    return by_month(title, sql, ["total"], decimals=2, min_value=0, max_value=100, columns=total)


def by_month(title: str, sql: str, names: Sequence[str], **options: Any) -> g.TimeSeries:
    """A point a month, on the month's first day: `sql` selects `time` and `names`."""
    return timeseries(title, [series(sql, "time", *names)], show_points="always", **options)


def quarterly_total(where: str) -> g.TimeSeries:
    """A unit's total of each of the last quarters, each judged at its end (now for this one),
    on the quarters' first days."""
    sql = (
        f"SELECT {MONTH_START} AS time, total\nFROM {recent_scores('quarter', TREND_QUARTERS)}\n"
        f"WHERE {where} AND $__timeFilter(time)\nORDER BY time"
    )
    return timeseries(
        "Tổng điểm theo quý",
        [series(sql, "time", "total")],
        decimals=2,
        min_value=0,
        max_value=100,
        show_points="always",
        columns=[Column("total", "Tổng điểm")],
        description=f"Tổng điểm của {TREND_QUARTERS} quý gần nhất, mỗi quý tính đến hết quý "
        "(quý này: đến hiện tại), trong khoảng thời gian của bảng điều khiển.",
    )


def score_columns(
    *, rate_width: int, average_width: int, lost_in_red: bool = False
) -> list[Column]:
    """An indicator's counts, rate, average, points and points lost, as the scores have them."""
    lost = Column("lost", "Điểm bị mất", decimals=2, width=110)
    if lost_in_red:  # any point lost shows
        red = [{"color": "green", "value": None}, {"color": "red", "value": 0.005}]
        lost = Column(
            "lost",
            "Điểm bị mất",
            decimals=2,
            width=110,
            cell="color-text",
            extra=(
                ("thresholds", {"mode": "absolute", "steps": red}),
                ("color", {"mode": "thresholds"}),
            ),
        )
    return [
        Column("numerator", "Đạt", decimals=0, width=80),
        Column("denominator", "Tổng số", decimals=0, width=90),
        Column(
            "rate_pct",
            "Tỷ lệ",
            unit="percent",
            decimals=1,
            cell="gauge",
            width=rate_width,
            extra=(("min", 0), ("max", 100)),
        ),
        Column("average_days", "Trung bình (ngày)", decimals=1, width=average_width),
        Column("points", "Điểm", decimals=2, width=80),
        Column("max_points", "Tối đa", decimals=2, width=80),
        lost,
    ]
