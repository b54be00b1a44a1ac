"""`/v1/search`: units and procedures by name, accents optional; names beside codes."""

from __future__ import annotations

from tests.api.conftest import PROVINCE_VIEWER, bearer
from tthc.text import fold, matches


def test_folding_drops_accents_and_d_stroke():
    assert fold("  Xã Bù   Nho ") == "xa bu nho"
    assert fold("Đồng Nai") == "dong nai"
    assert matches("bu nho", "Xã Bù Nho") and matches("BÙ NHO", "Xã Bù Nho")
    assert not matches("bu nhon", "Xã Bù Nho") and not matches("", "Xã Bù Nho")


def test_a_unit_is_found_by_its_name_without_accents(api):
    body = api.get("/v1/search", params={"q": "bu nho"}).json()
    assert [(u["code"], u["name"]) for u in body["units"]] == [("25252", "Xã Bù Nho")]
    body = api.get("/v1/search", params={"q": "phu rieng"}).json()
    assert "25264" in [u["code"] for u in body["units"]]
    assert api.get("/v1/search", params={"q": " "}).status_code == 422


def test_procedures_are_found_by_name_and_named_in_listings(api, reference):
    names = {p["code"]: p["name"] for p in reference.facts.procedure if p["name"]}
    code, name = sorted(names.items())[0]
    word = fold(name).split()[-1]
    body = api.get("/v1/search", params={"q": word, "limit": 200}).json()
    assert {"code": code, "name": name} in body["procedures"]
    listed = api.get(
        "/v1/units/75/dossiers",
        params={"indicator": "2.1", "period": "2024-Q2", "outcome": "counted", "limit": 50},
        headers=bearer(PROVINCE_VIEWER),
    ).json()["items"]
    assert listed and all(i["procedure_name"] == names.get(i["procedure"]) for i in listed)
    assert any(i["procedure_name"] for i in listed)
    tallies = api.get(
        "/v1/units/75/procedures", params={"indicator": "2.1", "period": "2024-Q2"}
    ).json()["items"]
    assert all(t["procedure_name"] == names.get(t["procedure"]) for t in tallies)
