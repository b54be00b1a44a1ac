"""A province in embedded ClickHouse for the dashboard queries: a small simulated workload of
the last three months (until now, so that open dossiers are really open), its fact rows written
through the services' own code, the windows the aggregator keeps, built from them, and what the
worker writes at start-up: the unit tree and the scores view the panels read.

One hand-made dossier is added on top: open, due in a few hours, so the "turning late" panels
have a row whatever today's date does to the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from services.api.pool import ClientPool
from services.storage.clickhouse import (
    VersionedFacts,
    create_scores_view,
    insert_facts,
    migrate,
    write_unit_tree,
)
from services.storage.windows import rebuild_windows
from tests.domain.builders import SMALL
from tthc.calendar import VN_TZ, WorkingCalendar
from tthc.facts import CommuneFacts, DossierFacts, FeedbackFacts, ProcedureFacts
from tthc.measures import FactTables, Subject
from tthc.periods import Period, parse_period
from tthc.profile import Profile
from tthc.reference import fact_tables
from tthc.simulation import Workload, generate_events
from tthc.state import Ledger
from tthc.units import UnitLevel, UnitTree

TURNING_LATE_CODE = "KIEM-THU-SAP-QUA-HAN"


@dataclass(frozen=True)
class Scenario:
    tree: UnitTree
    profile: Profile
    now: datetime
    months: tuple[Period, ...]  # oldest first; the last one is the current month
    quarters: tuple[Period, ...]
    commune: str  # the commune of the hand-made dossier
    facts: FactTables  # the generated workload's (the hand-made dossier is not among them)

    @property
    def periods(self) -> list[Period]:
        return [*self.months, *self.quarters]


def _month_start(day: date, back: int) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def workload(now: datetime) -> Workload:
    today = now.astimezone(VN_TZ).date()
    return replace(SMALL, start=_month_start(today, 2), until=now)


def _turning_late(unit: str, procedure: str, now: datetime) -> DossierFacts:
    received = (now - timedelta(days=1)).replace(microsecond=0)
    due = (now + timedelta(hours=5)).replace(microsecond=0)
    return DossierFacts(
        code=TURNING_LATE_CODE,
        unit=unit,
        procedure=procedure,
        counted=True,
        channel=2,
        received_at=received,
        due_at=due,
        ended_at=None,
        withdrawn=False,
        supplement_requests=0,
        paused_seconds=0,
        supplement_seconds=0,
        paused_since=None,
        returned_at=None,
        result_electronic=False,
        result_digitized=False,
        result_pushed_to_data_store=False,
        synced_at=received,
        sync_due_at=None,
        fee=0,
        paid_online=False,
        digitized_components=1,
        reused_components=0,
        data_store_components=0,
        population_data_used=False,
        dissatisfied=False,
        complaint=False,
        online_service="full",
        full_online_eligible=True,
        returns_result_document=True,
        refused_at=None,
        withdrawn_at=None,
        due_changed_at=[received],
        due_values=[due],
        supplement_requested_at=[],
        supplement_answered_at=[],
        supplement_due_reset=[],
        fee_changed_at=[],
        fee_values=[],
        paid_online_at=None,
        result_electronic_at=None,
        result_pushed_at=None,
        result_digitized_at=None,
        digitized_at=received,
        reused_at=None,
        data_store_at=None,
        identity_verified_at=None,
        rated_at=[],
        rated_dissatisfied=[],
        complaint_at=None,
    )


def load(pool: ClientPool, tree: UnitTree, profile: Profile) -> Scenario:
    """Write the scenario's facts, tree and scores view into the (empty) database behind
    `pool`."""
    now = datetime.now(UTC).replace(microsecond=0)
    ledger = Ledger()
    for event in generate_events(tree, workload(now)):
        ledger.add(event)
    facts = fact_tables(ledger, WorkingCalendar(), profile)
    commune = tree.units_at_level(UnitLevel.commune)[0].code
    some_procedure = next(iter(facts.dossier))["procedure"]
    rows: dict[Subject, list[VersionedFacts]] = {
        Subject.dossier: [VersionedFacts(DossierFacts(**r), 1) for r in facts.dossier]
        + [VersionedFacts(_turning_late(commune, some_procedure, now), 1)],
        Subject.feedback: [VersionedFacts(FeedbackFacts(**r), 1) for r in facts.feedback],
        Subject.procedure: [VersionedFacts(ProcedureFacts(**r), 1) for r in facts.procedure],
        Subject.commune: [VersionedFacts(CommuneFacts(**r), 1) for r in facts.commune.values()],
    }
    with pool.client() as client:
        migrate(client)
        insert_facts(client, rows)
        rebuild_windows(client)  # what the aggregator keeps, as if it had written the rows
        # the worker's start-up
        write_unit_tree(client, tree)
        create_scores_view(client, profile)

    today = now.astimezone(VN_TZ).date()
    months = tuple(
        parse_period(f"{d.year}-{d.month:02d}")
        for d in (_month_start(today, back) for back in (2, 1, 0))
    )
    quarters = tuple(
        dict.fromkeys(
            parse_period(f"{m.start_date.year}-Q{(m.start_date.month - 1) // 3 + 1}")
            for m in months
        )
    )
    return Scenario(tree, profile, now, months, quarters, commune, facts)
