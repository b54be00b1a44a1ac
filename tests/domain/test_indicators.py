"""Every indicator worked out by hand from its definition (INDICATORS.md), edge cases included.

Times are Vietnam time. In May 2024, 1 May is a holiday, Saturday 4 May is a working day (in
exchange for 29 April) and the other weekends are 5, 11–12, 18–19 May.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.domain.builders import (
    COMMUNE,
    DEPARTMENT,
    OTHER_COMMUNE,
    PROVINCE,
    Scenario,
    d,
    t,
)
from tthc.events import (
    CertifiedCopyIssued,
    CertifiedCopyOffered,
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
    DossierWithdrawn,
    FeedbackAccepted,
    FeedbackAnswered,
    FeedbackClassified,
    FeedbackComplainedAgain,
    FeedbackRated,
    FeedbackReceived,
    FeedbackRefused,
    OnlineService,
    ProcedureAnnounced,
    ProcedureComponent,
    ProcedurePublished,
)
from tthc.units import UnitLevel

# --- Group 1: publicity ---


def announce(s: Scenario, code: str, decided: str, effective: str, number: str = "1") -> None:
    s.add(
        code,
        ProcedureAnnounced(
            unit=PROVINCE,
            decision_number=f"{number}/QĐ-UBND",
            decided_on=d(decided),
            effective_on=d(effective),
        ),
    )


def test_1_1_announced_on_time_counts_a_procedure_once_and_late_if_any_decision_was():
    s = Scenario()
    # 5 working days before Mon 20 May is Mon 13 May.
    announce(s, "A", "2024-05-02", "2024-05-20")  # on time
    announce(s, "B", "2024-05-14", "2024-05-20")  # late by one day
    announce(s, "C", "2024-05-03", "2024-05-20", "1")  # on time ...
    announce(s, "C", "2024-05-15", "2024-05-20", "2")  # ... but a second decision was late
    announce(s, "D", "2024-05-13", "2024-05-20")  # exactly on the limit: on time
    announce(s, "E", "2024-04-10", "2024-05-20")  # announced in April: not in May
    assert s.counts("procedures_announced_on_time", unit=PROVINCE) == (2, 4)
    # A commune is not assessed on 1.1; its subtree announces nothing.
    assert s.counts("procedures_announced_on_time", unit=COMMUNE) == (0, 0)
    assert s.scorecard(COMMUNE).indicator("1.1").applicable is False


def test_1_1_a_late_decision_counts_from_its_day_on():
    s = Scenario()
    announce(s, "F", "2024-05-02", "2024-05-20", "1")  # on time, in May
    announce(s, "F", "2024-06-14", "2024-06-17", "2")  # late, in June
    # May is judged at its end: the June decision was not made yet.
    assert s.counts("procedures_announced_on_time", unit=PROVINCE, period="2024-05") == (1, 1)
    # The year so far, judged on 1 July, knows it: F is late.
    assert s.counts("procedures_announced_on_time", unit=PROVINCE, period="2024") == (0, 1)


def test_1_2_published_within_five_working_days_of_the_decision():
    s = Scenario()
    # Decided Thu 2 May; 5 working days later (3, 4, 6, 7, 8 May) is Wed 8 May.
    for code in ("A", "B", "C"):
        announce(s, code, "2024-05-02", "2024-06-30")
    s.add("A", ProcedurePublished(published_on=d("2024-05-08"), components=[]))
    s.add("B", ProcedurePublished(published_on=d("2024-05-09"), components=[]))
    # On 7 May nothing has been published yet and no deadline has passed.
    assert s.counts("procedures_published_on_time", unit=PROVINCE, as_of="2024-05-07 12:00") == (
        3,
        3,
    )
    # By 20 May: A was on time, B a day late, C is still missing.
    assert s.counts("procedures_published_on_time", unit=PROVINCE, as_of="2024-05-20 12:00") == (
        1,
        3,
    )


def test_1_2_counts_a_procedure_in_the_period_its_publication_falls_due():
    s = Scenario()
    # Decided Wed 29 May: 5 working days later (30, 31 May, 3, 4, 5 June) is Wed 5 June.
    announce(s, "LATE_MAY", "2024-05-29", "2024-07-01")
    # Decided Thu 2 May: due Wed 8 May, published on the 6th.
    announce(s, "EARLY_MAY", "2024-05-02", "2024-07-01")
    s.add("EARLY_MAY", ProcedurePublished(published_on=d("2024-05-06"), components=[]))
    # May is judged at its end: only the procedure due in May, on time.
    assert s.counts(
        "procedures_published_on_time", unit=PROVINCE, period="2024-05", as_of="2024-07-01 12:00"
    ) == (1, 1)
    # June: the late-May decision, never published, overdue since 5 June.
    assert s.counts(
        "procedures_published_on_time", unit=PROVINCE, period="2024-06", as_of="2024-07-01 12:00"
    ) == (0, 1)


def test_1_3_published_in_full_needs_all_seven_components():
    s = Scenario()
    everything = list(ProcedureComponent)
    for code in ("A", "B", "C", "D"):
        announce(s, code, "2024-03-01", "2024-04-01")
    s.add("A", ProcedurePublished(published_on=d("2024-03-05"), components=everything))
    s.add("B", ProcedurePublished(published_on=d("2024-03-05"), components=everything))
    missing_fees = [c for c in everything if c is not ProcedureComponent.fees]
    s.add("C", ProcedurePublished(published_on=d("2024-03-05"), components=missing_fees))
    # D is not published: not counted. The state is current, whatever the period.
    assert s.counts("procedures_published_in_full", unit=PROVINCE) == (2, 3)


def test_1_4_synced_dossiers_exclude_those_refused_at_intake():
    s = Scenario()
    for code in ("D1", "D2", "D3", "D4", "R"):
        s.dossier(code)
    for code in ("D1", "D2", "D3", "R"):
        s.add(code, DossierSyncedToPortal(at=t("2024-05-06 08:05")))
    s.add("R", DossierRefused(at=t("2024-05-06 09:00")))
    assert s.counts("dossiers_synced") == (3, 4)


# --- Group 2: progress ---


def on_time_scenario() -> Scenario:
    s = Scenario()
    s.procedure("P3", processing_working_days=3)
    # Received Mon 6 May 08:00, due Fri 10 May 17:00 unless said otherwise.
    s.dossier("early")
    s.processed("early", "2024-05-09 10:00")
    s.dossier("late")
    s.processed("late", "2024-05-13 09:00")
    # The applicant took 2 days to supplement: the due date moves to Sun 12 May 17:00.
    s.dossier("supplemented")
    s.supplement_requested("supplemented", "2024-05-07 08:00")
    s.supplement_received("supplemented", "2024-05-09 08:00")
    s.processed("supplemented", "2024-05-12 10:00")
    # A second supplement request makes a dossier late, however early it ends.
    s.dossier("asked_twice")
    s.supplement_requested("asked_twice", "2024-05-06 10:00")
    s.supplement_requested("asked_twice", "2024-05-06 11:00")
    s.supplement_received("asked_twice", "2024-05-06 12:00")
    s.processed("asked_twice", "2024-05-07 09:00")
    # Withdrawn after intake, before its due date: counted, on time.
    s.dossier("withdrawn")
    s.add("withdrawn", DossierWithdrawn(at=t("2024-05-08 09:00")))
    # Refused at intake: not counted at all.
    s.dossier("refused")
    s.add("refused", DossierRefused(at=t("2024-05-06 09:00")))
    # Still open, due 20 May: late at the end of May.
    s.dossier("open", due="2024-05-20 17:00")
    # Due date extended by a later event: judged against the new one.
    s.dossier("extended")
    s.add(
        "extended",
        DossierDueDateChanged(at=t("2024-05-09 08:00"), due_at=t("2024-05-15 17:00")),
    )
    s.processed("extended", "2024-05-14 09:00")
    # Waiting for the applicant since before the due date: the clock has stopped.
    s.dossier("waiting")
    s.supplement_requested("waiting", "2024-05-09 08:00")
    # The source re-set the due date for the supplement (to Tue 14 May): the 48 hours
    # are not taken off a second time, so ending Wed 15 May is late.
    s.dossier("reset")
    s.supplement_requested("reset", "2024-05-07 08:00")
    s.supplement_received("reset", "2024-05-09 08:00", new_due="2024-05-14 17:00")
    s.processed("reset", "2024-05-15 10:00")
    # No due date: the procedure's 3 working days from Fri 10 May end on Wed 15 May.
    s.dossier("limit_kept", received="2024-05-10 09:00", due=None, procedure="P3")
    s.processed("limit_kept", "2024-05-15 16:00")
    s.dossier("limit_missed", received="2024-05-10 09:00", due=None, procedure="P3")
    s.processed("limit_missed", "2024-05-16 08:00")
    return s


def test_2_1_on_time_with_supplements_withdrawals_refusals_extensions_and_open_dossiers():
    s = on_time_scenario()
    # on time: early, supplemented, withdrawn, extended, waiting, limit_kept
    assert s.counts("dossiers_on_time") == (6, 11)


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_2_1_any_arrival_order_with_resends_gives_the_same_counts(random):
    s = on_time_scenario()
    expected = s.tallies()
    arrivals = s.events + random.sample(s.events, k=5)  # some sent twice
    random.shuffle(arrivals)
    s.events = arrivals
    assert s.tallies() == expected


def test_2_1_an_open_dossier_turns_late_the_moment_its_due_date_passes():
    s = Scenario()
    s.dossier("open", due="2024-05-20 17:00")
    assert s.counts("dossiers_on_time", as_of="2024-05-20 17:00") == (1, 1)
    assert s.counts("dossiers_on_time", as_of="2024-05-20 17:00:01") == (0, 1)
    # A past period judges it at the period's end, not now.
    s.dossier("open_june", received="2024-06-03 08:00", due="2024-06-28 17:00")
    assert s.counts("dossiers_on_time", period="2024-06", as_of="2024-07-15 00:00") == (0, 1)
    assert s.counts("dossiers_on_time", period="2024-06", as_of="2024-06-20 00:00") == (1, 1)


def test_2_1_a_dossier_belongs_to_the_period_of_its_receipt():
    s = Scenario()
    s.dossier("april", received="2024-04-26 08:00", due="2024-05-03 17:00")
    s.processed("april", "2024-05-06 09:00")  # late, but it is April's
    s.dossier("may")
    s.processed("may", "2024-05-07 09:00")
    assert s.counts("dossiers_on_time") == (1, 1)
    # April is judged at its end, when the April dossier was open and not yet due ...
    assert s.counts("dossiers_on_time", period="2024-04") == (1, 1)
    # ... and the quarter at its end, when it had finished late.
    assert s.counts("dossiers_on_time", period="2024-Q2") == (1, 2)


def test_2_2_average_processing_time_leaves_out_supplement_time_and_unfinished_dossiers():
    s = Scenario()
    s.dossier("two_days")
    s.processed("two_days", "2024-05-08 08:00")
    s.dossier("five_days_net")  # 7 days elapsed, 2 of them waiting for the applicant
    s.supplement_requested("five_days_net", "2024-05-07 08:00")
    s.supplement_received("five_days_net", "2024-05-09 08:00")
    s.processed("five_days_net", "2024-05-13 08:00")
    s.dossier("open")
    s.dossier("withdrawn")
    s.add("withdrawn", DossierWithdrawn(at=t("2024-05-07 08:00")))
    card = s.scorecard()
    part = card.indicator("2.2").parts[0]
    assert (part.denominator, part.rate) == (2, pytest.approx(3.5))
    assert card.indicator("2.2").points == 0 and card.indicator("2.2").lost == 0


def test_2_2_takes_off_supplement_time_only_up_to_the_dossier_s_end():
    s = Scenario()
    # Received Mon 6 May 08:00, asked for a supplement on the 7th, stopped on the 8th: two days.
    # The applicant answers on the 20th, after the end: only the day to the end comes off.
    s.dossier("stopped")
    s.supplement_requested("stopped", "2024-05-07 08:00")
    s.add("stopped", DossierStopped(at=t("2024-05-08 08:00")))
    s.supplement_received("stopped", "2024-05-20 08:00")
    part = s.scorecard().indicator("2.2").parts[0]
    assert (part.denominator, part.rate) == (1, pytest.approx(1.0))  # not 2 − 13 = −11 days


def test_2_2_per_procedure_averages_each_procedure_s_own_dossiers():
    s = Scenario()
    for code, procedure, at in [
        ("a1", "A", "2024-05-08 08:00"),  # 2 days
        ("a2", "A", "2024-05-10 08:00"),  # 4 days
        ("b1", "B", "2024-05-11 08:00"),  # 5 days
    ]:
        s.dossier(code, procedure=procedure)
        s.processed(code, at)
    s.dossier("b_open", procedure="B")  # not finished: not in B's average
    s.dossier("c_open", procedure="C")  # no finished dossier: C is left out
    found = s.by_procedure("average_processing_days")
    days = {p: (t.numerator / t.denominator / 86_400, t.denominator) for p, t in found.items()}
    assert days == {"A": (3.0, 2), "B": (5.0, 1)}


def test_2_2_leaves_out_supplement_time_even_when_the_due_date_was_re_set_for_it():
    s = Scenario()
    # 7 days elapsed, 2 with the applicant; the source re-set the due date at the answer, so
    # 2.1 must not take the 2 days off again, but they are still not processing time.
    s.dossier("re_set")
    s.supplement_requested("re_set", "2024-05-07 08:00")
    s.supplement_received("re_set", "2024-05-09 08:00", new_due="2024-05-14 17:00")
    s.processed("re_set", "2024-05-13 08:00")
    part = s.scorecard().indicator("2.2").parts[0]
    assert (part.denominator, part.rate) == (1, pytest.approx(5.0))  # days, not 7


# --- Group 3: online services ---


def online_catalogue(s: Scenario) -> None:
    """Five commune procedures (four online) and a province one the commune does not count."""
    s.procedure("C1", online=OnlineService.full, full_online_eligible=True, fee_bearing=True)
    s.procedure("C2", online=OnlineService.partial, fee_bearing=True, payment_integrated=True)
    s.procedure("C3", online=OnlineService.partial, fee_bearing=True, payment_integrated=True)
    s.procedure("C4", online=OnlineService.full, full_online_eligible=True)
    s.procedure("C5", online=OnlineService.none, fee_bearing=True, payment_integrated=True)
    s.procedure("P1", level=UnitLevel.province, online=OnlineService.none)


def test_3_1_procedures_offered_online_full_points_from_80_percent():
    s = Scenario()
    online_catalogue(s)
    assert s.counts("procedures_online") == (4, 5)
    assert s.counts("procedures_online", unit=PROVINCE) == (4, 6)
    card = s.scorecard()
    assert card.indicator("3.1").points == pytest.approx(2.0)  # 80% earns the full 2
    assert s.scorecard(PROVINCE).indicator("3.1").points == pytest.approx(2 * (4 / 6) / 0.8)


def test_3_2_online_services_that_received_an_online_dossier_in_the_subtree_and_period():
    s = Scenario()
    online_catalogue(s)
    s.dossier("a", procedure="C1", online=True)
    s.dossier("b", procedure="C2", online=True)
    s.dossier("c", procedure="C3", online=False)  # not online: C3 had no online dossier
    s.dossier("d", procedure="C4", online=True, unit=OTHER_COMMUNE)  # another commune
    s.dossier("e", procedure="C4", online=True, received="2024-04-10 08:00")  # April
    assert s.counts("online_services_used") == (2, 4)
    assert s.counts("online_services_used", unit=PROVINCE) == (3, 4)


def test_3_3_online_dossiers_full_points_from_half():
    s = Scenario()
    for i in range(8):
        s.dossier(f"d{i}", online=i < 3)
    s.dossier("refused", online=True)
    s.add("refused", DossierRefused(at=t("2024-05-06 09:00")))
    assert s.counts("dossiers_online") == (3, 8)
    assert s.scorecard().indicator("3.3").points == pytest.approx(6 * 0.375 / 0.5)


def test_3_4_full_online_dossiers_of_eligible_procedures_is_monitored():
    s = Scenario()
    online_catalogue(s)
    s.dossier("a", procedure="C1", online=True)  # eligible, full online
    s.dossier("b", procedure="C1", online=False)  # eligible, in person
    s.dossier("c", procedure="C4", online=False)
    s.dossier("d", procedure="C4", online=False)
    s.dossier("e", procedure="C2", online=True)  # not eligible
    assert s.counts("dossiers_full_online", unit=PROVINCE) == (1, 4)
    assert s.scorecard(PROVINCE).indicator("3.4").points == 0


def test_3_5_fee_bearing_procedures_integrated_and_paid_online():
    s = Scenario()
    online_catalogue(s)
    s.dossier("a", procedure="C1", online=True)
    s.add("a", DossierFeePaid(at=t("2024-05-06 09:00"), amount=50_000, online=True))
    s.dossier("b", procedure="C2", online=True)
    s.add("b", DossierFeePaid(at=t("2024-05-06 09:00"), amount=50_000, online=True))
    s.dossier("c", procedure="C3")
    s.add("c", DossierFeePaid(at=t("2024-05-06 09:00"), amount=50_000, online=False))
    # (a) 3 of 4 fee-bearing procedures integrated: 0.75 of the 80% that earns full points
    assert s.counts("fee_procedures_payment_integrated", unit=PROVINCE) == (3, 4)
    # (b) 2 of 4 had an online payment in May
    assert s.counts("fee_procedures_paid_online", unit=PROVINCE) == (2, 4)
    card = s.scorecard(PROVINCE)
    assert card.indicator("3.5").points == pytest.approx(2 * 0.75 / 0.8 + 2 * 0.5)
    # A commune is scored on (b) only.
    commune = s.scorecard(COMMUNE).indicator("3.5")
    assert [p.applicable for p in commune.parts] == [False, True]
    assert commune.max_points == 2


def test_3_6_dossiers_paid_online_among_those_with_a_fee():
    s = Scenario()
    for code, online in (("a", True), ("b", True), ("c", True), ("d", False)):
        s.dossier(code)
        s.add(code, DossierFinancialObligationRequested(at=t("2024-05-06 09:00"), amount=30_000))
        s.add(code, DossierFeePaid(at=t("2024-05-06 10:00"), amount=30_000, online=online))
    s.dossier("free")
    s.dossier("unpaid")
    s.add("unpaid", DossierFinancialObligationRequested(at=t("2024-05-06 09:00"), amount=30_000))
    assert s.counts("dossiers_paid_online") == (3, 5)


# --- Group 4: digitization ---


def returned(s: Scenario, code: str, electronic: bool, pushed: bool = False) -> None:
    s.add(
        code,
        DossierResultReturned(
            at=t("2024-05-08 10:00"), electronic=electronic, pushed_to_data_store=pushed
        ),
    )


def test_4_1_electronic_results_among_finished_dossiers_of_procedures_with_a_result():
    s = Scenario()
    s.procedure("P")  # returns a result document
    s.procedure("NR", returns_result_document=False)
    for code, electronic in (("a", True), ("b", True), ("c", True), ("d", False)):
        s.dossier(code)
        returned(s, code, electronic)
    s.dossier("open")
    s.dossier("no_document", procedure="NR")
    returned(s, "no_document", False)
    assert s.counts("dossiers_electronic_result") == (3, 4)


def test_4_2_digitized_components_and_result():
    s = Scenario()
    s.procedure("P")  # returns a result document: it must be digitized too
    for code in ("a", "b", "c", "d"):
        s.dossier(code)
    s.add("a", DossierDigitized(at=t("2024-05-06 09:00"), digitized_components=2))
    s.add("b", DossierDigitized(at=t("2024-05-06 09:00"), digitized_components=2))
    returned(s, "b", electronic=True)
    s.add("c", DossierDigitized(at=t("2024-05-06 09:00"), digitized_components=2))
    returned(s, "c", electronic=False)  # its paper result was not digitized
    # d: nothing digitized
    assert s.counts("dossiers_digitized") == (2, 4)


def test_4_3_and_4_4_reuse_and_data_store():
    s = Scenario()
    for code in ("a", "b", "c", "d", "e"):
        s.dossier(code)
    s.add(
        "a", DossierDigitized(at=t("2024-05-06 09:00"), digitized_components=3, reused_components=1)
    )
    s.add(
        "b",
        DossierDigitized(at=t("2024-05-06 09:00"), digitized_components=3, data_store_components=1),
    )
    # A smaller later report does not undo the larger one.
    s.add("a", DossierDigitized(at=t("2024-05-06 10:00"), digitized_components=1))
    returned(s, "c", electronic=True, pushed=True)
    assert s.counts("dossiers_reusing_data") == (1, 5)
    assert s.counts("dossiers_data_store") == (2, 5)
    card = s.scorecard()
    assert card.indicator("4.3").points == pytest.approx(2 * 0.2 / 0.8)
    assert card.indicator("4.4").points == pytest.approx(4 * 0.4)


def test_4_5_population_data_procedures_and_dossiers_at_province_level_only():
    s = Scenario()
    s.procedure("I1", applicant_types=["individual"], uses_population_data=True)
    s.procedure("I2", applicant_types=["individual"], uses_population_data=False)
    s.procedure("O1", applicant_types=["organization"], uses_population_data=True)
    for code in ("a", "b", "c"):
        s.dossier(code)
    s.add("a", DossierIdentityVerified(at=t("2024-05-06 08:01"), method="vneid"))
    assert s.counts("individual_procedures_population_data", unit=PROVINCE) == (1, 2)
    assert s.counts("dossiers_population_data", unit=PROVINCE) == (1, 3)
    assert s.scorecard(PROVINCE).indicator("4.5").points == pytest.approx(2 * 0.5 + 2 / 3)
    assert s.scorecard(COMMUNE).indicator("4.5").applicable is False


def test_4_6_communes_offering_and_issuing_electronic_certified_copies():
    s = Scenario()
    for commune in (COMMUNE, OTHER_COMMUNE, "25210"):
        s.add(commune, CertifiedCopyOffered(unit=commune, since=d("2024-01-15")))
    s.add(COMMUNE, CertifiedCopyIssued(unit=COMMUNE, at=t("2024-05-10 10:00")))
    s.add(OTHER_COMMUNE, CertifiedCopyIssued(unit=OTHER_COMMUNE, at=t("2024-03-10 10:00")))
    # 25210 offers but never issued. The province has 95 communes and wards.
    assert s.counts("communes_certified_copies", unit=PROVINCE) == (2, 95)
    assert s.counts("communes_certified_copies", unit=COMMUNE) == (1, 1)
    assert s.counts("communes_certified_copies", unit="25210") == (0, 1)
    # Before the first copy was issued, the commune was not yet issuing.
    assert s.counts("communes_certified_copies", period="2024-03", unit=COMMUNE) == (0, 1)


# --- Group 5: satisfaction ---


def feedback(s: Scenario, code: str, received: str, unit: str = COMMUNE) -> None:
    s.add(code, FeedbackReceived(unit=unit, received_at=t(received)))


def test_5_x_feedback_deadlines_in_working_days_across_tet():
    s = Scenario()
    # Received Fri 2 Feb 2024: 2 working days to accept is Tue 6 Feb; 15 working days to
    # handle runs across Tết (8–14 Feb) to Fri 1 March.
    feedback(s, "kept", "2024-02-02 09:00")
    s.add("kept", FeedbackAccepted(at=t("2024-02-05 09:00")))
    s.add("kept", FeedbackAnswered(at=t("2024-03-01 16:00")))
    s.add("kept", FeedbackClassified(at=t("2024-02-05 09:00"), category="đất đai"))
    feedback(s, "missed", "2024-02-02 10:00")
    s.add("missed", FeedbackAccepted(at=t("2024-02-05 09:00")))
    s.add("missed", FeedbackAnswered(at=t("2024-03-04 08:00")))
    feedback(s, "slow_refusal", "2024-02-02 11:00")
    s.add("slow_refusal", FeedbackRefused(at=t("2024-02-07 09:00")))  # 3 working days
    feedback(s, "open", "2024-02-02 12:00")
    s.add("open", FeedbackAccepted(at=t("2024-02-06 09:00")))
    feedback(s, "unhappy", "2024-02-02 13:00")
    s.add("unhappy", FeedbackAccepted(at=t("2024-02-05 09:00")))
    s.add("unhappy", FeedbackAnswered(at=t("2024-02-20 09:00")))
    s.add("unhappy", FeedbackRated(at=t("2024-02-21 09:00"), satisfied=False))
    feedback(s, "again", "2024-02-02 14:00")
    s.add("again", FeedbackAccepted(at=t("2024-02-05 09:00")))
    s.add("again", FeedbackAnswered(at=t("2024-02-20 09:00")))
    s.add("again", FeedbackComplainedAgain(at=t("2024-02-25 09:00")))
    s.add("again", FeedbackClassified(at=t("2024-02-05 09:00"), category="đất đai"))

    during = {"period": "2024-02", "as_of": "2024-03-01 12:00"}
    assert s.counts("feedback_classified", **during) == (2, 6)
    # on time: kept (still open then), missed (still open then), open, unhappy, again
    assert s.counts("feedback_on_time", **during) == (5, 6)
    # Judged after the month, at its end (29 Feb): the open ones are still within deadline.
    assert s.counts("feedback_on_time", period="2024-02", as_of="2024-03-05 12:00") == (5, 6)
    # Judged over Q1, at 5 March: missed and open are now late.
    q1 = {"period": "2024-Q1", "as_of": "2024-03-05 12:00"}
    assert s.counts("feedback_on_time", **q1) == (3, 6)
    # satisfied: kept only (unhappy rated badly, again complained, the rest overdue)
    assert s.counts("feedback_satisfaction", **q1) == (1, 6)


def test_5_x_feedback_transferred_counts_for_the_unit_that_handles_it():
    s = Scenario()
    feedback(s, "f", "2024-05-06 09:00", unit=DEPARTMENT)
    from tthc.events import FeedbackTransferred

    s.add("f", FeedbackTransferred(at=t("2024-05-06 10:00"), to_unit=COMMUNE))
    assert s.counts("feedback_on_time", unit=COMMUNE)[1] == 1
    assert s.counts("feedback_on_time", unit=DEPARTMENT)[1] == 0


def test_5_2_and_5_3_full_points_when_a_unit_had_no_feedback():
    s = Scenario()
    s.dossier("a")
    card = s.scorecard()
    for code in ("5.2", "5.3"):
        indicator = card.indicator(code)
        assert indicator.parts[0].denominator == 0
        assert (indicator.points, indicator.max_points) == (6, 6)


def test_5_4_satisfaction_with_procedures_and_zero_when_no_dossiers():
    s = Scenario()
    for i in range(10):
        s.dossier(f"d{i}")
        s.processed(f"d{i}", "2024-05-08 10:00")
    s.add("d0", DossierRated(at=t("2024-05-08 11:00"), satisfied=False))
    s.add("d1", DossierRated(at=t("2024-05-08 11:00"), satisfied=True))
    s.add("d1", DossierRated(at=t("2024-05-09 11:00"), satisfied=False))  # the latest wins
    s.add("d2", DossierRated(at=t("2024-05-08 11:00"), satisfied=False))
    s.add("d2", DossierRated(at=t("2024-05-09 11:00"), satisfied=True))
    s.add("d3", DossierComplaintFiled(at=t("2024-05-09 11:00")))
    s.dossier("overdue", due="2024-05-07 17:00")
    s.processed("overdue", "2024-05-09 10:00")
    # d0 and d1 dissatisfied (latest rating), d3 complained, one overdue: 7 of 11
    assert s.counts("dossier_satisfaction") == (7, 11)
    assert s.scorecard().indicator("5.4").points == pytest.approx(6 * (7 / 11) / 0.9)

    empty = Scenario()
    indicator = empty.scorecard().indicator("5.4")
    assert (indicator.points, indicator.max_points) == (0, 6)


# --- Resends and arrival order ---


def test_the_same_event_twice_counts_once():
    s = Scenario()
    s.dossier("a")
    s.add("a", DossierFeePaid(at=t("2024-05-06 10:00"), amount=30_000, online=True), id="pay-1")
    s.add("a", DossierFeePaid(at=t("2024-05-06 10:00"), amount=30_000, online=True), id="pay-1")
    s.dossier("a")  # a fresh id for the same reception: state is unchanged
    assert s.counts("dossiers_paid_online") == (1, 1)
    assert s.counts("dossiers_synced") == (0, 1)
