"""The scaling figures of docs/scaling.md: one shard's share of the country, timed on one node.

To be written.
"""

from __future__ import annotations

from pathlib import Path

import clickhouse_connect

from services.storage.clickhouse import Client

ONE_SHARD_CONFIG = Path(__file__).with_name("one_shard.xml")


# What deploy/clickhouse/users.xml sets for the services on a real cluster.
CLUSTER_SETTINGS = {"distributed_product_mode": "global", "distributed_foreground_insert": 1}


def one_shard_client(directory: Path, database: str | None = None) -> Client:
    """chDB on `directory` with the one-node cluster `tthc` of one_shard.xml."""
    return clickhouse_connect.get_client(
        interface="chdb",
        path=str(directory),
        database=database,
        settings=CLUSTER_SETTINGS,
        chdb_options={"config-file": str(ONE_SHARD_CONFIG)},
    )
