"""Rolling windows: the refresher writes a generation of them, the routes read the latest one.

A generation holds every windowed tally per unit and local day, and the procedures of each
dossier set per unit and day, judged at one cutoff instant T (tthc.measures.window_sql). It is
written beside the previous one and recorded as complete only once whole, so a reader, who
reads the latest complete generation, never sees half of one. Each new generation drops those
older than the one before it: a reader still on the previous generation keeps its rows.

Open dossiers turn late as their due dates pass with no new event: each generation is judged
at its own T, so they show as late from the next refresh on.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from services.api.pool import ClientPool
from services.storage.clickhouse import Client
from services.storage.schema import TABLES, WINDOWS
from tthc.measures import (
    Generation,
    Measure,
    Scope,
    Subject,
    Tally,
    rollup,
    window_sql,
    windowed_sql,
)
from tthc.periods import Period
from tthc.profile import Profile
from tthc.reference import scope_of
from tthc.scoring import Scorecard, profile_measures, score
from tthc.units import UnitTree

_GENERATION_COLUMNS = ["generation", "cutoff", "computed_at", "complete"]
_TABLES = (WINDOWS.tallies, WINDOWS.sets, WINDOWS.generations)


def latest_generation(pool: ClientPool, purpose: str = "windows") -> Generation | None:
    """The newest complete generation, or None before the first one is written."""
    rows = pool.rows(
        f"SELECT generation, cutoff FROM {WINDOWS.generations} WHERE complete "
        "ORDER BY generation DESC LIMIT 1",
        purpose,
    )
    if not rows:
        return None
    cutoff: datetime = rows[0]["cutoff"]
    aware = cutoff.replace(tzinfo=UTC) if cutoff.tzinfo is None else cutoff.astimezone(UTC)
    return Generation(int(rows[0]["generation"]), aware)


def write_generation(pool: ClientPool, measures: Sequence[Measure], cutoff: datetime) -> Generation:
    """Write a generation judged at `cutoff`, mark it complete, drop the ones it outdates."""
    # Ids grow with time; microseconds keep two refreshes of one second apart.
    generation = Generation(time.time_ns() // 1000, cutoff.astimezone(UTC).replace(microsecond=0))
    with pool.client() as client:
        _record(client, generation, complete=False)
        for statement in window_sql(measures, generation, WINDOWS, TABLES):
            client.command(statement)
        _record(client, generation, complete=True)
        for old in _outdated(client, generation):
            for table in _TABLES:
                client.command(f"ALTER TABLE {table} DROP PARTITION {old}")
    return generation


def _record(client: Client, generation: Generation, *, complete: bool) -> None:
    row = [generation.id, generation.cutoff, datetime.now(UTC), complete]
    client.insert(WINDOWS.generations, [row], column_names=_GENERATION_COLUMNS)


def _outdated(client: Client, generation: Generation) -> list[int]:
    """Generations older than the complete one before `generation` (unfinished ones too)."""
    previous = (
        f"SELECT max(generation) FROM {WINDOWS.generations} "
        f"WHERE complete AND generation < {generation.id}"
    )
    result = client.query(
        f"SELECT DISTINCT generation FROM {WINDOWS.generations} WHERE generation < ({previous})"
    )
    return [int(row[0]) for row in result.result_rows]


def tallies_from_windows(
    pool: ClientPool,
    measures: Sequence[Measure],
    scopes: Mapping[str, Scope],
    generation: Generation,
    purpose: str,
) -> dict[str, dict[str, Tally]]:
    """Tallies of many scopes judged at the generation's cutoff (see `tallies_by_scope`)."""
    result: dict[str, dict[str, Tally]] = {key: {} for key in scopes}
    for subject in Subject:
        for query in windowed_sql(subject, measures, scopes, generation, WINDOWS, TABLES):
            for key, found in rollup(query, pool.rows(query.sql, purpose), scopes).items():
                result[key].update(found)
    return result


def judged_by(period: Period, generation: Generation) -> bool:
    """Whether the windows can answer the period: it had not ended at the generation's cutoff.
    A period over by then is judged at its own end, which only the facts can tell."""
    return period.cutoff(generation.cutoff) == generation.cutoff


def windows_scorecards(
    pool: ClientPool,
    tree: UnitTree,
    profile: Profile,
    units: Iterable[str],
    period: Period,
    generation: Generation,
    purpose: str,
) -> dict[str, Scorecard]:
    """The scorecard of each unit over its subtree, judged at the generation's cutoff."""
    scopes = {code: scope_of(tree, code, period, generation.cutoff) for code in units}
    found = tallies_from_windows(pool, profile_measures(profile), scopes, generation, purpose)
    return {code: score(profile, found[code], tree.level_of(code)) for code in scopes}
