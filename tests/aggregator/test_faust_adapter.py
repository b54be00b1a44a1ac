"""The one module that relies on Faust's internals was written for one Faust version."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import faust.streams
from faust.exceptions import ConsumerNotStarted
from faust.transport.consumer import Consumer
from faust.types.app import AppT

from services.aggregator.faust_adapter import FAUST_VERSION


def test_faust_is_the_version_the_adapter_was_written_for() -> None:
    """An upgrade fails here first: read services/aggregator/faust_adapter.py again, check each
    internal it names against the new Faust, then move FAUST_VERSION."""
    assert importlib.metadata.version("faust-streaming") == FAUST_VERSION


def test_the_internals_the_adapter_names_are_there() -> None:
    assert hasattr(faust.streams, "_current_event")
    names = ("_commit", "commit", "seek", "earliest_offsets", "highwater", "highwaters")
    for name in (*names, "resume_partitions"):
        assert callable(getattr(Consumer, name, None)), name
    assert {"_acked", "_acked_index"} <= set(Consumer.__annotations__)
    assert {"rebalancing", "in_recovery"} <= set(AppT.__annotations__)
    assert issubclass(ConsumerNotStarted, Exception)


def test_nothing_else_touches_faust_internals() -> None:
    root = Path(__file__).resolve().parents[2] / "services" / "aggregator"
    internals = ("_current_event", "._commit(", "._acked", "consumer.commit")
    offenders = [
        f"{path.name}: {name}"
        for path in root.glob("*.py")
        if path.name != "faust_adapter.py"
        for name in internals
        if name in path.read_text()
    ]
    assert offenders == []
