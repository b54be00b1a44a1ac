"""Helpers for the aggregator's end-to-end tests: a worker subprocess, a producer, the reference.

The worker runs as `python -m services.aggregator` so that a test can SIGKILL it like any crash.
It holds the chDB directory while it runs (one process per directory), so a test stops it before
reading ClickHouse itself.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient

from services.storage.clickhouse import clickhouse_client, tallies
from services.storage.schema import BY_DAY
from tests.domain.builders import SMALL
from tthc.calendar import VN_TZ, WorkingCalendar
from tthc.events import Event
from tthc.measures import FactTables, Scope, grouped_sql
from tthc.periods import date_range, parse_period
from tthc.profile import load_profile
from tthc.reference import fact_tables, ledger_at, reference_tallies, scope_of
from tthc.simulation import generate_events
from tthc.units import UnitLevel, UnitTree, load_units
from tthc.windows import SUBJECTS, DaySpan, window_tallies_sql, windowed_measures

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def encode(event: Event) -> bytes:
    return orjson.dumps(event.to_cloudevent())


def produce(bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> int:
    """Send (key, value) records as the ingest does (idempotent, acks=all); return the count."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    try:
        futures = [producer.send(topic, key=key, value=value) for key, value in records]
        for future in futures:
            future.get(timeout=60)
        return len(futures)
    finally:
        producer.close(timeout=10)


def event_records(events: Iterable[Event]) -> list[tuple[bytes | None, bytes]]:
    return [(e.subject.encode(), encode(e)) for e in events]


def commit_positions(bootstrap: str, group: str, topic: str) -> dict[int, tuple[int, int]]:
    """partition → (the group's committed offset, or -1; the partition's end)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        committed = admin.list_group_offsets(group).get(group, {})
        consumer = KafkaConsumer(bootstrap_servers=bootstrap)
        try:
            tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            ends = consumer.end_offsets(tps)
        finally:
            consumer.close()
    finally:
        admin.close()
    return {tp.partition: (committed[tp].offset if tp in committed else -1, ends[tp]) for tp in tps}


def caught_up(bootstrap: str, group: str, topic: str) -> bool:
    """Every partition's committed offset of the group is at the partition's end."""
    positions = commit_positions(bootstrap, group, topic).values()
    return all(end == 0 or committed >= end for committed, end in positions)


def gauges(text: str, name: str) -> dict[str, float]:
    """partition → value of a per-partition series in a /metrics page."""
    found = re.findall(rf'^{name}\{{partition="(\d+)",topic="[^"]*"\}} (\S+)$', text, re.M)
    return {p: float(v) for p, v in found}


@dataclass
class Worker:
    """An aggregator worker in a subprocess, with its own group, tables and chDB directory."""

    bootstrap: str
    topic: str
    workdir: Path
    batch_size: int = 500
    store: str = "memory://"  # Faust's table store; rocksdb:// as in production
    app_id: str = field(default_factory=lambda: f"test-agg-{uuid.uuid4().hex[:8]}")
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def clickhouse_url(self) -> str:
        return f"chdb://{self.workdir / 'clickhouse'}"

    def env(self) -> dict[str, str]:
        ours = {
            "KAFKA_BOOTSTRAP": self.bootstrap,
            "TOPIC": self.topic,
            "APP_ID": self.app_id,
            "STORE": self.store,
            "DATA_DIR": str(self.workdir / "faust"),
            "CLICKHOUSE_URL": self.clickhouse_url,
            "HTTP_PORT": str(self.port),
            "BATCH_SIZE": str(self.batch_size),
            "BATCH_SECONDS": "0.5",
            "RECONCILE_SECONDS": "0.5",
            # a restarted worker waits this long for the killed one's partitions
            "SESSION_TIMEOUT": "6",
            "LOG_LEVEL": os.environ.get("TTHC_TEST_WORKER_LOG_LEVEL", "WARNING"),
        }
        return {**os.environ, **{f"TTHC_AGGREGATOR_{k}": v for k, v in ours.items()}}

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        self.starts += 1
        log = open(self.workdir / f"worker-{self.starts}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.aggregator"],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def health(self) -> dict | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                return json.loads(r.read())
        except OSError as error:
            body = getattr(error, "read", None)
            return json.loads(body()) if body else None

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            return r.read().decode()

    def wait_until(self, predicate, what: str, timeout: float = 120, state=None) -> None:
        """Until `predicate()`; a timeout says what `state()` found, then the log's tail."""
        deadline = time.monotonic() + timeout
        while not predicate():
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited ({self.process.returncode}):\n{self.log_tail()}")
            if time.monotonic() > deadline:
                found = f"found: {state()}\n" if state else ""
                pytest.fail(f"timed out waiting for {what}:\n{found}{self.log_tail()}")
            time.sleep(0.3)

    def wait_caught_up(self, timeout: float = 180) -> None:
        """All records processed and committed, and no procedure change left to apply."""

        def done() -> bool:
            health = self.health()
            return (
                health is not None
                and health["status"] == "ok"
                and health["pending_procedures"] == 0
                and caught_up(self.bootstrap, self.app_id, self.topic)
            )

        def state() -> str:
            positions = commit_positions(self.bootstrap, self.app_id, self.topic)
            return f"health {self.health()}; partition: (committed, end) {positions}"

        self.wait_until(done, "the worker to catch up", timeout, state)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)

    def log_tail(self, lines: int = 40) -> str:
        path = self.workdir / f"worker-{self.starts}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture
def worker(kafka_bootstrap: str, topic: str, tmp_path: Path) -> Iterator[Worker]:
    w = Worker(kafka_bootstrap, topic, tmp_path)
    try:
        yield w
    finally:
        w.stop()


@pytest.fixture(scope="session")
def tree():
    return load_units()


@pytest.fixture(scope="session")
def small_events(tree) -> list[Event]:
    return generate_events(tree, SMALL)


# --- Comparing ClickHouse with the reference computation ---------------------------------------

MIDDLE = datetime(2024, 5, 20, 10, 0, tzinfo=VN_TZ)  # open dossiers then, some late by the end
END = datetime(2024, 7, 15, 10, 0, tzinfo=VN_TZ)
PERIODS = ("2024-05", "2024-Q2", "2024")


def sample_units(tree: UnitTree) -> list[str]:
    """The province, a department and a commune: each level the scores roll up through."""
    department = next(u.code for u in tree.current_units() if u.level is UnitLevel.department)
    commune = next(u.code for u in tree.current_units() if u.level is UnitLevel.commune)
    return [tree.root.code, department, commune]


class FactsAt:
    """The reference's fact rows as a score judged at each cutoff knows them: folded from the
    events that had occurred by then (each cutoff folded once)."""

    def __init__(self, events: Iterable[Event]) -> None:
        self.events = list(events)
        self.profile = load_profile()
        self._at: dict[datetime, FactTables] = {}

    def __call__(self, cutoff: datetime) -> FactTables:
        if cutoff not in self._at:
            ledger = ledger_at(self.events, cutoff)
            self._at[cutoff] = fact_tables(ledger, WorkingCalendar(), self.profile)
        return self._at[cutoff]


def mismatches(
    clickhouse_url: str,
    events: Iterable[Event],
    tree: UnitTree,
    as_of: Iterable[datetime] = (MIDDLE, END),
) -> list[str]:
    """Every tally from ClickHouse that differs from the reference, described; [] when none."""
    profile = load_profile()
    facts_at = FactsAt(events)
    client = clickhouse_client(clickhouse_url)
    found = []
    try:
        for moment in as_of:
            for unit in sample_units(tree):
                for label in PERIODS:
                    scope = scope_of(tree, unit, parse_period(label), moment)
                    expected = reference_tallies(profile, facts_at(scope.cutoff), scope)
                    actual = tallies(client, profile, scope)
                    found += [
                        f"{unit} {label} at {moment:%Y-%m-%d}: {key} expected "
                        f"{expected[key]}, ClickHouse {actual.get(key)}"
                        for key in expected
                        if actual.get(key) != expected[key]
                    ]
    finally:
        client.close()
    return found


# --- The windows the worker keeps, against the facts it wrote ------------------------------------

WINDOW_PERIODS = ("2024-04", "2024-05", "2024-06", "2024-07", "2024-Q2", "2024-Q3", "2024")


def window_mismatches(clickhouse_url: str, tree: UnitTree) -> list[str]:
    """Every (unit, period, measure) whose windows differ from the facts, per unit the rows were
    written under: each month, quarter and year of the workload judged at its end, and every day
    of it judged now; [] when none. The facts are held to the reference by `mismatches`."""
    client = clickhouse_client(clickhouse_url)
    now = datetime.now(UTC).replace(microsecond=0)
    judged = [
        (parse_period(label), parse_period(label).end - timedelta(seconds=1))
        for label in WINDOW_PERIODS
    ]
    judged.append((date_range(date(2024, 1, 1), date(2025, 1, 1)), now))
    everyone = frozenset(tree.subtree(tree.root.code))
    found = []
    try:
        assert client.query(f"SELECT count() FROM {BY_DAY.windows}").result_rows[0][0] > 0
        for period, cutoff in judged:
            for subject in SUBJECTS:
                measures = windowed_measures(subject)
                span = DaySpan.literal(period.start_date, period.end_date, cutoff)
                sql = window_tallies_sql(measures, span)
                windows = {
                    (r["unit"], r["measure"]): (r["numerator"], r["denominator"])
                    for r in client.query(sql).named_results()
                }
                scope = Scope(everyone, (), frozenset(), period, cutoff)
                (query,) = grouped_sql(subject, measures, {"all": scope})
                for row in client.query(query.sql).named_results():
                    for m in measures:
                        facts = (float(row[f"{m.key}__num"]), int(row[f"{m.key}__den"]))
                        got = windows.get((row["_key"], m.key), (0.0, 0))
                        if facts != (0.0, 0) and got != facts:
                            found.append(
                                f"{row['_key']} {period.label} at {cutoff}: {m.key} facts "
                                f"{facts}, windows {got}"
                            )
    finally:
        client.close()
    return found
