"""What the dashboards show of the methodology profile: grade colours, indicator choices and the
catalog as a table. All of it is read from the profile, so a province that edits its profile
regenerates the dashboards (`make dashboards`) and sees its own indicators, points and bands.
"""

from __future__ import annotations

from typing import Any

from dashboards.sql import LEVEL_LABELS
from tthc.profile import Indicator, Profile, Rule

# Worst band first; a profile with more bands than colours reuses the last one.
_BAND_COLORS = ["red", "orange", "yellow", "green", "dark-green"]


def _bands(profile: Profile) -> list[tuple[float, str, str]]:
    """(lowest score, Vietnamese name, colour) of each grade band, worst first."""
    ordered = sorted(profile.grades, key=lambda grade: grade.min_score)
    last = len(_BAND_COLORS) - 1
    return [
        (grade.min_score, grade.name_vi, _BAND_COLORS[min(n, last)])
        for n, grade in enumerate(ordered)
    ]


def grade_steps(profile: Profile, scale: float = 100.0) -> list[dict[str, Any]]:
    """Threshold steps that colour a score on `scale` by its grade band."""
    return [
        {"color": color, "value": None if n == 0 else low * scale / 100}
        for n, (low, _, color) in enumerate(_bands(profile))
    ]


def grade_mappings(profile: Profile) -> list[dict[str, Any]]:
    """Value mappings that colour a grade's Vietnamese name."""
    return [
        {
            "type": "value",
            "options": {name: {"color": color, "index": n, "text": name}},
        }
        for n, (_, name, color) in enumerate(_bands(profile))
    ]


def grade_bands_text(profile: Profile) -> str:
    ordered = sorted(profile.grades, key=lambda grade: -grade.min_score)
    return "; ".join(f"{grade.name_vi} từ {grade.min_score:g}" for grade in ordered)


def indicator_options(profile: Profile) -> list[tuple[str, str]]:
    """(code, 'code — Vietnamese name') of every indicator, catalog order."""
    return [(i.code, f"{i.code} — {i.name_vi}") for i in profile.indicators]


def _rule_text(indicator: Indicator) -> str:
    texts = []
    for part in indicator.parts:
        if part.rule is Rule.monitoring:
            texts.append("theo dõi, không tính điểm")
        elif part.rule is Rule.full_at:
            assert part.full_at is not None
            texts.append(f"đủ điểm từ {part.full_at:.0%}")
        else:
            texts.append("tỷ lệ thuận")
    return " + ".join(texts)


def _levels_text(indicator: Indicator) -> str:
    return ", ".join(LEVEL_LABELS[level] for level in indicator.levels)


def catalog_markdown(profile: Profile) -> str:
    """The indicator catalog as a Markdown table, by group."""
    lines = [
        f"**{profile.description}** — hồ sơ phương pháp `{profile.name}` "
        f"phiên bản `{profile.version}`.",
        "",
        f"Xếp loại: {grade_bands_text(profile)}.",
        "",
        "| Mã | Chỉ tiêu | Điểm | Cách tính | Áp dụng |",
        "|---|---|---:|---|---|",
    ]
    groups = {group.number: group for group in profile.groups}
    shown = None
    for indicator in profile.indicators:
        if indicator.group != shown:
            group = groups[indicator.group]
            lines.append(f"| **{group.number}** | **{group.name_vi}** | **{group.points:g}** | | |")
            shown = indicator.group
        lines.append(
            f"| {indicator.code} | {indicator.name_vi} | {indicator.points:g} | "
            f"{_rule_text(indicator)} | {_levels_text(indicator)} |"
        )
    return "\n".join(lines)
