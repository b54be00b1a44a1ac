"""Administrative units: the tree every score rolls up, and the history that maps onto it.

A province is scored with its departments (sở), its districts where it still has them, and its
communes and wards. Units are identified by official codes:

- the province and its communes/wards by the statistics office codes (``"75"``, ``"26068"``);
  former districts keep their 3-digit codes (``"698"``), so the three never collide;
- departments have no statistics office code, so they get ``"<province code>.<initials>"``,
  e.g. ``"75.STP"`` for Sở Tư pháp of province 75. The dot keeps them apart from numeric codes.

Units that were merged or abolished stay in the tree as *historical* units: they name their
``successor``, the unit that took them over. Events keep the unit code they were sent with, and
history is scored against today's tree: :meth:`UnitTree.resolve` follows the successor chain,
and :meth:`UnitTree.subtree` of a current unit includes the historical units merged into it.

Only current units (no successor) form the tree proper: exactly one current root, and a current
unit's parent is current. A historical unit's parent may be historical or missing (``None``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Container, Iterable, Iterator, Mapping
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Unit", "UnitLevel", "UnitTree", "load_units", "packaged_unit_sets", "parse_units"]


class UnitLevel(StrEnum):
    """The level of an administrative unit; indicators apply per level."""

    province = "province"
    department = "department"
    district = "district"
    commune = "commune"


# How deep a level sits: a child is always deeper than its parent, except that a department may
# hang under a department (e.g. a sub-department of a Sở).
_DEPTH: dict[UnitLevel, int] = {
    UnitLevel.province: 0,
    UnitLevel.department: 1,
    UnitLevel.district: 1,
    UnitLevel.commune: 2,
}


class Unit(BaseModel):
    """One administrative unit, current or historical."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1, max_length=80, pattern=r"^[0-9A-Za-z][0-9A-Za-z._\-/]*$")
    name: str = Field(min_length=1, description="Vietnamese name, e.g. 'Xã Phú Riềng'")
    level: UnitLevel
    parent: str | None = None
    successor: str | None = Field(
        default=None, description="for a merged or abolished unit: the unit that took it over"
    )
    kind: str | None = Field(default=None, description="e.g. 'tỉnh', 'sở', 'phường', 'xã'")

    @property
    def is_current(self) -> bool:
        """True for a unit of today's tree (one that was not merged into another)."""
        return self.successor is None


def _describe(unit: Unit) -> str:
    return f"unit {unit.code!r} ({unit.name})"


class UnitTree:
    """A validated tree of units with O(1) look-ups for the per-event questions.

    ``resolve``, ``subtree``, ``ancestors`` and ``is_within`` are precomputed when the tree is
    built; the tree is immutable afterwards.
    """

    def __init__(
        self,
        units: Iterable[Unit],
        *,
        province: str | None = None,
        source: str | None = None,
    ) -> None:
        self.province = province
        self.source = source
        by_code: dict[str, Unit] = {}
        for unit in units:
            if unit.code in by_code:
                raise ValueError(
                    f"duplicate unit code {unit.code!r}: {by_code[unit.code].name!r} "
                    f"and {unit.name!r}"
                )
            by_code[unit.code] = unit
        self._units = by_code
        self._validate_references()
        self._resolved = self._resolve_all()
        self._validate_parents()
        self._root = self._find_root()
        self._children: dict[str, tuple[str, ...]] = {code: () for code in by_code}
        for unit in by_code.values():
            if unit.parent is not None:
                self._children[unit.parent] += (unit.code,)
        self._ancestors = self._ancestors_all()
        self._subtrees = self._subtrees_all()

    # --- construction -------------------------------------------------------------------------

    def _validate_references(self) -> None:
        for unit in self._units.values():
            if unit.parent is not None and unit.parent not in self._units:
                raise ValueError(f"{_describe(unit)}: parent {unit.parent!r} is not in the tree")
            if unit.successor is not None:
                if unit.successor == unit.code:
                    raise ValueError(f"{_describe(unit)}: is its own successor")
                if unit.successor not in self._units:
                    raise ValueError(
                        f"{_describe(unit)}: successor {unit.successor!r} is not in the tree"
                    )

    def _resolve_all(self) -> dict[str, str]:
        resolved: dict[str, str] = {}
        for start in self._units:
            chain, end = self._walk(start, "successor", resolved)
            target = chain[-1] if end is None else resolved[end]
            for link in chain:
                resolved[link] = target
        return resolved

    def _walk(self, start: str, link: str, known: Container[str]) -> tuple[list[str], str | None]:
        """The codes from `start` along `link` (parent or successor) up to one in `known`,
        which it returns too (None at the chain's end); a cycle is an error that names it."""
        path: list[str] = []
        on_path: set[str] = set()
        code: str | None = start
        while code is not None and code not in known:
            if code in on_path:
                raise ValueError(
                    f"{_describe(self._units[code])}: cycle in {link}s: "
                    + " -> ".join([*path[path.index(code) :], code])
                )
            on_path.add(code)
            path.append(code)
            code = getattr(self._units[code], link)
        return path, code

    def _find_root(self) -> Unit:
        roots = [u for u in self._units.values() if u.is_current and u.parent is None]
        if not roots:
            raise ValueError("no root: every current unit has a parent")
        if len(roots) > 1:
            raise ValueError(
                "more than one root (current units without a parent): "
                + ", ".join(_describe(u) for u in roots)
            )
        return roots[0]

    def _validate_parents(self) -> None:
        for unit in self._units.values():
            if unit.parent is None:
                continue
            parent = self._units[unit.parent]
            if unit.is_current and not parent.is_current:
                raise ValueError(
                    f"{_describe(unit)}: current unit under {_describe(parent)}, which was "
                    f"merged into {parent.successor!r}"
                )
            depth, parent_depth = _DEPTH[unit.level], _DEPTH[parent.level]
            nested_department = unit.level == parent.level == UnitLevel.department
            if depth <= parent_depth and not nested_department:
                raise ValueError(
                    f"{_describe(unit)}: a {unit.level} cannot sit under the "
                    f"{parent.level} {parent.code!r}"
                )
        # Parent cycles (only possible among units that all have parents).
        done: set[str] = set()
        for start in self._units:
            path, _ = self._walk(start, "parent", done)
            done.update(path)

    def _ancestors_all(self) -> dict[str, tuple[str, ...]]:
        ancestors: dict[str, tuple[str, ...]] = {}

        def of(code: str) -> tuple[str, ...]:
            if code not in ancestors:
                parent = self._units[code].parent
                ancestors[code] = () if parent is None else (parent, *of(parent))
            return ancestors[code]

        for code in self._units:
            of(code)
        return ancestors

    def _subtrees_all(self) -> dict[str, frozenset[str]]:
        members: dict[str, set[str]] = {
            code: set() for code, unit in self._units.items() if unit.is_current
        }
        for code in self._units:
            today = self._resolved[code]
            members[today].add(code)
            for ancestor in self._ancestors[today]:
                members[ancestor].add(code)
        return {code: frozenset(codes) for code, codes in members.items()}

    # --- look-ups ---------------------------------------------------------------------------

    def get(self, code: str) -> Unit:
        """The unit with this code (current or historical)."""
        try:
            return self._units[code]
        except KeyError:
            raise KeyError(f"unknown unit code {code!r}") from None

    def __contains__(self, code: object) -> bool:
        return code in self._units

    def __len__(self) -> int:
        return len(self._units)

    def __iter__(self) -> Iterator[Unit]:
        """All units, current and historical, in the order they were given."""
        return iter(self._units.values())

    @property
    def root(self) -> Unit:
        """The one current unit without a parent (the province)."""
        return self._root

    def current_units(self) -> list[Unit]:
        """The units of today's tree, in the order they were given."""
        return [u for u in self._units.values() if u.is_current]

    def children(self, code: str, *, include_historical: bool = False) -> list[Unit]:
        """The units whose parent is ``code`` (only current ones unless asked)."""
        self.get(code)
        return [
            self._units[child]
            for child in self._children[code]
            if include_historical or self._units[child].is_current
        ]

    def resolve(self, code: str) -> str:
        """Today's unit for ``code``: follows the successor chain (itself if current)."""
        try:
            return self._resolved[code]
        except KeyError:
            raise KeyError(f"unknown unit code {code!r}") from None

    def subtree(self, code: str) -> frozenset[str]:
        """Codes of the unit today's ``code`` resolves to and everything under it.

        Includes the unit itself, every current descendant, and every historical unit whose
        successor chain ends inside the subtree; so ``event.unit in tree.subtree(x)`` tells
        whether an event (even an old one) counts for unit ``x``.
        """
        return self._subtrees[self.resolve(code)]

    def level_of(self, code: str) -> UnitLevel:
        """The level of the unit ``code`` resolves to (history is scored at today's level)."""
        return self._units[self.resolve(code)].level

    def ancestors(self, code: str) -> tuple[str, ...]:
        """Codes above today's unit for ``code``, nearest first, ending at the root."""
        return self._ancestors[self.resolve(code)]

    def is_within(self, code: str, ancestor: str) -> bool:
        """True when ``code`` (after resolving) is ``ancestor`` or lies under it."""
        self.get(code)
        return code in self.subtree(ancestor)

    def units_at_level(self, level: UnitLevel | str, under: str | None = None) -> list[Unit]:
        """Current units of a level, optionally only those within ``under``."""
        wanted = UnitLevel(level)
        scope = None if under is None else self.subtree(under)
        return [
            u
            for u in self._units.values()
            if u.is_current and u.level == wanted and (scope is None or u.code in scope)
        ]


# --- loading -----------------------------------------------------------------------------------

_PACKAGED_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def parse_units(document: Mapping[str, Any]) -> UnitTree:
    """Build a tree from the JSON document format of ``tthc/data/units/*.json``.

    ``{"province": "...", "source": "...", "units": [{"code", "name", "level", "parent",
    "successor", "kind"}, ...]}``; ``successor`` and ``kind`` may be omitted.
    """
    raw_units = document.get("units")
    if not isinstance(raw_units, list):
        raise ValueError("a unit document needs a 'units' list")
    units = [Unit.model_validate(item) for item in raw_units]
    province = document.get("province")
    source = document.get("source")
    return UnitTree(
        units,
        province=province if isinstance(province, str) else None,
        source=source if isinstance(source, str) else None,
    )


def packaged_unit_sets() -> list[str]:
    """Names of the unit sets shipped with the package (``load_units`` accepts them)."""
    folder = resources.files("tthc").joinpath("data", "units")
    return sorted(
        p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")
    )


def load_units(path_or_name: str | Path = "dong-nai") -> UnitTree:
    """Load a packaged unit set by name (``"dong-nai"``) or a unit document from a file path."""
    if isinstance(path_or_name, str) and _PACKAGED_NAME.match(path_or_name):
        resource = resources.files("tthc").joinpath("data", "units", f"{path_or_name}.json")
        if not resource.is_file():
            raise ValueError(
                f"no packaged unit set {path_or_name!r}; available: "
                + ", ".join(packaged_unit_sets())
            )
        text = resource.read_text(encoding="utf-8")
    else:
        text = Path(path_or_name).read_text(encoding="utf-8")
    return parse_units(json.loads(text))
