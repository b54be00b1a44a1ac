"""Replay speed: `tthc replay` (services.aggregator.replay) rebuilding the facts from the log.

The events are a simulated province's (tthc.simulation), produced to a fresh topic with a raw
kafka-python producer. The replay runs in a child process (`python -m bench.replay_speed`), as
the command would, on a fresh embedded ClickHouse directory: read the whole topic, fold every
event into its history, write every fact row. Its events/s is counted from the start of the
read to the last insert. Sizes beyond the measured sample are extrapolated linearly (the replay
is one pass over the log; memory grows with the number of entities, which the report states).
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from bench import procs


def simulated_events(count: int) -> list[Any]:
    """`count` events of the simulated province (more dossiers per unit, same behaviour)."""
    from tthc.simulation import Workload, generate_events
    from tthc.units import load_units

    # the default 3 months give about 58,000 events; scale the dossiers, not the months
    scale = max(1, -(-count // 50_000))
    workload = Workload(
        start=date(2025, 1, 1),
        months=3,
        dossiers_per_commune_month=20 * scale,
        dossiers_per_department_month=60 * scale,
    )
    events = generate_events(load_units(), workload)
    return events[:count]


def child(bootstrap: str, topic: str, directory: Path, profile: bool) -> dict[str, Any]:
    from rich.console import Console

    from bench.profiling import profile_call
    from services.aggregator.replay import replay

    quiet = Console(file=io.StringIO())

    def run() -> Any:
        return replay(
            kafka_bootstrap=bootstrap,
            topic=topic,
            clickhouse_url=f"chdb://{directory.resolve()}",
            console=quiet,
        )

    started = time.perf_counter()
    if profile:
        result, text = profile_call(run)
    else:
        result, text = run(), ""
    seconds = time.perf_counter() - started
    return {
        "records": result.records,
        "events": result.events,
        "rows": sum(result.rows.values()),
        "seconds": round(seconds, 2),
        "events_per_second": round(result.records / seconds, 1),
        "profile": text,
    }


def run_replay(
    bootstrap: str, events: int, *, workdir: Path, log_dir: Path, profile: bool = False
) -> dict[str, Any]:
    """Produce `events` events to a new topic and replay them in a child process."""
    from kafka.admin import KafkaAdminClient, NewTopic

    from bench.ingest_bench import raw_producer

    topic = f"bench.replay.{uuid.uuid4().hex[:8]}"
    directory = workdir / f"replay-{topic}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 4, 1)])
        produced = simulated_events(events)
        raw_producer(bootstrap, topic, produced)
        service, result = procs.run(
            "replay" + ("-profiled" if profile else ""),
            ["-m", "bench.replay_speed", "--kafka", bootstrap, "--topic", topic,
             "--dir", str(directory)] + (["--profile"] if profile else []),
            log_dir=log_dir,
        )  # fmt: skip
        if result is None:
            raise RuntimeError(f"the replay failed:\n{service.log_tail()}")
        result["peak_rss_bytes"] = service.peak_bytes
        return result
    finally:
        admin.delete_topics([topic])
        admin.close()
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="one replay, timed (see the module's doc)")
    parser.add_argument("--kafka", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    sys.stdout.write(json.dumps(child(args.kafka, args.topic, args.dir, args.profile)) + "\n")


if __name__ == "__main__":
    main()
