"""End to end on the real components: `tthc run` (ingest, aggregator and API in one process on
embedded ClickHouse) with Kafka; events posted over HTTP as an integration posts them; the API's
scores equal the reference computation. The time from acceptance to visibility is printed."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from kafka import KafkaConsumer

from services.auth import generate_key, hash_key
from services.simulator import Report, Sender, replay
from tests.api.conftest import AS_OF, WORKLOAD, Reference, bearer
from tthc.calendar import VN_TZ
from tthc.events import Channel, DossierProcessed, DossierReceived, make_event
from tthc.periods import parse_period
from tthc.reference import occurred_by, reference_scorecard
from tthc.scoring import Scorecard
from tthc.simulation import generate_timeline

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    ingest: str
    api: str
    aggregator: str
    key: str
    viewer: str
    process: subprocess.Popen[bytes]
    log: Path
    topic: str = ""
    bootstrap: str = ""


def wait_until(check, timeout: float, what: str, every: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except httpx.HTTPError as error:
            last = error
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")


@contextlib.contextmanager
def running(kafka_bootstrap: str, home: Path, keys: str, viewers: str) -> Iterator[Stack]:
    """`tthc run` on a fresh topic with these key documents (TOML), until the block ends; the
    Stack's key and viewer are left blank for the caller."""
    for name, document in (("keys", keys), ("viewers", viewers)):
        (home / f"{name}.toml").write_text(document, encoding="utf-8")
    ports = {"ingest": free_port(), "api": free_port(), "aggregator": free_port()}
    suffix = uuid.uuid4().hex[:8]
    topic = f"test.allinone.{suffix}"
    env = {
        **os.environ,
        "TTHC_AGGREGATOR_APP_ID": f"test-allinone-{suffix}",
        "TTHC_AGGREGATOR_BATCH_SECONDS": "0.2",
        "TTHC_INGEST_MAX_BATCH_EVENTS": "2000",
    }
    command = [
        sys.executable, "-m", "services.cli", "run",
        "--kafka", kafka_bootstrap,
        "--data-dir", str(home / "data"),
        "--topic", topic,
        "--ingest-port", str(ports["ingest"]),
        "--api-port", str(ports["api"]),
        "--aggregator-port", str(ports["aggregator"]),
        "--ingest-keys", str(home / "keys.toml"),
        "--viewer-tokens", str(home / "viewers.toml"),
    ]  # fmt: skip
    log = home / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    stack = Stack(
        urls["ingest"],
        urls["api"],
        urls["aggregator"],
        "",
        "",
        process,
        log,
        topic,
        kafka_bootstrap,
    )
    try:

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"tthc run exited {process.returncode}:\n{log.read_text()}")
            aggregator = httpx.get(f"{stack.aggregator}/healthz", timeout=2)
            return (
                httpx.get(f"{stack.api}/healthz", timeout=2).status_code == 200
                and httpx.get(f"{stack.ingest}/healthz", timeout=2).status_code == 200
                and aggregator.status_code == 200
            )

        wait_until(ready, 120, "tthc run ready", every=0.5)
        yield stack
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def key_entry(name: str, secret: str, scope: str, sources: list[str] | None = None) -> str:
    """One [[keys]] entry of a key document."""
    bound = f"sources = {json.dumps(sources)}\n" if sources is not None else ""
    return f'[[keys]]\nname = "{name}"\nsha256 = "{hash_key(secret)}"\nscope = ["{scope}"]\n{bound}'


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("allinone")
    key, viewer = generate_key(), generate_key()
    keys, viewers = key_entry("keys", key, "75"), key_entry("viewers", viewer, "75")
    with running(kafka_bootstrap, home, keys, viewers) as started:
        yield dataclasses.replace(started, key=key, viewer=viewer)


def scores(stack: Stack, unit: str, period: str, as_of: datetime = AS_OF) -> dict:
    response = httpx.get(
        f"{stack.api}/v1/scores",
        params={"unit": unit, "period": period, "as_of": as_of.isoformat()},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


def synced(stack: Stack, unit: str) -> int:
    """How many dossiers of June the unit received (1.4's denominator)."""
    body = scores(stack, unit, "2024-06")
    return next(i["denominator"] for i in body["indicators"] if i["code"] == "1.4")


def same(body: dict, reference: Reference, unit: str, period: str) -> bool:
    return same_card(body, reference.scorecard(unit, parse_period(period)))


def same_card(body: dict, card: Scorecard) -> bool:
    counts = [(p["numerator"], p["denominator"]) for i in body["indicators"] for p in i["parts"]]
    expected = [(p.numerator, p.denominator) for i in card.indicators for p in i.parts]
    return counts == expected and abs(body["total"] - card.total) < 1e-9


JUDGED_AT = datetime(2024, 5, 20, 10, 0, tzinfo=VN_TZ)  # inside May and Q2


def test_a_score_judged_at_an_instant_does_not_change_when_later_events_arrive(
    stack, reference, request
):
    """First only the events that occurred by 20 May, then everything (the rest of May and
    June): the scores judged at 20 May stay the reference's fold of the events by then."""
    pairs = generate_timeline(reference.tree, WORKLOAD)
    early = [(sent, e) for sent, e in pairs if occurred_by(e, JUDGED_AT)]
    assert 0 < len(early) < len(pairs)
    with Sender(stack.ingest, stack.key) as sender:
        replay(sender, early, rate=0, batch_size=1000)
    cases = [("75", "2024-05"), ("75", "2024-Q2"), ("25264", "2024-Q2")]
    expected = {}
    for unit, period in cases:
        expected[unit, period] = reference_scorecard(
            (e for _, e in pairs),
            tree=reference.tree,
            profile=reference.profile,
            unit=unit,
            period=parse_period(period),
            as_of=JUDGED_AT,
        )[0]
    wait_until(
        lambda: same_card(scores(stack, "75", "2024-Q2", JUDGED_AT), expected["75", "2024-Q2"]),
        180,
        "the events by 20 May visible",
        every=0.5,
    )
    before = {case: scores(stack, *case, JUDGED_AT) for case in cases}
    request.getfixturevalue("posted")  # everything, the later events included
    wait_until(
        lambda: same(scores(stack, "75", "2024-Q2"), reference, "75", "2024-Q2"),
        180,
        "every event visible",
        every=0.5,
    )
    for case in cases:
        after = scores(stack, *case, JUDGED_AT)
        assert same_card(after, expected[case]), case
        assert after["indicators"] == before[case]["indicators"], case
        assert after["total"] == before[case]["total"], case


@pytest.fixture(scope="module")
def posted(stack: Stack, reference: Reference) -> Report:
    pairs = generate_timeline(reference.tree, WORKLOAD)
    with Sender(stack.ingest, stack.key) as sender:
        report = replay(sender, pairs, rate=0, batch_size=1000)
    print(f"\nposted {report.sent} events in {report.seconds:.1f}s ({report.rate:,.0f} events/s)")
    return report


def test_events_posted_over_http_give_the_reference_scores(stack, posted, reference):
    # the events by 20 May were posted once already: those come back duplicate
    assert posted.accepted + posted.duplicate == posted.sent and posted.rejected == 0
    assert posted.accepted > 0
    started = time.monotonic()
    wait_until(
        lambda: same(scores(stack, "75", "2024-Q2"), reference, "75", "2024-Q2"),
        180,
        "the province's Q2 scores equal the reference",
        every=0.5,
    )
    print(f"all {posted.sent} events visible {time.monotonic() - started:.1f}s after the last 200")
    for unit, period in [("75.STP", "2024-05"), ("25264", "2024-Q2"), ("75", "2024-06")]:
        body = scores(stack, unit, period)
        assert same(body, reference, unit, period), (unit, period)


def test_a_resent_batch_counts_once(stack, posted, reference):
    pairs = generate_timeline(reference.tree, WORKLOAD)[:500]
    with Sender(stack.ingest, stack.key) as sender:
        again = replay(sender, pairs, rate=0, batch_size=500)
    assert again.duplicate + again.accepted == 500
    time.sleep(2)
    assert same(scores(stack, "75", "2024-Q2"), reference, "75", "2024-Q2")


def test_drill_down_through_the_whole_pipeline(stack, posted, reference):
    wait_until(
        lambda: same(scores(stack, "75", "2024-Q2"), reference, "75", "2024-Q2"), 180, "caught up"
    )
    response = httpx.get(
        f"{stack.api}/v1/units/75/dossiers",
        params={"indicator": "2.1", "period": "2024-Q2", "as_of": AS_OF.isoformat()},
        headers=bearer(stack.viewer),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    card = reference.scorecard("75", parse_period("2024-Q2")).indicator("2.1").parts[0]
    assert response.json()["total"] == card.denominator - card.numerator


def test_the_poison_events_of_issue_14_neither_stop_nor_change_the_scores(stack, posted, reference):
    """A dossier processed at 1969-12-31T23:59:59Z and one at 0001-01-01T00:00:00+01:00,
    posted as an integration would: an ingest that checks times refuses them (422); one that
    does not passes them on, and the worker dead-letters them with their reasons. Either way
    every other event is counted, and the answers say the pipeline caught up."""
    timeline = generate_timeline(reference.tree, WORKLOAD)
    processed = [e for _, e in timeline if isinstance(e.data, DossierProcessed)][:2]
    passed_on = set()
    for event, when in zip(
        processed, ["1969-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00"], strict=True
    ):
        raw = event.to_cloudevent()
        raw.update(id=f"poison-{when}", time=when, data={**raw["data"], "at": when})
        answer = httpx.post(
            f"{stack.ingest}/v1/events", json=raw, headers=bearer(stack.key), timeout=30
        )
        assert answer.status_code in (202, 422), answer.text
        if answer.status_code == 202:
            passed_on.add(raw["id"])
    wait_until(
        lambda: same(scores(stack, "75", "2024-Q2"), reference, "75", "2024-Q2"), 180, "caught up"
    )
    letters = {}

    def dead_lettered() -> bool:
        consumer = KafkaConsumer(
            f"{stack.topic}.dlq",
            bootstrap_servers=stack.bootstrap,
            auto_offset_reset="earliest",
            consumer_timeout_ms=3000,
        )
        try:
            for m in consumer:
                letters[orjson.loads(m.value)["id"]] = dict(m.headers)["tthc.dlq.reason"].decode()
        finally:
            consumer.close()
        return passed_on <= set(letters)

    wait_until(dead_lettered, 60, "the poison in the dead-letter topic", every=1)
    assert {letters[i] for i in passed_on} <= {
        "insert_rejected",
        "fold_failed",
        "derivation_failed",
    }

    def caught_up() -> dict | None:
        response = httpx.get(
            f"{stack.api}/v1/scores", params={"unit": "75", "period": "2024-Q2"}, timeout=30
        )
        pipeline = response.json()["pipeline"]
        return response if pipeline["status"] == "caught_up" else None

    response = wait_until(caught_up, 60, "the watermark caught up", every=1)
    assert response.headers["X-TTHC-Events-Not-Counted"] == "0"
    assert same(scores(stack, "75", "2024-Q2"), reference, "75", "2024-Q2")


def test_time_from_acceptance_to_visibility(stack, posted, reference):
    """Not a threshold test: the figures are printed for the report and the benchmarks."""
    wait_until(
        lambda: same(scores(stack, "75", "2024-Q2"), reference, "75", "2024-Q2"), 180, "caught up"
    )
    unit = "25195"
    received = AS_OF - timedelta(hours=2)
    seconds = []
    with httpx.Client(base_url=stack.ingest, headers=bearer(stack.key), timeout=30) as client:
        for n in range(8):
            before = synced(stack, unit)
            event = make_event(
                DossierReceived(
                    unit=unit,
                    procedure="2.000001.000.00.00.H19",
                    channel=Channel.online,
                    received_at=received,
                    due_at=received + timedelta(days=3),
                ),
                subject=f"{unit}-latency-{uuid.uuid4().hex[:8]}-{n}",
                id=uuid.uuid4().hex,
                source="test-latency",
            )
            response = client.post(
                "/v1/events",
                json=event.to_cloudevent(),
                headers={"Content-Type": "application/cloudevents+json"},
            )
            accepted = time.monotonic()
            assert response.status_code == 202, response.text
            wait_until(
                lambda b=before: synced(stack, unit) > b,
                60,
                "the new dossier visible",
                every=0.02,
            )
            seconds.append(time.monotonic() - accepted)
    print(
        f"\naccepted (202) → visible in /v1/scores, {len(seconds)} dossiers: "
        f"median {statistics.median(seconds) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms "
        f"(aggregator batch window 0.2 s; each poll is a live query)"
    )


def test_the_scoreboard_counts_down_the_events_not_yet_counted(stack, posted, reference):
    from services.scoreboard_tui import ACCEPTED, Sources, metric_sum, pending_events

    sources = Sources(stack.api, stack.ingest, stack.aggregator)
    with httpx.Client(timeout=10) as client:

        def drained() -> bool:
            accepted = metric_sum(client, sources.ingest_url, ACCEPTED)
            assert accepted is not None and accepted >= posted.accepted
            return pending_events(client, sources, accepted, {}) == 0

        wait_until(drained, 180, "no event left to count", every=0.5)
