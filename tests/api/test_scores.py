"""`GET /v1/scores` equals the reference scorecard for several units, periods and instants."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tests.api.conftest import AS_OF, Reference
from tthc.calendar import VN_TZ
from tthc.measures import MEASURES
from tthc.periods import date_range, parse_period
from tthc.scoring import Scorecard


def assert_same(body: dict, card: Scorecard) -> None:
    assert body["total"] == pytest.approx(card.total, abs=1e-9)
    assert body["grade"] == card.grade_vi
    assert body["points"] == pytest.approx(card.points)
    assert body["max_points"] == pytest.approx(card.max_points)
    for group, expected in zip(body["groups"], card.groups, strict=True):
        assert group["number"] == expected.number
        assert group["points"] == pytest.approx(expected.points)
        assert group["max_points"] == pytest.approx(expected.max_points)
    assert [i["code"] for i in body["indicators"]] == [i.code for i in card.indicators]
    for got, expected in zip(body["indicators"], card.indicators, strict=True):
        assert got["points"] == pytest.approx(expected.points), got["code"]
        assert got["max_points"] == pytest.approx(expected.max_points), got["code"]
        assert got["lost"] == pytest.approx(expected.lost), got["code"]
        assert got["applicable"] == expected.applicable, got["code"]
        for part, want in zip(got["parts"], expected.parts, strict=True):
            assert (part["numerator"], part["denominator"]) == (want.numerator, want.denominator)
            assert part["rate"] == pytest.approx(want.rate), (got["code"], part["label"])


CASES = [
    ("75", "2024-Q2"),
    ("75", "2024-05"),
    ("75", "2024-H1"),
    ("75", "2024"),
    ("75.STP", "2024-Q2"),
    ("75.STC", "2024-06"),  # took in Sở Kế hoạch và Đầu tư
    ("25264", "2024-Q2"),  # took in Xã Bù Nho
    ("25195", "2024-04"),
    ("75", "2024-Q1"),  # nothing happened
]


@pytest.mark.parametrize(("unit", "period"), CASES)
def test_scores_equal_the_reference(api, reference: Reference, unit, period):
    response = api.get("/v1/scores", params={"unit": unit, "period": period})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["unit"]["code"] == unit
    assert body["period"]["label"] == period
    assert body["source"] == "windows"
    assert_same(body, reference.scorecard(unit, parse_period(period)))


def test_a_date_range_and_an_earlier_instant(api, reference: Reference):
    params = {"unit": "75", "from": "2024-04-15", "to": "2024-05-20", "as_of": "2024-05-25"}
    body = api.get("/v1/scores", params=params).json()
    as_of = AS_OF.replace(month=5, day=25, hour=23, minute=59, second=59)
    period = date_range(date(2024, 4, 15), date(2024, 5, 20))
    assert (
        body["period"]["first_day"] == "2024-04-15" and body["period"]["last_day"] == "2024-05-20"
    )
    assert_same(body, reference.scorecard("75", period, as_of))


def test_as_of_judges_open_dossiers_at_that_instant(api, reference: Reference):
    moment = "2024-06-10T09:00:00+07:00"
    body = api.get("/v1/scores", params={"unit": "75", "period": "2024-06", "as_of": moment}).json()
    instant = datetime.fromisoformat(moment).astimezone(VN_TZ)
    assert_same(body, reference.scorecard("75", parse_period("2024-06"), instant))
    assert body["period"]["cutoff"].startswith("2024-06-10T09:00:00")


def test_a_merged_units_code_answers_for_the_unit_that_took_it_over(api, reference: Reference):
    body = api.get("/v1/scores", params={"unit": "25252", "period": "2024-Q2"}).json()
    assert body["unit"]["code"] == "25264"
    assert_same(body, reference.scorecard("25264", parse_period("2024-Q2")))


def test_the_default_period_is_this_quarter(api):
    body = api.get("/v1/scores", params={"unit": "75"}).json()
    assert body["period"]["label"] == "2024-Q2"


def test_the_catalog_lists_22_indicators_worth_100(api):
    body = api.get("/v1/indicators").json()
    assert len(body["indicators"]) == 22
    assert sum(i["points"] for i in body["indicators"]) == 100
    assert body["groups"][0]["name_vi"] == "Công khai, minh bạch"


def test_the_catalog_says_what_each_part_counts(api):
    body = api.get("/v1/indicators").json()
    for indicator in body["indicators"]:
        for part in indicator["parts"]:
            measure = MEASURES[part["measure"]]
            assert (part["counts"], part["out_of"]) == (measure.counts, measure.out_of)
