"""Aggregator throughput against a raw consumer, and query latency at a province's size.

    python bench/aggregator_bench.py --kafka 127.0.0.1:19092 [--months 3] [--scale 10]

1. Throughput: a generated province workload is produced to a fresh topic; a raw aiokafka
   consumer reads it whole (the ceiling: fetching alone), then an aggregator worker (a
   subprocess, as deployed) consumes it from the start until its committed offsets reach the end
   (every fact in ClickHouse). Both rates are printed with their ratio.
2. Query latency: the same facts, copied `--scale` times under other codes, in embedded
   ClickHouse; `tallies` (one query per subject) timed for the province, a department and a
   commune over a month, a quarter and a year.

Counts are bounded by the arguments; every process and topic it starts is stopped or deleted.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.aggregator.processing import (  # noqa: E402
    BatchProcessor,
    Catalog,
    Deriver,
    HistoryStore,
    Record,
)
from services.storage.clickhouse import clickhouse_client, insert_facts, migrate, tallies  # noqa: E402
from tests.aggregator.conftest import (  # noqa: E402
    MIDDLE,
    PERIODS,
    Worker,
    caught_up,
    encode,
    event_records,
    produce,
    sample_units,
)
from tthc.calendar import WorkingCalendar  # noqa: E402
from tthc.measures import Subject  # noqa: E402
from tthc.periods import parse_period  # noqa: E402
from tthc.profile import load_profile  # noqa: E402
from tthc.reference import scope_of  # noqa: E402
from tthc.simulation import Workload, generate_events  # noqa: E402
from tthc.units import load_units  # noqa: E402


async def raw_rate(bootstrap: str, topic: str, total: int) -> float:
    """Records per second of a plain consumer reading the topic from its start."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        started, seen = time.perf_counter(), 0
        while seen < total:
            fetched = await consumer.getmany(timeout_ms=1000, max_records=5000)
            seen += sum(len(messages) for messages in fetched.values())
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()


def open_dossier_records(count: int) -> list[tuple[bytes | None, bytes]]:
    """The simulated province's procedures and `count` dossiers received and never processed:
    its received events, copied under new codes until there are enough."""
    from bench.replay_speed import simulated_events

    events = simulated_events(60_000)
    records = event_records(e for e in events if e.type.startswith("vn.tthc.procedure."))
    received = [e.to_cloudevent() for e in events if e.type == "vn.tthc.dossier.received.v1"]
    for n in range(count):
        event = dict(received[n % len(received)])
        code = f"{event['subject']}{n // len(received):03d}"
        event["subject"], event["id"] = code, f"{code}/received"
        records.append((code.encode(), orjson.dumps(event)))
    return records


def aggregator_rate(
    bootstrap: str, topic: str, total: int, workdir: Path, store: str = "memory://"
) -> float:
    """Records per second of a worker, from its first batch until all are committed."""
    worker = Worker(bootstrap, topic, workdir, batch_size=2000, store=store)
    worker.start()
    try:
        worker.wait_until(lambda: (worker.health() or {}).get("catalog_ready"), "the worker")
        started = time.perf_counter()
        worker.wait_until(
            lambda: caught_up(bootstrap, worker.app_id, topic),
            "the worker to catch up",
            max(900.0, total / 500),
        )
        return total / (time.perf_counter() - started)
    finally:
        worker.stop()


def throughput(bootstrap: str, workload: Workload, partitions: int) -> None:
    events = generate_events(load_units(), workload)
    topic = f"bench.aggregator.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, partitions, 1)])
    try:
        total = produce(bootstrap, topic, event_records(events))
        raw = asyncio.run(raw_rate(bootstrap, topic, total))
        with tempfile.TemporaryDirectory() as tmp:
            aggregated = aggregator_rate(bootstrap, topic, total, Path(tmp))
        print(f"events: {total} on {partitions} partitions")
        print(f"raw aiokafka consumer: {raw:10.0f} events/s")
        print(f"aggregator (committed): {aggregated:9.0f} events/s")
        print(f"ratio aggregator/raw:   {aggregated / raw:9.3f}")
    finally:
        admin.delete_topics([topic, f"{topic}.dlq", f"{topic}.catalog"])
        admin.close()


def query_latency(workload: Workload, scale: int) -> None:
    tree, profile = load_units(), load_profile()
    events = generate_events(tree, workload)
    step = BatchProcessor(HistoryStore({}), Deriver(Catalog(), WorkingCalendar(), profile.settings))
    # one batch: every procedure is in the catalog before any row is derived
    rows = asyncio.run(step.process([Record(encode(e)) for e in events])).rows
    with tempfile.TemporaryDirectory() as tmp:
        client = clickhouse_client(f"chdb://{tmp}/clickhouse")
        migrate(client)
        for copy in range(scale):  # the same facts under other codes: a bigger province
            insert_facts(
                client,
                {
                    subject: [
                        dataclasses.replace(
                            r, facts=dataclasses.replace(r.facts, code=f"{r.facts.code}#{copy}")
                        )
                        for r in subject_rows
                    ]
                    for subject, subject_rows in rows.items()
                    if subject is not Subject.commune  # keyed by unit code: one copy
                },
            )
        dossiers = client.query("SELECT count() FROM dossier_facts").result_rows[0][0]
        print(f"facts: {dossiers} dossiers ({scale} copies of {len(events)} events' facts)")
        for unit in sample_units(tree):
            for label in PERIODS:
                scope = scope_of(tree, unit, parse_period(label), MIDDLE)
                timings = []
                for _ in range(5):
                    started = time.perf_counter()
                    tallies(client, profile, scope)
                    timings.append(time.perf_counter() - started)
                print(
                    f"tallies {unit:>8} {label:>8}: median {statistics.median(timings) * 1000:6.0f}"
                    f" ms, best {min(timings) * 1000:6.0f} ms"
                )
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kafka", default="127.0.0.1:19092")
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--dossiers-per-commune-month", type=int, default=20)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--scale", type=int, default=10, help="copies of the facts for queries")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-queries", action="store_true")
    args = parser.parse_args()
    workload = Workload(
        start=date(2024, 4, 1),
        months=args.months,
        dossiers_per_commune_month=args.dossiers_per_commune_month,
        dossiers_per_department_month=3 * args.dossiers_per_commune_month,
    )
    if not args.skip_throughput:
        throughput(args.kafka, workload, args.partitions)
    if not args.skip_queries:
        query_latency(workload, args.scale)


if __name__ == "__main__":
    main()
