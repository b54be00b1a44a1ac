"""Periods without data, periods not started, and the warnings' default period.

The workload runs from April to 20 June 2024 (the API's now): March has no dossier and no
feedback anywhere, and 2024-Q3 has not started.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import PROVINCE_VIEWER, bearer
from tthc.scoring import NO_DATA_VI


def test_a_unit_with_nothing_to_judge_has_no_score(api):
    body = api.get("/v1/scores", params={"unit": "25264", "period": "2024-03"}).json()
    assert body["total"] is None
    assert (body["grade"], body["grade_en"]) == (NO_DATA_VI, "No data")
    # not the 50 of full points for 5.2 and 5.3 and none for 5.4
    assert all(
        p["denominator"] == 0
        for i in body["indicators"]
        for p in i["parts"]
        if i["code"] in ("5.2", "5.3", "5.4")
    )


def test_units_with_nothing_to_judge_are_not_ranked_and_have_no_rank_change(api):
    empty = api.get("/v1/rankings", params={"level": "commune", "period": "2024-03"}).json()
    assert empty["units"] and all(u["rank"] is None for u in empty["units"])
    assert all(u["total"] is None and u["grade"] == NO_DATA_VI for u in empty["units"])
    # April against an empty March: ranked, but no rank change is a number
    april = api.get("/v1/rankings", params={"level": "commune", "period": "2024-04"}).json()
    assert april["previous_period"]["label"] == "2024-03"
    ranked = [u for u in april["units"] if u["rank"] is not None]
    assert ranked and ranked[0]["rank"] == 1
    assert all(u["previous_rank"] is None and u["rank_change"] is None for u in april["units"])
    # the unranked, if any, come after the ranked
    ranks = [u["rank"] for u in april["units"]]
    assert ranks[: len(ranked)] == sorted(u["rank"] for u in ranked)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/scores", {"unit": "75", "period": "2024-Q3"}),
        ("/v1/scores", {"unit": "75", "from": "2024-07-01", "to": "2024-07-31"}),
        ("/v1/rankings", {"level": "commune", "period": "2025"}),
        ("/v1/trends", {"unit": "75", "period": "2024-07"}),
        ("/v1/units/75/dossiers", {"indicator": "2.1", "period": "2024-H2"}),
        ("/v1/warnings", {"unit": "75", "period": "2024-07"}),
    ],
)
def test_a_period_that_has_not_started_is_refused_with_the_reason(api, path, params):
    response = api.get(path, params=params, headers=bearer(PROVINCE_VIEWER))
    assert response.status_code == 422, response.text
    (problem,) = response.json()["problems"]
    assert problem["field"] == ("from" if "from" in params else "period")
    assert "chưa bắt đầu" in problem["reason"] and "has not started" in problem["reason"]


def test_the_period_that_started_today_is_judged(api):
    # judged on 20 June: June and Q2 are running; as of 1 April 00:00, Q2 has just begun
    assert api.get("/v1/scores", params={"unit": "75", "period": "2024-06"}).status_code == 200
    params = {"unit": "75", "period": "2024-Q2", "as_of": "2024-04-01T00:00+07:00"}
    assert api.get("/v1/scores", params=params).status_code == 200


def test_the_warnings_default_period_is_the_quarter_its_docs_name(api):
    documented = {
        p["name"]: p.get("description", "")
        for p in api.get("/openapi.json").json()["paths"]["/v1/warnings"]["get"]["parameters"]
    }
    assert documented["period"].endswith("default this quarter")
    body = api.get("/v1/warnings", params={"unit": "75"}, headers=bearer(PROVINCE_VIEWER)).json()
    assert body["period"]["label"] == "2024-Q2"
