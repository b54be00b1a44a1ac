"""The scoring compiled to SQL gives, on embedded ClickHouse, what `tthc.scoring.score` gives."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tthc.expr import sql_literal
from tthc.measures import MEASURES, Tally
from tthc.profile import Profile, WhenEmpty, load_profile, parse_profile
from tthc.scoring import NO_DATA_VI, Scorecard, profile_measures, score
from tthc.scoring_sql import SCORE_ROW_COLUMNS, TOTAL_NAME_VI, scores_sql
from tthc.units import UnitLevel

DEFAULT = load_profile()


def _every_when_empty(profile: Profile) -> Profile:
    """The profile with its parts' `when_empty` cycled, so each rule meets each of them."""
    raw = profile.model_dump(by_alias=True, mode="json")
    choices = list(WhenEmpty)
    n = 0
    for indicator in raw["indicator"]:
        for part in indicator["parts"]:
            part["when_empty"] = choices[n % len(choices)].value
            n += 1
    return parse_profile(raw)


PROFILES = {
    "rescale": DEFAULT,
    "full": DEFAULT.model_copy(update={"non_applicable": "full"}),
    "every-when-empty": _every_when_empty(DEFAULT),
    "every-when-empty-full": _every_when_empty(DEFAULT).model_copy(
        update={"non_applicable": "full"}
    ),
}


def _random_tally(rng: random.Random, key: str) -> Tally | None:
    """None (no row), an empty tally, or counts; means up to 12 days, so some clip at 1."""
    shape = rng.random()
    if shape < 0.15:
        return None
    if shape < 0.3:
        return Tally(0, 0)
    denominator = rng.randint(1, 40)
    if MEASURES[key].average:
        return Tally(denominator * rng.uniform(0, 12) * MEASURES[key].average_unit, denominator)
    return Tally(rng.randint(0, denominator), denominator)


Scopes = list[tuple[str, UnitLevel, dict[str, Tally | None]]]


def _scopes(profile: Profile, rng: random.Random) -> Scopes:
    keys = [m.key for m in profile_measures(profile)]
    scopes = []
    for n in range(160):
        level = list(UnitLevel)[n % len(UnitLevel)]
        if n % 10 == 0:  # nothing the period holds: only what is counted whatever the period
            tallies = {
                k: (Tally(3, 4) if MEASURES[k].period_column is None else None) for k in keys
            }
        else:
            tallies = {k: _random_tally(rng, k) for k in keys}
        scopes.append((f"u{n}", level, tallies))
    return scopes


def _relations(scopes: Scopes) -> tuple[str, str]:
    tally_rows = [
        f"({sql_literal(key)}, {sql_literal(measure)}, {t.numerator!r}, {t.denominator})"
        for key, _, tallies in scopes
        for measure, t in tallies.items()
        if t is not None
    ]
    tallies = (
        "SELECT * FROM VALUES('key String, measure String, numerator Nullable(Float64), "
        f"denominator Nullable(Int64)', {', '.join(tally_rows)})"
    )
    levels = ", ".join(f"({sql_literal(k)}, {sql_literal(lv.value)})" for k, lv, _ in scopes)
    return tallies, f"SELECT * FROM VALUES('key String, level String', {levels})"


def _close(got: Any, expected: Any) -> bool:
    if expected is None or got is None:
        return got is None and expected is None
    return abs(got - expected) <= 1e-9 * max(1.0, abs(expected))


def _expected_rows(card: Scorecard, profile: Profile) -> dict[str, dict[str, Any]]:
    groups = {g.number: g.name_vi for g in profile.groups}
    rows = {
        "": {
            "group_number": 0,
            "group_name_vi": "",
            "name_vi": TOTAL_NAME_VI,
            "assessed": True,
            "numerator": card.points,
            "denominator": 0,
            "rate": card.points / card.max_points if card.max_points else None,
            "points": card.points,
            "max_points": card.max_points,
            "lost": card.max_points - card.points,
        }
    }
    for i in card.indicators:
        rows[i.code] = {
            "group_number": i.group,
            "group_name_vi": groups[i.group],
            "name_vi": i.name_vi,
            "assessed": i.assessed,
            "numerator": float(i.numerator),
            "denominator": i.denominator,
            "rate": i.rate,
            "points": i.points,
            "max_points": i.max_points,
            "lost": i.lost,
        }
    for row in rows.values():
        row["total"], row["grade_vi"] = card.total, card.grade_vi
    return rows


@pytest.mark.parametrize("name", PROFILES)
def test_the_sql_scores_random_tallies_as_score_does(clickhouse: Any, name: str) -> None:
    profile = PROFILES[name]
    scopes = _scopes(profile, random.Random(name))
    tallies, levels = _relations(scopes)
    result = clickhouse.query(scores_sql(profile, tallies, levels, ["key"]))
    assert result.column_names == ("key", *SCORE_ROW_COLUMNS)
    got: dict[str, dict[str, dict[str, Any]]] = {}
    for row in result.result_rows:
        values = dict(zip(result.column_names, row, strict=True))
        got.setdefault(values.pop("key"), {})[values.pop("indicator")] = values
    assert got.keys() == {key for key, _, _ in scopes}
    graded = set()
    for key, level, found in scopes:
        tallies_ = {m: t or Tally(0, 0) for m, t in found.items()}
        card = score(profile, tallies_, level)
        expected = _expected_rows(card, profile)
        assert got[key].keys() == expected.keys(), key
        for code, row in expected.items():
            for column, value in row.items():
                assert (
                    _close(got[key][code][column], value)
                    if isinstance(value, float | None)
                    else got[key][code][column] == value
                ), (key, level, code, column, got[key][code])
        graded.add(card.grade_vi)
    # the random tallies reach every grade and the no-data case, at every level
    assert NO_DATA_VI in graded and len(graded) >= 4, graded
