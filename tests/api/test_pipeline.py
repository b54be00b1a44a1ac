"""How far the data goes: the aggregator's watermarks on every score answer and in /healthz."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from services.api.pool import ClientPool
from services.scoreboard_tui import Sources, pending_events
from services.storage.watermarks import PartitionMark, Pipeline, PipelineStatus, write_watermarks
from tests.api.conftest import PROVINCE_VIEWER, bearer

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
STALL = timedelta(seconds=60)


def row(committed: int, end: int, when: datetime | None, updated: datetime) -> dict:
    return {"committed": committed, "log_end": end, "event_time": when, "updated_at": updated}


def test_the_pipeline_is_summed_over_partitions() -> None:
    early, late = NOW - timedelta(hours=2), NOW - timedelta(minutes=5)
    fresh = NOW - timedelta(seconds=3)
    behind = Pipeline.of([row(10, 15, late, fresh), row(20, 20, early, fresh)], NOW, STALL)
    assert behind == Pipeline(PipelineStatus.behind, 5, early, fresh)
    done = Pipeline.of([row(15, 15, late, fresh), row(20, 20, None, fresh)], NOW, STALL)
    assert (done.status, done.events_not_counted, done.counted_to) == (
        PipelineStatus.caught_up,
        0,
        late,
    )


def test_a_quiet_aggregator_is_stale_and_with_a_backlog_stalled() -> None:
    old = NOW - timedelta(minutes=2)
    assert Pipeline.of([row(15, 15, None, old)], NOW, STALL).status is PipelineStatus.stale
    assert Pipeline.of([row(10, 15, None, old)], NOW, STALL).status is PipelineStatus.stalled
    assert Pipeline.of([], NOW, STALL).status is PipelineStatus.unknown


def marks(group: str, updated: datetime, counted_to: datetime) -> list[PartitionMark]:
    return [
        PartitionMark(group, "tthc.events", 0, 100, 130, counted_to, updated),
        PartitionMark(group, "tthc.events", 1, 50, 50, counted_to + timedelta(hours=1), updated),
    ]


def test_scores_and_health_say_how_far_the_data_goes(api, pool: ClientPool) -> None:
    """A stalled aggregator first (its last word two minutes ago, 30 events behind), then a
    newer one that is moving: the answers follow the latest."""
    now = datetime.now(UTC)
    counted_to = datetime(2024, 6, 20, 3, 0, tzinfo=UTC)
    with pool.client() as client:
        write_watermarks(client, marks("agg-old", now - timedelta(minutes=2), counted_to))
    health = api.get("/healthz")
    assert health.status_code == 200  # the API serves; the pipeline is what is wrong
    assert health.json()["status"] == "degraded"
    assert health.json()["pipeline"]["status"] == "stalled"

    with pool.client() as client:
        write_watermarks(client, marks("agg-new", now, counted_to))
    answer = api.get("/v1/scores", params={"unit": "75"}, headers=bearer(PROVINCE_VIEWER))
    assert answer.status_code == 200
    pipeline = answer.json()["pipeline"]
    assert pipeline["status"] == "behind"
    assert pipeline["events_not_counted"] == 30
    assert datetime.fromisoformat(pipeline["counted_to"]) == counted_to
    assert answer.headers["X-TTHC-Pipeline"] == "behind"
    assert answer.headers["X-TTHC-Events-Not-Counted"] == "30"
    assert datetime.fromisoformat(answer.headers["X-TTHC-Counted-To"]) == counted_to
    assert api.get("/healthz").json()["status"] == "ok"
    for path in ("/v1/rankings", "/v1/trends", "/v1/units/75/procedures"):  # score answers too
        params = {"unit": "75", "level": "commune", "indicator": "2.1"}
        other = api.get(path, params=params, headers=bearer(PROVINCE_VIEWER))
        assert other.status_code == 200, (path, other.text)
        assert other.headers.get("X-TTHC-Events-Not-Counted") == "30", (path, other.text)


def test_the_scoreboard_counts_from_the_watermark_on_the_answer() -> None:
    """`tthc scoreboard` shows "N sự kiện chưa được tính" from the answer's pipeline field,
    reading no counter when it is there."""
    answer = {"pipeline": {"status": "behind", "events_not_counted": 12345}}
    with httpx.Client() as client:
        nowhere = Sources(url="http://127.0.0.1:9", ingest_url=None, aggregator_url=None)
        assert pending_events(client, nowhere, None, answer) == 12345
        assert pending_events(client, nowhere, None, {}) is None  # no watermark, no counters
