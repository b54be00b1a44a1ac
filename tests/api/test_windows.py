"""Answers from the windows the aggregator keeps equal the reference, for any period of whole
days over any subtree, judged now and at the end of past periods; the rest reads the facts, and
every answer says which."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.api.pool import ANSWER_SETTINGS, ClientPool
from services.api.windows import WindowsCannotAnswer, tallies_from_windows
from tests.api.conftest import AS_OF, JUDGED_AT, Reference
from tthc.expr import sql_literal
from tthc.periods import date_range, parse_period
from tthc.ranking import rank
from tthc.reference import scope_of
from tthc.scoring import profile_measures

PERIODS = [
    parse_period("2024-06"),
    parse_period("2024-Q2"),
    date_range(date(2024, 5, 15), date(2024, 6, 30)),
    parse_period("2024"),  # year to date
    parse_period("2024-04"),  # over before W: judged at its end, from the month's columns
    parse_period("2024-Q1"),  # nothing happened
]
UNITS = ["75", "25264", "75.STP"]  # the province, a commune (with a merged one), a department


def test_the_windows_are_judged_before_the_cutoff():
    # what turned late between W and AS_OF with no event is in the windows' changes
    assert JUDGED_AT < AS_OF


@pytest.mark.parametrize("period", PERIODS, ids=lambda p: p.label)
def test_windowed_tallies_equal_the_reference(pool: ClientPool, reference: Reference, period):
    scopes = {code: scope_of(reference.tree, code, period, AS_OF) for code in UNITS}
    found = tallies_from_windows(pool, profile_measures(reference.profile), scopes, "test")
    for code in UNITS:
        assert found[code] == reference.tallies(code, period, AS_OF), code


def test_a_past_instant_other_than_a_period_end_cannot_be_read_from_the_windows(
    pool, reference: Reference
):
    # a day before W (W is JUDGED_AT or, the rebuild taking time, a second or two later:
    # at W itself the windows answer, exactly), and not the end of a month
    before = JUDGED_AT - timedelta(days=1)
    scopes = {"75": scope_of(reference.tree, "75", parse_period("2024-06"), before)}
    with pytest.raises(WindowsCannotAnswer):
        tallies_from_windows(pool, profile_measures(reference.profile), scopes, "test")


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("period", ["2024-06", "2024-Q2", "2024", "2024-04"])
def test_scores_read_the_windows_by_default(api, reference: Reference, unit, period):
    response = api.get("/v1/scores", params={"unit": unit, "period": period})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "windows"
    card = reference.scorecard(unit, parse_period(period))
    assert body["total"] == pytest.approx(card.total)
    indicators = {i["code"]: i for i in body["indicators"]}
    for expected in card.indicators:
        got = indicators[expected.code]
        assert got["points"] == pytest.approx(expected.points), expected.code


def test_an_instant_in_the_past_reads_the_facts(api, reference: Reference):
    params = {"unit": "75", "period": "2024-06", "as_of": "2024-06-10"}
    body = api.get("/v1/scores", params=params).json()
    assert body["source"] == "facts"
    cutoff = parse_period("2024-06").cutoff(AS_OF.replace(day=10, hour=23, minute=59, second=59))
    assert body["total"] == pytest.approx(
        reference.scorecard("75", parse_period("2024-06"), cutoff).total
    )


def test_the_facts_when_asked_for(api, reference: Reference):
    body = api.get("/v1/scores", params={"unit": "75", "period": "2024", "source": "facts"}).json()
    assert body["source"] == "facts"
    assert body["total"] == pytest.approx(reference.scorecard("75", parse_period("2024")).total)


def test_a_custom_range_ended_in_the_past_reads_the_facts(api, reference):
    period = date_range(date(2024, 4, 10), date(2024, 5, 10))  # its end is no period's end
    params = {"unit": "25264", "from": "2024-04-10", "to": "2024-05-10"}
    body = api.get("/v1/scores", params=params).json()
    assert body["source"] == "facts"
    assert body["total"] == pytest.approx(reference.scorecard("25264", period).total)


@pytest.mark.parametrize(("level", "indicator"), [("commune", None), ("department", "2.1")])
def test_rankings_from_windows_equal_the_reference(api, reference: Reference, level, indicator):
    # June: a running period whose previous one (May) had data to rank (Q1 had none)
    params = {"level": level, "period": "2024-06"}
    body = api.get(
        "/v1/rankings", params={**params, **({"indicator": indicator} if indicator else {})}
    ).json()
    assert body["source"] == "windows"
    values = {}
    for unit in reference.tree.units_at_level(level):
        card = reference.scorecard(unit.code, parse_period("2024-06"))
        values[unit.code] = card.total if indicator is None else card.indicator(indicator).points
    expected = {p.code: p.rank for p in rank(values)}
    ranks = {u["unit"]["code"]: u["rank"] for u in body["units"]}
    assert {code: r for code, r in ranks.items() if r is not None} == expected
    for entry in body["units"]:
        assert entry["value"] == pytest.approx(values[entry["unit"]["code"]])
    assert any(u["previous_rank"] is not None for u in body["units"])


def test_a_monthly_trend_reads_the_windows(api, reference: Reference):
    body = api.get("/v1/trends", params={"unit": "75", "indicator": "2.1"}).json()
    assert body["source"] == "windows"
    for point in body["points"]:
        period = parse_period(point["label"])
        (expected,) = [i for i in reference.scorecard("75", period).indicators if i.code == "2.1"]
        assert point["points"] == pytest.approx(expected.points), point["label"]


def test_queries_run_side_by_side_answer_each_in_its_place(pool: ClientPool):
    sqls = [f"SELECT number AS n FROM numbers({k})" for k in (3, 1, 4, 1, 5)]
    answers = pool.rows_of_each(sqls, "test")
    assert [[row["n"] for row in rows] for rows in answers] == [
        list(range(k)) for k in (3, 1, 4, 1, 5)
    ]


def test_the_answers_clients_compile_no_expression(pool: ClientPool):
    """ClickHouse's JIT compiles inside the query that meets an expression the third time: the
    API's clients turn it off (ANSWER_SETTINGS), so no answer pays for it."""
    names = sql_literal(sorted(ANSWER_SETTINGS))
    rows = pool.rows(f"SELECT name, value FROM system.settings WHERE name IN {names}", "test")
    assert {r["name"]: r["value"] for r in rows} == dict.fromkeys(ANSWER_SETTINGS, "0")
