"""The measured figures behind docs/scaling.md: one shard's share of the country, on one node.

    python -m bench.scale --dossiers 1000000 10000000 [--runs 3] [--out FILE.json]

For each size, a shard-sized store is built twice in embedded ClickHouse (chDB) from the
benchmark's dataset (bench.dataset, a year of the sample province's dossiers): once in the
single-node layout, once in the cluster layout on bench/one_shard.xml's one-node cluster, where
the facts go through the Distributed tables into the `_local` ones, as one shard of a real
cluster holds them (chDB has no Keeper: plain engines stand in for the Replicated ones, which
change replication, not a query's work on the shard). Measured on each:

- the build (an INSERT … SELECT of the dossier facts, through the Distributed table in the
  cluster layout) and the bytes on disk per dossier and per feedback row;
- 100,000 dossier fact rows inserted again as the aggregator inserts them (clickhouse-connect,
  through the Distributed table in the cluster layout);
- the API's SQL for the province scoreboard and for the commune ranking (tthc.measures'
  grouped queries, what `source=facts` runs), and the rolling windows rebuilt from the facts
  (`tthc windows rebuild`), each the median of `--runs` runs.

Once per run: the size of a CloudEvent on the wire and in Kafka (the JSON the ingest produces,
and its gzip'd batches of 500), and events per dossier, from the simulated province.
Prints a JSON document (and writes it to --out). A machine shared by others gives slower,
noisier figures: the report records the load average at start and end.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import clickhouse_connect
import orjson

from bench.dataset import DEFAULT_YEAR, bench_clock, build
from services.storage.clickhouse import Client
from services.storage.schema import BY_DAY, SINGLE_NODE, TABLES, Layout
from services.storage.windows import rebuild_windows
from tthc.measures import Subject, grouped_sql
from tthc.periods import parse_period
from tthc.profile import load_profile
from tthc.reference import scope_of
from tthc.scoring import profile_measures
from tthc.simulation import Workload, generate_events
from tthc.units import UnitLevel, UnitTree, load_units

ONE_SHARD_CONFIG = Path(__file__).with_name("one_shard.xml")
ONE_SHARD = Layout("tthc", replicated=False)  # one_shard.xml's cluster, without a Keeper
PROVINCE = "75"
INSERT_ROWS = 100_000  # fact rows re-inserted as the aggregator inserts them

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


def _median_ms(run: Callable[[], object], runs: int) -> float:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return round(statistics.median(seconds) * 1000, 1)


def _bytes_on_disk(client: Client, layout: Layout) -> dict[str, int]:
    tables = {layout.local(getattr(TABLES, s.value)): s.value for s in Subject}
    rows = client.query(
        "SELECT table, sum(bytes_on_disk), sum(rows) FROM system.parts "
        "WHERE active AND database = currentDatabase() GROUP BY table"
    ).result_rows
    return {f"{tables[t]}_bytes": int(b) for t, b, _ in rows if t in tables} | {
        f"{tables[t]}_rows": int(n) for t, _, n in rows if t in tables
    }


def measure_store(
    client: Client, tree: UnitTree, dossiers: int, layout: Layout, runs: int
) -> dict[str, Any]:
    built = build(client, tree, dossiers, raw=False, layout=layout)
    disk = _bytes_on_disk(client, layout)
    measures = list(profile_measures(load_profile()))
    period = parse_period(str(DEFAULT_YEAR))
    clock = bench_clock()
    province = {PROVINCE: scope_of(tree, PROVINCE, period, clock)}
    communes = {
        u.code: scope_of(tree, u.code, period, clock)
        for u in tree.units_at_level(UnitLevel.commune, under=PROVINCE)
    }

    def run_all(scopes: dict[str, Any]) -> Callable[[], object]:
        queries = [q.sql for s in Subject for q in grouped_sql(s, measures, scopes, TABLES)]
        return lambda: [client.query(sql).result_rows for sql in queries]

    def windows() -> None:
        rebuild_windows(client, layout)

    def reinsert() -> None:  # the aggregator's path: fact rows through clickhouse-connect
        client.insert(TABLES.dossier, rows.result_rows, column_names=list(rows.column_names))

    # in this order: the inserts leave parts to merge, which FINAL would pay for
    figures: dict[str, Any] = {
        "scoreboard_sql_ms": _median_ms(run_all(province), runs),
        "ranking_sql_ms": _median_ms(run_all(communes), runs),
        "communes": len(communes),
        "windows_rebuild_ms": _median_ms(windows, runs),
    }
    figures["window_rows"] = client.query(
        f"SELECT count() FROM {BY_DAY.windows} FINAL"
    ).result_rows[0][0]
    rows = client.query(f"SELECT * FROM {TABLES.dossier} LIMIT {INSERT_ROWS}")
    insert_ms = _median_ms(reinsert, runs)
    return {
        "dossiers": built.dossiers,
        "build_seconds": round(built.facts_seconds, 2),
        **disk,
        "bytes_per_dossier": round(disk["dossier_bytes"] / built.dossiers, 1),
        **figures,
        "insert_rows": len(rows.result_rows),
        "insert_seconds_per_million_rows": round(insert_ms / len(rows.result_rows) * 1000, 2),
    }


def event_sizes(tree: UnitTree) -> dict[str, float]:
    """CloudEvent bytes as JSON and in gzip'd batches of 500, and events per dossier."""
    events = generate_events(tree, Workload(start=date(2025, 1, 1), months=2))
    encoded = [orjson.dumps(e.to_cloudevent()) for e in events]
    batches = [b"\n".join(encoded[i : i + 500]) for i in range(0, len(encoded), 500)]
    compressed = sum(len(gzip.compress(b)) for b in batches)
    dossiers = len({e.subject for e in events if e.type.startswith("vn.tthc.dossier.")})
    return {
        "events": len(events),
        "json_bytes_per_event": round(sum(map(len, encoded)) / len(encoded), 1),
        "gzip_bytes_per_event": round(compressed / len(encoded), 1),
        "dossier_events_per_dossier": round(
            sum(e.type.startswith("vn.tthc.dossier.") for e in events) / dossiers, 2
        ),
        "events_per_dossier": round(len(events) / dossiers, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    tree = load_units()
    report: dict[str, Any] = {"load_at_start": os.getloadavg(), "cores": os.cpu_count()}
    report["events"] = event_sizes(tree)
    for dossiers in args.dossiers:
        for name, layout in (("single_node", SINGLE_NODE), ("one_shard", ONE_SHARD)):
            directory = Path(tempfile.mkdtemp(prefix="tthc-scale-"))
            client = one_shard_client(directory)
            try:
                report[f"{dossiers}:{name}"] = measure_store(
                    client, tree, dossiers, layout, args.runs
                )
            finally:
                client.close()
                shutil.rmtree(directory, ignore_errors=True)
            print(json.dumps({f"{dossiers}:{name}": report[f"{dossiers}:{name}"]}), flush=True)
    report["load_at_end"] = os.getloadavg()
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
