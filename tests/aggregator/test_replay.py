"""`tthc replay` rebuilds ClickHouse from the whole log: the same numbers as the reference."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from services.aggregator.processing import Reason
from services.aggregator.replay import replay
from services.storage.clickhouse import clickhouse_client, migrate
from tests.aggregator.conftest import event_records, mismatches, produce
from tests.aggregator.test_worker import poisoned_copy
from tthc.events import DossierProcessed
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


def test_replay_leaves_out_the_events_the_worker_would_dead_letter(
    kafka_bootstrap: str, topic: str, tmp_path: Path, tree, small_events
) -> None:
    """The two poison events of issue 14 in the log (an older ingest let them through): the
    replay neither stops nor loses their dossiers' other events."""
    processed = [e for e in small_events if isinstance(e.data, DossierProcessed)][:2]
    poison = [
        (e.subject.encode(), poisoned_copy(e, when))
        for e, when in zip(
            processed, ["1969-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00"], strict=True
        )
    ]
    records = event_records(small_events)
    produce(kafka_bootstrap, topic, [*records[:100], *poison, *records[100:]])
    url = f"chdb://{tmp_path / 'clickhouse'}"
    result = replay(
        kafka_bootstrap=kafka_bootstrap,
        topic=topic,
        clickhouse_url=url,
        console=Console(record=True),
    )
    assert sum(result.dead_letters.values()) == 2
    assert result.dead_letters[Reason.insert_rejected] == 1
    assert result.events == len({e.key for e in small_events})
    assert mismatches(url, small_events, tree) == []
