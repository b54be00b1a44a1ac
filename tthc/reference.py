"""The reference computation: events → states → facts → tallies → scorecard, all in Python.

It is the definition the aggregator's ClickHouse numbers must equal, and what the tests work
out by hand. It is also what `tthc simulate` can print for a workload it generated.

A score judged at an instant counts only what had happened by then: the reference folds the
events of dossiers and feedback that occurred by the cutoff (to the second, the facts'
resolution), whatever arrived since. Two kinds of events are taken whenever they occurred: the
catalogue's (procedures, communes' services), whose facts are dated and which the measures judge
against the cutoff's day themselves, and a feedback's transfers, which move the whole feedback,
its past included, to the unit that has to handle it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tthc.calendar import WorkingCalendar
from tthc.events import Entity, Event, FeedbackTransferred
from tthc.facts import KINDS, derive
from tthc.measures import FactTables, Scope, Subject, Tally, tally
from tthc.periods import Period
from tthc.profile import Profile
from tthc.scoring import Scorecard, profile_measures, score
from tthc.state import DossierState, Ledger, ProcedureState
from tthc.units import UnitLevel, UnitTree


def scope_of(tree: UnitTree, unit: str, period: Period, as_of: datetime) -> Scope:
    """The subtree of `unit` (today's tree, merged units included) over `period`."""
    units = tree.subtree(unit)
    current = [tree.get(code) for code in units if tree.get(code).is_current]
    return Scope(
        units=units,
        commune_codes=tuple(
            sorted(
                (code, tree.resolve(code))
                for code in units
                if tree.level_of(code) is UnitLevel.commune
            )
        ),
        levels=frozenset(u.level.value for u in current),
        period=period,
        cutoff=period.cutoff(as_of),
    )


def occurred_by(event: Event, cutoff: datetime) -> bool:
    """Whether a score judged at `cutoff` knows of the event (see the module's docstring)."""
    if event.entity in (Entity.procedure, Entity.commune_service):
        return True
    if isinstance(event.data, FeedbackTransferred):
        return True
    return event.occurred_at.astimezone(UTC).replace(microsecond=0) <= cutoff


def ledger_at(events: Iterable[Event], cutoff: datetime) -> Ledger:
    """The histories of the events a score judged at `cutoff` knows of."""
    ledger = Ledger()
    for event in events:
        if occurred_by(event, cutoff):
            ledger.add(event)
    return ledger


def fact_tables(ledger: Ledger, calendar: WorkingCalendar, profile: Profile) -> FactTables:
    procedures: dict[str, ProcedureState] = {
        s.code: s for s in ledger.states(Entity.procedure) if isinstance(s, ProcedureState)
    }
    rows: dict[Subject, list[dict[str, Any]]] = {subject: [] for subject in Subject}
    for kind in KINDS.values():
        for state in ledger.states(kind.entity):
            procedure = None
            if isinstance(state, DossierState):
                procedure = procedures.get(state.procedure or "")
            facts = derive(state, procedure, calendar, profile.settings)
            if facts is not None:
                rows[kind.subject].append(facts.row())
    return FactTables(
        dossier=rows[Subject.dossier],
        feedback=rows[Subject.feedback],
        procedure=rows[Subject.procedure],
        commune={row["code"]: row for row in rows[Subject.commune]},
    )


def reference_tallies(profile: Profile, facts: FactTables, scope: Scope) -> dict[str, Tally]:
    return {m.key: tally(m, facts, scope) for m in profile_measures(profile)}


def reference_scorecard(
    events: Iterable[Event],
    *,
    tree: UnitTree,
    profile: Profile,
    unit: str,
    period: Period,
    as_of: datetime,
    calendar: WorkingCalendar | None = None,
) -> tuple[Scorecard, dict[str, Tally]]:
    """The scorecard of `unit` from raw events, with the tallies behind it: judged at the
    period's cutoff for `as_of`, from the events that had occurred by then."""
    scope = scope_of(tree, unit, period, as_of)
    facts = fact_tables(ledger_at(events, scope.cutoff), calendar or WorkingCalendar(), profile)
    tallies = reference_tallies(profile, facts, scope)
    return score(profile, tallies, tree.level_of(unit)), tallies
