"""Early warning: open dossiers about to turn late, and the score a period ends with as things
stand.

A dossier turns late with no new event, the moment its due date passes (2.1). The ones to act
on now are open, not paused for the applicant's supplement, not already late and not already
lost (a second supplement request), whose due date (plus the supplement time they do not owe)
falls within the horizon. Left alone, each of them is late at the end of the period; the
projected scorecard is the period judged at its last second with the facts of now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from tthc.expr import Var, all_of, compile_sql, le, lit, lt, not_, not_null, sql_literal, truthy
from tthc.measures import (
    COUNTED,
    CUTOFF,
    DUE,
    EFFECTIVE_DUE,
    PAUSED_SINCE,
    SUPPLEMENT_REQUESTS,
    Scope,
    TableNames,
    by_cutoff,
)

HORIZON_END = Var("horizon_end")
# How far ahead an open dossier counts as "about to turn late", unless a deployment sets another.
DEFAULT_WARNING_HORIZON = timedelta(hours=24)
_TABLES = TableNames()

TURNING_LATE = all_of(
    COUNTED,
    lt(SUPPLEMENT_REQUESTS, lit(2)),
    not_null(DUE),
    not_(by_cutoff("ended_at")),
    not_(by_cutoff(PAUSED_SINCE)),
    le(CUTOFF, EFFECTIVE_DUE),
    lt(EFFECTIVE_DUE, HORIZON_END),
)


def warning_env(now: datetime, horizon: timedelta) -> dict[str, Any]:
    return {"cutoff": now, "horizon_end": now + horizon}


def turning_late(
    rows: Iterable[Mapping[str, Any]], units: frozenset[str], now: datetime, horizon: timedelta
) -> list[Mapping[str, Any]]:
    """The reference: dossier fact rows of `units` turning late within the horizon, soonest
    first (then by code)."""
    env = warning_env(now, horizon)
    found = [r for r in rows if r["unit"] in units and truthy(TURNING_LATE.eval(r, env))]
    return sorted(found, key=lambda r: (EFFECTIVE_DUE.eval(r, env), r["code"]))


def turning_late_sql(
    units: frozenset[str],
    now: datetime,
    horizon: timedelta,
    columns: Sequence[str],
    *,
    limit: int,
    offset: int = 0,
    tables: TableNames = _TABLES,
) -> tuple[str, str]:
    """(page query, count query) of the same, with `effective_due_at` added to the columns."""
    env = warning_env(now, horizon)
    where = f"unit IN {sql_literal(units)} AND {compile_sql(TURNING_LATE, env)}"
    select = ", ".join([*columns, f"{compile_sql(EFFECTIVE_DUE, env)} AS effective_due_at"])
    table = f"{tables.dossier} FINAL"
    page = (
        f"SELECT {select} FROM {table} WHERE {where} "
        f"ORDER BY effective_due_at, code LIMIT {int(limit)} OFFSET {int(offset)}"
    )
    return page, f"SELECT count() AS n FROM {table} WHERE {where}"


def turning_late_by_unit_sql(
    units: frozenset[str], now: datetime, horizon: timedelta, tables: TableNames = _TABLES
) -> str:
    """How many per unit code (`unit`, `n`): sum them over a subtree for its count."""
    env = warning_env(now, horizon)
    return (
        f"SELECT unit, count() AS n FROM {tables.dossier} FINAL "
        f"WHERE unit IN {sql_literal(units)} AND {compile_sql(TURNING_LATE, env)} GROUP BY unit"
    )


def projected(scope: Scope) -> Scope:
    """The same scope judged at the period's last second: the score it ends with if no event
    comes (open dossiers stay open, and turn late as their due dates pass)."""
    return replace(scope, cutoff=scope.period.end - timedelta(seconds=1))
