"""404 for what does not exist, 422 for what is malformed: each names the parameter and why."""

from __future__ import annotations

import pytest

from tests.api.conftest import PROVINCE_VIEWER, bearer
from tests.offline_docs import assert_docs_served_offline

CASES = [
    ("/v1/scores", {"unit": "99999"}, 404, "unit", "unknown unit code '99999'"),
    ("/v1/scores", {"unit": "75", "period": "2024-13"}, 422, "period", "YYYY-MM, YYYY-Qn"),
    ("/v1/scores", {"unit": "75", "period": "Q2-2024"}, 422, "period", "'Q2-2024'"),
    ("/v1/scores", {"unit": "75", "from": "2024-05-01"}, 422, "to", "needs both from= and to="),
    ("/v1/scores", {"unit": "75", "from": "2024-05-10", "to": "2024-05-01"}, 422, "to", "before"),
    (
        "/v1/scores",
        {"unit": "75", "from": "2024-5-1", "to": "2024-05-09"},
        422,
        "from",
        "not a date",
    ),
    (
        "/v1/scores",
        {"unit": "75", "period": "2024", "from": "2024-01-01"},
        422,
        "period",
        "not both",
    ),
    ("/v1/scores", {"unit": "75", "as_of": "yesterday"}, 422, "as_of", "ISO 8601"),
    ("/v1/scores", {"unit": "75", "source": "cache"}, 422, "source", ""),
    ("/v1/scores", {}, 422, "unit", "required"),
    ("/v1/rankings", {"level": "ward"}, 422, "level", "one of province, department"),
    ("/v1/rankings", {"level": "commune", "parent": "12"}, 404, "parent", "unknown unit"),
    ("/v1/rankings", {"level": "commune", "indicator": "9.9"}, 404, "indicator", "/v1/indicators"),
    ("/v1/trends", {"unit": "75", "granularity": "hour"}, 422, "granularity", ""),
    (
        "/v1/trends",
        {"unit": "75", "granularity": "day", "from": "2022-01-01", "to": "2024-06-20"},
        422,
        "granularity",
        "at most",
    ),
    ("/v1/units/12/dossiers", {"indicator": "2.1"}, 404, "code", "unknown unit"),
    ("/v1/units/75/dossiers", {"indicator": "2.1", "limit": 0}, 422, "limit", ""),
    ("/v1/units/75/dossiers", {"indicator": "2.1", "outcome": "bad"}, 422, "outcome", ""),
    ("/v1/units/75/dossiers", {"indicator": "3.5", "part": "c"}, 422, "part", "no part 'c'"),
    ("/v1/warnings", {"unit": "75", "horizon": "soon"}, 422, "horizon", "like 24h"),
]


@pytest.mark.parametrize(("path", "params", "status", "field", "words"), CASES)
def test_errors_say_what_was_wrong(api, path, params, status, field, words):
    response = api.get(path, params=params, headers=bearer(PROVINCE_VIEWER))
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == ("not_found" if status == 404 else "invalid")
    assert " / " in body["message"]  # Vietnamese / English
    problem = body["problems"][0]
    assert problem["field"] == field
    assert words in problem["reason"]


def test_the_openapi_page_documents_every_route_with_examples(api):
    spec = api.get("/openapi.json").json()
    for path in (
        "/v1/scores",
        "/v1/rankings",
        "/v1/trends",
        "/v1/units/{code}/dossiers",
        "/v1/warnings",
        "/v1/indicators",
        "/healthz",
    ):
        assert path in spec["paths"], path
    schemas = spec["components"]["schemas"]
    assert schemas["ScoresOut"]["examples"][0]["grade"] == "Tốt"
    assert "404" in spec["paths"]["/v1/scores"]["get"]["responses"]


def test_the_docs_pages_work_offline(api):
    assert_docs_served_offline(api)
