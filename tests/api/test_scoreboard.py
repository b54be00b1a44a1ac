"""The refresher writes every unit's scorecard to unit_scores; snapshot reads equal live ones."""

from __future__ import annotations

from datetime import datetime

import pytest

from services.api.scoreboard import Tracked, current_periods, past_periods
from tests.api.conftest import AS_OF, COMMUNE_VIEWER, PROVINCE_VIEWER, Reference, bearer
from tthc.calendar import VN_TZ
from tthc.periods import parse_period

QUARTER = Tracked("quarter", parse_period("2024-Q2"), True)
MONTH = Tracked("month", parse_period("2024-05"), False)


@pytest.fixture(scope="module")
def refreshed(api):
    scoreboard = api.app.state.api.scoreboard
    first = scoreboard.refresh(AS_OF, [QUARTER, MONTH])
    second = scoreboard.refresh(AS_OF, [QUARTER, MONTH])
    return scoreboard, first, second


def test_the_tracked_periods_are_this_month_quarter_and_year_and_the_ones_before():
    labels = [t.period.label for t in current_periods(AS_OF)]
    assert labels == ["2024-06", "2024-Q2", "2024", "2024-05", "2024-Q1", "2023"]


def test_the_past_periods_run_from_the_first_data_to_those_before_the_previous_ones():
    since = datetime(2023, 11, 15, 9, 0, tzinfo=VN_TZ)
    labels = [t.period.label for t in past_periods(since, AS_OF)]  # AS_OF: 20 June 2024
    # 2024-05, 2024-Q1 and 2023 are the previous ones, already tracked
    assert labels == ["2023-11", "2023-12", "2024-01", "2024-02", "2024-03", "2024-04", "2023-Q4"]
    assert not any(t.current for t in past_periods(since, AS_OF))
    assert past_periods(AS_OF, AS_OF) == []  # data of this month only: nothing earlier


def test_every_unit_has_a_total_row_and_one_row_per_indicator(
    refreshed, pool, reference: Reference
):
    _, first, _ = refreshed
    units = reference.tree.current_units()
    assert first.rows == len(units) * (1 + len(reference.profile.indicators)) * 2
    rows = pool.rows("SELECT * FROM unit_scores FINAL WHERE period = '2024-Q2'", "test")
    totals = {r["unit"]: r for r in rows if r["indicator"] == ""}
    assert set(totals) == {u.code for u in units}
    for unit in ("75", "75.STP", "25264", "25195"):
        card = reference.scorecard(unit, parse_period("2024-Q2"))
        assert totals[unit]["total"] == pytest.approx(card.total)
        assert totals[unit]["grade_vi"] == card.grade_vi
        assert totals[unit]["period_kind"] == "quarter"
        by_code = {r["indicator"]: r for r in rows if r["unit"] == unit and r["indicator"]}
        for indicator in card.indicators:
            row = by_code[indicator.code]
            assert row["points"] == pytest.approx(indicator.points), (unit, indicator.code)
            assert row["max_points"] == pytest.approx(indicator.max_points)
            assert row["group_number"] == indicator.group
            assert row["total"] == pytest.approx(card.total)


def test_history_gets_only_what_changed(refreshed, pool):
    _, first, second = refreshed
    assert first.history_rows == first.rows
    assert second.history_rows == 0  # same facts, same instant: nothing changed
    count = pool.rows("SELECT count() AS n FROM unit_score_history", "test")[0]["n"]
    assert count == first.rows


def test_snapshot_scores_equal_live_ones(api, refreshed):
    live = api.get("/v1/scores", params={"unit": "25264", "period": "2024-Q2"}).json()
    snap = api.get(
        "/v1/scores", params={"unit": "25264", "period": "2024-Q2", "source": "snapshot"}
    ).json()
    assert snap["source"] == "snapshot"
    assert snap["total"] == pytest.approx(live["total"])
    assert snap["grade"] == live["grade"]
    for a, b in zip(snap["groups"], live["groups"], strict=True):
        assert a["points"] == pytest.approx(b["points"])
    for a, b in zip(snap["indicators"], live["indicators"], strict=True):
        assert (a["code"], a["denominator"]) == (b["code"], b["denominator"])
        assert a["points"] == pytest.approx(b["points"])


def test_snapshot_rankings_equal_live_ones(api, refreshed):
    params = {"level": "commune", "period": "2024-Q2"}
    live = api.get("/v1/rankings", params=params).json()
    snap = api.get("/v1/rankings", params={**params, "source": "snapshot"}).json()
    assert snap["source"] == "snapshot"
    strip = [(u["unit"]["code"], u["rank"], u["previous_rank"]) for u in live["units"]]
    assert [(u["unit"]["code"], u["rank"], u["previous_rank"]) for u in snap["units"]] == strip


def test_a_period_the_refresher_does_not_keep_is_computed_live(api, refreshed):
    body = api.get(
        "/v1/rankings", params={"level": "commune", "period": "2024-04", "source": "snapshot"}
    ).json()
    assert body["source"] == "live"
    missing = api.get(
        "/v1/scores", params={"unit": "75", "period": "2024-04", "source": "snapshot"}
    )
    assert missing.status_code == 404
    assert "source=live" in missing.json()["problems"][0]["reason"]


def test_metrics_carry_the_business_gauges(api, refreshed):
    text = api.get("/metrics").text
    assert 'tthc_api_unit_total_score{level="province",period_kind="quarter",unit="75"}' in text
    assert 'tthc_api_unit_indicator_rate{indicator="2.1",level="commune"' in text
    assert 'tthc_api_unit_indicator_counted{indicator="2.1",level="commune"' in text
    assert "tthc_api_dossiers_turning_late{" in text
    assert "tthc_api_snapshot_refresh_seconds_count" in text


def test_with_scores_closed_the_score_gauges_need_a_province_token(api, refreshed):
    state = api.app.state.api
    opened = state.settings
    state.settings = opened.model_copy(update={"open_scores": False})
    try:
        anonymous = api.get("/metrics").text
        commune = api.get("/metrics", headers=bearer(COMMUNE_VIEWER)).text
        province = api.get("/metrics", headers=bearer(PROVINCE_VIEWER)).text
    finally:
        state.settings = opened
    for text in (anonymous, commune):
        assert "tthc_api_unit_total_score" not in text
        assert "tthc_api_unit_indicator_rate" not in text
        assert "tthc_api_dossiers_turning_late" not in text
        assert "tthc_api_snapshot_refresh_seconds_count" in text  # the pipeline's stay open
    assert 'tthc_api_unit_total_score{level="province",period_kind="quarter",unit="75"}' in province


def test_the_dossiers_of_unknown_procedures_are_counted(api, refreshed):
    listed = api.get("/v1/unknown-procedures", params={"unit": "75"}).json()
    text = api.get("/metrics").text
    assert f"tthc_api_unknown_procedure_dossiers {float(listed['total_dossiers'])}" in text
