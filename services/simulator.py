"""Send a province's workload to the ingest API, as the province's integrations would.

The workload is `tthc.simulation`'s deterministic timeline (same seed, same events). It goes out
in batches (`POST /v1/events/batch`, API key as Bearer), at a chosen rate, or replaying the
timeline's own pace faster than real time (`speed`: 86,400 replays a day in a second; the
communes' nightly uploads arrive as bursts). A `503` (Kafka busy or down) is waited out and the
same batch sent again; what had reached Kafka then comes back `duplicate`, never counted twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import httpx
import orjson

from tthc.calendar import VN_TZ
from tthc.events import Event
from tthc.simulation import Workload, generate_timeline
from tthc.units import UnitTree

BATCH_PATH = "/v1/events/batch"
BATCH_TYPE = "application/cloudevents-batch+json"


def workload_until(
    now: datetime,
    *,
    months: int = 3,
    seed: int = 766,
    scale: float = 1.0,
    start: date | None = None,
) -> Workload:
    """The last `months` months up to `now` (this month included, so far): the current month,
    quarter and year have data. `scale` multiplies the dossiers and the feedback."""
    today = now.astimezone(VN_TZ).date()
    if start is None:
        index = today.year * 12 + today.month - 1 - (months - 1)
        start = date(index // 12, index % 12 + 1, 1)
    base = Workload()
    return Workload(
        seed=seed,
        start=start,
        months=months,
        dossiers_per_commune_month=max(1, round(base.dossiers_per_commune_month * scale)),
        dossiers_per_department_month=max(1, round(base.dossiers_per_department_month * scale)),
        feedback_per_unit_month=min(1.0, base.feedback_per_unit_month * scale),
        procedures_per_level=base.procedures_per_level,
        until=now,
    )


@dataclass
class Report:
    sent: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    retries: int = 0
    seconds: float = 0.0
    rejections: list[str] = field(default_factory=list)  # the first few, for the operator

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


class Sender:
    """Posts batches to one ingest with one key; answers 503 by waiting and sending again."""

    def __init__(self, base_url: str, key: str | None, timeout: float = 30.0) -> None:
        headers = {"Content-Type": BATCH_TYPE}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self.client = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def send(self, events: Sequence[Event], report: Report, max_wait: float = 120.0) -> None:
        body = orjson.dumps([e.to_cloudevent() for e in events])
        deadline = time.monotonic() + max_wait
        while True:
            response: httpx.Response | None = None
            try:
                answer = self.client.post(BATCH_PATH, content=body)
            except httpx.TransportError as error:  # the ingest restarts, or is not up yet
                problem = repr(error)
            else:
                response, problem = answer, f"HTTP {answer.status_code}: {answer.text[:300]}"
            if response is not None and response.status_code == 200:
                break
            retry = response is None or response.status_code == 503
            if not retry or time.monotonic() > deadline:
                raise RuntimeError(f"the ingest refused a batch of {len(events)}: {problem}")
            report.retries += 1
            after = response.headers.get("Retry-After") if response is not None else None
            time.sleep(min(5.0, float(after)) if after else 1.0)
        result = response.json()
        report.sent += len(events)
        report.accepted += result["accepted"]
        report.duplicate += result["duplicate"]
        report.rejected += result["rejected"]
        for item in result["results"]:
            if item["outcome"] == "rejected" and len(report.rejections) < 5:
                report.rejections.append(
                    f"{item.get('id')}: {item.get('reason')} {item.get('message')}"
                )


def timeline(tree: UnitTree, workload: Workload) -> list[tuple[datetime, Event]]:
    return generate_timeline(tree, workload)


def replay(
    sender: Sender,
    pairs: Sequence[tuple[datetime, Event]],
    *,
    rate: float = 1000.0,
    speed: float = 0.0,
    batch_size: int = 200,
    progress: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    """Send every event in timeline order; at most `rate` events/s, and with `speed` > 0 no
    earlier than the timeline's own pace divided by `speed`."""
    report = Report()
    if not pairs:
        return report
    started = time.monotonic()
    first_sent = pairs[0][0]
    sent = 0
    while sent < len(pairs):
        batch = pairs[sent : sent + batch_size]
        if speed > 0:  # do not run ahead of the compressed timeline
            due = (batch[0][0] - first_sent) / timedelta(seconds=1) / speed
            # a batch gathers the events sent within its window only
            horizon = batch[0][0] + timedelta(seconds=max(1.0, speed))
            batch = [pair for pair in batch if pair[0] <= horizon] or batch[:1]
            wait = started + due - time.monotonic()
            if wait > 0:
                sleep(wait)
        if rate > 0:
            wait = started + sent / rate - time.monotonic()
            if wait > 0:
                sleep(wait)
        sender.send([event for _, event in batch], report)
        sent += len(batch)
        if progress is not None:
            progress(len(batch))
    report.seconds = time.monotonic() - started
    return report
