"""Scores from the rolling windows equal the reference judged at the generation's cutoff, for
any period of whole days over any subtree; generations replace each other whole."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from services.api.pool import ClientPool
from services.api.windows import latest_generation, tallies_from_windows, write_generation
from services.storage.schema import TABLES, WINDOWS
from tests.api.conftest import AS_OF, Reference
from tthc.calendar import VN_TZ
from tthc.measures import Generation, window_sql
from tthc.periods import date_range, parse_period
from tthc.ranking import rank
from tthc.reference import scope_of
from tthc.scoring import profile_measures

PERIODS = [
    parse_period("2024-06"),
    parse_period("2024-Q2"),
    date_range(date(2024, 5, 15), date(2024, 6, 30)),
    parse_period("2024"),  # year to date
]
UNITS = ["75", "25264", "75.STP"]  # the province, a commune (with a merged one), a department


@pytest.fixture(scope="module")
def generation(pool: ClientPool, reference: Reference) -> Generation:
    return write_generation(pool, profile_measures(reference.profile), AS_OF)


@pytest.mark.parametrize("period", PERIODS, ids=lambda p: p.label)
def test_windowed_tallies_equal_the_reference(pool, reference: Reference, generation, period):
    scopes = {code: scope_of(reference.tree, code, period, generation.cutoff) for code in UNITS}
    found = tallies_from_windows(
        pool, profile_measures(reference.profile), scopes, generation, "test"
    )
    for code in UNITS:
        assert found[code] == reference.tallies(code, period, generation.cutoff), code
    assert any(t.denominator for t in found["75"].values())  # something was counted


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("period", ["2024-06", "2024-Q2", "2024"])
def test_scores_from_windows_equal_the_reference(
    api, reference: Reference, generation, unit, period
):
    response = api.get("/v1/scores", params={"unit": unit, "period": period, "source": "windows"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "windows"
    assert body["period"]["cutoff"].startswith(generation.cutoff.strftime("%Y-%m-%dT%H:%M:%S"))
    card = reference.scorecard(unit, parse_period(period), generation.cutoff)
    assert body["total"] == pytest.approx(card.total)
    indicators = {i["code"]: i for i in body["indicators"]}
    for expected in card.indicators:
        got = indicators[expected.code]
        parts = [p for p in expected.parts if p.applicable] or list(expected.parts)
        assert got["points"] == pytest.approx(expected.points), expected.code
        assert got["denominator"] == sum(p.denominator for p in parts), expected.code
        assert got["numerator"] == pytest.approx(sum(p.numerator for p in parts)), expected.code


def test_a_custom_range_from_windows_equals_the_reference(api, reference, generation):
    params = {"unit": "25264", "from": "2024-05-15", "to": "2024-06-30", "source": "windows"}
    body = api.get("/v1/scores", params=params).json()
    card = reference.scorecard("25264", PERIODS[2], generation.cutoff)
    assert body["source"] == "windows"
    assert body["total"] == pytest.approx(card.total)


def test_as_of_with_windows_is_refused_naming_the_parameter(api, generation):
    params = {"unit": "75", "source": "windows", "as_of": "2024-06-01"}
    response = api.get("/v1/scores", params=params)
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "as_of"


def test_a_period_over_before_the_cutoff_is_judged_live_at_its_end(api, reference, generation):
    params = {"unit": "75", "period": "2024-04", "source": "windows"}
    body = api.get("/v1/scores", params=params).json()
    assert body["source"] == "live"
    assert body["total"] == pytest.approx(reference.scorecard("75", parse_period("2024-04")).total)


def test_a_reader_during_a_refresh_sees_the_last_complete_generation(
    pool, reference: Reference, generation
):
    # a generation half written: its start recorded and its dossier tallies only
    half = Generation(generation.id + 1, generation.cutoff + timedelta(days=1))
    first, *_ = window_sql(profile_measures(reference.profile), half, WINDOWS, TABLES)
    with pool.client() as client:
        client.insert(
            WINDOWS.generations,
            [[half.id, half.cutoff, half.cutoff, False]],
            column_names=["generation", "cutoff", "computed_at", "complete"],
        )
        client.command(first)
    try:
        assert latest_generation(pool) == generation
        period = parse_period("2024-Q2")
        scopes = {"75": scope_of(reference.tree, "75", period, generation.cutoff)}
        found = tallies_from_windows(
            pool, profile_measures(reference.profile), scopes, generation, "test"
        )
        assert found["75"] == reference.tallies("75", period, generation.cutoff)
    finally:
        for table in (WINDOWS.tallies, WINDOWS.sets, WINDOWS.generations):
            with pool.client() as client:
                client.command(f"ALTER TABLE {table} DROP PARTITION {half.id}")


def _partitions(pool: ClientPool, table: str) -> set[int]:
    rows = pool.rows(f"SELECT DISTINCT generation FROM {table}", "test")
    return {int(r["generation"]) for r in rows}


def test_a_new_generation_replaces_the_old_one_whose_partitions_go(
    pool, reference: Reference, generation
):
    # a new online dossier, received half an hour into June in Vietnam (May in UTC)
    extra = {
        **reference.facts.dossier[0],
        "code": "TEST-WINDOWS-EXTRA",
        "unit": "25264",
        "channel": 2,
        "counted": True,
        "received_at": datetime(2024, 6, 1, 0, 30, tzinfo=VN_TZ),
    }
    now = replace(
        reference, facts=replace(reference.facts, dossier=[*reference.facts.dossier, extra])
    )
    measures = profile_measures(reference.profile)
    with pool.client() as client:
        client.insert(TABLES.dossier, [[*extra.values(), 1]], column_names=[*extra, "version"])
    try:
        second = write_generation(pool, measures, AS_OF)
        assert latest_generation(pool) == second
        for label in ("2024-06", "2024-Q2"):
            period = parse_period(label)
            scopes = {u: scope_of(reference.tree, u, period, second.cutoff) for u in UNITS}
            found = tallies_from_windows(pool, measures, scopes, second, "test")
            for unit in UNITS:
                assert found[unit] == now.tallies(unit, period, second.cutoff), (label, unit)
        assert found["25264"] != reference.tallies("25264", period, second.cutoff)
        third = write_generation(pool, measures, AS_OF)
        for table in (WINDOWS.tallies, WINDOWS.sets, WINDOWS.generations):
            assert generation.id not in _partitions(pool, table), table
            assert {second.id, third.id} <= _partitions(pool, table), table
    finally:
        with pool.client() as client:
            client.command(
                f"ALTER TABLE {TABLES.dossier} DELETE WHERE code = 'TEST-WINDOWS-EXTRA' "
                "SETTINGS mutations_sync = 2"
            )


def test_each_refresh_writes_a_generation_judged_at_its_instant(api, pool, generation):
    scoreboard = api.app.state.api.scoreboard
    done = scoreboard.refresh(AS_OF, [])
    assert done.generation is not None and done.generation > generation.id
    assert latest_generation(pool) == Generation(done.generation, AS_OF)


@pytest.mark.parametrize(("level", "indicator"), [("commune", None), ("department", "2.1")])
def test_rankings_from_windows_equal_the_reference(
    api, pool, reference: Reference, generation, level, indicator
):
    latest = latest_generation(pool)  # later than `generation` if other tests refreshed
    # June: a running period whose previous one (May) had data to rank (Q1 had none)
    params = {"level": level, "period": "2024-06", "source": "windows"}
    body = api.get(
        "/v1/rankings", params={**params, **({"indicator": indicator} if indicator else {})}
    ).json()
    assert body["source"] == "windows"
    assert body["period"]["cutoff"].startswith(latest.cutoff.strftime("%Y-%m-%dT%H:%M:%S"))
    values = {}
    for unit in reference.tree.units_at_level(level):
        card = reference.scorecard(unit.code, parse_period("2024-06"), latest.cutoff)
        values[unit.code] = card.total if indicator is None else card.indicator(indicator).points
    expected = {p.code: p.rank for p in rank(values)}
    ranks = {u["unit"]["code"]: u["rank"] for u in body["units"]}
    assert {code: r for code, r in ranks.items() if r is not None} == expected
    # a commune with nothing to judge yet in June is listed, not ranked
    assert all(values[code] is None for code, r in ranks.items() if r is None)
    for entry in body["units"]:
        assert entry["value"] == pytest.approx(values[entry["unit"]["code"]])
    assert any(u["previous_rank"] is not None for u in body["units"])
