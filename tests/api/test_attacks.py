"""A hostile integrator, through HTTP, on the real broker and the real worker (`tthc run`).

Commune B's one-stop-shop sends B's dossiers, feedback and services; a key of commune A (and
A's kiosk, bound to its source) then tries each way found to change B's numbers. Each test:
B's numerators, denominators and total are what they were, A's too, and the refusal is visible
with its reason (in the ingest's answer, or in `/v1/rejections` for the key that sent it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from services.auth import generate_key, hash_key
from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from tests.api.conftest import bearer
from tests.api.test_end_to_end import Stack, key_entry, running, wait_until
from tests.domain.builders import COMMUNE, OTHER_COMMUNE, PROVINCE
from tthc.calendar import VN_TZ
from tthc.events import (
    CertifiedCopyIssued,
    CertifiedCopyOffered,
    Channel,
    DossierDueDateChanged,
    DossierProcessed,
    DossierReceived,
    DossierRefused,
    DossierWithdrawn,
    FeedbackReceived,
    FeedbackTransferred,
    OnlineService,
    Payload,
    ProcedureAnnounced,
    ProcedureConfigured,
    make_event,
)
from tthc.units import UnitLevel

pytestmark = pytest.mark.kafka

A, B = COMMUNE, OTHER_COMMUNE
T0 = (datetime.now(VN_TZ) - timedelta(hours=1)).replace(microsecond=0)
PROCEDURE = "1.000001.000.00.00.H75"
SOURCE_B = "mot-cua-b"


def ago(days: float) -> datetime:
    return T0 - timedelta(days=days)


@dataclass
class Attack:
    stack: Stack
    kafka: str
    keys: dict[str, str]  # name → secret
    accepted: int = 0  # events the ingest put into Kafka so far
    ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 10**6)))

    def event(
        self, payload: Payload, subject: str, source: str, id: str | None = None
    ) -> dict[str, Any]:
        id = id or f"{subject}/{payload.fact}/{next(self.ids)}"
        return make_event(payload, subject=subject, id=id, source=source).to_cloudevent()

    def post(self, key: str, event: dict[str, Any], expect: int = 202) -> dict[str, Any]:
        response = httpx.post(
            f"{self.stack.ingest}/v1/events",
            json=event,
            headers={"Authorization": f"Bearer {self.keys[key]}"},
            timeout=30,
        )
        assert response.status_code == expect, response.text
        self.accepted += response.status_code == 202
        body: dict[str, Any] = response.json()
        return body

    def settle(self) -> None:
        """Until the worker has taken (and written) every event the ingest accepted."""

        def consumed() -> bool:
            text = httpx.get(f"{self.stack.aggregator}/metrics", timeout=5).text
            counts = re.findall(r"^tthc_aggregator_events_total\{[^}]*\} ([0-9.e+]+)$", text, re.M)
            return sum(float(c) for c in counts) >= self.accepted

        wait_until(consumed, 60, f"the worker took {self.accepted} events")

    def numbers(self, unit: str) -> list[Any]:
        response = httpx.get(
            f"{self.stack.api}/v1/scores",
            params={
                "unit": unit,
                "from": ago(60).date().isoformat(),
                "to": T0.date().isoformat(),
                "as_of": T0.isoformat(),
            },
            timeout=30,
        )
        response.raise_for_status()
        body = response.json()
        parts = [
            (i["code"], p["numerator"], p["denominator"])
            for i in body["indicators"]
            for p in i["parts"]
        ]
        return [body["total"], parts]

    def rejections(self, key: str) -> list[tuple[str, str]]:
        response = httpx.get(
            f"{self.stack.api}/v1/rejections",
            headers={"Authorization": f"Bearer {self.keys[key]}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return [(e["id"], e["reason"]) for e in response.json()["events"]]

    def unchanged(self, attempt: Any) -> None:
        """Run ``attempt``; B's and A's numbers are the same after it as before."""
        self.settle()
        before = {unit: self.numbers(unit) for unit in (A, B)}
        attempt()
        self.settle()
        assert {unit: self.numbers(unit) for unit in (A, B)} == before


@pytest.fixture(scope="module")
def attack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Attack]:
    keys = {name: generate_key() for name in ("b", "a", "kiosk-a", "province", "viewer")}
    document = "\n".join(
        [
            key_entry("b", keys["b"], B, [SOURCE_B]),
            key_entry("a", keys["a"], A),
            key_entry("kiosk-a", keys["kiosk-a"], A, ["kiosk-a"]),
            key_entry("province", keys["province"], PROVINCE, ["so-noi-vu"]),
        ]
    )
    viewers = key_entry("viewer", keys["viewer"], PROVINCE)
    home = tmp_path_factory.mktemp("attacks")
    with running(kafka_bootstrap, home, document, viewers) as stack:
        attack = Attack(stack, kafka_bootstrap, keys)
        seed(attack)
        attack.settle()
        yield attack


def seed(attack: Attack) -> None:
    """The province's catalogue, and B's own dossiers, feedback and services."""
    configured = ProcedureConfigured(
        at=ago(90),
        name="Đăng ký khai sinh",
        authority_levels=[UnitLevel.commune],
        online_service=OnlineService.full,
        processing_working_days=5,
    )
    announced = ProcedureAnnounced(
        unit=PROVINCE, decision_number="1/QĐ-UBND", decided_on=ago(90).date(),
        effective_on=ago(80).date(),
    )  # fmt: skip
    for payload in (configured, announced):
        attack.post("province", attack.event(payload, PROCEDURE, "so-noi-vu"))

    def received(days: float, due_in: float) -> DossierReceived:
        return DossierReceived(
            unit=B, procedure=PROCEDURE, channel=Channel.online, received_at=ago(days),
            due_at=ago(days - due_in),
        )  # fmt: skip

    b = [
        ("D1", received(20, 10)),  # open and overdue: late
        ("D2", received(20, 15)),
        ("D2", DossierProcessed(at=ago(8))),  # on time
        ("D3", received(5, 15)),  # open, not due yet
        ("F1", FeedbackReceived(unit=B, received_at=ago(10))),
        (B, CertifiedCopyOffered(unit=B, since=ago(30).date())),
    ]
    for subject, payload in b:
        id = f"{subject}/{payload.fact}"
        attack.post("b", attack.event(payload, subject, SOURCE_B, id=id))


def test_a_receipt_from_another_unit_does_not_move_a_dossier(attack: Attack) -> None:
    moved = DossierReceived(
        unit=A, procedure=PROCEDURE, channel=Channel.online, received_at=ago(25)
    )
    event = attack.event(moved, "D1", "xa-a")
    attack.unchanged(lambda: attack.post("a", event))
    assert (event["id"], "not_owner") in attack.rejections("a")


def test_follow_ups_on_another_units_dossiers_change_nothing(attack: Attack) -> None:
    events = [
        attack.event(DossierRefused(at=ago(4)), "D3", "xa-a"),
        attack.event(DossierDueDateChanged(at=ago(11), due_at=ago(-30)), "D1", "xa-a"),
        attack.event(DossierProcessed(at=ago(15)), "D1", "xa-a"),  # would turn it on time
    ]
    attack.unchanged(lambda: [attack.post("a", e) for e in events])
    refused = attack.rejections("a")
    assert all((e["id"], "not_owner") in refused for e in events)


def test_a_source_bound_key_cannot_withdraw_another_units_dossier(attack: Attack) -> None:
    withdrawn = attack.event(DossierWithdrawn(at=ago(1)), "D3", "kiosk-a")
    foreign = attack.event(DossierWithdrawn(at=ago(1)), "D3", SOURCE_B)

    def attempt() -> None:
        attack.post("kiosk-a", withdrawn)
        answer = attack.post("kiosk-a", foreign, expect=403)
        assert answer["reason"] == "source_not_allowed"

    attack.unchanged(attempt)
    assert (withdrawn["id"], "not_owner") in attack.rejections("kiosk-a")
    assert attack.rejections("b") == []  # each integration sees its own refusals only


def test_another_units_feedback_cannot_be_transferred(attack: Attack) -> None:
    taken = attack.event(FeedbackTransferred(at=ago(9), to_unit=A), "F1", "xa-a")
    given_away = attack.event(FeedbackTransferred(at=ago(9), to_unit=A), "F1", SOURCE_B)

    def attempt() -> None:
        attack.post("a", taken)
        attack.post("b", given_away)  # B's own key, but A is outside its scope

    attack.unchanged(attempt)
    assert (taken["id"], "not_owner") in attack.rejections("a")
    assert (given_away["id"], "destination_out_of_scope") in attack.rejections("b")


def test_a_commune_service_event_is_about_the_unit_it_names(attack: Attack) -> None:
    issued = attack.event(CertifiedCopyIssued(unit=A, at=ago(2), count=50), B, "xa-a")

    def attempt() -> None:
        answer = attack.post("a", issued, expect=422)
        assert [p["field"] for p in answer["problems"]] == ["data.unit"]

    attack.unchanged(attempt)


def test_a_commune_key_cannot_announce_a_procedure(attack: Attack) -> None:
    def announce(unit: str) -> dict[str, Any]:
        payload = ProcedureAnnounced(
            unit=unit, decision_number="9/QĐ", decided_on=ago(3).date(), effective_on=ago(2).date()
        )
        return attack.event(payload, PROCEDURE, "xa-a")

    def attempt() -> None:
        for unit in (A, PROVINCE):
            answer = attack.post("a", announce(unit), expect=403)
            assert answer["reason"] == "out_of_scope"

    attack.unchanged(attempt)


def test_nonsense_times_are_refused(attack: Attack) -> None:
    processed = attack.event(DossierProcessed(at=ago(3)), "D3", SOURCE_B)

    def attempt() -> None:
        for time in (0, "1969-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00"):
            answer = attack.post("b", {**processed, "time": time}, expect=422)
            assert answer["problems"][0]["field"] == "time"
        late = {**processed, "data": {"at": "2015-01-01T00:00:00+14:00"}}
        assert attack.post("b", late, expect=422)["problems"][0]["field"] == "data.at"

    attack.unchanged(attempt)


def test_a_resend_that_differs_is_a_conflict_and_the_first_copy_stays(attack: Attack) -> None:
    first = attack.event(DossierProcessed(at=ago(8)), "D2", SOURCE_B, id="D2/processed")
    other = {**first, "data": {"at": ago(1).isoformat()}}  # would make D2 late
    settings = IngestSettings(
        kafka_bootstrap=attack.kafka,
        topic=attack.stack.topic,
        api_keys_file=attack.stack.log.parent / "keys.toml",
    )

    def attempt() -> None:
        answer = attack.post("b", other, expect=409)  # this replica has the first copy
        assert answer["reason"] == "conflict"
        # A second replica has no memory of it: the worker refuses it instead.
        with TestClient(create_app(settings)) as replica:
            response = replica.post(
                "/v1/events", json=other, headers={"Authorization": f"Bearer {attack.keys['b']}"}
            )
        assert response.status_code == 202, response.text
        attack.accepted += 1

    attack.unchanged(attempt)
    assert ("D2/processed", "conflicting_resend") in attack.rejections("b")


def test_an_event_id_of_another_source_cannot_be_claimed(attack: Attack) -> None:
    processed = DossierProcessed(at=ago(15))  # B's own, on time: A takes its id first
    claimed = attack.event(processed, "D1", SOURCE_B, id="D1/processed")
    attack.unchanged(lambda: attack.post("a", claimed, expect=403))
    # B's real event is not shadowed: it counts.
    before = attack.numbers(B)
    attack.post("b", claimed)
    attack.settle()
    assert attack.numbers(B) != before


def test_refusals_are_counted_in_the_workers_metrics(attack: Attack) -> None:
    attack.settle()
    text = httpx.get(f"{attack.stack.aggregator}/metrics", timeout=5).text
    assert re.search(
        r'^tthc_aggregator_rejected_events_total\{reason="not_owner"\} [1-9]', text, re.M
    )


def test_the_workers_web_server_serves_no_history(attack: Attack) -> None:
    base = attack.stack.aggregator
    for path in ("/table/histories/", "/table/histories/dossier:D1/", "/router/", "/stats/"):
        assert httpx.get(base + path, timeout=5).status_code == 404, path
    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
    assert "tthc_aggregator_" in httpx.get(f"{base}/metrics", timeout=5).text


def test_a_dossier_of_a_procedure_nobody_configured_is_listed(attack: Attack) -> None:
    stray = DossierReceived(
        unit=B, procedure="9.999999", channel=Channel.online, received_at=ago(2)
    )
    attack.post("b", attack.event(stray, "D9", SOURCE_B))
    attack.settle()
    body = httpx.get(
        f"{attack.stack.api}/v1/unknown-procedures", params={"unit": B}, timeout=30
    ).json()
    assert [(p["procedure"], p["dossiers"]) for p in body["procedures"]] == [("9.999999", 1)]
    assert body["setting"] == "neutral" and body["total_dossiers"] == 1


def test_no_key_reaches_the_logs_of_any_service(attack: Attack) -> None:
    wrong = generate_key()
    assert httpx.get(f"{attack.stack.api}/v1/rejections", headers=bearer(wrong)).status_code == 401
    assert httpx.post(f"{attack.stack.ingest}/v1/events", headers=bearer(wrong)).status_code == 401
    attack.settle()
    lines = attack.stack.log.read_text(encoding="utf-8").splitlines()
    assert len(lines) > 20  # every request above left its line
    secrets = [*attack.keys.values(), wrong]
    secrets += [hash_key(s) for s in secrets]
    assert [line for line in lines if any(s in line for s in secrets)] == []
