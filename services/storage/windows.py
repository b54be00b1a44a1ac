"""The windows the aggregator keeps: fact rows by unit and day, and their recomputation.

For each batch (services.aggregator.writer): where each entity's row was before (`Placed`,
from the worker's memory or one query of the by-code table per subject), its by-day row under
its key and, when the key changed, a row marked deleted under the old one (`insert_by_day`);
then the windows of every key touched and the month rows of their months (`recompute_windows`,
two INSERT … SELECT per subject).
The SQL is the domain's (tthc.windows).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from services.storage.clickhouse import Client, VersionedFacts
from services.storage.schema import (
    BY_DAY,
    SINGLE_NODE,
    TABLES,
    VERSION_COLUMN,
    Layout,
    truncate,
)
from tthc.calendar import local_date
from tthc.expr import sql_literal
from tthc.facts import FACTS_OF
from tthc.measures import Subject
from tthc.windows import SUBJECTS, local_day_sql, recompute_sql, rollup_sql

Key = tuple[str, date]  # (unit, local day of receipt)
DEFAULT_MARGIN_SECONDS = 60  # W lags the server's clock: an API host's clock may lag it


@dataclass(frozen=True)
class Placed:
    """Where an entity's by-day row was written, and from which version."""

    unit: str
    day: date
    version: int

    @property
    def key(self) -> Key:
        return self.unit, self.day


def place_of(row: VersionedFacts) -> Placed:
    facts = row.facts
    return Placed(facts.unit, local_date(facts.received_at), row.version)  # type: ignore[attr-defined]


def previous_places(client: Client, subject: Subject, codes: Sequence[str]) -> dict[str, Placed]:
    """Where the by-code table has these entities: one query, by its primary key."""
    if not codes:
        return {}
    result = client.query(
        f"SELECT code, unit, {local_day_sql('received_at')}, {VERSION_COLUMN} "
        f"FROM {getattr(TABLES, subject.value)} FINAL WHERE code IN {sql_literal(set(codes))}"
    )
    return {code: Placed(unit, day, int(v)) for code, unit, day, v in result.result_rows}


def insert_by_day(
    client: Client,
    rows_by_subject: Mapping[Subject, Sequence[VersionedFacts]],
    previous: Mapping[Subject, Mapping[str, Placed]],
) -> dict[Subject, set[Key]]:
    """The by-day rows of a batch (one insert per subject); return the keys they touched.

    A row older than the one already placed (a stale writer) is not written: the newer one is
    in place. A row placed under another key leaves a deleted row there, at its own version."""
    touched: dict[Subject, set[Key]] = {}
    for subject, rows in rows_by_subject.items():
        if subject not in SUBJECTS or not rows:
            continue
        data = []
        keys = touched.setdefault(subject, set())
        before = previous.get(subject, {})
        for row in rows:
            values = row.facts.values()
            place, old = place_of(row), before.get(row.facts.code)  # type: ignore[attr-defined]
            if old is not None and old.version > row.version:
                continue
            data.append((*values, place.day, 0, row.version))
            keys.add(place.key)
            if old is not None and old.key != place.key:
                moved = dict(zip(FACTS_OF[subject].columns(), values, strict=True))
                moved["unit"] = old.unit
                data.append((*moved.values(), old.day, 1, row.version))
                keys.add(old.key)
        if data:
            columns = [*FACTS_OF[subject].columns(), "day", "is_deleted", VERSION_COLUMN]
            client.insert(BY_DAY.by_day(subject), data, column_names=columns)
    return touched


def recompute_windows(
    client: Client,
    keys: Mapping[Subject, Iterable[Key]],
    margin_seconds: int = DEFAULT_MARGIN_SECONDS,
) -> None:
    """Rewrite the windows of these keys from their by-day rows, then the month rows of their
    months from the day rows: two statements per subject."""
    for subject, chosen in keys.items():
        chosen = set(chosen)
        if chosen:
            client.command(recompute_sql(subject, chosen, margin_seconds=margin_seconds))
            months = {(unit, day.replace(day=1)) for unit, day in chosen}
            client.command(rollup_sql(subject, months))


def rebuild_windows(
    client: Client, layout: Layout = SINGLE_NODE, margin_seconds: int = DEFAULT_MARGIN_SECONDS
) -> None:
    """Fill the by-day tables and the windows from the by-code facts, for every key: once
    after upgrading to migration 11, or after a replay (with the aggregator stopped)."""
    for table in (BY_DAY.dossier, BY_DAY.feedback, BY_DAY.windows, BY_DAY.months):
        for statement in truncate(table).sql(layout):
            client.command(statement)
    for subject in SUBJECTS:
        columns = ", ".join(FACTS_OF[subject].columns())
        client.command(
            f"INSERT INTO {BY_DAY.by_day(subject)} ({columns}, day, is_deleted, {VERSION_COLUMN}) "
            f"SELECT {columns}, {local_day_sql('received_at')}, 0, {VERSION_COLUMN} "
            f"FROM {getattr(TABLES, subject.value)} FINAL"
        )
        client.command(recompute_sql(subject, None, margin_seconds=margin_seconds))
        client.command(rollup_sql(subject, None))
