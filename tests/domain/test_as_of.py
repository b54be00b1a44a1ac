"""Scores judged at an instant, worked out by hand: only what had happened by then counts.

Times are Vietnam time. In May 2024, 1 May is a holiday, Saturday 4 May is a working day and
the other weekends are 5, 11–12, 18–19 May. A past period is judged at its last second.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.domain.builders import COMMUNE, PROVINCE, SMALL, Scenario, d, t
from tthc.calendar import VN_TZ, WorkingCalendar
from tthc.events import (
    DossierComplaintFiled,
    DossierDigitized,
    DossierDueDateChanged,
    DossierFeePaid,
    DossierFinancialObligationRequested,
    DossierIdentityVerified,
    DossierRated,
    DossierRefused,
    DossierResultReturned,
    DossierStopped,
    DossierSyncedToPortal,
    FeedbackAccepted,
    FeedbackClassified,
    FeedbackComplainedAgain,
    FeedbackRated,
    FeedbackReceived,
    ProcedureAnnounced,
    ProcedureComponent,
    ProcedurePublished,
)
from tthc.periods import parse_period
from tthc.reference import fact_tables, ledger_at, reference_tallies, scope_of
from tthc.simulation import generate_events
from tthc.state import Ledger


def test_a_dossier_received_after_the_cutoff_is_in_no_denominator():
    s = Scenario()
    s.dossier("early")
    s.add("early", DossierSyncedToPortal(at=t("2024-05-06 08:05")))
    s.dossier("late_in_may", received="2024-05-25 08:00", due="2024-05-31 17:00")
    s.add("late_in_may", DossierSyncedToPortal(at=t("2024-05-25 08:05")))
    assert s.counts("dossiers_synced", as_of="2024-05-20 00:00") == (1, 1)
    assert s.counts("dossiers_on_time", as_of="2024-05-20 00:00") == (0, 1)  # open past due
    assert s.counts("dossiers_synced", as_of="2024-05-26 00:00") == (2, 2)


def test_a_dossier_refused_at_intake_after_the_cutoff_still_counted_then():
    s = Scenario()
    s.dossier("refused")
    s.add("refused", DossierRefused(at=t("2024-05-08 08:00")))
    assert s.counts("dossiers_online", as_of="2024-05-07 08:00") == (0, 1)
    assert s.counts("dossiers_online", as_of="2024-05-08 08:00") == (0, 0)


def test_every_dossier_flag_counts_from_the_instant_it_first_held():
    s = Scenario()
    s.procedure("P")
    s.dossier("d")
    s.add("d", DossierSyncedToPortal(at=t("2024-05-07 08:00")))
    s.add("d", DossierFinancialObligationRequested(at=t("2024-05-07 09:00"), amount=50_000))
    s.add("d", DossierFeePaid(at=t("2024-05-08 09:00"), amount=50_000, online=True))
    s.add(
        "d",
        DossierDigitized(
            at=t("2024-05-09 09:00"),
            digitized_components=2,
            reused_components=1,
            data_store_components=1,
        ),
    )
    s.add("d", DossierIdentityVerified(at=t("2024-05-09 10:00"), method="vneid"))
    s.processed("d", "2024-05-10 09:00")
    s.add("d", DossierResultReturned(at=t("2024-05-10 10:00"), electronic=True))
    s.add("d", DossierRated(at=t("2024-05-13 09:00"), satisfied=False))
    s.add("d", DossierRated(at=t("2024-05-14 09:00"), satisfied=True))  # thought better of it
    s.add("d", DossierComplaintFiled(at=t("2024-05-15 09:00")))

    def at(moment: str) -> dict[str, tuple[float, int]]:
        keys = (
            "dossiers_synced",
            "dossiers_paid_online",
            "dossiers_digitized",
            "dossiers_reusing_data",
            "dossiers_data_store",
            "dossiers_population_data",
            "dossiers_electronic_result",
            "dossiers_on_time",
            "dossier_satisfaction",
        )
        tallies = s.tallies(as_of=moment)
        return {k: (tallies[k].numerator, tallies[k].denominator) for k in keys}

    assert at("2024-05-06 12:00") == {
        "dossiers_synced": (0, 1),
        "dossiers_paid_online": (0, 0),  # no fee yet
        "dossiers_digitized": (0, 1),
        "dossiers_reusing_data": (0, 1),
        "dossiers_data_store": (0, 1),
        "dossiers_population_data": (0, 1),
        "dossiers_electronic_result": (0, 0),  # no result yet
        "dossiers_on_time": (1, 1),
        "dossier_satisfaction": (1, 1),
    }
    assert at("2024-05-07 12:00")["dossiers_synced"] == (1, 1)
    assert at("2024-05-07 12:00")["dossiers_paid_online"] == (0, 1)
    assert at("2024-05-08 12:00")["dossiers_paid_online"] == (1, 1)
    on_the_9th = at("2024-05-09 12:00")
    assert [on_the_9th[k] for k in ("dossiers_digitized", "dossiers_reusing_data")] == [
        (1, 1),
        (1, 1),
    ]
    assert on_the_9th["dossiers_data_store"] == on_the_9th["dossiers_population_data"] == (1, 1)
    assert at("2024-05-10 09:30")["dossiers_electronic_result"] == (0, 0)
    assert at("2024-05-10 12:00")["dossiers_electronic_result"] == (1, 1)
    # the latest rating by the cutoff, then the complaint
    assert at("2024-05-13 12:00")["dossier_satisfaction"] == (0, 1)
    assert at("2024-05-14 12:00")["dossier_satisfaction"] == (1, 1)
    assert at("2024-05-15 12:00")["dossier_satisfaction"] == (0, 1)


def test_the_due_date_in_force_at_the_cutoff():
    s = Scenario()
    s.dossier("extended", due="2024-05-08 17:00")
    s.add(
        "extended",
        DossierDueDateChanged(at=t("2024-05-09 08:00"), due_at=t("2024-05-15 17:00")),
    )
    # between the old due date and the extension the dossier was late; then it is not
    assert s.counts("dossiers_on_time", as_of="2024-05-09 07:00") == (0, 1)
    assert s.counts("dossiers_on_time", as_of="2024-05-09 09:00") == (1, 1)


def test_feedback_counts_what_had_happened_by_the_cutoff():
    s = Scenario()
    s.add("F1", FeedbackReceived(unit=COMMUNE, received_at=t("2024-05-06 08:00")))
    s.add("F1", FeedbackAccepted(at=t("2024-05-06 10:00")))
    s.add("F1", FeedbackClassified(at=t("2024-05-08 08:00"), category="thủ tục"))
    s.add("F1", FeedbackRated(at=t("2024-05-09 08:00"), satisfied=False))
    s.add("F1", FeedbackRated(at=t("2024-05-10 08:00"), satisfied=True))
    s.add("F1", FeedbackComplainedAgain(at=t("2024-05-13 08:00")))
    s.add("F2", FeedbackReceived(unit=COMMUNE, received_at=t("2024-05-25 08:00")))
    assert s.counts("feedback_classified", as_of="2024-05-07 08:00") == (0, 1)
    assert s.counts("feedback_classified", as_of="2024-05-08 08:00") == (1, 1)
    assert s.counts("feedback_classified", as_of="2024-05-26 08:00") == (1, 2)
    # 5.3: accepted in time and not yet due to be answered, so on time all along; what
    # changes is the rating and the complaint known at the cutoff
    assert s.counts("feedback_satisfaction", as_of="2024-05-08 12:00") == (1, 1)
    assert s.counts("feedback_satisfaction", as_of="2024-05-09 12:00") == (0, 1)
    assert s.counts("feedback_satisfaction", as_of="2024-05-10 12:00") == (1, 1)
    assert s.counts("feedback_satisfaction", as_of="2024-05-13 12:00") == (0, 1)


def test_1_3_counts_the_latest_publication_by_the_cutoff_s_day():
    s = Scenario()
    everything = list(ProcedureComponent)
    s.add(
        "A",
        ProcedureAnnounced(
            unit=PROVINCE,
            decision_number="1/QĐ-UBND",
            decided_on=d("2024-05-02"),
            effective_on=d("2024-05-20"),
        ),
    )
    partial = [c for c in everything if c is not ProcedureComponent.fees]
    s.add("A", ProcedurePublished(published_on=d("2024-05-06"), components=partial))
    s.add("A", ProcedurePublished(published_on=d("2024-05-15"), components=everything))

    def at(moment: str) -> tuple[float, int]:
        return s.counts("procedures_published_in_full", unit=PROVINCE, as_of=moment)

    assert at("2024-05-05 12:00") == (0, 0)  # not published yet
    assert at("2024-05-10 12:00") == (0, 1)  # the fees were missing then
    assert at("2024-05-15 08:00") == (1, 1)  # judged by the day: complete from the 15th


# --- The supplement rules of 2.1 (and 5.4, which uses 2.1's test) ---------------------------------
# Each dossier: received Mon 6 May 08:00, due Fri 10 May 17:00.


def test_2_1_a_request_never_answered_stops_the_clock_and_ending_it_does_not_restart_it():
    s = Scenario()
    s.dossier("waiting")
    s.supplement_requested("waiting", "2024-05-08 08:00")  # 2 days 15 hours before the due date
    s.add("waiting", DossierStopped(at=t("2024-05-15 08:00")))  # after the due date
    # Open and waiting on the 14th: on time. Stopped on the 15th, still waiting: judged at
    # the moment of the request, so still on time (5.4 likewise).
    assert s.counts("dossiers_on_time", as_of="2024-05-14 12:00") == (1, 1)
    assert s.counts("dossiers_on_time") == (1, 1)
    assert s.counts("dossier_satisfaction") == (1, 1)
    # Asked on Sat 11 May, after the due date: late, open or ended.
    s.dossier("asked_late")
    s.supplement_requested("asked_late", "2024-05-11 08:00")
    s.processed("asked_late", "2024-05-15 08:00")
    assert s.counts("dossiers_on_time") == (1, 2)


def test_2_1_only_pause_time_inside_the_dossier_s_own_processing_counts():
    s = Scenario()
    # Processed late on Mon 13 May, a request afterwards: nothing to take off, late.
    s.dossier("asked_after_end")
    s.processed("asked_after_end", "2024-05-13 08:00")
    s.supplement_requested("asked_after_end", "2024-05-14 08:00")
    s.supplement_received("asked_after_end", "2024-05-20 08:00")
    # Asked on the 8th, answered on the 9th (one day), processed on Sat 11 May 15:00: the
    # one day moves the due date to the 11th 17:00, on time.
    s.dossier("answered_in_time")
    s.supplement_requested("answered_in_time", "2024-05-08 08:00")
    s.supplement_received("answered_in_time", "2024-05-09 08:00")
    s.processed("answered_in_time", "2024-05-11 15:00")
    assert s.counts("dossiers_on_time") == (1, 2)


def test_2_1_a_request_after_the_due_date_cannot_turn_a_late_dossier_on_time():
    s = Scenario()
    # Due Fri 10 May 17:00; asked Mon 13 May 08:00, processed the 14th 08:00, answered the
    # 20th. Taking the whole week off would put the end before the due date; only the day
    # inside processing counts, and the clock had passed the due date before it.
    s.dossier("asked_late")
    s.supplement_requested("asked_late", "2024-05-13 08:00")
    s.processed("asked_late", "2024-05-14 08:00")
    s.supplement_received("asked_late", "2024-05-20 08:00")
    assert s.counts("dossiers_on_time") == (0, 1)
    assert s.counts("dossier_satisfaction") == (0, 1)


def test_2_1_a_past_period_uses_only_what_had_happened_by_its_end():
    s = Scenario()
    # The case: received 24 June, due 27 June, asked 28 June, answered 5 July,
    # processed 8 July. At 30 June it was open and waiting since after its due date: late.
    s.dossier("june", received="2024-06-24 08:00", due="2024-06-27 17:00")
    s.supplement_requested("june", "2024-06-28 08:00")
    s.supplement_received("june", "2024-07-05 08:00")
    s.processed("june", "2024-07-08 08:00")
    assert s.counts("dossiers_on_time", period="2024-06", as_of="2024-07-15 00:00") == (0, 1)
    # Asked on 26 June instead, before its due date: waiting at 30 June, on time for June ...
    s.dossier("june_2", received="2024-06-24 08:00", due="2024-06-27 17:00")
    s.supplement_requested("june_2", "2024-06-26 08:00")
    s.supplement_received("june_2", "2024-07-05 08:00")
    s.processed("june_2", "2024-07-08 08:00")
    assert s.counts("dossiers_on_time", period="2024-06", as_of="2024-07-15 00:00") == (1, 2)
    # ... and late for the year to date: 9 days off move its due date to 6 July 17:00.
    assert s.counts("dossiers_on_time", period="2024", as_of="2024-07-15 00:00") == (0, 2)


def test_2_1_a_due_date_re_set_for_a_supplement_holds_from_the_answer_on():
    s = Scenario()
    s.dossier("reset")
    s.supplement_requested("reset", "2024-05-08 08:00")
    s.supplement_received("reset", "2024-05-13 08:00", new_due="2024-05-17 17:00")
    s.processed("reset", "2024-05-17 09:00")
    # waiting on the 12th: the clock stopped on the 8th, on time
    assert s.counts("dossiers_on_time", as_of="2024-05-12 12:00") == (1, 1)
    # the new due date holds the pause already: not taken off again, and still on time
    assert s.counts("dossiers_on_time") == (1, 1)
    # A re-set due date that the end missed: the pause is not added on top of it.
    s.dossier("reset_missed")
    s.supplement_requested("reset_missed", "2024-05-07 08:00")
    s.supplement_received("reset_missed", "2024-05-08 08:00", new_due="2024-05-13 17:00")
    s.processed("reset_missed", "2024-05-14 09:00")
    assert s.counts("dossiers_on_time") == (1, 2)


# --- Facts judged at a cutoff equal the fold of the events that occurred by it ------------------


@pytest.mark.parametrize(
    "cutoff",
    [
        datetime(2024, 4, 9, 13, 17, tzinfo=VN_TZ),
        datetime(2024, 4, 22, 9, 41, tzinfo=VN_TZ),
        datetime(2024, 5, 6, 16, 5, tzinfo=VN_TZ),
        datetime(2024, 5, 20, 10, 0, tzinfo=VN_TZ),
    ],
)
def test_facts_judged_at_a_cutoff_equal_the_fold_of_the_events_by_then(cutoff):
    """The simulator's dossiers (late second announcements, due dates re-set for a supplement,
    requests never answered, answers after the end …): every measure of every period counted
    from today's facts at the cutoff equals the same counted from the events by then."""
    s = Scenario()
    events = generate_events(s.tree, SMALL)
    everything = Ledger()
    for event in events:
        everything.add(event)
    today = fact_tables(everything, WorkingCalendar(), s.profile)
    checked = 0
    for unit in (s.tree.root.code, COMMUNE):
        for label in ("2024-04", "2024-05", "2024-Q2"):
            # a past period is judged at its end: the fold of the events by then
            scope = scope_of(s.tree, unit, parse_period(label), cutoff)
            then = fact_tables(ledger_at(events, scope.cutoff), WorkingCalendar(), s.profile)
            expected = reference_tallies(s.profile, then, scope)
            assert reference_tallies(s.profile, today, scope) == expected, (unit, label)
            checked += sum(1 for tally in expected.values() if tally.denominator)
    assert checked > 0
