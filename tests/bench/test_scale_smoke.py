"""bench/scale.py at a tiny size, so that the figures of docs/scaling.md can be measured again:
a one-shard store through the Distributed tables gives every figure, and the rows it counts."""

from __future__ import annotations

from pathlib import Path

from bench.scale import ONE_SHARD, measure_store, one_shard_client
from tthc.units import load_units


def test_a_tiny_shard_store_gives_every_figure(tmp_path: Path) -> None:
    client = one_shard_client(tmp_path / "ch")
    try:
        figures = measure_store(client, load_units(), 5_000, ONE_SHARD, runs=1)
    finally:
        client.close()
    assert figures["dossiers"] == figures["dossier_rows"] == 5_000
    assert figures["bytes_per_dossier"] > 0 and figures["window_rows"] > 0
    assert figures["insert_rows"] == 5_000  # fewer rows than INSERT_ROWS: all of them
    for key in ("scoreboard_sql_ms", "ranking_sql_ms", "windows_rebuild_ms"):
        assert figures[key] > 0, key
