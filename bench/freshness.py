"""End-to-end freshness: an event accepted by the ingest → visible in the API's scores.

`tthc run` (ingest, aggregator and API in one process on embedded ClickHouse, as the embedded
profile deploys) serves a fresh topic. For each rate, new dossiers (one DossierReceived each,
received now, in the province's communes) are posted to the batch endpoint at that rate, in
20 batches a second (up to 4 requests in flight), for a bounded time. Meanwhile a poller reads
the province scoreboard (`GET /v1/scores?unit=75&period=<this month>`, by default from the
windows) as fast as it answers, and records when the denominator of 2.1 (the dossiers of the
period) grows.

An event's freshness is from the moment its batch was answered `accepted` (it is in Kafka) to
the end of the first poll whose count includes it: the k-th accepted event counts as visible
once the count has grown by k. A poll's end is an upper bound of when its data was read, so the
figures err on the slow side, by up to one poll.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import procs
from bench.stats import summary_ms
from tthc.calendar import VN_TZ
from tthc.events import Channel, DossierReceived, make_event
from tthc.units import UnitLevel, load_units

PROVINCE = "75"
BATCHES_PER_SECOND = 20
SENDERS = 4  # requests in flight at most, so a slow answer does not hold the rate back


@dataclass
class RateResult:
    rate: int
    events: int
    sent_seconds: float
    achieved_rate: float
    visible: int  # events seen in the scores before the drain timeout
    freshness: dict[str, float]
    poll_ms: dict[str, float]


@dataclass
class FreshnessFigures:
    rates: list[RateResult] = field(default_factory=list)
    start_seconds: float = 0.0
    peak_rss_bytes: int = 0


def _bodies(rate: int, seconds: float, run: str) -> list[tuple[int, bytes]]:
    """(events, NDJSON body) per batch: new dossiers received now, round-robin over communes."""
    communes = [u.code for u in load_units().units_at_level(UnitLevel.commune)]
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    total = max(1, round(rate * seconds))
    per_batch = max(1, round(rate / BATCHES_PER_SECOND))
    received = DossierReceived(
        unit=communes[0],
        procedure="2.000001.000.00.00.H19",
        channel=Channel.online,
        received_at=now,
        due_at=now + timedelta(days=3),
    )
    lines = []
    for i in range(total):
        unit = communes[i % len(communes)]
        code = f"{unit}-FRESH-{run}-{rate}-{i:07d}"
        payload = received.model_copy(update={"unit": unit})
        event = make_event(payload, subject=code, id=f"{code}/received", source="bench-freshness")
        lines.append(orjson.dumps(event.to_cloudevent()))
    return [
        (len(lines[i : i + per_batch]), b"\n".join(lines[i : i + per_batch]))
        for i in range(0, len(lines), per_batch)
    ]


def _count(client: httpx.Client, period: str) -> int:
    response = client.get("/v1/scores", params={"unit": PROVINCE, "period": period})
    response.raise_for_status()
    indicators = {i["code"]: i for i in response.json()["indicators"]}
    return int(indicators["2.1"]["denominator"])


def measure_rate(
    ingest: str, api: str, rate: int, seconds: float, drain_seconds: float
) -> RateResult:
    period = datetime.now(VN_TZ).strftime("%Y-%m")
    bodies = _bodies(rate, seconds, uuid.uuid4().hex[:6])
    total = sum(n for n, _ in bodies)
    accepted: list[tuple[float, int]] = []  # (answered at, events accepted so far)
    polls: list[tuple[float, int]] = []  # (poll ended at, count)
    poll_seconds: list[float] = []
    stop = threading.Event()
    with httpx.Client(base_url=api, timeout=30) as api_client:
        baseline = _count(api_client, period)

        def poll() -> None:
            while not stop.is_set():
                started = time.perf_counter()
                count = _count(api_client, period)
                ended = time.perf_counter()
                polls.append((ended, count - baseline))
                poll_seconds.append(ended - started)
                if count - baseline >= total:
                    return
                time.sleep(0.02)

        poller = threading.Thread(target=poll, name="freshness-poller", daemon=True)
        poller.start()
        interval = 1 / BATCHES_PER_SECOND
        headers = {"Content-Type": "application/x-ndjson"}
        answered: list[tuple[float, int]] = []  # (answered at, events), in any order
        with (
            httpx.Client(base_url=ingest, timeout=30, headers=headers) as sender,
            ThreadPoolExecutor(SENDERS, thread_name_prefix="freshness-sender") as pool,
        ):
            began = time.perf_counter()

            def send(k: int, n: int, body: bytes) -> None:
                if (wait := began + k * interval - time.perf_counter()) > 0:
                    time.sleep(wait)
                response = sender.post("/v1/events/batch", content=body)
                response.raise_for_status()
                if response.json()["accepted"] != n:
                    raise RuntimeError(f"the ingest accepted {response.json()} of {n} events")
                answered.append((time.perf_counter(), n))

            for future in [pool.submit(send, k, n, body) for k, (n, body) in enumerate(bodies)]:
                future.result()
            sent_seconds = time.perf_counter() - began
        so_far = 0
        for at, n in sorted(answered):
            so_far += n
            accepted.append((at, so_far))
        poller.join(drain_seconds)
        stop.set()
        poller.join(30)
    freshness: list[float] = []
    visible = polls[-1][1] if polls else 0
    i = 0
    for answered_at, cumulative in accepted:
        while i < len(polls) and polls[i][1] < cumulative:
            i += 1
        if i == len(polls):
            break  # not visible before the drain timeout: left out, and `visible` says so
        freshness += [max(0.0, polls[i][0] - answered_at)] * (cumulative - len(freshness))
    return RateResult(
        rate=rate,
        events=total,
        sent_seconds=round(sent_seconds, 2),
        achieved_rate=round(total / sent_seconds, 1),
        visible=min(visible, total),
        freshness=summary_ms(freshness) if freshness else {},
        poll_ms=summary_ms(poll_seconds) if poll_seconds else {},
    )


def measure(
    bootstrap: str,
    rates: list[int],
    seconds: float,
    *,
    workdir: Path,
    log_dir: Path,
    drain_seconds: float = 60.0,
) -> FreshnessFigures:
    topic = f"bench.fresh.{uuid.uuid4().hex[:8]}"
    data_dir = workdir / f"allinone-{topic}"
    ports = {name: procs.free_port() for name in ("ingest", "api", "aggregator")}
    env = {"TTHC_AGGREGATOR_APP_ID": f"bench-{topic}"}  # a consumer group of its own
    service = procs.start(
        "all-in-one",
        ["-m", "services.cli", "run", "--kafka", bootstrap, "--data-dir", str(data_dir),
         "--topic", topic, "--allow-anonymous",
         "--ingest-port", str(ports["ingest"]), "--api-port", str(ports["api"]),
         "--aggregator-port", str(ports["aggregator"]), "--partitions", "4"],
        env=env,
        log_dir=log_dir,
    )  # fmt: skip
    figures = FreshnessFigures()
    ingest, api = (f"http://127.0.0.1:{ports[n]}" for n in ("ingest", "api"))
    try:
        waited = procs.wait_http(service, f"{ingest}/readyz", 180)
        waited += procs.wait_http(service, f"{api}/healthz", 180)
        waited += procs.wait_http(service, f"http://127.0.0.1:{ports['aggregator']}/healthz", 180)
        figures.start_seconds = round(waited, 2)
        for rate in rates:
            figures.rates.append(measure_rate(ingest, api, rate, seconds, drain_seconds))
    finally:
        figures.peak_rss_bytes = service.stop(timeout=60)
        _delete_topics(bootstrap, [topic, f"{topic}.dlq", f"{topic}.catalog"])
        shutil.rmtree(data_dir, ignore_errors=True)
    return figures


def _delete_topics(bootstrap: str, names: list[str]) -> None:
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        existing = set(admin.list_topics())
        present = [n for n in names if n in existing]
        if present:
            admin.delete_topics(present)
    except Exception:  # cleanup is best effort; the broker's data dir goes anyway
        pass
    finally:
        admin.close()


def as_dict(figures: FreshnessFigures) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(figures)
