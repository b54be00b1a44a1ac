"""services.storage.clickhouse on chDB: migrations, idempotent inserts, tallies.

No Kafka here: the batch step folds a generated workload, its rows go to chDB, and every
numerator and denominator read back equals the reference computation.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from services.aggregator.processing import (
    BatchProcessor,
    Catalog,
    Deriver,
    HistoryStore,
    Record,
)
from services.storage.clickhouse import (
    EMBEDDED_ALLOCATOR_CONF,
    SchemaError,
    check_schema,
    create_scores_view,
    insert_facts,
    migrate,
    tallies,
    truncate_facts,
    write_unit_tree,
)
from services.storage.schema import MIGRATIONS, SINGLE_NODE, schema_migrations_table
from services.storage.windows import rebuild_windows
from tests.aggregator.conftest import MIDDLE, ROOT, SMALL, FactsAt, encode, sample_units
from tthc.calendar import VN_TZ, WorkingCalendar
from tthc.events import Event
from tthc.facts import DossierFacts
from tthc.measures import Subject
from tthc.period_scores import PERIOD_SCORE_COLUMNS, SCORES_VIEW, scores_of, tree_sql
from tthc.periods import parse_period
from tthc.profile import load_profile
from tthc.reference import reference_tallies, scope_of
from tthc.scoring import score
from tthc.simulation import generate_events
from tthc.units import UnitTree


def fold_and_insert(client, events: list[Event], batch: int = 400) -> None:
    """What the worker does, minus Kafka: batches through the step, rows into ClickHouse."""
    step = BatchProcessor(
        HistoryStore({}), Deriver(Catalog(), WorkingCalendar(), load_profile().settings)
    )
    for start in range(0, len(events), batch):
        chunk = events[start : start + batch]
        outcome = asyncio.run(step.process([Record(encode(e)) for e in chunk]))
        insert_facts(client, outcome.rows)
    # what the worker's reconciliation does once the catalog changed
    codes = client.query("SELECT code FROM dossier_facts FINAL").result_columns[0]
    insert_facts(client, {Subject.dossier: step.rederive_dossiers(codes)})


def assert_tallies_equal_reference(client, events, tree, as_of) -> dict:
    profile = load_profile()
    facts_at = FactsAt(events)
    seen = {}
    for unit in sample_units(tree):
        for label in ("2024-05", "2024-Q2", "2024"):
            scope = scope_of(tree, unit, parse_period(label), as_of)
            expected = reference_tallies(profile, facts_at(scope.cutoff), scope)
            assert tallies(client, profile, scope) == expected, (unit, label)
            seen[(unit, label)] = expected
    return seen


def test_migrations_apply_once_and_check_the_schema(clickhouse) -> None:
    versions = [m.version for m in MIGRATIONS]
    with capture_logs() as logs:
        assert migrate(clickhouse) == versions
    assert logs == []  # a fresh database has nothing to replay
    assert migrate(clickhouse) == []
    rows = clickhouse.query("SELECT count() FROM schema_migrations FINAL").result_rows
    assert rows == [(len(versions),)]
    clickhouse.command("ALTER TABLE feedback_facts DROP COLUMN classified")
    with pytest.raises(SchemaError, match="feedback_facts.classified"):
        check_schema(clickhouse)


def test_migrations_4_5_7_and_9_bring_a_database_made_before_them_to_today(clickhouse) -> None:
    # a database migrated up to 3 by the code of then: migrations are frozen, so theirs
    for statement in schema_migrations_table().sql(SINGLE_NODE):
        clickhouse.command(statement)
    for migration in MIGRATIONS[:3]:
        for statement in migration.sql():
            clickhouse.command(statement)
    clickhouse.insert(
        "schema_migrations",
        [(m.version, m.name, datetime.now(UTC)) for m in MIGRATIONS[:3]],
        column_names=["version", "name", "applied_at"],
    )
    with pytest.raises(SchemaError, match="dossier_facts.supplement_seconds"):
        check_schema(clickhouse)
    with capture_logs() as logs:
        later = [m.version for m in MIGRATIONS[3:]]
        assert migrate(clickhouse) == later and {4, 5, 7, 9, 10} <= set(later)  # and the check
    (warning,) = [e for e in logs if e["log_level"] == "warning"]
    assert "tthc replay" in warning["event"] and {4, 5, 7, 9, 10} <= set(warning["migrations"])
    columns = [r[0] for r in clickhouse.query("DESCRIBE TABLE dossier_facts").result_rows]
    assert columns.index("supplement_seconds") == columns.index("paused_seconds") + 1
    # the instants come after the columns of then, in the order of the fact row
    assert columns[-20:] == DossierFacts.columns()[-20:]
    for table in ("unit_scores", "unit_score_history"):  # no total without data (9)
        types = dict(r[:2] for r in clickhouse.query(f"DESCRIBE TABLE {table}").result_rows)
        assert types["total"] == "Nullable(Float64)"
    columns = [r[0] for r in clickhouse.query("DESCRIBE TABLE procedure_facts").result_rows]
    # the old flag stays for writers of the code before, until they are upgraded
    assert "first_late_decision_on" in columns and "announced_late" in columns
    assert columns.index("name") == columns.index("published_complete") + 1


def test_every_tally_equals_the_reference(clickhouse, tree, small_events) -> None:
    migrate(clickhouse)
    fold_and_insert(clickhouse, small_events)
    seen = assert_tallies_equal_reference(clickhouse, small_events, tree, MIDDLE)
    # the workload exercises every measure somewhere
    province_year = seen[(tree.root.code, "2024")]
    assert all(t.denominator > 0 for t in province_year.values()), province_year


@pytest.mark.parametrize(
    "cutoff",
    [
        datetime(2024, 4, 17, 14, 23, 41, tzinfo=VN_TZ),
        datetime(2024, 6, 3, 8, 5, tzinfo=VN_TZ),
        datetime(2024, 6, 28, 16, 30, tzinfo=VN_TZ),
    ],
)
def test_tallies_at_cutoffs_inside_periods_equal_the_fold_of_the_events_by_then(
    clickhouse, tree, small_events, cutoff
) -> None:
    """Everything sent, judged at an instant inside the periods: ClickHouse counts only what
    had happened by then, as the reference folds it, supplement patterns of 2.1 included."""
    migrate(clickhouse)
    fold_and_insert(clickhouse, small_events)
    assert_tallies_equal_reference(clickhouse, small_events, tree, cutoff)
    patterns = clickhouse.query(
        "SELECT countIf(has(supplement_answered_at, NULL)), "
        "countIf(arrayExists(a -> a > ended_at, supplement_answered_at)), "
        "countIf(has(supplement_due_reset, true)), "
        "countIf(length(supplement_requested_at) > 0 "
        "AND supplement_requested_at[1] > due_values[1]) "
        "FROM dossier_facts FINAL"
    ).result_rows[0]
    # unanswered requests, answers after the end, due dates re-set, requests after the due date
    assert all(n > 0 for n in patterns), patterns


def test_rows_written_twice_or_out_of_order_count_once(clickhouse, tree, small_events) -> None:
    migrate(clickhouse)
    profile = load_profile()
    scope = scope_of(tree, tree.root.code, parse_period("2024"), MIDDLE)
    fold_and_insert(clickhouse, small_events)
    once = tallies(clickhouse, profile, scope)
    fold_and_insert(clickhouse, small_events[::-1])  # everything again, backwards
    assert tallies(clickhouse, profile, scope) == once
    final, codes = clickhouse.query(
        "SELECT (SELECT count() FROM dossier_facts FINAL), uniqExact(code) FROM dossier_facts"
    ).result_rows[0]
    assert final == codes


def test_open_dossiers_turn_late_with_no_new_event(clickhouse, tree) -> None:
    """The workload stops mid-May: judged later, dossiers still open are past due."""
    events = generate_events(tree, replace(SMALL, until=MIDDLE))
    migrate(clickhouse)
    fold_and_insert(clickhouse, events)
    profile = load_profile()
    scope = scope_of(tree, tree.root.code, parse_period("2024-05"), MIDDLE)
    later = replace(scope, cutoff=MIDDLE + timedelta(days=10))
    now, then = tallies(clickhouse, profile, scope), tallies(clickhouse, profile, later)
    assert then["dossiers_on_time"].numerator < now["dossiers_on_time"].numerator
    assert then["dossiers_on_time"].denominator == now["dossiers_on_time"].denominator
    assert_tallies_equal_reference(clickhouse, events, tree, MIDDLE)
    assert_tallies_equal_reference(clickhouse, events, tree, MIDDLE + timedelta(days=10))


def test_truncate_empties_the_facts(clickhouse, small_events) -> None:
    migrate(clickhouse)
    fold_and_insert(clickhouse, small_events[:200])
    truncate_facts(clickhouse)
    assert clickhouse.query("SELECT count() FROM dossier_facts").result_rows == [(0,)]


def test_the_unit_tree_read_is_the_latest_written(clickhouse, tree) -> None:
    migrate(clickhouse)
    province = tree.root
    alone = UnitTree([province.model_copy(update={"name": "Tỉnh cũ"})])
    assert write_unit_tree(clickhouse, alone) == 1
    assert write_unit_tree(clickhouse, tree) == sum(
        len(tree.subtree(u.code)) for u in tree.current_units()
    )
    rows = clickhouse.query(f"SELECT unit, ancestor, name FROM ({tree_sql()})").result_rows
    subtrees: dict[str, set[str]] = {}
    for unit, ancestor, _ in rows:
        subtrees.setdefault(ancestor, set()).add(unit)
    assert subtrees == {u.code: set(tree.subtree(u.code)) for u in tree.current_units()}
    assert (province.code, province.code, province.name) in rows  # not the older tree's name
    # merged units are in the subtrees they count for
    assert any(not tree.get(unit).is_current for unit, _, _ in rows)


def test_the_scores_view_scores_every_unit_as_the_reference(clickhouse, tree, small_events):
    """Every current unit, at every level, in a month, a quarter and a year that are over:
    what the dashboards read equals the reference scorecard of the events known by then."""
    profile = load_profile()
    migrate(clickhouse)
    fold_and_insert(clickhouse, small_events)
    rebuild_windows(clickhouse)
    write_unit_tree(clickhouse, tree)
    create_scores_view(clickhouse, profile)
    facts_at = FactsAt(small_events)
    now = datetime.now(UTC)
    graded = set()
    for label in ("2024-05", "2024-Q2", "2024"):
        result = clickhouse.query(f"SELECT * FROM {scores_of(repr(label))}")
        assert result.column_names == PERIOD_SCORE_COLUMNS
        rows = {
            (r[4], r[5]): dict(zip(result.column_names, r, strict=True)) for r in result.result_rows
        }
        period = parse_period(label)
        facts = facts_at(period.cutoff(now))
        for unit in tree.current_units():
            scope = scope_of(tree, unit.code, period, now)
            card = score(profile, reference_tallies(profile, facts, scope), unit.level)
            total = rows[(unit.code, "")]
            assert total["total"] == pytest.approx(card.total, abs=1e-9), (label, unit.code)
            assert total["grade_vi"] == card.grade_vi
            assert (total["level"], total["unit_name"]) == (unit.level.value, unit.name)
            assert total["cutoff"].replace(tzinfo=UTC) == period.cutoff(now)
            for i in card.indicators:
                row = rows[(unit.code, i.code)]
                got = (row["numerator"], row["denominator"], row["points"], row["max_points"])
                assert got == pytest.approx(
                    (i.numerator, i.denominator, i.points, i.max_points), abs=1e-9
                ), (label, unit.code, i.code)
            graded.add(card.grade_vi)
        assert len(rows) == len(tree.current_units()) * (len(profile.indicators) + 1)
    assert len(graded) >= 2, graded
    assert clickhouse.query(f"EXISTS TABLE {SCORES_VIEW}").result_rows == [(1,)]


# --- The embedded engine's allocator --------------------------------------------------------


def _chdb_loads(allocator_conf: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """A fresh process that opens a chDB client under this allocator configuration (jemalloc
    aborts at load on a pair it does not know, with `abort_conf`), and says what it ran with."""
    script = (
        "import os; from services.storage.clickhouse import clickhouse_client; "
        f"client = clickhouse_client('chdb://{tmp_path / 'ch'}'); "
        "client.command('SELECT 1'); print(os.environ['JE_MALLOC_CONF'])"
    )
    env = {k: v for k, v in os.environ.items() if k != "JE_MALLOC_CONF"}
    if allocator_conf:
        env["JE_MALLOC_CONF"] = allocator_conf
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_chdb_clients_configure_the_engine_allocator_unless_the_operator_did(
    tmp_path: Path,
) -> None:
    ours = _chdb_loads("", tmp_path)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.strip() == EMBEDDED_ALLOCATOR_CONF
    operators = _chdb_loads("dirty_decay_ms:1000", tmp_path)
    assert operators.stdout.strip() == "dirty_decay_ms:1000"


def test_the_engine_allocator_accepts_every_pair_of_our_configuration(tmp_path: Path) -> None:
    accepted = _chdb_loads(f"abort_conf:true,{EMBEDDED_ALLOCATOR_CONF}", tmp_path)
    assert accepted.returncode == 0, accepted.stderr
    misspelt = _chdb_loads("abort_conf:true,dirty_decay:200", tmp_path)
    assert misspelt.returncode != 0  # the check above can fail
