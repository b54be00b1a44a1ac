"""Cluster mode on chDB: the tables of one shard behind Distributed ones, on one node.

chDB has no Keeper and runs no server, so the Keeper-less layout of the same operations
(`Layout("tthc", replicated=False)`) runs on bench/one_shard.xml's one-shard cluster: the
readers' and writers' SQL, unchanged, goes through the Distributed tables, and every tally still
equals the reference. The Replicated engines and ON CLUSTER are pinned by the snapshot
(tests/aggregator/snapshots/schema-cluster.sql).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.scale import one_shard_client
from services.storage.clickhouse import Client, check_schema, migrate, truncate_facts
from services.storage.schema import BY_DAY, MIGRATIONS, Layout
from services.storage.windows import rebuild_windows
from tests.aggregator.conftest import MIDDLE
from tests.aggregator.test_clickhouse import assert_tallies_equal_reference, fold_and_insert
from tthc.events import Event
from tthc.units import UnitTree

ONE_SHARD = Layout("tthc", replicated=False)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Client]:
    client = one_shard_client(tmp_path / "ch")
    try:
        yield client
    finally:
        client.close()


def engines(client: Client) -> dict[str, str]:
    rows = client.query(
        "SELECT name, engine FROM system.tables WHERE database = currentDatabase()"
    ).result_rows
    return {str(name): str(engine) for name, engine in rows}


def test_the_migrations_make_local_tables_behind_distributed_ones(cluster: Client) -> None:
    assert migrate(cluster, ONE_SHARD) == [m.version for m in MIGRATIONS]
    found = engines(cluster)
    assert found["dossier_facts"] == found["feedback_facts"] == "Distributed"
    assert found["dossier_facts_local"] == "ReplacingMergeTree"
    assert found["procedure_facts"] == "ReplacingMergeTree"  # whole on every node
    assert "procedure_facts_local" not in found
    check_schema(cluster)  # the Distributed tables have today's fact columns


def test_every_tally_through_the_distributed_tables_equals_the_reference(
    cluster: Client, tree: UnitTree, small_events: list[Event]
) -> None:
    migrate(cluster, ONE_SHARD)
    fold_and_insert(cluster, small_events)
    stored = cluster.query(
        "SELECT (SELECT count() FROM dossier_facts_local FINAL), "
        "(SELECT count() FROM dossier_facts FINAL)"
    ).result_rows
    assert stored[0][0] == stored[0][1] > 0  # written through the front, held by the shard
    seen = assert_tallies_equal_reference(cluster, small_events, tree, MIDDLE)
    assert all(t.denominator > 0 for t in seen[(tree.root.code, "2024")].values())
    # the windows read the facts by day through the Distributed tables
    rebuild_windows(cluster, ONE_SHARD)
    assert cluster.query(f"SELECT count() FROM {BY_DAY.windows}").result_rows[0][0] > 0
    truncate_facts(cluster, ONE_SHARD)
    assert cluster.query("SELECT count() FROM dossier_facts").result_rows == [(0,)]
