"""The methodology profile: the indicator catalog, points, rules and settings, as data.

The official appendix of Decision 766 could not be read, so nothing about scoring is hard-coded:
a province can edit the profile (a TOML file) and replay history under it. Loading checks it
and names the offending entry.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tthc.units import UnitLevel

# The levels a province-level total is checked against (the province and its departments).
PROVINCE_LEVEL = UnitLevel.province


class Rule(StrEnum):
    linear = "linear"  # points = max × rate
    full_at = "full_at"  # max from a threshold on, proportional below it
    monitoring = "monitoring"  # computed and shown, 0 points


class WhenEmpty(StrEnum):
    full = "full"
    zero = "zero"
    not_applicable = "not_applicable"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnknownProcedure(StrEnum):
    """How a dossier counts while its procedure is not configured (no `procedure.configured`
    event yet): once it is, the dossier is derived again with the procedure's attributes."""

    defaults = "defaults"  # as a procedure with no online service that returns a result
    # only where the procedure does not matter (on time, synced, …): not as returning a result
    # document (4.1, 4.2's result), nor as offering an online service
    neutral = "neutral"


class Settings(_Strict):
    unknown_procedure_dossiers: UnknownProcedure = UnknownProcedure.neutral
    announcement_lead_working_days: Annotated[int, Field(ge=0, le=60)] = 5
    publication_working_days: Annotated[int, Field(ge=0, le=60)] = 5
    sync_max_delay_hours: Annotated[int, Field(ge=0)] = 0
    feedback_decide_working_days: Annotated[int, Field(ge=1, le=60)] = 2
    feedback_info_request_working_days: Annotated[int, Field(ge=1, le=60)] = 5
    feedback_handle_working_days: Annotated[int, Field(ge=1, le=120)] = 15


class Part(_Strict):
    """What one scored part of an indicator counts and how it earns points."""

    label: str = ""
    name_vi: str = ""
    name_en: str = ""
    measure: str
    points: Annotated[float, Field(ge=0)]
    rule: Rule
    full_at: Annotated[float, Field(gt=0, le=1)] | None = None
    when_empty: WhenEmpty = WhenEmpty.not_applicable
    levels: Annotated[list[UnitLevel], Field(min_length=1)]

    @model_validator(mode="after")
    def _rule_fits(self) -> Part:
        if self.rule is Rule.full_at and self.full_at is None:
            raise ValueError("rule 'full_at' needs a full_at threshold (e.g. 0.8)")
        if self.rule is not Rule.full_at and self.full_at is not None:
            raise ValueError(f"full_at is only for rule 'full_at', not {self.rule.value!r}")
        if self.rule is Rule.monitoring and self.points:
            raise ValueError("a monitoring part carries 0 points")
        return self

    def applies_to(self, level: UnitLevel) -> bool:
        return level in self.levels

    def points_for(self, rate: float) -> float:
        """Points earned at a rate in [0, 1]."""
        if self.rule is Rule.linear:
            return self.points * rate
        if self.rule is Rule.full_at:
            assert self.full_at is not None
            return self.points * min(1.0, rate / self.full_at)
        return 0.0


class Indicator(_Strict):
    code: Annotated[str, Field(pattern=r"^[1-9]\.[0-9]{1,2}$")]
    group: int
    name_vi: str
    name_en: str
    parts: Annotated[list[Part], Field(min_length=1)]

    @model_validator(mode="before")
    @classmethod
    def _inline_part(cls, raw: Any) -> Any:
        """An indicator with one part writes the part's keys inline."""
        if isinstance(raw, dict) and "part" not in raw and "parts" not in raw:
            part_keys = set(Part.model_fields) - {"name_vi", "name_en"}
            part = {k: v for k, v in raw.items() if k in part_keys}
            rest = {k: v for k, v in raw.items() if k not in part_keys}
            return {**rest, "parts": [part]}
        if isinstance(raw, dict) and "part" in raw:
            rest = {k: v for k, v in raw.items() if k != "part"}
            return {**rest, "parts": raw["part"]}
        return raw

    @property
    def points(self) -> float:
        return sum(p.points for p in self.parts)

    @property
    def levels(self) -> list[UnitLevel]:
        return [level for level in UnitLevel if any(p.applies_to(level) for p in self.parts)]

    def applies_to(self, level: UnitLevel) -> bool:
        return any(p.applies_to(level) for p in self.parts)

    def points_at(self, level: UnitLevel) -> float:
        return sum(p.points for p in self.parts if p.applies_to(level))

    @property
    def monitoring(self) -> bool:
        return all(p.rule is Rule.monitoring for p in self.parts)


class Group(_Strict):
    number: int
    name_vi: str
    name_en: str
    points: float


class Grade(_Strict):
    min_score: Annotated[float, Field(ge=0, le=100)]
    name_vi: str
    name_en: str


class Profile(_Strict):
    name: str
    version: str
    description: str = ""
    non_applicable: Literal["rescale", "full"] = "rescale"
    settings: Settings = Settings()
    groups: Annotated[list[Group], Field(alias="group", min_length=1)]
    grades: Annotated[list[Grade], Field(alias="grade", min_length=1)]
    indicators: Annotated[list[Indicator], Field(alias="indicator", min_length=1)]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        from tthc.measures import MEASURES  # the registry of what can be counted

        codes = [i.code for i in self.indicators]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"indicator {duplicates[0]}: duplicate code")
        groups = {g.number: g for g in self.groups}
        for indicator in self.indicators:
            if indicator.group not in groups:
                raise ValueError(f"indicator {indicator.code}: unknown group {indicator.group}")
            for part in indicator.parts:
                if part.measure not in MEASURES:
                    raise ValueError(
                        f"indicator {indicator.code}: unknown measure {part.measure!r}"
                    )
        for group in self.groups:
            total = sum(
                i.points_at(PROVINCE_LEVEL) for i in self.indicators if i.group == group.number
            )
            if abs(total - group.points) > 1e-9:
                raise ValueError(
                    f"group {group.number}: its indicators carry {total:g} points at province "
                    f"level, the group is declared with {group.points:g}"
                )
        total = sum(i.points_at(PROVINCE_LEVEL) for i in self.indicators)
        if abs(total - 100) > 1e-9:
            raise ValueError(f"points at province level add up to {total:g}, not 100")
        if min(g.min_score for g in self.grades) != 0:
            raise ValueError("grade bands must start at 0 so every score has a grade")
        return self

    @cached_property
    def by_code(self) -> dict[str, Indicator]:
        return {i.code: i for i in self.indicators}

    def indicator_counting(self, measure: str) -> Indicator:
        """The indicator a part of which counts `measure` (2.1 for dossiers_on_time)."""
        return next(i for i in self.indicators if any(p.measure == measure for p in i.parts))

    def grade(self, score: float) -> Grade:
        return max((g for g in self.grades if score >= g.min_score), key=lambda g: g.min_score)

    def indicators_for(self, level: UnitLevel) -> list[Indicator]:
        return [i for i in self.indicators if i.applies_to(level)]


class ProfileError(ValueError):
    pass


def load_profile(path: str | Path | None = None) -> Profile:
    """The packaged default profile, or a TOML file; errors name the offending entry."""
    if path is None:
        text = resources.files("tthc.profiles").joinpath("default.toml").read_text("utf-8")
        origin = "default profile"
    else:
        text = Path(path).read_text("utf-8")
        origin = str(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{origin}: not valid TOML: {error}") from None
    return parse_profile(raw, origin)


def parse_profile(raw: dict[str, Any], origin: str = "profile") -> Profile:
    try:
        return Profile.model_validate(raw)
    except ValidationError as error:
        problems = []
        for e in error.errors(include_url=False):
            where = _describe_location(raw, e["loc"])
            problems.append(f"{where}: {e['msg']}" if where else e["msg"])
        raise ProfileError(f"{origin}: " + "; ".join(problems)) from None


def _describe_location(raw: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """'indicator 3.5 part b rule' rather than 'indicator.10.parts.1.rule'."""
    words: list[str] = []
    node: Any = raw
    steps = list(loc)
    while steps:
        step = steps.pop(0)
        if step == "parts" and isinstance(node, dict) and "part" not in node:
            if steps and isinstance(steps[0], int):  # an inline part: its keys are the indicator's
                steps.pop(0)
            continue
        if step == "parts" and isinstance(node, dict):
            step = "part"
        if isinstance(step, int) and isinstance(node, list) and step < len(node):
            node = node[step]
            name = node.get("code") or node.get("label") if isinstance(node, dict) else None
            words.append(str(name) if name else f"#{step + 1}")
        elif isinstance(node, dict) and step in node:
            node = node[step]
            words.append(str(step))
        else:
            words.append(str(step))
    return " ".join(words)
