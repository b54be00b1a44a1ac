"""`GET /v1/units/{code}/procedures`: a dossier indicator per procedure, equal to the reference."""

from __future__ import annotations

import pytest

from tests.api.conftest import AS_OF
from tthc.measures import MEASURES, tally_by_procedure
from tthc.periods import parse_period
from tthc.reference import scope_of

COMMUNE = "25264"


@pytest.mark.parametrize(
    ("unit", "indicator", "measure"),
    [("75", "2.2", "average_processing_days"), (COMMUNE, "2.1", "dossiers_on_time")],
)
def test_each_procedure_equals_the_reference_and_they_add_up_to_the_unit(
    api, reference, unit: str, indicator: str, measure: str
) -> None:
    response = api.get(
        f"/v1/units/{unit}/procedures", params={"indicator": indicator, "period": "2024-Q2"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    period = parse_period("2024-Q2")
    expected = tally_by_procedure(
        MEASURES[measure], reference.facts, scope_of(reference.tree, unit, period, AS_OF)
    )
    got = {i["procedure"]: i for i in body["items"]}
    assert len(got) > 1 and got.keys() == expected.keys()
    for procedure, tally in expected.items():
        assert got[procedure]["denominator"] == tally.denominator
        assert got[procedure]["numerator"] == pytest.approx(tally.numerator)
    whole = reference.tallies(unit, period)[measure]
    assert sum(i["denominator"] for i in body["items"]) == whole.denominator
    assert sum(i["numerator"] for i in body["items"]) == pytest.approx(whole.numerator)
    rates = [i["rate"] for i in body["items"]]
    average = MEASURES[measure].average
    assert body["average"] is average
    assert rates == sorted(rates, reverse=average)  # worst first: slowest, or lowest rate


def test_an_average_is_given_in_days(api) -> None:
    body = api.get(
        "/v1/units/75/procedures", params={"indicator": "2.2", "period": "2024-Q2"}
    ).json()
    first = body["items"][0]
    assert first["rate"] == pytest.approx(first["numerator"] / first["denominator"] / 86_400)


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"indicator": "1.1"}, "indicator", "does not count dossiers"),
        ({"indicator": "3.5"}, "indicator", "does not count dossiers"),
        ({"indicator": "4.5", "part": "a"}, "part", "does not count dossiers"),
        ({"indicator": "4.5", "part": "z"}, "part", "has no part"),
        ({"indicator": "9.9"}, "indicator", ""),
    ],
)
def test_what_cannot_be_read_per_procedure_is_422_naming_it(
    api, params: dict[str, str], field: str, words: str
) -> None:
    response = api.get("/v1/units/75/procedures", params=params)
    assert response.status_code in (404, 422), response.text
    (problem,) = response.json()["problems"]
    assert problem["field"] == field and words in problem["reason"]


def test_of_two_parts_the_one_on_dossiers_is_read(api) -> None:
    response = api.get("/v1/units/75/procedures", params={"indicator": "4.5"})
    assert response.status_code == 200, response.text
    assert response.json()["part"] == "b"  # 4.5 b counts dossiers, 4.5 a procedures


def test_an_unknown_unit_is_404(api) -> None:
    response = api.get("/v1/units/00000/procedures", params={"indicator": "2.1"})
    assert response.status_code == 404
