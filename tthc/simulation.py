"""A realistic, deterministic workload of a province: what its systems would send us.

The same seed gives the same events, so tests, the demo and benchmarks can compare runs.
It covers every indicator: procedures announced (some late, some a second time, late or not),
published (some incomplete), dossiers with supplements (some asked for twice or only after the
due date, some never answered, some answered after the end, some with the due date re-set),
extensions, withdrawals, refusals at intake, fees paid online or not, digitization and reuse,
electronic results, syncs to the portal, ratings and complaints;
feedback handled on time or not; communes issuing electronic certified copies.
Communes upload their day's events at night, so events arrive late and out of order.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from tthc import events as ev
from tthc.calendar import VN_TZ, WorkingCalendar
from tthc.units import UnitLevel, UnitTree

SOURCE = "mot-cua"


@dataclass(frozen=True)
class Workload:
    """How much happens: per unit and month, and how the units behave."""

    seed: int = 766
    start: date = date(2024, 4, 1)
    months: int = 3
    dossiers_per_commune_month: int = 20
    dossiers_per_department_month: int = 60
    feedback_per_unit_month: float = 0.6
    procedures_per_level: int = 12
    until: datetime | None = None  # drop what would happen later: open dossiers stay open


@dataclass(frozen=True)
class _Procedure:
    code: str
    level: UnitLevel
    days: int
    online: ev.OnlineService
    fee: int


def _at(day: date, hour: float) -> datetime:
    return datetime.combine(day, time(0), tzinfo=VN_TZ) + timedelta(hours=hour)


class _Generator:
    def __init__(self, tree: UnitTree, workload: Workload) -> None:
        self.tree = tree
        self.w = workload
        self.rng = random.Random(workload.seed)
        self.calendar = WorkingCalendar()
        self.events: list[tuple[datetime, ev.Event]] = []  # (sent at, event)
        self.end = _month_start(workload.start, workload.months)

    def emit(
        self, subject: str, payload: ev.Payload, at: datetime, *, batched: bool = False
    ) -> None:
        """Record an event; a commune's are sent in its nightly batch, others at once."""
        if self.w.until is not None and at > self.w.until:
            return
        sent = at
        if batched:
            night = datetime.combine(at.astimezone(VN_TZ).date(), time(23), tzinfo=VN_TZ)
            sent = max(at, night)
        event_id = (
            f"{subject}/{payload.fact}/{int(at.timestamp())}"  # unique by subject, fact, time
        )
        self.events.append(
            (sent, ev.make_event(payload, subject=subject, id=event_id, source=SOURCE, time=at))
        )

    def working_day(self, first: date, last: date) -> date:
        for _ in range(50):
            day = first + timedelta(days=self.rng.randrange((last - first).days + 1))
            if self.calendar.is_working_day(day):
                return day
        return first

    def procedures(self) -> list[_Procedure]:
        province = self.tree.root.code
        announce_day = self.w.start - timedelta(days=20)
        made = []
        for level, prefix in ((UnitLevel.province, "1"), (UnitLevel.commune, "2")):
            for n in range(self.w.procedures_per_level):
                code = f"{prefix}.{n + 1:06d}.000.00.00.H19"
                online = self.rng.choices(list(ev.OnlineService), weights=[2, 5, 4])[0]
                fee = self.rng.choice([0, 0, 20_000, 50_000, 100_000])
                procedure = _Procedure(code, level, self.rng.choice([1, 3, 5, 10, 15]), online, fee)
                made.append(procedure)
                at = _at(announce_day, 9)
                self.emit(
                    code,
                    ev.ProcedureConfigured(
                        at=at,
                        name=f"Thủ tục {code}",
                        authority_levels=[level],
                        online_service=online,
                        full_online_eligible=online is ev.OnlineService.full
                        or self.rng.random() < 0.3,
                        fee_bearing=fee > 0,
                        payment_integrated=fee > 0 and self.rng.random() < 0.85,
                        returns_result_document=self.rng.random() < 0.9,
                        applicant_types=[ev.ApplicantType.individual]
                        if self.rng.random() < 0.7
                        else [ev.ApplicantType.organization],
                        uses_population_data=self.rng.random() < 0.6,
                        processing_working_days=procedure.days,
                    ),
                    at,
                )
                decided = announce_day + timedelta(days=self.rng.randrange(30))
                effective = decided + timedelta(days=self.rng.choice([2, 10, 15, 30]))
                self.emit(
                    code,
                    ev.ProcedureAnnounced(
                        unit=province,
                        decision_number=f"{100 + n}/QĐ-UBND",
                        decided_on=decided,
                        effective_on=effective,
                    ),
                    _at(decided, 10),
                )
                if self.rng.random() < 0.15:  # a second decision in the months simulated
                    again = self.w.start + timedelta(days=self.rng.randrange(60))
                    lead = self.rng.choice([2, 30])  # 2 days ahead is late
                    self.emit(
                        code,
                        ev.ProcedureAnnounced(
                            unit=province,
                            decision_number=f"{500 + n}/QĐ-UBND",
                            decided_on=again,
                            effective_on=again + timedelta(days=lead),
                        ),
                        _at(again, 10),
                    )
                if self.rng.random() < 0.9:
                    published = decided + timedelta(days=self.rng.choice([1, 3, 5, 12]))
                    components = list(ev.ProcedureComponent)
                    if self.rng.random() < 0.15:
                        components = components[:-1]
                    self.emit(
                        code,
                        ev.ProcedurePublished(published_on=published, components=components),
                        _at(published, 11),
                    )
        return made

    def dossiers(self, procedures: list[_Procedure]) -> None:
        for unit in self.tree.current_units():
            if unit.level is UnitLevel.commune:
                per_month, level = self.w.dossiers_per_commune_month, UnitLevel.commune
            elif unit.level is UnitLevel.department:
                per_month, level = self.w.dossiers_per_department_month, UnitLevel.province
            else:
                continue
            candidates = [p for p in procedures if p.level is level]
            for month in range(self.w.months):
                first = _month_start(self.w.start, month)
                last = _month_start(self.w.start, month + 1) - timedelta(days=1)
                for n in range(per_month):
                    day = self.working_day(first, last)
                    code = f"{unit.code}-{day:%y%m%d}-{n:04d}"
                    self.dossier(code, unit.code, self.rng.choice(candidates), day)

    def dossier(self, code: str, unit: str, p: _Procedure, day: date) -> None:
        rng, batched = self.rng, self.tree.get(unit).level is UnitLevel.commune
        received = _at(day, 7.5 + rng.random() * 9)
        online = p.online is not ev.OnlineService.none and rng.random() < 0.65
        due = self.calendar.add_working_days(received, p.days)
        give_due = rng.random() < 0.9  # some systems leave it to the procedure's time limit

        def emit(payload: ev.Payload, at: datetime) -> None:
            self.emit(code, payload, at, batched=batched)

        emit(
            ev.DossierReceived(
                unit=unit,
                procedure=p.code,
                channel=ev.Channel.online
                if online
                else rng.choice([ev.Channel.in_person, ev.Channel.post]),
                received_at=received,
                due_at=due if give_due else None,
            ),
            received,
        )
        if rng.random() < 0.985:
            emit(
                ev.DossierSyncedToPortal(at=received + timedelta(minutes=5)),
                received + timedelta(minutes=5),
            )
        if rng.random() < 0.03:
            emit(ev.DossierRefused(at=received + timedelta(hours=1)), received + timedelta(hours=1))
            return
        if rng.random() < 0.97:
            reused = rng.randint(1, 3) if rng.random() < 0.8 else 0
            emit(
                ev.DossierDigitized(
                    at=received + timedelta(hours=1),
                    digitized_components=3,
                    reused_components=reused,
                    data_store_components=1 if rng.random() < 0.4 else 0,
                ),
                received + timedelta(hours=1),
            )
        if rng.random() < 0.5:
            emit(
                ev.DossierIdentityVerified(at=received, method=ev.IdentityMethod.vneid),
                received + timedelta(minutes=1),
            )
        clock = received + timedelta(hours=2)
        budget = (due - received).total_seconds()
        end: datetime | None = None  # when a supplement decided how processing ends
        if p.fee:
            emit(ev.DossierFinancialObligationRequested(at=clock, amount=p.fee), clock)
            if rng.random() < 0.95:
                paid = clock + timedelta(hours=rng.random() * 30)
                emit(
                    ev.DossierFeePaid(at=paid, amount=p.fee, online=online and rng.random() < 0.85),
                    paid,
                )
        if rng.random() < 0.1:
            # now and then only once the due date has passed: that cannot save it
            asked = received + timedelta(seconds=budget * (1.1 if rng.random() < 0.1 else 0.3))
            emit(ev.DossierSupplementRequested(at=asked), asked)
            if rng.random() < 0.2:  # asked twice: late whatever happens
                emit(
                    ev.DossierSupplementRequested(at=asked + timedelta(hours=3)),
                    asked + timedelta(hours=3),
                )
            answer = rng.random()
            if answer < 0.15:  # never answered: the dossier ends while waiting
                end = asked + timedelta(days=rng.randint(1, 8))
            else:
                answered = asked + timedelta(days=rng.randint(1, 6))
                if answer > 0.9:  # answered after processing had ended
                    end = asked + timedelta(hours=rng.randint(2, 20))
                pause = answered - asked
                # some systems re-set the due date for the supplement, and say so
                reset = due + pause if rng.random() < 0.2 else None
                emit(ev.DossierSupplementReceived(at=answered, new_due_at=reset), answered)
                budget += pause.total_seconds()
        if rng.random() < 0.03:
            extended = due + timedelta(days=5)
            emit(
                ev.DossierDueDateChanged(at=received + timedelta(hours=3), due_at=extended),
                received + timedelta(hours=3),
            )
            budget += 5 * 86_400
        if rng.random() < 0.02:
            withdrawn = received + timedelta(seconds=budget * 0.5)
            emit(ev.DossierWithdrawn(at=withdrawn), withdrawn)
            return
        if rng.random() < 0.01:
            stopped = received + timedelta(seconds=budget * 0.7)
            emit(ev.DossierStopped(at=stopped), stopped)
            return
        late = rng.random() < 0.08
        done = end or received + timedelta(
            seconds=budget * (1.3 if late else rng.uniform(0.2, 0.95))
        )
        emit(ev.DossierProcessed(at=done), done)
        returned = done + timedelta(hours=rng.random() * 4)
        emit(
            ev.DossierResultReturned(
                at=returned,
                electronic=rng.random() < 0.95,
                pushed_to_data_store=rng.random() < 0.3,
            ),
            returned,
        )
        if rng.random() < 0.35:
            rated = returned + timedelta(hours=1)
            emit(ev.DossierRated(at=rated, satisfied=rng.random() < 0.95), rated)
        if rng.random() < 0.01:
            emit(
                ev.DossierComplaintFiled(at=returned + timedelta(days=2)),
                returned + timedelta(days=2),
            )

    def feedback(self) -> None:
        rng = self.rng
        units = [u for u in self.tree.current_units() if u.level is not UnitLevel.province]
        for month in range(self.w.months):
            first = _month_start(self.w.start, month)
            last = _month_start(self.w.start, month + 1) - timedelta(days=1)
            for unit in units:
                if rng.random() >= self.w.feedback_per_unit_month:
                    continue
                day = self.working_day(first, last)
                code = f"PAKN-{unit.code}-{day:%y%m%d}"
                received = _at(day, 8 + rng.random() * 8)
                self.emit(code, ev.FeedbackReceived(unit=unit.code, received_at=received), received)
                if rng.random() < 0.8:
                    at = received + timedelta(hours=2)
                    self.emit(code, ev.FeedbackClassified(at=at, category="thủ tục hành chính"), at)
                if rng.random() < 0.1:
                    at = received + timedelta(days=1)
                    self.emit(code, ev.FeedbackRefused(at=at), at)
                    continue
                accepted = self.calendar.add_working_days(received, rng.choice([1, 1, 2, 3]))
                accepted = accepted - timedelta(hours=12)
                self.emit(code, ev.FeedbackAccepted(at=accepted), accepted)
                if rng.random() < 0.15:
                    asked = received + timedelta(days=2)
                    self.emit(code, ev.FeedbackInfoRequested(at=asked), asked)
                answer_days = rng.choice([5, 10, 14, 20])
                answered = self.calendar.add_working_days(received, answer_days) - timedelta(
                    hours=10
                )
                self.emit(code, ev.FeedbackAnswered(at=answered), answered)
                if rng.random() < 0.6:
                    rated = answered + timedelta(days=1)
                    self.emit(code, ev.FeedbackRated(at=rated, satisfied=rng.random() < 0.9), rated)
                if rng.random() < 0.05:
                    again = answered + timedelta(days=3)
                    self.emit(code, ev.FeedbackComplainedAgain(at=again), again)

    def commune_services(self) -> None:
        for commune in self.tree.units_at_level(UnitLevel.commune):
            if self.rng.random() < 0.9:
                since = self.w.start - timedelta(days=self.rng.randrange(200))
                self.emit(
                    commune.code,
                    ev.CertifiedCopyOffered(unit=commune.code, since=since),
                    _at(since, 8),
                )
                for month in range(self.w.months):
                    if self.rng.random() < 0.8:
                        first = _month_start(self.w.start, month)
                        day = self.working_day(first, first + timedelta(days=27))
                        at = _at(day, 10)
                        self.emit(
                            commune.code,
                            ev.CertifiedCopyIssued(
                                unit=commune.code, at=at, count=self.rng.randint(1, 9)
                            ),
                            at,
                        )


def _month_start(start: date, months: int) -> date:
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def generate_events(tree: UnitTree, workload: Workload = Workload()) -> list[ev.Event]:
    """Every event of the workload, in the order the province's systems would send them."""
    return [event for _, event in generate_timeline(tree, workload)]


def generate_timeline(
    tree: UnitTree, workload: Workload = Workload()
) -> list[tuple[datetime, ev.Event]]:
    """(sent at, event) pairs in sending order: communes' nightly batches come late."""
    g = _Generator(tree, workload)
    g.dossiers(g.procedures())
    g.feedback()
    g.commune_services()
    return sorted(g.events, key=lambda pair: (pair[0], pair[1].id))


def iter_events(tree: UnitTree, workload: Workload = Workload()) -> Iterator[ev.Event]:
    yield from generate_events(tree, workload)
