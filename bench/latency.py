"""API latency at 1M and 10M dossiers, against one SQL query over the raw events.

Two processes, because an embedded ClickHouse directory opens in one process at a time:

1. `python -m bench.latency --dir D --dossiers N` (`prepare`): builds the facts and the raw
   events (bench.dataset), times the raw-events query, and times the API's own SQL in process
   (one grouped query per subject, under a profiler); prints a JSON line and exits.
   It also builds the windows (`rebuild_windows`, judged a day before the dataset's clock:
   what turns late since is in their changes) and times the aggregator's write step (facts
   by day, windows, facts by code) on one fixed set of batches: the same at every size.
2. `measure_api`: serves the API on the same directory (bench.api_server, clock fixed at the
   dataset's cutoff) and times, over HTTP from this process, the province scoreboard and the
   commune ranking by default (from the windows) and from the facts (`source=facts`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import procs
from bench.dataset import DEFAULT_YEAR, bench_clock, build
from bench.profiling import profile_call
from bench.raw_query import RAW_NUMBERS, raw_scoreboard_sql
from bench.stats import summary_ms
from tthc.periods import parse_period
from tthc.units import load_units

PROVINCE = "75"
PERIOD = str(DEFAULT_YEAR)
SCOREBOARD = f"/v1/scores?unit={PROVINCE}&period={PERIOD}"
RANKING = f"/v1/rankings?level=commune&parent={PROVINCE}&period={PERIOD}"


def chdb_url(directory: Path) -> str:
    return f"chdb://{directory.resolve()}"


def prepare(directory: Path, dossiers: int, raw_runs: int) -> dict[str, Any]:
    """Build the dataset in `directory`, time the raw query and the API's SQL in process."""
    from services.api.pool import ClientPool
    from services.api.windows import scorecards_by_source
    from services.storage.clickhouse import clickhouse_client
    from services.storage.windows import rebuild_windows
    from tthc.measures import Subject, grouped_sql
    from tthc.profile import load_profile
    from tthc.reference import scope_of
    from tthc.scoring import profile_measures

    tree = load_units()
    url = chdb_url(directory)
    client = clickhouse_client(url)
    built = build(client, tree, dossiers)
    period = parse_period(PERIOD)
    clock = bench_clock()
    cutoff = period.cutoff(clock)
    sql = raw_scoreboard_sql(tree.subtree(PROVINCE), period, cutoff)
    raw_seconds: list[float] = []
    numbers: dict[str, int] = {}
    for _ in range(raw_runs):
        started = time.perf_counter()
        row = next(iter(client.query(sql).named_results()))
        raw_seconds.append(time.perf_counter() - started)
        numbers = {k: int(v) for k, v in row.items()}

    # The API's own SQL for the province scoreboard, each grouped query timed, then profiled.
    profile = load_profile()
    pool = ClientPool(url, 1)
    scopes = {PROVINCE: scope_of(tree, PROVINCE, period, clock)}
    by_subject: dict[str, float] = {}
    for subject in Subject:
        for query in grouped_sql(subject, profile_measures(profile), scopes):
            started = time.perf_counter()
            pool.rows(query.sql, "bench")
            key = f"{subject.value}{'' if query.by_unit else ' (per scope)'}"
            by_subject[key] = round((time.perf_counter() - started) * 1000, 1)

    def scoreboard() -> object:
        return scorecards_by_source(
            pool, tree, profile, [PROVINCE], period, clock, "bench", "facts"
        )

    started = time.perf_counter()
    _, profile_text = profile_call(scoreboard)
    profiled_ms = round((time.perf_counter() - started) * 1000, 1)

    pool.close()
    # The windows of every key, judged a day before the clock (see the module's doc).
    started = time.perf_counter()
    margin = datetime.now(UTC) - (clock - timedelta(days=1))
    rebuild_windows(client, margin_seconds=int(margin.total_seconds()))
    rebuild_seconds = round(time.perf_counter() - started, 1)
    client.close()
    return {
        "dossiers": built.dossiers,
        "raw_events": built.raw_events,
        "build_facts_seconds": round(built.facts_seconds, 1),
        "build_raw_seconds": round(built.raw_seconds, 1),
        "raw_query": summary_ms(raw_seconds),
        "raw_numbers": numbers,
        "api_sql_ms": by_subject,
        "profiled_scoreboard_ms": profiled_ms,
        "windows_rebuild_seconds": rebuild_seconds,
        "profile": profile_text,
    }


WORKER_BATCHES = 4  # of BATCH_EVENTS events each, the same at every size
BATCH_EVENTS = 2000


def worker_batches(directory: Path) -> dict[str, float]:
    """The aggregator's batch step on the same events at any size: decode, fold, derive, then
    the write step (facts by day, the windows of the keys touched, facts by code), timed per
    batch; the first batch warms the caches and is left out. Run after the API's figures: the
    batches add dossiers."""
    import asyncio

    import orjson

    from bench.replay_speed import simulated_events
    from services.aggregator.metrics import AggregatorMetrics
    from services.aggregator.processing import (
        BatchProcessor,
        Catalog,
        Deriver,
        HistoryStore,
        Record,
    )
    from services.aggregator.writer import FactsWriter
    from services.storage.clickhouse import clickhouse_client
    from tthc.calendar import WorkingCalendar
    from tthc.profile import load_profile

    events = simulated_events(BATCH_EVENTS * (WORKER_BATCHES + 1))
    records = [Record(orjson.dumps(e.to_cloudevent()), e.subject.encode()) for e in events]
    catalog = Catalog()
    step = BatchProcessor(
        HistoryStore({}), Deriver(catalog, WorkingCalendar(), load_profile().settings)
    )
    client = clickhouse_client(chdb_url(directory))
    writer = FactsWriter(client, AggregatorMetrics())
    seconds: list[float] = []
    loop = asyncio.new_event_loop()
    try:
        for i in range(WORKER_BATCHES + 1):
            batch = records[i * BATCH_EVENTS : (i + 1) * BATCH_EVENTS]
            started = time.perf_counter()
            outcome = loop.run_until_complete(step.process(batch, writer.write))
            seconds.append(time.perf_counter() - started)
            for d in outcome.catalog_events:  # what the catalog topic would bring back
                catalog.add(d.event)
    finally:
        writer.close()
        loop.close()
        client.close()
    return summary_ms(seconds[1:])


def _timed_series(
    client: httpx.Client, path: str, requests: int, max_seconds: float
) -> tuple[list[float], dict[str, Any]]:
    """Sequential GETs: `requests` of them, or fewer (at least 3) when `max_seconds` runs out."""
    seconds: list[float] = []
    body: dict[str, Any] = {}
    began = time.monotonic()
    while len(seconds) < requests and (len(seconds) < 3 or time.monotonic() - began < max_seconds):
        started = time.perf_counter()
        response = client.get(path)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        seconds.append(elapsed)
        body = response.json()
    return seconds, body


@dataclass
class ApiFigures:
    series: dict[str, dict[str, float]] = field(default_factory=dict)
    numbers: dict[str, float] = field(default_factory=dict)
    facts_numbers: dict[str, float] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # what each series was read from
    start_seconds: float = 0.0
    peak_rss_bytes: int = 0


def measure_api(directory: Path, *, requests: int, max_seconds: float, log_dir: Path) -> ApiFigures:
    port = procs.free_port()
    env = {
        "TTHC_API_CLICKHOUSE_URL": chdb_url(directory),
        "TTHC_API_PORT": str(port),
        "TTHC_API_CLICKHOUSE_CLIENTS": "2",
        "TTHC_API_LOG_LEVEL": "WARNING",
    }
    service = procs.start(
        f"api-{directory.name}",
        ["-m", "bench.api_server", "--clock", bench_clock().isoformat()],
        env=env,
        log_dir=log_dir,
    )
    figures = ApiFigures()
    base = f"http://127.0.0.1:{port}"
    try:
        figures.start_seconds = round(procs.wait_http(service, f"{base}/healthz", 300), 2)
        with httpx.Client(base_url=base, timeout=600) as client:
            for name, path in (
                ("scoreboard_default", SCOREBOARD),
                ("ranking_default", RANKING),
                ("scoreboard_facts", f"{SCOREBOARD}&source=facts"),
                ("ranking_facts", f"{RANKING}&source=facts"),
            ):
                client.get(path).raise_for_status()  # warm: first-request costs are not latency
                seconds, body = _timed_series(client, path, requests, max_seconds)
                figures.series[name] = summary_ms(seconds)
                figures.sources[name] = body["source"]
                if name == "scoreboard_default":
                    figures.numbers = _numbers(body)
                if name == "scoreboard_facts":
                    figures.facts_numbers = _numbers(body)
    finally:
        figures.peak_rss_bytes = service.stop()
    return figures


def _numbers(scoreboard: dict[str, Any]) -> dict[str, float]:
    """The raw query's numbers and the total, from a scoreboard's body."""
    indicators = {i["code"]: i for i in scoreboard["indicators"]}
    numbers = {key: indicators[code][part] for key, (code, part) in RAW_NUMBERS.items()}
    return {**numbers, "total": scoreboard["total"]}


def run_size(
    dossiers: int,
    *,
    workdir: Path,
    requests: int,
    max_seconds: float,
    raw_runs: int,
    log_dir: Path,
) -> dict[str, Any]:
    """Both phases for one size; the data directory is removed afterwards."""
    directory = workdir / f"ch-{dossiers}"
    shutil.rmtree(directory, ignore_errors=True)
    began = time.monotonic()

    def progress(step: str) -> None:
        print(f"   {dossiers:,} dossiers, {time.monotonic() - began:.0f} s: {step}", flush=True)

    try:
        progress("building the data, timing the raw query and the API's SQL, the windows")
        child, prepared = procs.run(
            f"prepare-{dossiers}",
            ["-m", "bench.latency", "--dir", str(directory), "--dossiers", str(dossiers),
             "--raw-runs", str(raw_runs)],
            log_dir=log_dir,
        )  # fmt: skip
        if prepared is None:
            raise RuntimeError(f"preparing {dossiers} dossiers failed:\n{child.log_tail()}")
        prepared["prepare_peak_rss_bytes"] = child.peak_bytes
        prepared["disk_bytes"] = sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())
        progress("serving the API: the scoreboard and the ranking, by default and from the facts")
        api = measure_api(directory, requests=requests, max_seconds=max_seconds, log_dir=log_dir)
        prepared["api"] = asdict(api)
        raw = prepared["raw_numbers"]
        prepared["numbers_match"] = all(int(api.numbers[key]) == raw[key] for key in RAW_NUMBERS)
        # the default answer (the windows) and the facts' at the same instant
        prepared["windows_match"] = api.facts_numbers == api.numbers
        progress("timing the worker's batches")
        child, batches = procs.run(
            f"batches-{dossiers}",
            ["-m", "bench.latency", "--dir", str(directory), "--batches"],
            log_dir=log_dir,
        )
        if batches is None:
            raise RuntimeError(f"the worker's batches failed:\n{child.log_tail()}")
        prepared["worker_batch_ms"] = batches
        return prepared
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="prepare one size (see the module's doc)")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--dossiers", type=int)
    parser.add_argument("--raw-runs", type=int, default=3)
    parser.add_argument("--batches", action="store_true", help="time the worker's batches")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    if args.batches:
        result = worker_batches(args.dir)
    else:
        result = prepare(args.dir, args.dossiers, args.raw_runs)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
