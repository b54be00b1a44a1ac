"""The whole benchmark, one run of each figure, into one Report.

Every figure runs on its own: one that fails (or whose piece is missing) is reported as
"not available" with the reason, and the others still run. Every process, topic and data
directory a figure starts is stopped or removed by that figure; the broker is started (and
stopped) here unless one is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import machine, procs
from bench.report import Report, Row, Section, Status, judged

MIB = 2**20


@dataclass(frozen=True)
class Sizes:
    """How much each figure does; the defaults keep `make bench` under ~20 minutes on 2 cores."""

    ingest_events: int = 100_000
    ingest_batch: int = 500
    ingest_concurrency: int = 2
    aggregator_events: int = 100_000
    open_dossiers: int = 1_000_000  # the worker's peak memory holding this many open dossiers
    freshness_rates: tuple[int, ...] = (200, 1_000, 5_000)
    freshness_seconds: float = 15.0
    freshness_drain_seconds: float = 60.0
    latency_dossiers: tuple[int, ...] = (1_000_000, 10_000_000)
    latency_requests: int = 30
    latency_max_seconds: float = 45.0
    raw_runs: int = 2  # the raw query takes minutes at 10M
    replay_events: int = 1_000_000  # measured; larger targets are extrapolated from it
    replay_targets: tuple[int, ...] = (10_000_000,)
    profile_events: int = 20_000


SMOKE = Sizes(
    ingest_events=2_000,
    ingest_batch=200,
    aggregator_events=3_000,
    open_dossiers=2_000,
    freshness_rates=(200, 1_000, 5_000),
    freshness_seconds=1.0,
    freshness_drain_seconds=30.0,
    latency_dossiers=(2_000, 5_000),
    latency_requests=3,
    latency_max_seconds=5.0,
    raw_runs=1,
    replay_events=3_000,
    profile_events=2_000,
)


def _mib(n: int) -> float:
    return round(n / MIB, 0)


def _count(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n:,}"


@contextlib.contextmanager
def _children_watch(needle: str) -> Iterator[procs.MemoryWatch]:
    """Peak resident set of this process's children whose command line contains `needle`."""
    import os
    import threading

    import psutil

    watch = procs.MemoryWatch(os.getpid())
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.1):
            total = 0
            for child in psutil.Process().children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if needle in " ".join(child.cmdline()):
                        total += child.memory_info().rss
            watch.peak_bytes = max(watch.peak_bytes, total)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield watch
    finally:
        stop.set()
        thread.join(2)


@dataclass
class Suite:
    sizes: Sizes
    workdir: Path
    bootstrap: str = ""
    memory: dict[str, int] = field(default_factory=dict)  # service → peak bytes
    details: dict[str, Any] = field(default_factory=dict)
    profiles: dict[str, str] = field(default_factory=dict)

    @property
    def log_dir(self) -> Path:
        return self.workdir / "logs"

    # --- Ingest --------------------------------------------------------------------------------

    def ingest(self) -> Section:
        s = self.sizes
        section = Section(
            "ingest",
            "Ingest throughput",
            f"{s.ingest_events:,} events of the simulated province, published once by a raw "
            "kafka-python producer (acks=all, idempotent: the ceiling) and once through the "
            f"ingest's `POST /v1/events/batch` (NDJSON, {s.ingest_batch} events a batch, "
            f"{s.ingest_concurrency} requests in flight, one uvicorn process), to the same broker "
            "in the same run. Functions of `bench/ingest_bench.py`.",
        )
        from bench import ingest_bench as ib

        events = ib._events(s.ingest_events)
        run = uuid.uuid4().hex[:8]
        raw_topic, ingest_topic = f"bench.raw.{run}", f"bench.ingest.{run}"
        ib._create_topics(self.bootstrap, [raw_topic, ingest_topic])
        try:
            raw = ib.raw_producer(self.bootstrap, raw_topic, events)
            with _children_watch("services.ingest") as watch:
                through = ib.through_ingest(
                    self.bootstrap, ingest_topic, events, s.ingest_batch, s.ingest_concurrency
                )
            self.memory["ingest (uvicorn, one process)"] = watch.peak_bytes
        finally:
            ib._delete_topics(self.bootstrap, [raw_topic, ingest_topic])
        raw_rate, ingest_rate = len(events) / raw, len(events) / through
        ratio = ingest_rate / raw_rate
        section.rows = [
            Row("raw kafka-python producer", round(raw_rate), "events/s"),
            Row("ingest, HTTP batches", round(ingest_rate), "events/s"),
            judged("ingest / raw producer", round(ratio, 2), "×", "≥ 0.5×", ratio >= 0.5),
        ]
        self.details["ingest"] = {
            "events": len(events),
            "raw_seconds": raw,
            "ingest_seconds": through,
        }
        if ratio < 0.5:
            section.where_time_goes = self._ingest_profile(events[: s.profile_events])
        return section

    def _ingest_profile(self, events: list[Any]) -> str:
        """The batch endpoint in process (its ASGI app on this thread, no server), profiled."""
        import httpx
        import orjson

        from bench import ingest_bench as ib
        from bench.profiling import profile_call
        from services.ingest.app import create_app
        from services.ingest.settings import IngestSettings

        topic = f"bench.ingest-profile.{uuid.uuid4().hex[:8]}"
        settings = IngestSettings(
            kafka_bootstrap=self.bootstrap, topic=topic, allow_anonymous=True, log_level="WARNING"
        )
        bodies = [
            b"\n".join(orjson.dumps(e.to_cloudevent()) for e in events[i : i + 500])
            for i in range(0, len(events), 500)
        ]

        async def post_all() -> None:
            app = create_app(settings)
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                headers = {"Content-Type": "application/x-ndjson"}
                async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as c:
                    for body in bodies:
                        response = await c.post("/v1/events/batch", content=body, headers=headers)
                        response.raise_for_status()

        try:
            _, text = profile_call(lambda: asyncio.run(post_all()), limit=45)
        finally:
            ib._delete_topics(self.bootstrap, [topic])
        self.profiles["ingest"] = text
        return (
            "The ingest's batch endpoint, its ASGI app called in process (no HTTP server; "
            f"start-up included) with {len(events):,} events in batches of 500, profiled with "
            "pyinstrument. `epoll.poll` is the loop waiting, mostly for Kafka's acknowledgement "
            "of each batch (acks=all: a batch is answered only once it is stored); the rest is "
            "per-event Python: validation (pydantic), the policy checks, duplicate detection and "
            f"the per-event results of the answer.\n\n```\n{text}\n```"
        )

    # --- Aggregator ----------------------------------------------------------------------------

    def aggregator(self) -> Section:
        s = self.sizes
        section = Section(
            "aggregator",
            "Aggregator throughput",
            f"{s.aggregator_events:,} simulated events on a 4-partition topic, read once by a raw "
            "aiokafka consumer (fetching alone: the ceiling) and once by one aggregator worker "
            "(a subprocess as deployed, batches of 2,000, memory store), timed from its first "
            "batch until its committed offsets reach the end, so every fact is in ClickHouse. "
            f"Then the peak memory of a worker with the rocksdb:// store, as deployed, reading "
            f"{s.open_dossiers:,} dossiers received and never processed (the simulated ones' "
            "received events copied under new codes) until all are committed. "
            "Functions of `bench/aggregator_bench.py`.",
        )
        from bench import aggregator_bench as ab
        from bench.replay_speed import simulated_events
        from tests.aggregator.conftest import event_records, produce

        events = simulated_events(s.aggregator_events)
        with self._worker_topic("bench.aggregator", "aggregator-") as (topic, workdir):
            total = produce(self.bootstrap, topic, event_records(events))
            raw = asyncio.run(ab.raw_rate(self.bootstrap, topic, total))
            with _children_watch("services.aggregator") as watch:
                rate = ab.aggregator_rate(self.bootstrap, topic, total, workdir)
            self.memory["aggregator worker (Faust, one process)"] = watch.peak_bytes
        ratio = rate / raw
        peak, open_rate = self._open_dossiers_memory()
        section.rows = [
            Row("raw aiokafka consumer", round(raw), "events/s"),
            judged(
                "aggregator worker, committed",
                round(rate),
                "events/s",
                "≥ 20,000/s",
                rate >= 20_000,
            ),
            judged("aggregator / raw consumer", round(ratio, 3), "×", "≥ 0.5×", ratio >= 0.5),
            dataclasses.replace(
                judged(
                    f"worker peak memory at {_count(s.open_dossiers)} open dossiers",
                    _mib(peak),
                    "MiB",
                    "≤ 1,024 MiB",
                    peak <= 1024 * MIB,
                ),
                note="rocksdb:// store as deployed, embedded ClickHouse in the process; "
                f"{open_rate:,.0f} events/s",
            ),
        ]
        self.details["aggregator"] = {"events": total, "raw_rate": raw, "rate": rate}
        if section.missed:
            section.where_time_goes = self._batch_profile("aggregator")
        return section

    def _open_dossiers_memory(self) -> tuple[int, float]:
        """Peak memory of a worker (rocksdb store) reading that many open dossiers, and its
        rate."""
        from bench import aggregator_bench as ab
        from tests.aggregator.conftest import produce

        records = ab.open_dossier_records(self.sizes.open_dossiers)
        with self._worker_topic("bench.open", "open-dossiers-") as (topic, workdir):
            total = produce(self.bootstrap, topic, records)
            with _children_watch("services.aggregator") as watch:
                rate = ab.aggregator_rate(self.bootstrap, topic, total, workdir, "rocksdb://")
            return watch.peak_bytes, rate

    @contextlib.contextmanager
    def _worker_topic(self, prefix: str, workdir_prefix: str) -> Iterator[tuple[str, Path]]:
        """A fresh 4-partition events topic and a worker's directory; afterwards both go, with
        the dead-letter and catalog topics the worker made."""
        from kafka.admin import KafkaAdminClient, NewTopic

        topic = f"{prefix}.{uuid.uuid4().hex[:8]}"
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        admin.create_topics([NewTopic(topic, 4, 1)])
        workdir = Path(tempfile.mkdtemp(dir=self.workdir, prefix=workdir_prefix))
        try:
            yield topic, workdir
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            existing = set(admin.list_topics())
            made = (topic, f"{topic}.dlq", f"{topic}.catalog")
            admin.delete_topics([t for t in made if t in existing])
            admin.close()

    def _batch_profile(self, purpose: str) -> str:
        if "batch" not in self.profiles:
            directory = Path(tempfile.mkdtemp(dir=self.workdir, prefix="batch-profile-"))
            try:
                child, result = procs.run(
                    "batch-profile",
                    ["-m", "bench.batch_profile", "--events", str(self.sizes.profile_events),
                     "--dir", str(directory / "ch")],
                    log_dir=self.log_dir,
                )  # fmt: skip
                if result is None:
                    return f"(the batch profile failed: {child.log_tail(5)})"
            finally:
                shutil.rmtree(directory, ignore_errors=True)
            self.details["batch_profile"] = {k: v for k, v in result.items() if k != "profile"}
            self.profiles["batch"] = result["profile"]
        d = self.details["batch_profile"]
        return (
            "The worker's batch step alone (decode → fold into histories → derive fact rows → "
            f"insert), in one process without Kafka or Faust, over {d['events']:,} events: "
            f"**{d['events_per_second']:,.0f} events/s**, {d['step_share']:.0%} of it in the "
            "step and the rest in `insert_facts`. The worker runs well below that because it "
            "also keeps the windows: its window step, one INSERT … SELECT per subject, "
            "recomputes every (unit, day) that the batches since the last step touched (one "
            "step for every batch when caught up; while a backlog drains, one every 5 s or "
            "20,000 records, `windows_every_seconds`/`_records`). That statement costs "
            "~200 ms for a single key, nearly all of it ClickHouse analysing and planning the "
            "query (an EXPLAIN costs as much; ~25 ms per windowed measure, each judged at "
            "every cutoff that matters), and grows with the keys and the rows under them. "
            "Sampled whole with py-spy over 100,000 events (2026-12-02, this section's worker): "
            "the window steps ~30% of the time (19 steps for 53 batches; one step per batch "
            "gave 1,280 events/s on the same machine, against 1,874), the batch step in Python "
            "~20%, the inserts by day and by code ~7%, and Faust's and aiokafka's per-record "
            "machinery most of the rest (the consumer's drain loop awaits two new tasks for "
            "every record, the record then goes through the stream's queue and "
            "acknowledgement, every changed history is one changelog send). Next steps: "
            "windows that need no recomputation (each row's contribution, a step function of "
            "the cutoff, computed once when its fact row is written, so that a window is a "
            "sum); read the topic in batches (aiokafka `getmany`) under the same commit "
            "protocol, which removes the per-record machinery; in the step, "
            "pydantic's validation of each CloudEvent and the ordering of histories (its "
            "timestamps carry pydantic's own tzinfo, slow to compare); past that, more workers, "
            "one per partition (the design's way to carry the country). Profile of the step "
            f"(pyinstrument):\n\n```\n{self.profiles['batch']}\n```"
        )

    # --- Freshness -----------------------------------------------------------------------------

    def freshness(self) -> Section:
        from bench import freshness

        s = self.sizes
        section = Section(
            "freshness",
            "End-to-end freshness",
            f"`tthc run` (ingest, aggregator and API in one process on embedded ClickHouse: the "
            f"embedded profile) on a fresh topic. At each rate, new dossiers are posted to the "
            f"batch endpoint in 20 batches a second for {s.freshness_seconds:g} s; a poller reads "
            "`GET /v1/scores?unit=75&period=<this month>` (the default: the windows) back to "
            "back. An event's freshness runs from its batch's `accepted` answer to the end of the "
            "first poll that counts it (the k-th accepted event is visible once the count grew "
            "by k), so it errs slow by up to one poll. Sender and poller share the machine's "
            "2 cores.",
        )
        figures = freshness.measure(
            self.bootstrap,
            list(s.freshness_rates),
            s.freshness_seconds,
            workdir=self.workdir,
            log_dir=self.log_dir,
            drain_seconds=s.freshness_drain_seconds,
        )
        self.memory["all-in-one (tthc run: ingest + aggregator + API)"] = figures.peak_rss_bytes
        self.details["freshness"] = freshness.as_dict(figures)
        for r in figures.rates:
            label = f"{r.rate:,} events/s offered ({r.achieved_rate:,.0f}/s sent)"
            poll = r.poll_ms.get("p50_ms", 0)
            note = f"{r.visible:,} of {r.events:,} visible; poll p50 {poll:.0f} ms"
            p50 = r.freshness.get("p50_ms")
            p99 = r.freshness.get("p99_ms")
            section.rows.append(Row(f"p50 at {label}", p50, "ms", note=note))
            if r.rate == 1_000:
                section.rows.append(
                    judged(
                        f"p99 at {label}",
                        p99,
                        "ms",
                        "≤ 1,000 ms",
                        None if p99 is None else p99 <= 1_000 and r.visible == r.events,
                    )  # fmt: skip
                )
            else:
                section.rows.append(Row(f"p99 at {label}", p99, "ms", note=note))
        if section.missed:
            section.where_time_goes = (
                "Freshness is the sum of: the ingest's answer → the worker's next batch (in "
                "`tthc run` a batch closes at 2,000 records or 0.3 s), the batch step and its "
                "inserts (the facts by day, then the window step of every (unit, day) touched: "
                "after every batch while less than a batch waits, else every 5 s; see the "
                "latency section's worker batch), and the next poll of "
                "the scoreboard. In the all-in-one process the "
                "three services share one interpreter (one core's worth of Python under the GIL) "
                "with Kafka, the sender and the poller on the other core. Sampled at 1,000 "
                "events/s (py-spy), that interpreter is busy nearly all the time, most of it "
                "answering the ingest's batches (each event validated, checked and encoded "
                "again for Kafka) and the poller's requests, so the aggregator's batches wait "
                "their turn; once the offered rate passes what is left for them, a backlog builds "
                "and freshness grows with the run's length (compare p50 at 200/s and at "
                "1,000/s). Next steps: with a ClickHouse server, the aggregator in its own process "
                "(its own interpreter and core), as deployed; the aggregator's per-event costs "
                "below.\n\n" + self._batch_profile("freshness")
            )
        return section

    # --- API latency at size ---------------------------------------------------------------------

    def latency(self) -> Section:
        from bench import latency

        s = self.sizes
        section = Section(
            "latency",
            "API latency at size, and the raw-events alternative",
            "Dossier facts and the same dossiers' raw events built inside ClickHouse "
            "(`INSERT … SELECT … FROM numbers(N)`, bench/dataset.py: a year over the 95 "
            "communes and 10 departments of the sample province, departments ~3× a commune, "
            "communes spread lognormally), plus feedback, procedures and communes. The API runs "
            "alone on that directory (one uvicorn process, clock fixed at the year's last day) "
            f"and answers up to {s.latency_requests} sequential requests per series (fewer past "
            f"{s.latency_max_seconds:g} s, at least 3) after a warm-up request: the province "
            f"scoreboard `GET /v1/scores?unit=75&period=2025` and the commune ranking "
            "`GET /v1/rankings?level=commune&parent=75&period=2025`, by default (read from the "
            "windows the aggregator keeps per unit and day and sums per month, built once with "
            "`rebuild_windows` "
            "judged a day before the clock, so what turned late since comes from their changes) "
            "and from the facts (`source=facts`; its numbers are checked equal). The worker's "
            "batch step (bench.latency.worker_batches) runs the same 2,000-event batches at "
            "every size. The "
            "raw alternative is one SQL query over the raw events table (bench/raw_query.py: "
            "dossier count, 2.1, 1.4 and 3.3, a small part of the scoreboard), run in process "
            "without HTTP; its numbers are checked equal to the API's.",
        )
        largest = max(s.latency_dossiers)
        notes: list[str] = []
        batches: dict[int, float] = {}
        for dossiers in s.latency_dossiers:
            d = latency.run_size(
                dossiers,
                workdir=self.workdir,
                requests=s.latency_requests,
                max_seconds=s.latency_max_seconds,
                raw_runs=s.raw_runs,
                log_dir=self.log_dir,
            )
            self.details[f"latency_{dossiers}"] = {k: v for k, v in d.items() if k != "profile"}
            self.profiles[f"latency_{dossiers}"] = d["profile"]
            if dossiers == largest:
                self.memory[f"API (uvicorn, one process) at {_count(dossiers)} dossiers"] = d[
                    "api"
                ]["peak_rss_bytes"]
            size = _count(dossiers)
            series = d["api"]["series"]
            raw_p50 = d["raw_query"]["p50_ms"]
            default, ranking = series["scoreboard_default"], series["ranking_default"]
            facts, ranking_facts = series["scoreboard_facts"], series["ranking_facts"]
            speedup = raw_p50 / default["p50_ms"]
            goal = dossiers == largest
            match = "numbers equal the API's" if d["numbers_match"] else "NUMBERS DIFFER"
            sources = d["api"]["sources"]
            read = f"read from {sources['scoreboard_default']}"
            batch = d["worker_batch_ms"]
            batches[dossiers] = batch["p50_ms"]

            def p99(measure: str, value: float, judge: bool = goal) -> Row:
                if judge:
                    return judged(measure, value, "ms", "≤ 100 ms", value <= 100)
                return Row(measure, value, "ms")

            rows = [
                Row(f"{size}: data built", d["build_facts_seconds"] + d["build_raw_seconds"], "s",
                    note=f"{d['dossiers']:,} dossiers, {d['raw_events']:,} raw events, "
                    f"{d['disk_bytes'] / MIB:,.0f} MiB on disk"),
                Row(f"{size}: windows rebuilt", d["windows_rebuild_seconds"], "s",
                    note="`tthc windows rebuild`: every (unit, day) from the facts, once"),
                Row(f"{size}: scoreboard (default) p50", default["p50_ms"], "ms",
                    note=f"{default['samples']} requests, {read}"),
                p99(f"{size}: scoreboard (default) p99", default["p99_ms"]),
                Row(f"{size}: commune ranking (default) p50", ranking["p50_ms"], "ms",
                    note=f"read from {sources['ranking_default']}"),
                p99(f"{size}: commune ranking (default) p99", ranking["p99_ms"]),
                Row(f"{size}: scoreboard from the facts p50 / p99", facts["p50_ms"], "ms",
                    note=f"p99 {facts['p99_ms']:,.0f} ms; `source=facts`; "
                    + ("numbers equal the default's" if d["windows_match"]
                       else "NUMBERS DIFFER FROM THE DEFAULT")),
                Row(f"{size}: commune ranking from the facts p50 / p99",
                    ranking_facts["p50_ms"], "ms", note=f"p99 {ranking_facts['p99_ms']:,.0f} ms"),
                Row(f"{size}: raw-events query p50", raw_p50, "ms",
                    note=f"{d['raw_query']['samples']} runs; {match}"),
                judged(f"{size}: raw query / scoreboard (default) (p50)", round(speedup, 1), "×",
                       "≥ 100×", speedup >= 100) if goal else
                Row(f"{size}: raw query / scoreboard (default) (p50)", round(speedup, 1), "×"),
                Row(f"{size}: worker batch (2,000 events) p50 / p99", batch["p50_ms"], "ms",
                    note=f"p99 {batch['p99_ms']:,.0f} ms; decode → facts by day → windows → "
                    "facts by code, the same batches at every size"),
            ]  # fmt: skip
            if not d["windows_match"]:
                notes.append(
                    f"At {size} the default scoreboard's numbers {d['api']['numbers']} differ "
                    f"from the facts' {d['api']['facts_numbers']} at the same instant."
                )
            if not d["numbers_match"]:
                notes.append(
                    f"At {size} the raw query's numbers {d['raw_numbers']} differ from the API's "
                    f"{d['api']['numbers']}."
                )
            section.rows += rows
        smallest = min(s.latency_dossiers)
        if largest != smallest:
            ratio = batches[largest] / batches[smallest]
            section.rows.append(
                judged(f"worker batch {_count(largest)} / {_count(smallest)} (p50)",
                       round(ratio, 2), "×", "≤ 1.2×", ratio <= 1.2)
            )  # fmt: skip
        if section.missed:
            d = self.details[f"latency_{largest}"]
            sql = ", ".join(f"{k} {v:,.0f} ms" for k, v in d["api_sql_ms"].items())
            section.where_time_goes = (
                f"At {_count(largest)} dossiers, from the facts, the API's grouped queries for "
                f"the province, one by one in process: {sql}. The default reads the windows "
                "instead: one row per (unit, day) with the year's tallies in arrays. Profile of "
                "the API's `scorecards` from the facts for the province "
                f"(pyinstrument):\n\n```\n{self.profiles[f'latency_{largest}']}\n```"
            )
        if notes:
            section.where_time_goes += "\n\n" + "\n".join(notes)
        return section

    # --- Replay --------------------------------------------------------------------------------

    def replay(self) -> Section:
        from bench.replay_speed import run_replay

        s = self.sizes
        section = Section(
            "replay",
            "Replay speed",
            f"`tthc replay` (services.aggregator.replay) in a child process rebuilding the facts "
            f"from a 4-partition topic of {s.replay_events:,} simulated events into a fresh "
            "embedded ClickHouse: read the whole log, fold every event, write every fact row. "
            "Only that size is measured: "
            + ", ".join(f"{_count(n)} events" for n in s.replay_targets)
            + " at the measured rate would not fit this suite's ~20-minute budget on 2 cores "
            "(with their production to Kafka), so their times are extrapolated linearly from "
            "the measured rate (the replay is one pass; its memory grows with the number of "
            "entities, which the extrapolation does not capture).",
        )
        result = run_replay(
            self.bootstrap, s.replay_events, workdir=self.workdir, log_dir=self.log_dir
        )
        self.memory[f"replay (one process, {result['records']:,} events)"] = result[
            "peak_rss_bytes"
        ]
        self.details["replay"] = {k: v for k, v in result.items() if k != "profile"}
        rate = result["events_per_second"]
        section.rows.append(
            judged(
                f"measured, {result['records']:,} events",
                rate,
                "events/s",
                "≥ 50,000/s",
                rate >= 50_000,
            )  # fmt: skip
        )
        for n in s.replay_targets:
            section.rows.append(
                Row(
                    f"{_count(n)} events (extrapolated)",
                    round(n / rate / 60, 1),
                    "min",
                    note=f"{rate:,.0f} events/s",
                )  # fmt: skip
            )
        if section.missed:
            profiled = run_replay(
                self.bootstrap,
                self.sizes.profile_events,
                workdir=self.workdir,
                log_dir=self.log_dir,
                profile=True,
            )
            self.profiles["replay"] = profiled["profile"]
            section.where_time_goes = (
                "The replay is single-threaded Python: per event it validates the CloudEvent "
                "(pydantic), inserts it in its entity's history (ordered by the event's own "
                "time), then folds each history into state and derives the fact row, and inserts "
                "the rows. It uses one core of two. Next steps: the same per-event costs as the "
                "aggregator's batch step (see its profile), and then a replay per partition in "
                "parallel processes (entities never span partitions). Profile over "
                f"{profiled['records']:,} events (pyinstrument):\n\n```\n{profiled['profile']}\n```"
            )
        return section

    # --- Memory ----------------------------------------------------------------------------------

    def memory_section(self) -> Section:
        section = Section(
            "memory",
            "Peak memory of each service",
            "Peak resident set (the kernel's high-water mark, VmHWM, or the highest sampled sum "
            "over the process and its children, psutil every 100 ms) of each service's process "
            "during its figure above.",
        )
        for name, peak in self.memory.items():
            section.rows.append(Row(name, _mib(peak), "MiB"))
        return section


def _run_figure(name: str, title: str, make: Callable[[], Section]) -> Section:
    started = time.monotonic()
    print(f"== bench: {title} …", flush=True)
    try:
        section = make()
    except Exception as error:  # reported as not available; the other figures still run
        traceback.print_exc()
        section = Section(name, title, "", error=f"{type(error).__name__}: {error}"[:2000])
        section.rows = [Row(title, None, "", status=Status.unavailable)]
    print(f"== bench: {title} done in {time.monotonic() - started:.0f} s", flush=True)
    return section


FIGURES = ("ingest", "aggregator", "freshness", "latency", "replay")
TITLES = {
    "ingest": "Ingest throughput",
    "aggregator": "Aggregator throughput",
    "freshness": "End-to-end freshness",
    "latency": "API latency at size, and the raw-events alternative",
    "replay": "Replay speed",
}


def run(
    sizes: Sizes,
    *,
    bootstrap: str | None = None,
    only: tuple[str, ...] = FIGURES,
    workdir: Path | None = None,
) -> Report:
    """Run the figures; start a broker unless `bootstrap` is given; clean up everything."""
    started = time.monotonic()
    own_workdir = workdir is None
    work = Path(tempfile.mkdtemp(prefix="tthc-bench-")) if workdir is None else workdir
    broker = None
    try:
        if not bootstrap:
            from bench.ingest_bench import Broker

            broker = Broker(None)
            bootstrap = broker.bootstrap
        suite = Suite(sizes, work, bootstrap)
        sections = [
            _run_figure(name, TITLES[name], getattr(suite, name))
            for name in FIGURES
            if name in only
        ]
        if broker is not None and broker.started:
            pid_file = Path(broker.env["KAFKA_DIR"]) / "kafka.pid"
            with contextlib.suppress(OSError, ValueError):
                suite.memory["Kafka broker (JVM, -Xmx512m)"] = procs._hwm_bytes(
                    int(pid_file.read_text().strip())
                )
        sections.append(suite.memory_section())
        return Report(
            machine=machine.describe(),
            sizes={k: str(v) for k, v in asdict(sizes).items()},
            generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            duration_seconds=round(time.monotonic() - started, 1),
            sections=sections,
            details={**suite.details, "profiles": suite.profiles},
        )
    finally:
        if broker is not None:
            broker.stop()
            if broker.started:  # the broker this run started: its data goes with it
                shutil.rmtree(Path(broker.env["KAFKA_DIR"]) / "data", ignore_errors=True)
        if own_workdir:
            shutil.rmtree(work, ignore_errors=True)
