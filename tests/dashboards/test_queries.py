"""Every ClickHouse query of the dashboards, expanded as Grafana and the plugin expand it, runs on
the embedded ClickHouse loaded with a scenario and returns the columns its panel reads, with rows.

Each dashboard is tried with a main selection of its variables (every panel must return rows)
and with others that take the other branches of the SQL (the columns must still be right).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from grafanalib import core as g

from dashboards.build import dashboards
from dashboards.grafana import ClickHouseTarget, clickhouse_targets
from services.api.pool import ClientPool
from tests.dashboards.grafana_sql import Expander, Variable
from tests.dashboards.scenario import TURNING_LATE_CODE, Scenario, load
from tthc.calendar import VN_TZ
from tthc.drilldown import Outcome, listing
from tthc.measures import MEASURES, tally_by_procedure
from tthc.periods import Period
from tthc.profile import load_profile
from tthc.reference import reference_tallies, scope_of
from tthc.scoring import Scorecard, score
from tthc.units import load_units

PROFILE = load_profile()
BOARDS = dashboards(PROFILE)
SQL_BOARDS = [name for name, board in BOARDS.items() if name != "tthc-operations.json"]


def _panels(board: g.Dashboard) -> list[g.Panel]:
    return list(board._iter_panels())


CASES = [
    pytest.param(name, panel.title, target, id=f"{name.removesuffix('.json')}:{panel.title}")
    for name in SQL_BOARDS
    for panel in _panels(BOARDS[name])
    for target in clickhouse_targets(panel)
]


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientPool]:
    # Module scope: one chDB directory for every query here, closed before other modules run.
    pool = ClientPool(f"chdb://{tmp_path_factory.mktemp('dashboards') / 'ch'}", 1)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="module")
def scenario(pool: ClientPool) -> Scenario:
    return load(pool, load_units("dong-nai"), PROFILE)


def selections(name: str, s: Scenario) -> list[dict[str, Variable]]:
    """The main selection first, then the ones that take other branches."""
    previous, current = s.months[-2].label, s.months[-1].label
    root = s.tree.root.code
    department = s.tree.units_at_level("department")[0].code

    def v(value: str) -> Variable:
        return Variable.single(value)

    if name == "tthc-province.json":
        return [
            {"period": v(previous), "level": v("department")},
            {"period": v(current), "level": v("commune")},
            {"period": v(s.quarters[-1].label), "level": v("district")},
        ]
    if name == "tthc-unit.json":
        return [
            {"period": v(previous), "unit": v(root)},
            {"period": v(current), "unit": v(s.commune)},
            {"period": v(previous), "unit": v(department)},
        ]
    if name == "tthc-indicator.json":
        return [
            {"period": v(previous), "indicator": v("2.1"), "level": v("commune")},
            {"period": v(previous), "indicator": v("2.2"), "level": v("department")},
            {"period": v(current), "indicator": v("3.5"), "level": v("commune")},
        ]
    raise AssertionError(f"no selections for {name}")


def expander(s: Scenario, variables: dict[str, Variable]) -> Expander:
    start = s.months[0].start - timedelta(days=1)
    return Expander(variables, start, s.now + timedelta(hours=1), timedelta(minutes=10))


def columns_of(pool: ClientPool, sql: str) -> list[str]:
    """The result's column names, from DESCRIBE: ClickHouse analyzes the query, types and all,
    without running it."""
    with pool.client() as client:
        return [row[0] for row in client.query(f"DESCRIBE ({sql})").result_rows]


def run(pool: ClientPool, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The result's column names (from DESCRIBE, so an empty result has them too) and rows."""
    columns = columns_of(pool, sql)
    with pool.client() as client:
        rows = client.query(sql).result_rows
    return columns, [tuple(row) for row in rows]


def panel_query(board: str, title: str) -> ClickHouseTarget:
    """The one query of the first panel of `board` whose title holds `title`."""
    panel = next(p for p in _panels(BOARDS[board]) if title in p.title)
    (target,) = clickhouse_targets(panel)
    return target


def answer(
    pool: ClientPool, scenario: Scenario, sql: str, **selected: str
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """`sql` expanded with one value selected for each variable named, run."""
    variables = {name: Variable.single(value) for name, value in selected.items()}
    return run(pool, expander(scenario, variables).expand(sql))


@pytest.mark.parametrize(("name", "title", "target"), CASES)
def test_panel_query_returns_its_columns_with_rows(
    pool: ClientPool, scenario: Scenario, name: str, title: str, target: ClickHouseTarget
) -> None:
    # each panel scores every unit when it asks: it runs with the main selection, and the
    # others (the branches of its SQL) are analyzed, which checks their columns and types
    main, *others = selections(name, scenario)
    sql = expander(scenario, main).expand(target.rawSql)
    columns, rows = run(pool, sql)
    assert columns == list(target.columns), f"{title} with {main}:\n{sql}"
    assert rows, f"{title}: no rows with {main}:\n{sql}"
    for variables in others:
        sql = expander(scenario, variables).expand(target.rawSql)
        assert columns_of(pool, sql) == list(target.columns), f"{title} with {variables}:\n{sql}"


@pytest.mark.parametrize("name", SQL_BOARDS)
def test_variable_queries_offer_the_selections(
    pool: ClientPool, scenario: Scenario, name: str
) -> None:
    main = selections(name, scenario)[0]
    for template in BOARDS[name].templating.list:
        if template.type == "custom":
            offered = [option["value"] for option in template.options]
        else:
            sql = expander(scenario, main).expand(template.query)
            columns, rows = run(pool, sql)
            assert len(columns) in (1, 2), f"${template.name}: value (and text) columns"
            offered = [row[0] for row in rows]
        assert main[template.name].values[0] in offered, f"${template.name}: {offered}"


def test_the_period_menu_offers_every_month_with_data_and_its_panels_answer(
    pool: ClientPool, scenario: Scenario
) -> None:
    board = BOARDS["tthc-province.json"]
    (period,) = [t for t in board.templating.list if t.name == "period"]
    _, rows = run(pool, expander(scenario, {}).expand(period.query))
    offered = [row[0] for row in rows]
    # the workload spans three months; the oldest is neither the current nor the previous one
    assert scenario.facts.dossier[0]["received_at"] < scenario.months[1].start
    for p in (*scenario.months, *scenario.quarters):
        assert p.label in offered
    oldest = {"period": Variable.single(scenario.months[0].label)}
    for panel in _panels(board):
        # the panels of the chosen period (the trends show the last months whatever it is)
        for target in [t for t in clickhouse_targets(panel) if "${period" in t.rawSql]:
            variables = {**oldest, "level": Variable.single("department")}
            columns, rows = run(pool, expander(scenario, variables).expand(target.rawSql))
            assert columns == list(target.columns)
            assert rows, f"{panel.title}: no rows for {scenario.months[0].label}"


def test_the_unit_detail_lists_the_dossier_about_to_turn_late(
    pool: ClientPool, scenario: Scenario
) -> None:
    sql = panel_query("tthc-unit.json", "sắp quá hạn").rawSql
    period = scenario.months[-1].label
    _, rows = answer(pool, scenario, sql, period=period, unit=scenario.commune)
    assert TURNING_LATE_CODE in [row[0] for row in rows]
    # ... and a department's list does not have it.
    department = scenario.tree.units_at_level("department")[0].code
    _, rows = answer(pool, scenario, sql, period=period, unit=department)
    assert TURNING_LATE_CODE not in [row[0] for row in rows]


def test_the_unit_detail_per_procedure_equals_the_reference(
    pool: ClientPool, scenario: Scenario
) -> None:
    sql = panel_query("tthc-unit.json", "từng thủ tục").rawSql
    month = scenario.months[-2]  # over: judged at its end, as the snapshot has it
    province = scenario.tree.root.code
    columns, rows = answer(pool, scenario, sql, period=month.label, unit=province)
    got = {row[0]: dict(zip(columns, row, strict=True)) for row in rows}
    scope = scope_of(scenario.tree, province, month, scenario.now)
    on_time = tally_by_procedure(MEASURES["dossiers_on_time"], scenario.facts, scope)
    times = tally_by_procedure(MEASURES["average_processing_days"], scenario.facts, scope)
    assert len(got) > 1 and got.keys() == on_time.keys()
    names = {p["code"]: p["name"] for p in scenario.facts.procedure}
    assert all(row["procedure_name"] == names[code] != "" for code, row in got.items())
    for procedure, tally in on_time.items():
        row = got[procedure]
        assert row["dossiers"] == tally.denominator
        assert row["on_time"] == pytest.approx(round(100 * tally.numerator / tally.denominator, 1))
        finished = times.get(procedure)
        assert row["finished"] == (finished.denominator if finished else 0)
        if finished:
            days = finished.numerator / finished.denominator / 86_400
            assert row["average_days"] == pytest.approx(round(days, 1), abs=0.05)


def test_the_province_ranking_has_every_unit_of_the_level_best_first(
    pool: ClientPool, scenario: Scenario
) -> None:
    sql = panel_query("tthc-province.json", "Xếp hạng").rawSql
    period = scenario.months[-2].label
    columns, rows = answer(pool, scenario, sql, period=period, level="department")
    departments = {u.code for u in scenario.tree.units_at_level("department")}
    assert {row[columns.index("unit")] for row in rows} == departments
    totals = [row[columns.index("total")] for row in rows]
    assert totals == sorted(totals, reverse=True)
    assert [row[0] for row in rows] == list(range(1, len(rows) + 1))


@pytest.mark.parametrize("indicator", ["1.2", "1.3", "2.1", "3.2", "3.5", "4.6", "5.2"])
def test_the_indicator_drill_down_lists_the_reference_items_with_their_reasons(
    pool: ClientPool, scenario: Scenario, indicator: str
) -> None:
    sql = panel_query("tthc-indicator.json", "bị trừ điểm").rawSql
    month = scenario.months[-2]  # over: judged at its end, as the snapshot has it
    columns, rows = answer(
        pool, scenario, sql, period=month.label, indicator=indicator, level="commune"
    )
    got = [(row[columns.index("code")], row[columns.index("reason")]) for row in rows]
    scope = scope_of(scenario.tree, scenario.tree.root.code, month, scenario.now)
    expected = []
    parts = PROFILE.by_code[indicator].parts
    for part in parts:
        for row, reason in listing(MEASURES[part.measure], scenario.facts, scope, Outcome.lost):
            assert reason is not None
            expected.append((row["code"], reason.label_vi))
    assert sorted(got) == sorted(expected)
    if len(parts) == 1:  # worst first, in the reference's (and the API's) order
        assert got == expected
    if indicator not in ("1.2", "3.2"):  # the workload loses no points on these two
        assert got, f"{indicator}: the workload has items that lost points"
    names = {u.code: u.name for u in scenario.tree}
    for row in rows:
        unit = row[columns.index("unit")]
        if unit in names:
            assert row[columns.index("unit_name")] == names[unit]


def test_the_level_menu_offers_only_the_levels_the_tree_has(
    pool: ClientPool, scenario: Scenario
) -> None:
    board = BOARDS["tthc-province.json"]
    (level,) = [t for t in board.templating.list if t.name == "level"]
    variables = selections("tthc-province.json", scenario)[0]
    _, rows = run(pool, expander(scenario, variables).expand(level.query))
    # the sample province has had no districts since 2025: no "Cấp huyện" to choose
    assert rows == [("commune", "Xã, phường, đặc khu"), ("department", "Sở, ban, ngành")]


def test_the_department_ranking_stands_beside_the_chosen_level(
    pool: ClientPool, scenario: Scenario
) -> None:
    panels = [p for p in _panels(BOARDS["tthc-province.json"]) if "Xếp hạng" in p.title]
    assert [p.title for p in panels] == ["Xếp hạng sở, ban, ngành", "Xếp hạng đơn vị cùng cấp"]
    assert panels[0].gridPos.y == panels[1].gridPos.y  # side by side
    (target,) = clickhouse_targets(panels[0])
    period = scenario.months[-2].label
    columns, rows = answer(pool, scenario, target.rawSql, period=period, level="commune")
    departments = {u.code for u in scenario.tree.units_at_level("department")}
    assert {row[columns.index("unit")] for row in rows} == departments


def _scorecard(s: Scenario, unit: str, period: Period) -> Scorecard:
    scope = scope_of(s.tree, unit, period, s.now)
    return score(PROFILE, reference_tallies(PROFILE, s.facts, scope), s.tree.level_of(unit))


def test_the_unit_detail_scores_equal_the_reference_scorecards(
    pool: ClientPool, scenario: Scenario
) -> None:
    """The panels score the workload as the API and the reference do: every indicator's counts
    and points, and the total, of a unit of each level, in a month that is over."""
    board = _panels(BOARDS["tthc-unit.json"])
    (table,) = clickhouse_targets(next(p for p in board if p.title.startswith("Các chỉ tiêu")))
    (total,) = clickhouse_targets(next(p for p in board if p.title == "Tổng điểm"))
    month = scenario.months[-2]
    department = scenario.tree.units_at_level("department")[0].code
    for unit in (scenario.tree.root.code, department, scenario.commune):
        card = _scorecard(scenario, unit, month)
        variables = {"period": Variable.single(month.label), "unit": Variable.single(unit)}
        columns, rows = run(pool, expander(scenario, variables).expand(table.rawSql))
        got = {row[0]: dict(zip(columns, row, strict=True)) for row in rows}
        assert list(got) == [i.code for i in card.indicators]
        for i in card.indicators:
            row = got[i.code]
            assert (row["numerator"], row["denominator"]) == (i.numerator, i.denominator)
            points = (row["points"], row["max_points"], row["lost"])
            assert points == pytest.approx((i.points, i.max_points, i.lost), abs=1e-9), i.code
        _, ((shown,),) = run(pool, expander(scenario, variables).expand(total.rawSql))
        assert shown == pytest.approx(card.total, abs=1e-9), unit


def test_the_province_ranking_totals_equal_the_reference_scorecards(
    pool: ClientPool, scenario: Scenario
) -> None:
    panel = next(p for p in _panels(BOARDS["tthc-province.json"]) if p.title.endswith("cùng cấp"))
    (target,) = clickhouse_targets(panel)
    month = scenario.months[-2]
    variables = {"period": Variable.single(month.label), "level": Variable.single("commune")}
    columns, rows = run(pool, expander(scenario, variables).expand(target.rawSql))
    totals = {row[columns.index("unit")]: row[columns.index("total")] for row in rows}
    communes = scenario.tree.units_at_level("commune")
    assert totals.keys() == {u.code for u in communes}
    for unit in communes[:40]:
        assert totals[unit.code] == pytest.approx(
            _scorecard(scenario, unit.code, month).total, abs=1e-9
        ), unit.code


def test_the_trends_score_each_month_at_its_end(pool: ClientPool, scenario: Scenario) -> None:
    panel = next(
        p for p in _panels(BOARDS["tthc-province.json"]) if "toàn tỉnh theo tháng" in p.title
    )
    (target,) = clickhouse_targets(panel)
    _, rows = run(pool, expander(scenario, {}).expand(target.rawSql))
    by_month = {time.astimezone(VN_TZ).date(): total for time, total in rows}
    root = scenario.tree.root.code
    for month in scenario.months[:-1]:  # over: judged at their last second
        expected = _scorecard(scenario, root, month).total
        assert by_month[month.start_date] == pytest.approx(expected, abs=1e-9), month.label
