"""The simulator: deterministic from a seed, anchored at 'now', paced by rate or timeline."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from services.simulator import Report, replay, workload_until
from tthc.calendar import VN_TZ
from tthc.simulation import generate_timeline
from tthc.units import load_units

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=VN_TZ)


class Recorder:
    """Stands in for the HTTP sender: records the batches and the clock at each."""

    def __init__(self, clock: list[float]) -> None:
        self.batches: list[int] = []
        self.clock = clock

    def send(self, events, report: Report) -> None:  # type: ignore[no-untyped-def]
        self.batches.append(len(events))
        report.sent += len(events)
        report.accepted += len(events)


def test_the_workload_ends_now_and_covers_the_current_month_quarter_and_year():
    workload = workload_until(NOW, months=3, seed=1, scale=0.1)
    assert workload.start == date(2026, 9, 1) and workload.until == NOW
    pairs = generate_timeline(load_units(), workload)
    assert pairs == generate_timeline(load_units(), workload)  # same seed, same events
    times = [event.occurred_at for _, event in pairs]
    assert max(times) <= NOW
    assert any(t.astimezone(VN_TZ).month == 11 for t in times)


def test_rate_spaces_the_batches():
    pairs = generate_timeline(load_units(), workload_until(NOW, months=1, scale=0.05))[:700]
    slept: list[float] = []
    recorder = Recorder([])
    report = replay(recorder, pairs, rate=1000, batch_size=100, sleep=slept.append)  # type: ignore[arg-type]
    assert report.sent == 700 and recorder.batches == [100] * 7
    # the sleeps are recorded, not slept: batch k waits until k × 100 / 1000 s from the start
    assert len(slept) == 6 and abs(slept[-1] - 0.6) < 0.05


def test_speed_replays_the_timeline_compressed():
    start = datetime(2026, 11, 1, tzinfo=VN_TZ)
    pairs = generate_timeline(load_units(), workload_until(NOW, months=1, scale=0.05))
    pairs = [(start + timedelta(hours=i), event) for i, (_, event) in enumerate(pairs[:48])]
    waits: list[float] = []
    recorder = Recorder([])
    replay(recorder, pairs, rate=0, speed=3600 * 10, batch_size=100, sleep=waits.append)  # type: ignore[arg-type]
    # 10 hours of timeline per second: one batch per 10 hours of events
    assert recorder.batches[0] == 11 and sum(recorder.batches) == 48
