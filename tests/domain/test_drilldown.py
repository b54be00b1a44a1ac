"""Why a dossier cost points: the reasons of 2.1 and 5.4, worked by hand; and early warning."""

from __future__ import annotations

from datetime import timedelta

from tests.domain.builders import COMMUNE, PROVINCE, Scenario, d, t
from tests.domain.test_indicators import announce, on_time_scenario, online_catalogue
from tthc.calendar import WorkingCalendar
from tthc.drilldown import Outcome, listing, missing_components_vi
from tthc.early_warning import projected, turning_late
from tthc.events import (
    CertifiedCopyOffered,
    DossierRated,
    ProcedureComponent,
    ProcedurePublished,
)
from tthc.measures import MEASURES
from tthc.periods import parse_period
from tthc.reference import fact_tables, reference_tallies, scope_of
from tthc.state import Ledger


def facts_of(s: Scenario):
    ledger = Ledger()
    for event in s.events:
        ledger.add(event)
    return fact_tables(ledger, WorkingCalendar(), s.profile)


def reasons(
    s: Scenario,
    measure: str,
    outcome: Outcome = Outcome.lost,
    as_of: str = "2024-07-01 00:00",
    unit: str = COMMUNE,
):
    scope = scope_of(s.tree, unit, parse_period("2024-05"), t(as_of))
    m = MEASURES[measure]
    rows = listing(m, facts_of(s), scope, outcome)
    return {row["code"]: (reason.code if reason else None) for row, reason in rows}


def test_each_late_dossier_of_2_1_has_the_step_that_made_it_late():
    s = on_time_scenario()
    assert reasons(s, "dossiers_on_time") == {
        "late": "ended_after_due",
        "asked_twice": "second_supplement_request",
        "open": "open_past_due",
        "reset": "ended_after_due",
        "limit_missed": "ended_after_due",
    }


def test_a_listing_is_worst_first_the_longest_past_due_first_then_by_code():
    s = Scenario()
    s.dossier("b_late_3_days")  # all due Fri 10 May 17:00
    s.processed("b_late_3_days", "2024-05-13 17:00")
    s.dossier("a_late_3_days")
    s.processed("a_late_3_days", "2024-05-13 17:00")
    s.dossier("still_open")  # 51 days past due at the cutoff, 1 July
    s.dossier("late_1_day")
    s.processed("late_1_day", "2024-05-11 17:00")
    s.dossier("a_day_early")
    s.processed("a_day_early", "2024-05-09 17:00")
    s.dossier("no_due", due=None)
    s.processed("no_due", "2024-06-20 17:00")
    assert list(reasons(s, "dossiers_on_time", Outcome.counted)) == [
        "still_open",
        "a_late_3_days",  # ties by code, so that pages split the list the same way each time
        "b_late_3_days",
        "late_1_day",
        "a_day_early",
        "no_due",  # no due date: never late, last
    ]


def test_lost_and_good_split_the_denominator_exactly():
    s = on_time_scenario()
    lost = reasons(s, "dossiers_on_time", Outcome.lost)
    good = reasons(s, "dossiers_on_time", Outcome.good)
    counted = reasons(s, "dossiers_on_time", Outcome.counted)
    assert set(lost) | set(good) == set(counted) and not set(lost) & set(good)
    assert all(reason is None for reason in good.values())
    assert s.counts("dossiers_on_time") == (len(good), len(counted))


def test_a_supplement_asked_for_after_the_due_date_is_named():
    s = Scenario()
    s.dossier("asked_late")  # due Fri 10 May 17:00
    s.supplement_requested("asked_late", "2024-05-13 09:00")
    assert reasons(s, "dossiers_on_time") == {"asked_late": "supplement_requested_after_due"}


def test_5_4_names_dissatisfaction_before_lateness():
    s = Scenario()
    s.dossier("unhappy")
    s.processed("unhappy", "2024-05-08 09:00")
    s.add("unhappy", DossierRated(at=t("2024-05-08 10:00"), satisfied=False))
    s.dossier("late_happy")
    s.processed("late_happy", "2024-05-13 09:00")
    s.dossier("fine")
    s.processed("fine", "2024-05-07 09:00")
    assert reasons(s, "dossier_satisfaction") == {"unhappy": "dissatisfied", "late_happy": "late"}


def test_early_warning_lists_open_dossiers_due_within_the_horizon_soonest_first():
    s = Scenario()
    s.dossier("due_tonight", due="2024-05-10 17:00")
    s.dossier("due_monday", due="2024-05-13 17:00")
    s.dossier("due_later", due="2024-05-24 17:00")
    s.dossier("already_late", due="2024-05-09 17:00")
    s.dossier("done", due="2024-05-10 17:00")
    s.processed("done", "2024-05-08 09:00")
    s.dossier("paused", due="2024-05-10 17:00")
    s.supplement_requested("paused", "2024-05-08 09:00")
    rows = facts_of(s).dossier
    now = t("2024-05-10 09:00")
    units = s.tree.subtree(COMMUNE)
    found = [r["code"] for r in turning_late(rows, units, now, timedelta(days=4))]
    assert found == ["due_tonight", "due_monday"]
    assert [r["code"] for r in turning_late(rows, units, now, timedelta(hours=4))] == []


def test_the_projected_score_judges_open_dossiers_at_the_end_of_the_period():
    s = Scenario()
    s.dossier("open", due="2024-05-20 17:00")
    s.dossier("done")
    s.processed("done", "2024-05-08 09:00")
    facts = facts_of(s)
    scope = scope_of(s.tree, COMMUNE, parse_period("2024-05"), t("2024-05-10 09:00"))
    now = reference_tallies(s.profile, facts, scope)["dossiers_on_time"]
    end = reference_tallies(s.profile, facts, projected(scope))["dossiers_on_time"]
    assert (now.numerator, now.denominator) == (2, 2)
    assert (end.numerator, end.denominator) == (1, 2)


def test_procedures_that_cost_1_2_say_whether_they_came_late_or_not_at_all():
    s = Scenario()
    for code in ("A", "B", "C"):  # decided Thu 2 May: due Wed 8 May
        announce(s, code, "2024-05-02", "2024-06-30")
    s.add("A", ProcedurePublished(published_on=d("2024-05-08"), components=[]))
    s.add("B", ProcedurePublished(published_on=d("2024-05-09"), components=[]))
    found = reasons(s, "procedures_published_on_time", as_of="2024-05-20 12:00", unit=PROVINCE)
    assert found == {"B": "published_late", "C": "not_published_overdue"}


def online_scenario() -> Scenario:
    """The online catalogue: C1 and C2 with an online dossier, C3 with one on paper."""
    s = Scenario()
    online_catalogue(s)
    s.dossier("a", procedure="C1", online=True)
    s.dossier("b", procedure="C2", online=True)
    s.dossier("c", procedure="C3", online=False)
    return s


def test_procedures_that_cost_3_1_and_3_2_have_no_online_service_or_no_online_dossier():
    s = online_scenario()
    assert reasons(s, "procedures_online") == {"C5": "no_online_service"}
    assert reasons(s, "online_services_used") == {
        "C3": "no_online_dossier",
        "C4": "no_online_dossier",
    }
    assert reasons(s, "fee_procedures_payment_integrated") == {"C1": "payment_not_integrated"}


def test_procedures_are_listed_failing_the_most_indicators_first_then_by_code():
    s = online_scenario()
    # failed by each (no procedure uses population data: 3.5 fails them all):
    # C1 payment not integrated, no online payment, 3.5;  C2 no online payment, 3.5;
    # C3 no online dossier, no online payment, 3.5;  C4 no online dossier, 3.5;
    # C5 no online service, no online payment, 3.5
    assert list(reasons(s, "procedures_online", Outcome.counted)) == ["C1", "C3", "C5", "C2", "C4"]
    assert list(reasons(s, "online_services_used")) == ["C3", "C4"]


def test_communes_that_cost_4_6_did_not_offer_certified_copies_or_issued_none():
    s = Scenario()
    s.add(COMMUNE, CertifiedCopyOffered(unit=COMMUNE, since=d("2024-05-02")))
    found = reasons(s, "communes_certified_copies", unit=COMMUNE)
    assert found == {COMMUNE: "no_certified_copy_issued"}
    assert reasons(s, "communes_certified_copies", unit="25210") == {
        "25210": "certified_copies_not_offered"
    }


def test_a_procedure_published_without_some_components_says_which():
    s = Scenario()
    everything = list(ProcedureComponent)
    for code in ("A", "C"):
        announce(s, code, "2024-03-01", "2024-04-01")
    s.add("A", ProcedurePublished(published_on=d("2024-03-05"), components=everything))
    lacking = {ProcedureComponent.fees, ProcedureComponent.legal_basis}
    partial = [c for c in everything if c not in lacking]
    s.add("C", ProcedurePublished(published_on=d("2024-03-05"), components=partial))
    assert reasons(s, "procedures_published_in_full", unit=PROVINCE) == {"C": "components_missing"}
    facts = {row["code"]: row for row in s.facts().procedure}
    assert facts["C"]["missing_components"] == ["fees", "legal_basis"]
    assert facts["A"]["missing_components"] == []
    assert missing_components_vi(facts["C"]["missing_components"]) == (
        "Thiếu: Phí, lệ phí; Căn cứ pháp lý"
    )
