"""The indicator catalog as a Markdown reference page (docs/indicators.md, `make docs`).

Everything on the page is read from the methodology profile and the measures it names: groups,
points per level, rules, what a part is worth when nothing was counted, grade bands, and each
measure's numerator and denominator in words (declared beside its expressions in
`tthc.measures`). The only words written here are what the profile's enumerations mean (a rule,
a `when_empty`, the `non_applicable` setting) and how a measure is read (rate, average,
cutoff), as `tthc.profile`, `tthc.scoring` and `tthc.measures` implement them. What the catalog
does not carry (which values are uncertain) is left out rather than restated by hand.
"""

from __future__ import annotations

from typing import Any

from tthc.measures import MEASURES, ON_TIME_RULES, Measure
from tthc.profile import Indicator, Part, Profile, Rule, Settings, WhenEmpty
from tthc.scoring import NO_DATA_EN, NO_DATA_VI
from tthc.units import UnitLevel

NOT_ASSESSED = "not assessed"
NUMERATOR = "Numerator"  # the labels of a measure's words, one line each
DENOMINATOR = "Denominator"


def part_info(part: Part) -> dict[str, Any]:
    """A part as the profile declares it, with its measure's numerator and denominator in
    words: what `tthc indicators --json` and `GET /v1/indicators` list."""
    measure = MEASURES[part.measure]  # the profile is checked to name only known measures
    return {**part.model_dump(mode="json"), "counts": measure.counts, "out_of": measure.out_of}


# What each rule does with a rate in [0, 1] (Part.points_for).
_RULE_MEANING: dict[Rule, str] = {
    Rule.linear: "points = max × rate",
    Rule.full_at: "max points from the threshold on, max × rate ÷ threshold below it",
    Rule.monitoring: "computed and shown, 0 points",
}

# What a part is worth when nothing was counted (its denominator is 0; tthc.scoring.score_part).
_WHEN_EMPTY_MEANING: dict[WhenEmpty, str] = {
    WhenEmpty.not_applicable: "not applicable (left out of the total)",
    WhenEmpty.full: "full points",
    WhenEmpty.zero: "0 points",
}

# How a unit's total is put on 100 when some indicators do not apply (tthc.scoring.score).
_NON_APPLICABLE_MEANING: dict[str, str] = {
    "rescale": "total = points earned ÷ maximum points of what applies to the unit × 100",
    "full": "what does not apply counts as full points: "
    "total = (points earned + maximum of what does not apply) ÷ full maximum × 100",
}


def indicators_markdown(profile: Profile) -> str:
    """The reference page of a profile's indicator catalog, as Markdown."""
    lines = [
        f"# Indicators of the methodology profile `{profile.name}` {profile.version}",
        "",
        "<!-- Generated from the methodology profile by `make docs` "
        "(`tthc indicators --markdown`). Do not edit by hand. -->",
        "",
    ]
    if profile.description:
        lines += [_cell(profile.description), ""]
    commune = profile.indicators_for(UnitLevel.commune)
    lines += [
        f"{len(profile.indicators)} indicators in {len(profile.groups)} groups; "
        f"{len(commune)} of them are assessed at commune level.",
        "",
        *_groups(profile),
        *_summary(profile),
        *_rules_legend(),
        *_on_time_rules(),
        *_details(profile),
        *_total_and_grades(profile),
        *_settings(profile.settings),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _num(value: float) -> str:
    return f"{value:g}"


def _level_points(profile: Profile, group: int | None, level: UnitLevel) -> float:
    return sum(i.points_at(level) for i in profile.indicators if group is None or i.group == group)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]


def _groups(profile: Profile) -> list[str]:
    levels = list(UnitLevel)
    rows = [
        [
            str(g.number),
            _cell(g.name_vi),
            _cell(g.name_en),
            *(_num(_level_points(profile, g.number, level)) for level in levels),
        ]
        for g in profile.groups
    ]
    rows.append(
        ["", "**Tổng**", "**Total**"]
        + [f"**{_num(_level_points(profile, None, level))}**" for level in levels]
    )
    return [
        "## Groups",
        "",
        "Maximum points of each group at each level (the sum of its indicators' points there).",
        "",
        *_table(["Group", "Nhóm", "Name", *(level.value for level in levels)], rows),
    ]


def _rule_label(rule: Rule, full_at: str = "X%") -> str:
    return f"full at {full_at}" if rule is Rule.full_at else rule.value


def _rule(part: Part) -> str:
    return _rule_label(part.rule, f"{part.full_at:.0%}" if part.full_at is not None else "")


def _rules(indicator: Indicator) -> str:
    if len(indicator.parts) == 1:
        return _rule(indicator.parts[0])
    return "; ".join(f"{p.label}: {_rule(p)}" for p in indicator.parts)


def _points_at(indicator: Indicator, level: UnitLevel) -> str:
    return _num(indicator.points_at(level)) if indicator.applies_to(level) else NOT_ASSESSED


def _summary(profile: Profile) -> list[str]:
    levels = list(UnitLevel)
    rows = [
        [
            i.code,
            _cell(i.name_vi),
            _cell(i.name_en),
            *(_points_at(i, level) for level in levels),
            _rules(i),
        ]
        for i in profile.indicators
    ]
    return [
        "## Indicators",
        "",
        "Points of each indicator at each level; a monitoring indicator is assessed "
        "(computed and shown) with 0 points.",
        "",
        *_table(["Code", "Tên chỉ số", "Name", *(level.value for level in levels), "Rule"], rows),
    ]


def _legend_key(label: str, value: str) -> str:
    """How the page names a rule, and how the profile writes it where that differs."""
    return f"**{label}**" if label == value else f"**{label}** (`{value}`)"


def _rules_legend() -> list[str]:
    return [
        "Each part counts a measure (`tthc.measures`). Its denominator is the rows it counts; "
        "its numerator is counted among those rows, and its rate is numerator ÷ denominator. "
        "For an average, the numerator is a value summed over those rows. The cutoff is the "
        "instant a period is judged at: now for the current period, its last second for a past "
        "one. A score judged at the cutoff counts only what had happened by then: a dossier or "
        "feedback received later is in no denominator, and every flag (synced, paid online, "
        "digitized, reused, taken from the data store, electronic result, rated, complained, "
        "classified…) counts from the instant it first held. Catalogue facts (announcement, "
        "publication, certified copies) are dated and judged against the cutoff's day; a "
        "procedure's configuration (level, online service, fee) and the unit a feedback was "
        "last sent to are the latest known.",
        "",
        "Rules, applied to a part's rate (numerator ÷ denominator, between 0 and 1):",
        "",
        *(
            f"- {_legend_key(_rule_label(rule), rule.value)}: {_RULE_MEANING[rule]}"
            for rule in Rule
        ),
        "",
        "When nothing is counted (a denominator of 0), a part is worth what its profile entry "
        "says (`when_empty`):",
        "",
        *(f"- `{w.value}`: {_WHEN_EMPTY_MEANING[w]}" for w in WhenEmpty),
        "",
    ]


def _on_time_rules() -> list[str]:
    return [
        "## On time (2.1, and 5.4 which uses its test)",
        "",
        *(f"- {rule}" for rule in ON_TIME_RULES),
        "",
    ]


def _measure(measure: Measure) -> str:
    kind = f"an average (unit: {measure.average_unit:,} s)" if measure.average else "a rate"
    if measure.period_column is None:
        when = "not placed in a period: counted whatever the period"
    else:
        when = f"a row is in the period that contains its `{measure.period_column}`"
    return f"`{measure.key}`, {kind} over `{measure.subject.value}` facts; {when}"


def _part_lines(part: Part) -> list[str]:
    levels = ", ".join(level.value for level in part.levels)
    empty = "—" if part.rule is Rule.monitoring else _WHEN_EMPTY_MEANING[part.when_empty]
    measure = MEASURES[part.measure]
    return [
        f"  - Points: {_num(part.points)}, {_rule(part)}; assessed at {levels}",
        f"  - Nothing to count: {empty}",
        f"  - Measure: {_measure(measure)}",
        f"  - {NUMERATOR}: {_cell(measure.counts)}",
        f"  - {DENOMINATOR}: {_cell(measure.out_of)}",
    ]


def _details(profile: Profile) -> list[str]:
    groups = {g.number: g for g in profile.groups}
    lines = ["## Indicator by indicator", ""]
    for i in profile.indicators:
        group = groups[i.group]
        lines += [
            f"### {i.code} {_cell(i.name_vi)}",
            "",
            f"*{_cell(i.name_en)}*. Group {group.number}: {_cell(group.name_vi)} "
            f"({_cell(group.name_en)}).",
            "",
            "Points: "
            + ", ".join(f"{level.value} {_points_at(i, level)}" for level in UnitLevel)
            + ".",
            "",
        ]
        for part in i.parts:
            names = " — ".join(_cell(n) for n in (part.name_vi, part.name_en) if n)
            title = f"Part {part.label}" if part.label else "Scoring"
            lines.append(f"- {title}" + (f": {names}" if names else ""))
            lines += _part_lines(part)
        lines.append("")
    return lines


def _total_and_grades(profile: Profile) -> list[str]:
    grades = sorted(profile.grades, key=lambda g: -g.min_score)
    rows = [[f"≥ {_num(g.min_score)}", _cell(g.name_vi), _cell(g.name_en)] for g in grades]
    return [
        "## Total on 100 and grade",
        "",
        f"When indicators do not apply to a unit (`non_applicable = "
        f'"{profile.non_applicable}"`): {_NON_APPLICABLE_MEANING[profile.non_applicable]}.',
        "",
        "A total's grade is the band with the highest lower bound it reaches:",
        "",
        *_table(["Score", "Xếp loại", "Grade"], rows),
        "",
        "A unit with nothing to judge in a period (nothing the period holds counted for any "
        "indicator it is assessed on: no dossier, no feedback, no announcement) has no total: "
        f"its grade is {NO_DATA_VI} ({NO_DATA_EN}), it is not ranked, and a rank change "
        "against such a period is none. A period that has not started has nothing to judge "
        "and is refused.",
    ]


def _settings(settings: Settings) -> list[str]:
    rows = [
        [f"`{name}`", f"`{value}`" if isinstance(value, str) else _num(value)]
        for name, value in settings.model_dump().items()
    ]
    return ["## Settings", "", *_table(["Setting", "Value"], rows)]
