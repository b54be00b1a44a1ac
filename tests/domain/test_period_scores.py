"""A period named in SQL has the bounds and the cutoff `tthc.periods` gives it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tthc.calendar import VN_TZ
from tthc.expr import sql_literal
from tthc.period_scores import period_sql
from tthc.periods import containing, parse_period


@pytest.mark.parametrize("label", ["2024-01", "2024-12", "2024-Q1", "2024-Q4", "2024-H2", "2023"])
def test_a_past_period_in_sql_is_the_periods_one(clickhouse: Any, label: str) -> None:
    p = period_sql(sql_literal(label))
    ((kind, start, end, cutoff),) = clickhouse.query(
        f"SELECT {p.kind}, {p.start_day}, {p.end_day}, {p.cutoff}"
    ).result_rows
    period = parse_period(label)
    assert kind == {"Q": "quarter", "H": "half"}.get(
        label[5:6], "month" if "-" in label else "year"
    )
    assert (start, end) == (period.start_date, period.end_date)
    assert cutoff.replace(tzinfo=UTC) == period.cutoff(datetime.now(UTC))  # its last second


def test_the_current_period_is_judged_now(clickhouse: Any) -> None:
    today = datetime.now(VN_TZ).date()
    for kind in ("month", "quarter", "year"):
        period = containing(kind, today)
        p = period_sql(sql_literal(period.label))
        before = datetime.now(UTC).replace(microsecond=0)
        ((cutoff,),) = clickhouse.query(f"SELECT {p.cutoff}").result_rows
        assert before <= cutoff.replace(tzinfo=UTC) <= datetime.now(UTC)


def test_another_label_fails(clickhouse: Any) -> None:
    p = period_sql(sql_literal("2024-W3"))
    with pytest.raises(Exception, match="a period label is"):
        clickhouse.query(f"SELECT {p.start_day}")
