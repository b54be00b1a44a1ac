"""The scoring of `tthc.scoring`, compiled to ClickHouse SQL from the profile and the catalog.

`score` turns a unit's tallies into its scorecard in Python. `scores_sql` is the same rules as
one query over many scopes at once (every unit, every period of a trend): given a relation of
tallies per scope and measure, and each scope's level, it returns per scope one row per
indicator and the total row, with the columns the score snapshot (`unit_scores`) had, so a
dashboard computes the scores from the live windows instead of reading a snapshot.

Nothing of the methodology is written here: the parts, their points, rules, thresholds, levels
and what an empty part is worth come from the profile; which measures are averages and which
are counted whatever the period come from the catalog. Only how each rule earns points is code,
as it is in `Part.points_for`, one SQL expression per rule (`POINTS_FOR`, checked exhaustive).
"""

from __future__ import annotations

from collections.abc import Sequence

from tthc.expr import sql_literal
from tthc.measures import MEASURES
from tthc.profile import Profile, Rule, WhenEmpty
from tthc.scoring import NO_DATA_VI

# The name of the total row (indicator ''), as the snapshot wrote it.
TOTAL_NAME_VI = "Tổng điểm"

# Points a part earns at `{rate}` (in [0, 1]) out of `max_points`: `Part.points_for`.
POINTS_FOR: dict[Rule, str] = {
    Rule.linear: "max_points * {rate}",
    Rule.full_at: "max_points * least(1., {rate} / full_at)",
    Rule.monitoring: "0.",
}
if set(POINTS_FOR) != set(Rule):  # a new rule must say how it earns points here too
    raise RuntimeError(f"POINTS_FOR lacks {sorted(set(Rule) - set(POINTS_FOR))}")

# The columns of every row `scores_sql` returns after the scope's keys.
SCORE_ROW_COLUMNS = (
    "indicator",
    "group_number",
    "group_name_vi",
    "name_vi",
    "assessed",
    "numerator",
    "denominator",
    "rate",
    "points",
    "max_points",
    "lost",
    "total",
    "grade_vi",
)

# What scoring reads of a part, with its indicator's names and levels.
_PART_FIELDS = (
    ("code", "String"),
    ("group_number", "UInt8"),
    ("group_name_vi", "String"),
    ("name_vi", "String"),
    ("parts", "UInt32"),  # how many parts its indicator has
    ("measure", "String"),
    ("max_points", "Float64"),
    ("rule", "String"),
    ("full_at", "Float64"),
    ("when_empty", "String"),
    ("levels", "Array(String)"),
    ("indicator_levels", "Array(String)"),
    ("average_unit", "Float64"),
    ("in_period", "Bool"),  # its measure counts what a period holds
)
_PART_TYPE = f"Tuple({', '.join(f'{name} {type_}' for name, type_ in _PART_FIELDS)})"


def parts_sql(profile: Profile) -> str:
    """SQL: an array of one tuple per part of the profile, with what scoring reads of it."""
    groups = {g.number: g.name_vi for g in profile.groups}
    rows = []
    for indicator in profile.indicators:
        indicator_levels = sql_literal([level.value for level in indicator.levels])
        for part in indicator.parts:
            measure = MEASURES[part.measure]
            values = [
                sql_literal(indicator.code),
                str(indicator.group),
                sql_literal(groups[indicator.group]),
                sql_literal(indicator.name_vi),
                str(len(indicator.parts)),
                sql_literal(part.measure),
                repr(float(part.points)),
                sql_literal(part.rule.value),
                repr(float(part.full_at or 1.0)),
                sql_literal(part.when_empty.value),
                sql_literal([level.value for level in part.levels]),
                indicator_levels,
                # a mean's rate is in `average_unit` seconds; a share's is itself
                repr(float(measure.average_unit if measure.average else 1)),
                "true" if measure.period_column is not None else "false",
            ]
            rows.append(f"({', '.join(values)})")
    return f"CAST([{', '.join(rows)}], 'Array({_PART_TYPE})')"


def _points_sql(rate: str) -> str:
    """SQL: the points of an applicable part at `rate`, by its rule."""
    branches = ", ".join(
        f"rule = {sql_literal(rule.value)}, {sql.format(rate=rate)}"
        for rule, sql in POINTS_FOR.items()
    )
    return f"multiIf({branches}, 0.)"


def _grade_sql(profile: Profile, total: str) -> str:
    """SQL: the grade of a total on 100 (`Profile.grade`), NO_DATA_VI without one."""
    bands = sorted(profile.grades, key=lambda g: g.min_score, reverse=True)
    branches = ", ".join(f"{total} >= {g.min_score!r}, {sql_literal(g.name_vi)}" for g in bands)
    return f"if({total} IS NULL, {sql_literal(NO_DATA_VI)}, multiIf({branches}, ''))"


def _total_sql(profile: Profile) -> str:
    """SQL: the total on 100 of a scope's total row (`score`), NULL with nothing to judge."""
    if profile.non_applicable == "rescale":
        on_100 = "if(max_points != 0, 100 * points / max_points, 0.)"
    else:  # what does not apply counts as full
        full_max = repr(float(sum(i.points for i in profile.indicators)))
        on_100 = f"100 * (points + {full_max} - max_points) / {full_max}"
    return f"if(has_data, {on_100}, NULL)"


def scores_sql(profile: Profile, tallies: str, scopes: str, keys: Sequence[str]) -> str:
    """SQL: per scope, one row per indicator of the profile and its total row (indicator '').

    `scopes` is a relation with the `keys` columns and `level` (the unit's level, as
    `UnitLevel` values); `tallies` one with the `keys`, `measure`, `numerator` and
    `denominator` (nullable; a measure without a row counted nothing). Rows have the keys and
    SCORE_ROW_COLUMNS, valued as `tthc.scoring.score` and the snapshot's rows had them: for an
    indicator of several parts, numerator and denominator add up its applicable parts (all of
    them if none is) and rate is its points share; the total row has the points as numerator,
    0 as denominator, the points share as rate; `total` and `grade_vi` repeat on every row.
    """
    if not keys:
        raise ValueError("scores are computed per scope: give its key columns")
    k = ", ".join(keys)
    s_keys = ", ".join(f"s.{c} AS {c}" for c in keys)
    on = " AND ".join(f"t.{c} = s.{c}" for c in keys)
    summed = (
        f"SELECT {k}, measure, sum(ifNull(toFloat64(numerator), 0.)) AS num, "
        f"sum(ifNull(toInt64(denominator), 0)) AS den FROM ({tallies}) GROUP BY {k}, measure"
    )
    part_fields = ", ".join(f"p.{f} AS {f}" for f, _ in _PART_FIELDS)
    # each part with its scope's tally
    rows = (
        f"SELECT {s_keys}, s.level AS level, {part_fields}, "
        "ifNull(t.num, 0.) AS num, ifNull(t.den, 0) AS den\n"
        f"FROM (SELECT {k}, level FROM ({scopes})) AS s\n"
        f"ARRAY JOIN {parts_sql(profile)} AS p\n"
        f"LEFT JOIN ({summed}) AS t ON {on} AND t.measure = p.measure"
    )
    # `score_part`: the part's rate, whether it counts, its points and its maximum
    not_applicable = sql_literal(WhenEmpty.not_applicable.value)
    full = sql_literal(WhenEmpty.full.value)
    monitoring = sql_literal(Rule.monitoring.value)
    scored = (
        f"SELECT *, has(levels, level) AND rule != {monitoring} AS applies,\n"
        "  if(den = 0, NULL, num / den / average_unit) AS part_rate,\n"
        f"  multiIf(NOT applies, false, part_rate IS NULL, when_empty != {not_applicable}, true)"
        " AS applicable,\n"
        # (never NULL: a sum over no applicable part is 0)
        f"  ifNull(multiIf(NOT applies, 0., part_rate IS NULL, if(when_empty = {full}, "
        f"max_points, 0.), {_points_sql('least(1., greatest(0., part_rate))')}), 0.) AS earned,\n"
        "  if(applies, max_points, 0.) AS part_max,\n"
        # something the period holds was counted for an indicator the level is assessed on
        "  den > 0 AND in_period AND has(indicator_levels, level) AS counted\n"
        f"FROM ({rows})"
    )
    # each part counts for its indicator and for the total ('')
    grouped = (
        f"SELECT {k}, indicator,\n"
        "  any(group_number) AS group_number_, any(group_name_vi) AS group_name_vi_,\n"
        "  any(name_vi) AS name_vi_, any(has(indicator_levels, level)) AS assessed_,\n"
        "  sumIf(earned, applicable) AS points, sumIf(part_max, applicable) AS max_points,\n"
        "  if(countIf(applicable) > 0, sumIf(num, applicable), sum(num)) AS numerator_,\n"
        "  if(countIf(applicable) > 0, sumIf(den, applicable), sum(den)) AS denominator_,\n"
        "  any(parts) AS parts_, any(part_rate) AS first_rate,\n"
        "  countIf(counted) > 0 AS has_data\n"
        f"FROM ({scored})\nARRAY JOIN [code, ''] AS indicator\nGROUP BY {k}, indicator"
    )
    total = _total_sql(profile)
    shown_total = f"anyIf({total}, indicator = '') OVER (PARTITION BY {k})"
    grade = _grade_sql(profile, "total")
    return (
        f"SELECT {k}, indicator,\n"
        "  toUInt8(if(indicator = '', 0, group_number_)) AS group_number,\n"
        "  if(indicator = '', '', group_name_vi_) AS group_name_vi,\n"
        f"  if(indicator = '', {sql_literal(TOTAL_NAME_VI)}, name_vi_) AS name_vi,\n"
        "  indicator = '' OR assessed_ AS assessed,\n"
        "  toFloat64(if(indicator = '', points, numerator_)) AS numerator,\n"
        "  toInt64(if(indicator = '', 0, denominator_)) AS denominator,\n"
        "  toNullable(if(indicator != '' AND parts_ = 1, first_rate,"
        " if(max_points != 0, points / max_points, NULL))) AS rate,\n"
        "  points, max_points, max_points - points AS lost,\n"
        f"  toNullable({shown_total}) AS total,\n  {grade} AS grade_vi\n"
        f"FROM ({grouped})"
    )
