"""A ClickHouse SELECT as a value: its clauses kept apart until it is rendered, once.

The measures' queries are built from parts (a select list, a source, conditions, keys, query
settings) and some are variants of others (the one-row count of a subject keyed by commune, a
source reused with its settings). Kept as a value, a variant is `dataclasses.replace` of a
clause, never an edit of rendered text.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Select:
    """`SELECT columns FROM source [WHERE where] [GROUP BY group_by] [SETTINGS settings]`.

    `source` is a table expression as SQL: a table (`t FINAL`), a subquery with its alias,
    joins included. `settings` are the query's `name = value` settings, in order.
    """

    columns: tuple[str, ...]
    source: str
    where: str = ""  # one condition; '' for none
    group_by: tuple[str, ...] = ()
    settings: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        if not self.columns:
            raise ValueError("a SELECT needs at least one column")

    def __str__(self) -> str:
        lines = ["SELECT\n  " + ",\n  ".join(self.columns), f"FROM {self.source}"]
        if self.where:
            lines.append(f"WHERE {self.where}")
        if self.group_by:
            lines.append(f"GROUP BY {', '.join(self.group_by)}")
        if self.settings:
            lines.append(_settings(self.settings))
        return "\n".join(lines)

    def subquery(self, alias: str = "") -> str:
        """This query as a table expression of another's FROM."""
        return f"({self})" + (f" AS {alias}" if alias else "")


def settings_clause(settings: tuple[tuple[str, int], ...]) -> str:
    """The SETTINGS clause on a line of its own ('' for none), for a query not built as a
    `Select` (it goes last)."""
    return f"\n{_settings(settings)}" if settings else ""


def _settings(settings: tuple[tuple[str, int], ...]) -> str:
    return "SETTINGS " + ", ".join(f"{name} = {value}" for name, value in settings)
