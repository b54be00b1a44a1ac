"""The API's reads from ClickHouse, in the domain's terms: tallies, scorecards, listings.

Every number comes from SQL the domain compiles (tthc.measures, tthc.drilldown,
tthc.early_warning) and goes through the domain's scoring; nothing here decides what counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from services.api.pool import ClientPool
from services.storage.clickhouse import tallies
from services.storage.schema import TABLES
from services.storage.watermarks import LATEST_SQL, Pipeline
from tthc.drilldown import Outcome, listing_sql
from tthc.early_warning import turning_late_by_unit_sql, turning_late_sql
from tthc.expr import sql_literal
from tthc.measures import (
    GroupedQuery,
    Measure,
    Scope,
    Subject,
    TableNames,
    Tally,
    bucketed_sql,
    by_procedure_sql,
    grouped_sql,
    rollup,
)
from tthc.profile import Profile
from tthc.units import UnitTree

DOSSIER_COLUMNS = (
    "code",
    "unit",
    "procedure",
    "channel",
    "received_at",
    "due_at",
    "ended_at",
    "supplement_requests",
)
FEEDBACK_COLUMNS = ("code", "unit", "received_at", "decide_due_at", "handle_due_at", "ended_at")
# what the reasons of the procedure indicators (1.x, 3.1, 3.2, 3.5) are read from
PROCEDURE_COLUMNS = (
    "code",
    "announcing_unit",
    "online_service",
    "fee_bearing",
    "payment_integrated",
    "first_announced_on",
    "first_late_decision_on",
    "publish_due_on",
    "first_published_on",
    "components_complete",
    "missing_components",
    "name",
)
COMMUNE_COLUMNS = ("code", "certified_copy_offered_since", "first_certified_copy_at")
LISTED_COLUMNS = {
    Subject.dossier: DOSSIER_COLUMNS,
    Subject.feedback: FEEDBACK_COLUMNS,
    Subject.procedure: PROCEDURE_COLUMNS,
    Subject.commune: COMMUNE_COLUMNS,
}


def pipeline(pool: ClientPool, stall_after: timedelta) -> Pipeline:
    """How far the facts go, from the aggregator's watermarks."""
    return Pipeline.of(pool.rows(LATEST_SQL, "pipeline"), datetime.now(UTC), stall_after)


def unit_tallies(pool: ClientPool, profile: Profile, scope: Scope) -> dict[str, Tally]:
    """One unit's tallies, one query per subject (services.storage.clickhouse.tallies)."""
    with pool.client() as client:
        return tallies(client, profile, scope)


def tallies_by_scope(
    pool: ClientPool, measures: Sequence[Measure], scopes: Mapping[str, Scope], purpose: str
) -> dict[str, dict[str, Tally]]:
    """Tallies of many scopes sharing a period: one query per subject, rolled up in Python."""
    return _rolled_up(pool, grouped_sql, measures, scopes, purpose)


def tallies_by_procedure(pool: ClientPool, measure: Measure, scope: Scope) -> dict[str, Tally]:
    """A dossier measure per procedure over one scope (tthc.measures.tally_by_procedure)."""
    rows = pool.rows(by_procedure_sql(measure, scope, TABLES), "procedures")
    return {r["procedure"]: Tally(float(r["numerator"]), int(r["denominator"])) for r in rows}


def tallies_by_bucket(
    pool: ClientPool, measures: Sequence[Measure], scopes: Mapping[str, Scope], purpose: str
) -> dict[str, dict[str, Tally]]:
    """Tallies of one subtree over disjoint periods (a trend's buckets): one query per subject
    and period column."""
    return _rolled_up(pool, bucketed_sql, measures, scopes, purpose)


def _rolled_up(
    pool: ClientPool,
    queries: Callable[
        [Subject, Iterable[Measure], Mapping[str, Scope], TableNames], Iterable[GroupedQuery]
    ],
    measures: Sequence[Measure],
    scopes: Mapping[str, Scope],
    purpose: str,
) -> dict[str, dict[str, Tally]]:
    result: dict[str, dict[str, Tally]] = {key: {} for key in scopes}
    for subject in Subject:
        for query in queries(subject, measures, scopes, TABLES):
            for key, found in rollup(query, pool.rows(query.sql, purpose), scopes).items():
                result[key].update(found)
    return result


def listing_page(
    pool: ClientPool, measure: Measure, scope: Scope, outcome: Outcome, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    columns = LISTED_COLUMNS[measure.subject]
    sql = listing_sql(measure, scope, outcome, columns, limit=limit, offset=offset, tables=TABLES)
    return _page(pool, sql, offset, "dossiers")


def procedure_names(pool: ClientPool, codes: Iterable[str]) -> dict[str, str]:
    """The catalogue's name of each procedure that has one."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    sql = (
        f"SELECT code, name FROM {TABLES.procedure} FINAL "
        f"WHERE code IN {sql_literal(set(wanted))} AND name != ''"
    )
    return {r["code"]: r["name"] for r in pool.rows(sql, "names")}


def warnings_page(
    pool: ClientPool,
    units: frozenset[str],
    now: datetime,
    horizon: timedelta,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    sql = turning_late_sql(
        units, now, horizon, DOSSIER_COLUMNS, limit=limit, offset=offset, tables=TABLES
    )
    return _page(pool, sql, offset, "warnings")


def _page(
    pool: ClientPool, sql: tuple[str, str], offset: int, purpose: str
) -> tuple[list[dict[str, Any]], int]:
    """The page's rows and the count of all, from (page SQL, count SQL); no read past the end."""
    page, count = sql
    total = int(pool.rows(count, purpose)[0]["n"])
    return (pool.rows(page, purpose) if offset < total else []), total


def turning_late_counts(
    pool: ClientPool, tree: UnitTree, units: Iterable[str], now: datetime, horizon: timedelta
) -> dict[str, int]:
    """For each unit, the dossiers of its subtree turning late within the horizon."""
    subtrees = {code: tree.subtree(code) for code in units}
    everywhere = frozenset().union(*subtrees.values()) if subtrees else frozenset()
    if not everywhere:
        return {}
    sql = turning_late_by_unit_sql(everywhere, now, horizon, TABLES)
    per_unit = {row["unit"]: int(row["n"]) for row in pool.rows(sql, "warnings")}
    return {code: sum(per_unit.get(u, 0) for u in members) for code, members in subtrees.items()}


def unknown_procedures(pool: ClientPool, units: frozenset[str]) -> list[dict[str, Any]]:
    """Procedures named by dossiers of ``units`` but not configured (no `procedure.configured`
    event yet), with their dossiers: most dossiers first."""
    sql = (
        "SELECT procedure, count() AS dossiers, uniqExact(unit) AS units, "
        "min(received_at) AS first_received_at "
        f"FROM {TABLES.dossier} FINAL "
        f"WHERE unit IN {sql_literal(units)} "
        f"AND procedure NOT IN (SELECT code FROM {TABLES.procedure} FINAL WHERE configured) "
        "GROUP BY procedure ORDER BY dossiers DESC, procedure"
    )
    return pool.rows(sql, "unknown_procedures")
