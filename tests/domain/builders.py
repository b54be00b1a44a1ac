"""Small builders for hand-worked scenarios: events in a few readable lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from tthc.calendar import VN_TZ, WorkingCalendar
from tthc.events import (
    Channel,
    DossierProcessed,
    DossierReceived,
    DossierSupplementReceived,
    DossierSupplementRequested,
    Event,
    OnlineService,
    Payload,
    ProcedureConfigured,
    make_event,
)
from tthc.measures import MEASURES, FactTables, Tally, tally_by_procedure
from tthc.periods import Period, parse_period
from tthc.profile import Profile, load_profile
from tthc.reference import fact_tables, ledger_at, reference_tallies, scope_of
from tthc.scoring import Scorecard, score
from tthc.simulation import Workload
from tthc.state import Ledger
from tthc.units import UnitLevel, UnitTree, load_units

PROVINCE = "75"
COMMUNE = "25264"  # Xã Phú Riềng, which took in Xã Bù Nho (25252) in 2025
OTHER_COMMUNE = "25195"
DEPARTMENT = "75.STP"

# Small enough for 2 shared cores, large enough to give every indicator a denominator; April
# to June 2024, the simulator's default months.
SMALL = Workload(
    dossiers_per_commune_month=2,
    dossiers_per_department_month=6,
    feedback_per_unit_month=0.3,
    procedures_per_level=6,
)


def t(text: str) -> datetime:
    """'2024-05-06 08:00' in Vietnam time."""
    return datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


def d(text: str) -> date:
    return date.fromisoformat(text)


@dataclass
class Scenario:
    """Events in the making; each gets a fresh id unless one is given."""

    events: list[Event] = field(default_factory=list)
    tree: UnitTree = field(default_factory=load_units)
    profile: Profile = field(default_factory=load_profile)

    def add(self, subject: str, payload: Payload, *, id: str | None = None) -> Event:
        event = make_event(
            payload, subject=subject, id=id or f"e{len(self.events) + 1}", source="test"
        )
        self.events.append(event)
        return event

    def procedure(
        self,
        code: str,
        *,
        level: UnitLevel = UnitLevel.commune,
        online: OnlineService = OnlineService.partial,
        **attributes: object,
    ) -> None:
        self.add(
            code,
            ProcedureConfigured(
                at=t("2024-01-01 08:00"),
                name=f"Thủ tục {code}",
                authority_levels=[level],
                online_service=online,
                **attributes,  # type: ignore[arg-type]
            ),
        )

    def dossier(
        self,
        code: str,
        *,
        received: str = "2024-05-06 08:00",
        due: str | None = "2024-05-10 17:00",
        unit: str = COMMUNE,
        procedure: str = "P",
        online: bool = False,
    ) -> None:
        self.add(
            code,
            DossierReceived(
                unit=unit,
                procedure=procedure,
                channel=Channel.online if online else Channel.in_person,
                received_at=t(received),
                due_at=t(due) if due else None,
            ),
        )

    def processed(self, code: str, at: str) -> None:
        self.add(code, DossierProcessed(at=t(at)))

    def supplement_requested(self, code: str, at: str) -> None:
        self.add(code, DossierSupplementRequested(at=t(at)))

    def supplement_received(self, code: str, at: str, *, new_due: str | None = None) -> None:
        """The applicant's answer; `new_due` when the source re-set the due date for it."""
        self.add(
            code, DossierSupplementReceived(at=t(at), new_due_at=t(new_due) if new_due else None)
        )

    def tallies(
        self, unit: str = COMMUNE, period: str | Period = "2024-05", as_of: str = "2024-07-01 00:00"
    ) -> dict[str, Tally]:
        chosen = parse_period(period) if isinstance(period, str) else period
        scope = scope_of(self.tree, unit, chosen, t(as_of))
        return reference_tallies(self.profile, self.facts(scope.cutoff), scope)

    def facts(self, cutoff: datetime | None = None) -> FactTables:
        """Every event's facts, or those a score judged at `cutoff` knows of."""
        if cutoff is None:
            ledger = Ledger()
            for event in self.events:
                ledger.add(event)
        else:
            ledger = ledger_at(self.events, cutoff)
        return fact_tables(ledger, WorkingCalendar(), self.profile)

    def by_procedure(
        self,
        measure: str,
        unit: str = COMMUNE,
        period: str = "2024-05",
        as_of: str = "2024-07-01 00:00",
    ) -> dict[str, Tally]:
        scope = scope_of(self.tree, unit, parse_period(period), t(as_of))
        return tally_by_procedure(MEASURES[measure], self.facts(scope.cutoff), scope)

    def counts(self, measure: str, **kwargs: str) -> tuple[float, int]:
        tally = self.tallies(**kwargs)[measure]
        return (tally.numerator, tally.denominator)

    def scorecard(self, unit: str = COMMUNE, **kwargs: str) -> Scorecard:
        return score(self.profile, self.tallies(unit=unit, **kwargs), self.tree.level_of(unit))
