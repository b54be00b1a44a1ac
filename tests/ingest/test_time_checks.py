"""Property-based fuzzing of the ingest's timestamp checks (the function validate-events and
import call too): inside the plausible window accepted, outside it refused naming the field,
never anything but a refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.checks import EARLIEST_TIME, EventPolicy, Reason, Rejected
from tthc.units import load_units

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SKEW = timedelta(minutes=15)
POLICY = EventPolicy(
    load_units("dong-nai"),
    procedures=None,
    max_future_skew=SKEW,
    max_event_bytes=256 * 1024,
    clock=lambda: NOW,
)
FUZZ = settings(max_examples=300, deadline=None)

offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
any_instant = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets
)


def processed(time: Any, at: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "x/processed",
        "source": "mot-cua",
        "type": "vn.tthc.dossier.processed.v1",
        "subject": "H75.25195-250804-0001",
        "time": time,
        "data": {"at": at},
    }


def refusal(raw: dict[str, Any]) -> tuple[Reason, list[str]] | None:
    try:
        POLICY.validate(raw)
    except Rejected as rejected:
        return rejected.rejection.reason, [field for field, _ in rejected.rejection.problems]
    return None


def inside(instant: datetime) -> bool:
    return EARLIEST_TIME <= instant <= NOW + SKEW


@FUZZ
@given(any_instant)
def test_a_time_is_accepted_exactly_inside_the_window(instant: datetime) -> None:
    text = instant.isoformat()
    got = refusal(processed(text, text))
    try:
        expected_inside = inside(instant)
    except OverflowError:  # year 1 or 9999 at an offset: outside by far
        expected_inside = False
    if expected_inside:
        assert got is None
    else:
        assert got is not None
        reason, fields = got
        assert reason in (Reason.future_time, Reason.implausible_time)
        assert fields == ["time", "data.at"]


@FUZZ
@given(st.integers(min_value=-(2**40), max_value=2**40) | st.floats(allow_nan=False))
def test_numbers_are_never_times(number: float) -> None:
    got = refusal(processed(number, "2025-08-05T10:00:00+07:00"))
    assert got == (Reason.invalid, ["time"])


@FUZZ
@given(st.text(max_size=40))
def test_text_is_a_time_only_in_rfc_3339_with_an_offset(text: str) -> None:
    got = refusal(processed("2025-08-05T10:00:00+07:00", text))
    try:
        parsed = datetime.fromisoformat(text)
        plausible = parsed.tzinfo is not None and inside(parsed) and len(text) >= 20
    except (ValueError, OverflowError):
        plausible = False
    if not plausible:
        assert got is not None and "data.at" in got[1]


@pytest.mark.parametrize(
    "time",
    [0, "0001-01-01T00:00:00+01:00", "1969-12-31T23:59:59Z", "2014-12-31T23:59:59+07:00"],
)
def test_the_nonsense_times_found_are_refused(time: Any) -> None:
    got = refusal(processed(time, time))
    assert got is not None and got[1][0] == "time"


def test_a_due_date_before_the_receipt_is_refused() -> None:
    raw = {
        **processed("2025-08-05T10:00:00+07:00", None),
        "type": "vn.tthc.dossier.received.v1",
        "data": {
            "unit": "25195",
            "procedure": "1.001234",
            "channel": 2,
            "received_at": "2025-08-05T10:00:00+07:00",
            "due_at": "2025-08-01T10:00:00+07:00",
        },
    }
    assert refusal(raw) == (Reason.implausible_time, ["data.due_at"])


@pytest.mark.parametrize(
    ("field", "value"), [("id", ""), ("id", "  "), ("source", "mot\x00cua"), ("id", "x" * 201)]
)
def test_ids_and_sources_are_printable_bounded_text(field: str, value: str) -> None:
    raw = {**processed("2025-08-05T10:00:00+07:00", "2025-08-05T10:00:00+07:00"), field: value}
    assert refusal(raw) == (Reason.invalid, [field])
