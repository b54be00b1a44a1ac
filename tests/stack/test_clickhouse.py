"""Embedded ClickHouse (chDB) through clickhouse-connect: the same client and SQL the
services use against a ClickHouse server, here on disk under the test's tmp_path."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import clickhouse_connect

COLUMNS = ["dossier_code", "unit_code", "status", "on_time", "updated_at", "version"]


def create_dossier_state(client) -> None:
    client.command(
        """
        CREATE TABLE dossier_state (
            dossier_code String,
            unit_code    LowCardinality(String),
            status       LowCardinality(String),
            on_time      UInt8,
            updated_at   DateTime64(3, 'Asia/Ho_Chi_Minh'),
            version      UInt64
        )
        ENGINE = ReplacingMergeTree(version)
        ORDER BY (unit_code, dossier_code)
        """
    )


def test_replacing_merge_tree_keeps_the_latest_version_with_final(clickhouse):
    assert clickhouse.server_version.split(".")[0].isdigit()
    create_dossier_state(clickhouse)
    # No background merges: the duplicates stay in the parts, so FINAL must do the work.
    clickhouse.command("SYSTEM STOP MERGES dossier_state")
    unit = "000.00.01.H01"
    # One row per key per insert: within one insert block ReplacingMergeTree already
    # collapses duplicates (optimize_on_insert), across inserts only FINAL or a merge does.
    inserts = [
        [
            ["H01.001", unit, "received", 0, datetime(2025, 3, 1, 8, 0), 1],
            ["H01.002", unit, "received", 0, datetime(2025, 3, 1, 9, 0), 1],
        ],
        [["H01.001", unit, "returned", 1, datetime(2025, 3, 3, 8, 0), 3]],
        # A late, older version (an at-least-once redelivery) must not win.
        [["H01.001", unit, "processing", 0, datetime(2025, 3, 2, 8, 0), 2]],
    ]
    for rows in inserts:
        clickhouse.insert("dossier_state", rows, column_names=COLUMNS)

    assert clickhouse.query("SELECT count() FROM dossier_state").result_rows[0][0] == 4
    final = clickhouse.query(
        "SELECT dossier_code, status, on_time, version FROM dossier_state FINAL "
        "ORDER BY dossier_code"
    ).result_rows
    assert final == [("H01.001", "returned", 1, 3), ("H01.002", "received", 0, 1)]
    # Without FINAL the superseded versions are still visible.
    versions = clickhouse.query("SELECT count() FROM dossier_state WHERE dossier_code = 'H01.001'")
    assert versions.result_rows[0][0] == 3

    # Parameters bind the same way as against a server.
    on_time = clickhouse.query(
        "SELECT countIf(on_time = 1) FROM dossier_state FINAL WHERE unit_code = {unit:String}",
        parameters={"unit": unit},
    ).result_rows[0][0]
    assert on_time == 1


def test_data_persists_on_disk_across_clients(clickhouse_dsn, tmp_path: Path):
    client = clickhouse_connect.get_client(dsn=clickhouse_dsn)
    try:
        create_dossier_state(client)
        client.insert(
            "dossier_state",
            [["H01.009", "000.00.02.H01", "received", 0, datetime(2025, 1, 1), 1]],
            column_names=COLUMNS,
        )
    finally:
        client.close()
    assert (tmp_path / "ch").is_dir()

    client = clickhouse_connect.get_client(dsn=clickhouse_dsn)
    try:
        assert client.query("SELECT dossier_code FROM dossier_state").result_rows == [("H01.009",)]
    finally:
        client.close()
