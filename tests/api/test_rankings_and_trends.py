"""`/v1/rankings` orders units as the reference does, with rank change; `/v1/trends` points
equal the reference score of each day, week or month."""

from __future__ import annotations

import pytest

from tests.api.conftest import Reference
from tthc.periods import parse_period
from tthc.ranking import rank
from tthc.trends import Granularity, buckets


def reference_ranks(reference: Reference, level: str, period: str, indicator: str | None = None):
    units = [u.code for u in reference.tree.units_at_level(level)]
    values = {}
    for code in units:
        card = reference.scorecard(code, parse_period(period))
        values[code] = card.total if indicator is None else card.indicator(indicator).points
    return {p.code: p.rank for p in rank(values)}, values


@pytest.mark.parametrize(("level", "indicator"), [("commune", None), ("department", "2.1")])
def test_rankings_and_rank_change_equal_the_reference(api, reference: Reference, level, indicator):
    params = {
        "level": level,
        "period": "2024-05",
        **({"indicator": indicator} if indicator else {}),
    }
    response = api.get("/v1/rankings", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    now, values = reference_ranks(reference, level, "2024-05", indicator)
    before, _ = reference_ranks(reference, level, "2024-04", indicator)
    assert body["previous_period"]["label"] == "2024-04"
    assert len(body["units"]) == len(now)
    assert [u["rank"] for u in body["units"]] == sorted(u["rank"] for u in body["units"])
    for entry in body["units"]:
        code = entry["unit"]["code"]
        assert entry["rank"] == now[code], code
        assert entry["value"] == pytest.approx(values[code])
        assert entry["previous_rank"] == before[code]
        assert entry["rank_change"] == before[code] - now[code]
    assert any(entry["rank_change"] for entry in body["units"])


def test_a_ranking_under_a_parent_has_only_its_units(api):
    body = api.get("/v1/rankings", params={"level": "commune", "parent": "75.STP"}).json()
    assert body["units"] == []
    body = api.get("/v1/rankings", params={"level": "province"}).json()
    assert [u["unit"]["code"] for u in body["units"]] == ["75"]


@pytest.mark.parametrize("granularity", list(Granularity))
def test_trend_points_equal_the_reference_score_of_each_bucket(api, reference, granularity):
    params = {
        "unit": "25264",
        "indicator": "2.1",
        "granularity": granularity.value,
        "period": "2024-05",
    }
    body = api.get("/v1/trends", params=params).json()
    expected = buckets(parse_period("2024-05"), granularity)
    assert [p["label"] for p in body["points"]] == [b.label for b in expected]
    for point, bucket in zip(body["points"], expected, strict=True):
        card = reference.scorecard("25264", bucket.period)
        indicator = card.indicator("2.1")
        assert point["points"] == pytest.approx(indicator.points)
        assert point["denominator"] == indicator.parts[0].denominator
        assert point["rate"] == pytest.approx(indicator.rate)


def test_a_trend_of_the_total_stops_at_now(api, reference):
    body = api.get("/v1/trends", params={"unit": "75", "granularity": "month"}).json()
    # default: the last 12 months up to now (20 June 2024)
    assert body["points"][-1]["label"] == "2024-06"
    assert len(body["points"]) == 12
    june = reference.scorecard("75", parse_period("2024-06"))
    assert body["points"][-1]["total"] == pytest.approx(june.total)
    assert body["name_vi"] == "Tổng điểm"
