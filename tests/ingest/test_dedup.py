"""The duplicate window: bounded, time-limited, and only what Kafka acknowledged."""

from __future__ import annotations

import asyncio

from services.ingest.dedup import DuplicateWindow


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_remembers_within_the_retention_only() -> None:
    clock = Clock()
    window = DuplicateWindow(size=10, retention_seconds=60, clock=clock)
    window.remember(("s", "1"))
    clock.now = 59
    assert window.seen(("s", "1"))
    clock.now = 61
    assert not window.seen(("s", "1"))
    assert len(window) == 0


def test_keeps_at_most_size_pairs_dropping_the_oldest() -> None:
    window = DuplicateWindow(size=3, retention_seconds=60, clock=Clock())
    for n in range(5):
        window.remember(("s", str(n)))
    assert [window.seen(("s", str(n))) for n in range(5)] == [False, False, True, True, True]


def test_size_zero_remembers_nothing() -> None:
    window = DuplicateWindow(size=0, retention_seconds=60)
    window.remember(("s", "1"))
    assert not window.seen(("s", "1"))


def test_in_flight_pair_is_remembered_only_when_delivered() -> None:
    async def scenario() -> tuple[bool, bool, bool, bool]:
        window = DuplicateWindow(size=10, retention_seconds=60)
        window.begin(("s", "1"))
        waiter = window.in_flight(("s", "1"))
        assert waiter is not None
        window.end(("s", "1"), delivered=False)
        failed = await waiter
        window.begin(("s", "1"))
        second = window.in_flight(("s", "1"))
        assert second is not None
        window.end(("s", "1"), delivered=True)
        return failed, await second, window.seen(("s", "1")), window.in_flight(("s", "1")) is None

    assert asyncio.run(scenario()) == (False, True, True, True)
