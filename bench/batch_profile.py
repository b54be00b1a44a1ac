"""Where an aggregator batch spends its time: the worker's batch step in process, profiled.

`python -m bench.batch_profile --events N --dir D` runs the aggregator's own step
(services.aggregator.processing: decode, fold into histories, derive fact rows) over N simulated
events in batches of 2,000, writing each batch's rows to embedded ClickHouse as the writer does,
under the profiler; Kafka and Faust are left out, so this is the ceiling of the step itself.
Prints a JSON line: events/s of the step and the profile.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

BATCH = 2000


def profile_batches(events: int, directory: Path) -> dict[str, Any]:
    import orjson

    from bench.profiling import profile_call
    from bench.replay_speed import simulated_events
    from services.aggregator.processing import (
        BatchProcessor,
        Catalog,
        Deriver,
        HistoryStore,
        Record,
    )
    from services.storage.clickhouse import clickhouse_client, insert_facts, migrate
    from tthc.calendar import WorkingCalendar
    from tthc.profile import load_profile

    records = [
        Record(orjson.dumps(e.to_cloudevent()), e.subject.encode())
        for e in simulated_events(events)
    ]
    client = clickhouse_client(f"chdb://{directory.resolve()}")
    migrate(client)
    catalog = Catalog()
    step = BatchProcessor(
        HistoryStore({}), Deriver(catalog, WorkingCalendar(), load_profile().settings)
    )

    def run() -> float:
        in_step = 0.0
        loop = asyncio.new_event_loop()  # one for the whole run: the step itself is timed
        for i in range(0, len(records), BATCH):
            started = time.perf_counter()
            outcome = loop.run_until_complete(step.process(records[i : i + BATCH]))
            for d in outcome.catalog_events:  # what the catalog topic would bring back
                catalog.add(d.event)
            in_step += time.perf_counter() - started
            insert_facts(client, outcome.rows)
        loop.close()
        return in_step

    started = time.perf_counter()
    in_step, text = profile_call(run, limit=40)
    seconds = time.perf_counter() - started
    client.close()
    return {
        "events": len(records),
        "seconds": round(seconds, 2),
        "events_per_second": round(len(records) / seconds, 1),
        "step_share": round(in_step / seconds, 3),
        "profile": text,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="profile the aggregator's batch step")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    sys.stdout.write(json.dumps(profile_batches(args.events, args.dir)) + "\n")


if __name__ == "__main__":
    main()
