"""Whose dossier a key may write about, worked by hand on small histories."""

from __future__ import annotations

from tests.domain.builders import COMMUNE, OTHER_COMMUNE, PROVINCE, t
from tthc.events import (
    Channel,
    DossierProcessed,
    DossierReceived,
    Entity,
    Event,
    FeedbackAnswered,
    FeedbackReceived,
    FeedbackTransferred,
    Payload,
    make_event,
)
from tthc.ownership import Entry, Refusal, Writer, decide, resend_conflict

A, B = COMMUNE, OTHER_COMMUNE
KEY_A = Writer("a", frozenset({A}))
KEY_B = Writer("b", frozenset({B}))
PROVINCE_KEY = Writer("province", frozenset({PROVINCE, A, B}))


def event(payload: Payload, id: str, subject: str = "D1") -> Event:
    return make_event(payload, subject=subject, id=id, source="mot-cua")


def received(unit: str, id: str = "r", at: str = "2024-05-06 08:00") -> Event:
    return event(
        DossierReceived(unit=unit, procedure="P1", channel=Channel.online, received_at=t(at)),
        id,
    )


def processed(id: str = "p", at: str = "2024-05-07 08:00") -> Event:
    return event(DossierProcessed(at=t(at)), id)


def reasons(entries: list[Entry]) -> list[tuple[str, Refusal]]:
    return [(r.entry.event.id, r.reason) for r in decide(Entity.dossier, entries).refused]


def test_the_first_receipt_makes_the_owner_and_other_keys_cannot_follow_up() -> None:
    entries = [Entry(received(B), KEY_B, 1), Entry(processed(), KEY_A, 2)]
    decision = decide(Entity.dossier, entries)
    assert decision.owner == B
    assert [e.id for e in decision.accepted] == ["r"]
    assert reasons(entries) == [("p", Refusal.not_owner)]


def test_a_second_receipt_by_another_key_does_not_move_the_dossier() -> None:
    # Back-dated: earlier in event time than the owner's, later in arrival.
    entries = [
        Entry(received(A, "r-a", at="2024-05-01 08:00"), KEY_A, 9),
        Entry(received(B, "r-b"), KEY_B, 3),
    ]
    decision = decide(Entity.dossier, entries)
    assert decision.owner == B
    assert reasons(entries) == [("r-a", Refusal.not_owner)]


def test_a_key_covering_both_units_moves_the_dossier() -> None:
    entries = [Entry(received(B), KEY_B, 1), Entry(received(A, "move"), PROVINCE_KEY, 2)]
    decision = decide(Entity.dossier, entries)
    assert decision.owner == A and decision.all_accepted


def test_an_event_that_came_before_the_receipt_waits_for_the_owner() -> None:
    early = Entry(processed(), KEY_A, 1)
    assert decide(Entity.dossier, [early]).all_accepted  # nothing is owned yet
    entries = [early, Entry(received(B), KEY_B, 2)]
    assert reasons(entries) == [("p", Refusal.not_owner)]
    assert decide(Entity.dossier, [Entry(processed(), KEY_B, 1), *entries[1:]]).all_accepted


def test_events_no_ingest_stamped_are_accepted() -> None:
    entries = [Entry(received(B), KEY_B, 1), Entry(processed(), None)]
    assert decide(Entity.dossier, entries).all_accepted


def test_a_transfer_needs_the_destination_in_scope_and_moves_the_owner() -> None:
    def fb(payload: Payload, id: str) -> Event:
        return event(payload, id, subject="F1")

    got = fb(FeedbackReceived(unit=B, received_at=t("2024-05-06 08:00")), "r")
    away = fb(FeedbackTransferred(at=t("2024-05-06 09:00"), to_unit=A), "x")
    answer = fb(FeedbackAnswered(at=t("2024-05-07 09:00")), "ans")
    refused = decide(Entity.feedback, [Entry(got, KEY_B, 1), Entry(away, KEY_B, 2)]).refused
    assert [r.reason for r in refused] == [Refusal.destination_out_of_scope]
    moved = [Entry(got, KEY_B, 1), Entry(away, PROVINCE_KEY, 2), Entry(answer, KEY_A, 3)]
    decision = decide(Entity.feedback, moved)
    assert decision.owner == A and decision.all_accepted


def test_a_resend_that_differs_or_comes_from_another_key_is_refused() -> None:
    first = Entry(processed(at="2024-05-07 08:00"), KEY_B, 1)
    assert resend_conflict(first, Entry(processed(at="2024-05-07 08:00"), KEY_B, 5)) is None
    differs = resend_conflict(first, Entry(processed(at="2024-05-09 08:00"), KEY_B, 5))
    assert differs is not None and differs.reason is Refusal.conflicting_resend
    claimed = resend_conflict(first, Entry(processed(at="2024-05-07 08:00"), KEY_A, 5))
    assert claimed is not None and claimed.reason is Refusal.claimed_by_another_key


def test_procedures_are_not_judged_here() -> None:
    assert decide(Entity.procedure, []).owner is None
