"""`tthc replay` rebuilds ClickHouse from the whole log: the same numbers as the reference."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from services.aggregator.processing import Reason
from services.aggregator.replay import replay
from services.storage.clickhouse import clickhouse_client, migrate
from tests.aggregator.conftest import event_records, mismatches, produce
from tthc.measures import Subject

pytestmark = pytest.mark.kafka


def test_replay_rebuilds_the_facts_from_the_log(
    kafka_bootstrap: str, topic: str, tmp_path: Path, tree, small_events
) -> None:
    records = event_records(small_events)
    produce(kafka_bootstrap, topic, [*records, *records[:500], (b"x", b"not json")])
    url = f"chdb://{tmp_path / 'clickhouse'}"
    stale = clickhouse_client(url)  # a database with a row the log does not justify
    migrate(stale)
    stale.command(
        "INSERT INTO dossier_facts (code, unit, procedure, version) VALUES ('X', '75', 'P', 1)"
    )
    stale.close()

    console = Console(record=True, width=120)
    result = replay(
        kafka_bootstrap=kafka_bootstrap, topic=topic, clickhouse_url=url, console=console
    )

    assert result.records == len(records) + 501
    assert result.events == len({e.key for e in small_events})
    assert result.dead_letters == {Reason.invalid_json: 1}
    assert result.rows[Subject.dossier] == len(
        {e.subject for e in small_events if e.entity.value == "dossier"}
    )
    assert "rows written" in console.export_text()
    assert mismatches(url, small_events, tree) == []
