"""Benchmark: events/s through the ingest's batch endpoint vs a raw kafka-python producer.

Both paths publish the same events (a simulated province workload) to the same broker in the
same run, with the same producer settings (acks=all, idempotent): the ratio is what HTTP,
validation, auth, duplicate detection and the per-batch wait for acknowledgements cost.

    .venv/bin/python bench/ingest_bench.py                  # 20 000 events, batches of 500
    .venv/bin/python bench/ingest_bench.py --events 50000 --batch 1000 --concurrency 4

The broker: --bootstrap HOST:PORT uses a running one; otherwise the script starts one with
deploy/kafka/kafka.sh on 127.0.0.1:$KAFKA_PORT (default 19492, data in var/kafka-bench), or
reuses one already answering there, and stops it at the end if it started it. The ingest runs
in a uvicorn subprocess on a free loopback port. Not a test: it prints numbers, asserts only
that every event reached the topic once.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition
from rich.console import Console
from rich.table import Table

from bench.procs import free_port
from services.auth import generate_key, hash_key
from services.ingest.publisher import event_key, event_value
from tthc.events import Event
from tthc.simulation import Workload, generate_events
from tthc.units import load_units

ROOT = Path(__file__).resolve().parent.parent
KAFKA_SH = ROOT / "deploy" / "kafka" / "kafka.sh"
MAX_EVENTS = 200_000
console = Console()


def _port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class Broker:
    """A running broker: given, reused, or started here (and then stopped here)."""

    def __init__(self, bootstrap: str | None) -> None:
        self.started = False
        if bootstrap:
            self.bootstrap = bootstrap
            return
        port = int(os.environ.get("KAFKA_PORT", "19492"))
        self.bootstrap = f"127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "KAFKA_PORT": str(port),
            "KAFKA_DIR": os.environ.get("KAFKA_DIR", str(ROOT / "var" / "kafka-bench")),
        }
        if not _port_answers("127.0.0.1", port):
            console.print(f"starting Kafka on {self.bootstrap} (deploy/kafka/kafka.sh up)")
            subprocess.run([str(KAFKA_SH), "up"], env=self.env, check=True)
            self.started = True

    def stop(self) -> None:
        if self.started:
            subprocess.run([str(KAFKA_SH), "down"], env=self.env, check=False)


def _events(count: int) -> list[Event]:
    tree = load_units("dong-nai")
    per_month = 19_000  # about what one month of the default workload yields
    events = generate_events(tree, Workload(months=max(1, math.ceil(count / per_month))))
    if len(events) < count:
        raise SystemExit(f"the workload has only {len(events)} events; ask for fewer")
    return events[:count]


def _create_topics(bootstrap: str, names: list[str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics(
            {name: {"num_partitions": 4, "replication_factor": 1} for name in names},
            wait_for_metadata=True,
        )
    finally:
        admin.close()


def _delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.delete_topics(names, raise_errors=False)
    finally:
        admin.close()


def _records_on(bootstrap: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


def raw_producer(bootstrap: str, topic: str, events: list[Event]) -> float:
    """Seconds to send every event with kafka-python and have all acknowledged."""
    records = [(event_key(e), event_value(e)) for e in events]  # not timed: serialization
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        batch_size=256 * 1024,
    )
    try:
        producer.partitions_for(topic)
        started = time.perf_counter()
        futures = [producer.send(topic, key=k, value=v) for k, v in records]
        producer.flush()
        for future in futures:
            future.get()
        return time.perf_counter() - started
    finally:
        producer.close()


def through_ingest(
    bootstrap: str, topic: str, events: list[Event], batch: int, concurrency: int
) -> float:
    """Seconds to post every event in NDJSON batches and have all answered accepted."""
    key = generate_key()
    port = free_port()
    env = {
        **os.environ,
        "TTHC_INGEST_KAFKA_BOOTSTRAP": bootstrap,
        "TTHC_INGEST_TOPIC": topic,
        "TTHC_INGEST_API_KEYS": json.dumps(
            [{"name": "bench", "sha256": hash_key(key), "scope": "75"}]
        ),
        "TTHC_INGEST_MAX_BATCH_EVENTS": str(max(batch, 1000)),
        "TTHC_INGEST_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "services.ingest.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log"],
        env=env,
        cwd=ROOT,
    )  # fmt: skip
    bodies = [
        b"\n".join(orjson.dumps(e.to_cloudevent()) for e in events[i : i + batch])
        for i in range(0, len(events), batch)
    ]
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"},
            timeout=60,
            limits=httpx.Limits(max_connections=concurrency),
        ) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the ingest did not become ready")
                time.sleep(0.2)

            def post(body: bytes) -> int:
                response = client.post("/v1/events/batch", content=body)
                response.raise_for_status()
                accepted: int = response.json()["accepted"]
                return accepted

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                accepted = sum(pool.map(post, bodies))
            elapsed = time.perf_counter() - started
        if accepted != len(events):
            raise SystemExit(f"the ingest accepted {accepted} of {len(events)} events")
        return elapsed
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help=f"at most {MAX_EVENTS}")
    parser.add_argument("--batch", type=int, default=500, help="events per HTTP batch")
    parser.add_argument("--concurrency", type=int, default=2, help="HTTP requests in flight")
    parser.add_argument("--bootstrap", help="use this running broker (host:port)")
    args = parser.parse_args()
    if not 1 <= args.events <= MAX_EVENTS:
        parser.error(f"--events must be between 1 and {MAX_EVENTS}")

    console.print(f"generating {args.events} events of the simulated province …")
    events = _events(args.events)
    broker = Broker(args.bootstrap)
    run = uuid.uuid4().hex[:8]
    raw_topic, ingest_topic = f"bench.raw.{run}", f"bench.ingest.{run}"
    try:
        _create_topics(broker.bootstrap, [raw_topic, ingest_topic])
        console.print("raw kafka-python producer …")
        raw = raw_producer(broker.bootstrap, raw_topic, events)
        console.print(f"ingest batch endpoint ({args.batch}/batch, {args.concurrency} in flight) …")
        ingest = through_ingest(
            broker.bootstrap, ingest_topic, events, args.batch, args.concurrency
        )
        for topic in (raw_topic, ingest_topic):
            on_topic = _records_on(broker.bootstrap, topic)
            if on_topic != len(events):
                raise SystemExit(f"{topic} holds {on_topic} records, expected {len(events)}")
        _delete_topics(broker.bootstrap, [raw_topic, ingest_topic])
    finally:
        broker.stop()

    table = Table(title=f"{len(events)} events, acks=all, idempotent, broker {broker.bootstrap}")
    for column in ("path", "seconds", "events/s", "vs raw"):
        table.add_column(column, justify="right" if column != "path" else "left")
    table.add_row("raw kafka-python producer", f"{raw:.2f}", f"{len(events) / raw:,.0f}", "1.00")
    table.add_row(
        f"ingest HTTP batch ({args.batch}/batch, {args.concurrency} in flight)",
        f"{ingest:.2f}",
        f"{len(events) / ingest:,.0f}",
        f"{raw / ingest:.2f}",
    )
    console.print(table)


if __name__ == "__main__":
    main()
