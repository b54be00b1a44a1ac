"""When the worker runs its window step: after every batch once less than a batch waits to be
read, and while a backlog drains only once enough time or records have gathered (each step
costs the same planning however many keys it recomputes)."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from services.aggregator.app import Aggregator, _Handled
from services.aggregator.settings import AggregatorSettings

TP = ("tthc.events", 0)


@pytest.fixture
def aggregator(clickhouse, tmp_path) -> Aggregator:
    settings = AggregatorSettings(
        batch_size=100,
        windows_every_seconds=5.0,
        windows_every_records=1000,
        data_dir=tmp_path / "faust",
        store="memory://",
    )
    return Aggregator(settings, clickhouse, partitions=1)  # wires the parts: no I/O


def handled(records: int, seconds_ago: float = 0.0) -> _Handled:
    return _Handled({TP: list(range(records))}, {}, Counter(), time.monotonic() - seconds_ago)


def test_caught_up_each_batch_gets_its_window_step(aggregator: Aggregator) -> None:
    aggregator._unflushed = [handled(100)]
    aggregator._behind = 99  # the next batch would not be whole: the pipeline is caught up
    assert aggregator._flush_due()


def test_in_a_backlog_the_window_step_waits_for_time_or_records(aggregator: Aggregator) -> None:
    aggregator._behind = 5000
    aggregator._unflushed = [handled(100), handled(100)]
    assert not aggregator._flush_due()
    aggregator._unflushed = [handled(100, seconds_ago=5.5), handled(100)]
    assert aggregator._flush_due()  # the oldest batch has waited long enough
    aggregator._unflushed = [handled(100) for _ in range(10)]
    assert aggregator._flush_due()  # 1,000 records wait
