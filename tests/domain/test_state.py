"""State folds are deterministic, idempotent and order-tolerant."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.domain.builders import t
from tthc.events import (
    Channel,
    DossierDueDateChanged,
    DossierFeePaid,
    DossierProcessed,
    DossierRated,
    DossierReceived,
    DossierResultReturned,
    DossierStatus,
    DossierSupplementReceived,
    DossierSupplementRequested,
    Entity,
    Event,
    FeedbackAnswered,
    FeedbackReceived,
    FeedbackTransferred,
    make_event,
)
from tthc.state import DossierState, FeedbackState, History, Ledger, fold


def dossier_events() -> list[Event]:
    start = t("2024-05-06 08:00")
    payloads = [
        DossierReceived(
            unit="25264",
            procedure="P",
            channel=Channel.online,
            received_at=start,
            due_at=start + timedelta(days=4),
        ),
        DossierSupplementRequested(at=start + timedelta(days=1)),
        DossierSupplementReceived(at=start + timedelta(days=2)),
        DossierDueDateChanged(
            at=start + timedelta(days=2, hours=1), due_at=start + timedelta(days=9)
        ),
        DossierFeePaid(at=start + timedelta(hours=1), amount=20_000, online=True),
        DossierFeePaid(at=start + timedelta(hours=2), amount=5_000, online=False),
        DossierProcessed(at=start + timedelta(days=3)),
        DossierResultReturned(at=start + timedelta(days=3, hours=2), electronic=True),
        DossierRated(at=start + timedelta(days=4), satisfied=False),
        DossierRated(at=start + timedelta(days=5), satisfied=True),
    ]
    return [make_event(p, subject="D1", id=f"e{i}", source="test") for i, p in enumerate(payloads)]


def test_the_fold_follows_the_dossier_through_its_life():
    state = fold(Entity.dossier, "D1", History.of(dossier_events()))
    assert isinstance(state, DossierState)
    assert state.status is DossierStatus.result_returned
    assert [s for _, s in state.status_history] == [
        DossierStatus.received,
        DossierStatus.supplement_requested,
        DossierStatus.processed,
        DossierStatus.result_returned,
    ]
    assert state.due_at == t("2024-05-15 08:00")  # the later correction wins
    assert state.paused_seconds == 86_400 and state.paused_since is None
    assert (state.paid_amount, state.paid_online) == (25_000, True)
    assert state.ended_at == t("2024-05-09 08:00")
    assert state.satisfied is True  # the latest rating


def test_an_unanswered_supplement_request_leaves_the_clock_stopped():
    events = dossier_events()[:2]
    state = fold(Entity.dossier, "D1", History.of(events))
    assert state.paused_since == t("2024-05-07 08:00") and state.paused_seconds == 0


@settings(max_examples=60, deadline=None)
@given(st.permutations(dossier_events()), st.lists(st.integers(0, 9), max_size=6))
def test_any_arrival_order_and_any_resend_give_the_same_state(order, resent):
    expected = fold(Entity.dossier, "D1", History.of(dossier_events()))
    events = dossier_events()
    arrivals = list(order) + [events[i] for i in resent]
    assert fold(Entity.dossier, "D1", History.of(arrivals)) == expected


def test_a_resend_leaves_the_history_unchanged():
    event = dossier_events()[0]
    history = History.of([event])
    assert history.add(event) is history
    ledger = Ledger()
    assert ledger.add(event) is True
    assert ledger.add(event) is False


@settings(max_examples=30, deadline=None)
@given(st.permutations([0, 1, 2]))
def test_feedback_goes_to_the_unit_it_was_last_sent_to(order):
    payloads = [
        FeedbackReceived(unit="75.STP", received_at=t("2024-05-06 08:00")),
        FeedbackTransferred(at=t("2024-05-06 09:00"), to_unit="25264"),
        FeedbackAnswered(at=t("2024-05-10 09:00")),
    ]
    events = [make_event(p, subject="F", id=str(i), source="s") for i, p in enumerate(payloads)]
    state = fold(Entity.feedback, "F", History.of([events[i] for i in order]))
    assert isinstance(state, FeedbackState)
    assert state.unit == "25264" and state.answered_at == t("2024-05-10 09:00")


def _same_moment_events() -> list[Event]:
    """Events of one dossier at the same instant: only type, source and id order them."""
    at = t("2024-05-06 08:00")
    payloads = [
        (DossierFeePaid(at=at, amount=1, online=False), "b", "2"),
        (DossierFeePaid(at=at, amount=2, online=False), "b", "1"),
        (DossierFeePaid(at=at, amount=3, online=False), "a", "9"),
        (DossierProcessed(at=at), "a", "0"),
    ]
    return [make_event(p, subject="D1", id=i, source=s) for p, s, i in payloads]


@settings(max_examples=30, deadline=None)
@given(st.permutations(_same_moment_events()))
def test_events_at_the_same_instant_keep_one_order_whatever_the_arrival(arrivals):
    history = History.of(arrivals)
    assert [(e.type.split(".")[3], e.source, e.id) for e in history.events] == [
        ("fee_paid", "a", "9"),
        ("fee_paid", "b", "1"),
        ("fee_paid", "b", "2"),
        ("processed", "a", "0"),
    ]


def test_a_resend_with_other_content_is_still_the_same_event():
    history = History.of(dossier_events())
    rating = DossierRated(at=t("2030-01-01 08:00"), satisfied=True)
    changed = make_event(rating, subject="D1", id="e0", source="test")  # e0 is the reception
    assert history.placed(changed) == (history, None)
    later = make_event(rating, subject="D1", id="new", source="test")
    after, at = history.placed(later)
    assert at == len(history.events) and after.events[at] is later
    assert after.add(later) is after


def test_apply_leaves_the_state_it_was_given_as_it_was():
    events = sorted(dossier_events(), key=lambda e: e.occurred_at)
    states = [DossierState("D1")]
    for event in events:
        states.append(states[-1].apply(event))
    assert states[0] == DossierState("D1")
    assert states[1].status is DossierStatus.received and states[1].supplements == ()
    assert states[-1] == fold(Entity.dossier, "D1", History.of(events))
    assert len({id(s) for s in states}) == len(states)
