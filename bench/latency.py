"""API latency at 1M and 10M dossiers, against one SQL query over the raw events.

Two processes, because an embedded ClickHouse directory opens in one process at a time:

1. `python -m bench.latency --dir D --dossiers N` (`prepare`): builds the facts and the raw
   events (bench.dataset), times the raw-events query, and times the API's own SQL in process
   (one grouped query per subject, under a profiler); prints a JSON line and exits.
2. `measure_api`: serves the API on the same directory (bench.api_server, clock fixed at the
   dataset's cutoff) and times, over HTTP from this process, the province scoreboard and the
   commune ranking, computed live from the facts, read from the refresher's snapshot and
   summed from the rolling windows the refresher writes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
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
    from services.api.queries import scorecards
    from services.api.windows import write_generation
    from services.storage.clickhouse import clickhouse_client
    from services.storage.schema import WINDOWS
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
        return scorecards(pool, tree, profile, [PROVINCE], period, clock, "bench")

    started = time.perf_counter()
    _, profile_text = profile_call(scoreboard)
    profiled_ms = round((time.perf_counter() - started) * 1000, 1)

    # One generation of windows, timed; removed so that the API's refresher writes its own.
    started = time.perf_counter()
    write_generation(pool, profile_measures(profile), clock)
    generation_seconds = round(time.perf_counter() - started, 2)
    for table in (WINDOWS.tallies, WINDOWS.sets, WINDOWS.generations):
        client.command(f"TRUNCATE TABLE {table}")
    pool.close()
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
        "window_generation_seconds": generation_seconds,
        "profile": profile_text,
    }


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


def _wait_for(check: Callable[[], bool], what: str, timeout: float) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what} not ready after {timeout:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - started


@dataclass
class ApiFigures:
    series: dict[str, dict[str, float]] = field(default_factory=dict)
    numbers: dict[str, float] = field(default_factory=dict)
    windows_numbers: dict[str, float] = field(default_factory=dict)
    windows_ready_seconds: float = 0.0
    snapshot_ready_seconds: float = 0.0
    start_seconds: float = 0.0
    peak_rss_bytes: int = 0


def measure_api(directory: Path, *, requests: int, max_seconds: float, log_dir: Path) -> ApiFigures:
    port = procs.free_port()
    env = {
        "TTHC_API_CLICKHOUSE_URL": chdb_url(directory),
        "TTHC_API_PORT": str(port),
        "TTHC_API_REFRESH_SECONDS": "86400",  # one refresh at start, none while timed
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

            def ready(source: str) -> Callable[[], bool]:
                def check() -> bool:
                    if service.process.poll() is not None:
                        raise RuntimeError(f"the API exited:\n{service.log_tail()}")
                    return client.get(f"{SCOREBOARD}&source={source}").status_code == 200

                return check

            # the refresher writes the windows first, then the snapshot
            figures.windows_ready_seconds = round(
                figures.start_seconds + _wait_for(ready("windows"), "the windows", 1200), 2
            )
            figures.snapshot_ready_seconds = round(
                figures.start_seconds + _wait_for(ready("snapshot"), "the snapshot", 1200), 2
            )
            for name, path in (
                ("scoreboard_live", SCOREBOARD),
                ("ranking_live", RANKING),
                ("scoreboard_snapshot", f"{SCOREBOARD}&source=snapshot"),
                ("ranking_snapshot", f"{RANKING}&source=snapshot"),
                ("scoreboard_windows", f"{SCOREBOARD}&source=windows"),
                ("ranking_windows", f"{RANKING}&source=windows"),
            ):
                client.get(path).raise_for_status()  # warm: first-request costs are not latency
                seconds, body = _timed_series(client, path, requests, max_seconds)
                figures.series[name] = summary_ms(seconds)
                if name == "scoreboard_live":
                    figures.numbers = _numbers(body)
                if name == "scoreboard_windows":
                    figures.windows_numbers = _numbers(body)
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
    try:
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
        api = measure_api(directory, requests=requests, max_seconds=max_seconds, log_dir=log_dir)
        prepared["api"] = asdict(api)
        raw = prepared["raw_numbers"]
        prepared["numbers_match"] = all(int(api.numbers[key]) == raw[key] for key in RAW_NUMBERS)
        # the windows are judged at the clock, as the live year to date is
        prepared["windows_match"] = api.windows_numbers == api.numbers
        return prepared
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="prepare one size (see the module's doc)")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--dossiers", type=int, required=True)
    parser.add_argument("--raw-runs", type=int, default=3)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    result = prepare(args.dir, args.dossiers, args.raw_runs)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
