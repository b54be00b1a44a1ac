"""Drill-down and early-warning SQL list exactly what the Python reference lists."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.api.queries import LISTED_COLUMNS, listing_page, warnings_page
from tests.api.conftest import AS_OF, Reference
from tthc.drilldown import NotListable, Outcome, check_listable, listing
from tthc.early_warning import turning_late
from tthc.measures import MEASURES
from tthc.periods import parse_period
from tthc.reference import scope_of


def listable() -> list[str]:
    keys = []
    for key, measure in MEASURES.items():
        try:
            check_listable(measure)
        except NotListable:
            continue
        keys.append(key)
    return keys


@pytest.mark.parametrize("key", listable())
@pytest.mark.parametrize("unit", ["75", "25264"])
def test_every_listable_measure_lists_the_reference_rows_with_their_reasons(
    pool, reference: Reference, key, unit
):
    measure = MEASURES[key]
    scope = scope_of(reference.tree, unit, parse_period("2024-Q2"), AS_OF)
    for outcome in (Outcome.lost, Outcome.counted):
        expected = [
            (row["code"], reason.code if reason else "")
            for row, reason in listing(measure, reference.facts, scope, outcome)
        ]
        got, total = listing_page(pool, measure, scope, outcome, 100_000, 0)
        assert [(r["code"], r["reason"]) for r in got] == expected
        assert total == len(expected)
        assert all(set(LISTED_COLUMNS[measure.subject]) <= set(r) for r in got)


@pytest.mark.parametrize("hours", [6, 24, 72, 24 * 30])
def test_dossiers_turning_late_are_the_reference_ones_soonest_first(pool, reference, hours):
    units = reference.tree.subtree("75")
    horizon = timedelta(hours=hours)
    expected = [r["code"] for r in turning_late(reference.facts.dossier, units, AS_OF, horizon)]
    got, total = warnings_page(pool, units, AS_OF, horizon, 100_000, 0)
    assert [r["code"] for r in got] == expected
    assert total == len(expected)
    if hours >= 72:
        assert expected, "the workload has open dossiers due within days"
