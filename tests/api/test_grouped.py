"""Grouped tallies (every unit in one query per subject) equal the per-unit reference."""

from __future__ import annotations

import pytest

from services.api.queries import tallies_by_bucket, tallies_by_scope
from services.storage.clickhouse import tallies
from tests.api.conftest import AS_OF, Reference
from tthc.periods import date_range, parse_period
from tthc.reference import reference_tallies, scope_of
from tthc.scoring import profile_measures
from tthc.trends import Granularity, buckets

PERIODS = [
    parse_period("2024-Q2"),
    parse_period("2024-05"),
    parse_period("2024-Q1"),  # nothing happened: every tally empty, nothing fails
    date_range(parse_period("2024-04").start_date, parse_period("2024-05").end_date),
]


@pytest.mark.parametrize("period", PERIODS, ids=lambda p: p.label)
def test_every_unit_of_the_tree_equals_the_reference(pool, reference: Reference, period):
    units = [u.code for u in reference.tree.current_units()]
    scopes = {code: scope_of(reference.tree, code, period, AS_OF) for code in units}
    grouped = tallies_by_scope(pool, profile_measures(reference.profile), scopes, "test")
    for code in units:
        expected = reference_tallies(reference.profile, reference.facts, scopes[code])
        assert grouped[code] == expected, code


def test_a_subset_of_scopes_sharing_nothing_is_counted_apart(pool, reference: Reference):
    period = parse_period("2024-Q2")
    chosen = ["25264", "75.STP"]  # a commune (with a merged one) and a department
    scopes = {code: scope_of(reference.tree, code, period, AS_OF) for code in chosen}
    grouped = tallies_by_scope(pool, profile_measures(reference.profile), scopes, "test")
    for code in chosen:
        assert grouped[code] == reference.tallies(code, period)


@pytest.mark.parametrize("unit", ["75", "75.STP", "25264"])
def test_the_per_unit_query_agrees(pool, reference: Reference, unit):
    scope = scope_of(reference.tree, unit, parse_period("2024-Q2"), AS_OF)
    with pool.client() as client:
        assert tallies(client, reference.profile, scope) == reference.tallies(
            unit, parse_period("2024-Q2")
        )


@pytest.mark.parametrize("granularity", list(Granularity))
@pytest.mark.parametrize("unit", ["75", "75.STP", "25264"])
def test_the_buckets_of_a_trend_equal_the_reference(pool, reference: Reference, unit, granularity):
    chosen = buckets(parse_period("2024-Q2"), granularity)
    scopes = {b.label: scope_of(reference.tree, unit, b.period, AS_OF) for b in chosen}
    found = tallies_by_bucket(pool, profile_measures(reference.profile), scopes, "test")
    for label, scope in scopes.items():
        expected = reference_tallies(reference.profile, reference.facts, scope)
        assert found[label] == expected, label
