"""Drill-down and early warning over HTTP: the reference's dossiers, paged, behind a viewer token
scoped to a subtree, with no personal data."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.conftest import AS_OF, COMMUNE_VIEWER, PROVINCE_VIEWER, Reference, bearer
from tthc.drilldown import Outcome, listing
from tthc.early_warning import projected, turning_late
from tthc.measures import MEASURES
from tthc.periods import parse_period
from tthc.reference import reference_tallies, scope_of
from tthc.scoring import score

# What a listed dossier may show: codes, times, counts and the reason. Nothing about applicants.
CASE_FIELDS = {
    "code", "kind", "unit", "procedure", "channel", "received_at", "due_at", "effective_due_at",
    "ended_at", "supplement_requests", "reason", "reason_vi", "reason_en", "overdue_days", "facts",
    "procedure_name", "detail_vi",
}  # fmt: skip


def expected_late(reference: Reference, unit: str, period: str = "2024-Q2") -> list[tuple]:
    scope = scope_of(reference.tree, unit, parse_period(period), AS_OF)
    rows = listing(MEASURES["dossiers_on_time"], reference.facts, scope, Outcome.lost)
    return [(row["code"], reason.code) for row, reason in rows]


def test_the_late_dossiers_of_2_1_are_the_reference_ones_with_their_step(api, reference):
    response = api.get(
        "/v1/units/75/dossiers",
        params={"indicator": "2.1", "outcome": "late", "period": "2024-Q2", "limit": 1000},
        headers=bearer(PROVINCE_VIEWER),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    expected = expected_late(reference, "75")
    assert [(i["code"], i["reason"]) for i in body["items"]] == expected
    assert body["total"] == len(expected) and body["next_offset"] is None
    reasons = {i["reason"] for i in body["items"]}
    assert {"ended_after_due", "second_supplement_request"} <= reasons
    for item in body["items"]:
        assert set(item) == CASE_FIELDS
        assert item["reason_vi"]
        if item["reason"] == "ended_after_due":
            assert item["overdue_days"] > 0
    card = reference.scorecard("75", parse_period("2024-Q2")).indicator("2.1").parts[0]
    assert body["total"] == card.denominator - card.numerator


def test_pages_cover_the_list_once(api, reference):
    seen, offset = [], 0
    while offset is not None:
        body = api.get(
            "/v1/units/75/dossiers",
            params={"indicator": "2.1", "period": "2024-Q2", "limit": 7, "offset": offset},
            headers=bearer(PROVINCE_VIEWER),
        ).json()
        assert len(body["items"]) <= 7
        seen += [(i["code"], i["reason"]) for i in body["items"]]
        offset = body["next_offset"]
    assert seen == expected_late(reference, "75")


def test_feedback_and_other_indicators_list_too(api, reference):
    body = api.get(
        "/v1/units/75/dossiers",
        params={"indicator": "3.6", "period": "2024-Q2", "limit": 5},
        headers=bearer(PROVINCE_VIEWER),
    ).json()
    part = reference.scorecard("75", parse_period("2024-Q2")).indicator("3.6").parts[0]
    assert body["total"] == part.denominator - part.numerator
    assert {i["reason"] for i in body["items"]} == {"not_paid_online"}
    body = api.get(
        "/v1/units/75/dossiers",
        params={"indicator": "5.2", "period": "2024-Q2", "outcome": "counted"},
        headers=bearer(PROVINCE_VIEWER),
    ).json()
    assert body["items"] and {i["kind"] for i in body["items"]} == {"feedback"}


def test_a_viewer_token_is_needed_and_covers_its_subtree_only(api):
    params = {"indicator": "2.1", "period": "2024-Q2"}
    missing = api.get("/v1/units/25264/dossiers", params=params)
    assert missing.status_code == 401
    assert missing.json()["problems"][0]["field"] == "Authorization"
    wrong = api.get("/v1/units/25264/dossiers", params=params, headers=bearer("tthc_nope"))
    assert wrong.status_code == 401
    own = api.get("/v1/units/25264/dossiers", params=params, headers=bearer(COMMUNE_VIEWER))
    assert own.status_code == 200
    merged = api.get("/v1/units/25252/dossiers", params=params, headers=bearer(COMMUNE_VIEWER))
    assert merged.status_code == 200  # Xã Bù Nho is part of Phú Riềng now
    for outside in ("75", "25195"):
        denied = api.get(
            f"/v1/units/{outside}/dossiers", params=params, headers=bearer(COMMUNE_VIEWER)
        )
        assert denied.status_code == 403, outside
        assert "does not cover" in denied.json()["problems"][0]["reason"]
    denied = api.get("/v1/warnings", params={"unit": "75"}, headers=bearer(COMMUNE_VIEWER))
    assert denied.status_code == 403
    # aggregate scores stay open (open_scores is on)
    assert api.get("/v1/scores", params={"unit": "75"}).status_code == 200


def test_an_average_lists_nothing_and_an_indicator_of_two_parts_asks_for_one(api):
    response = api.get(
        "/v1/units/75/dossiers", params={"indicator": "2.2"}, headers=bearer(PROVINCE_VIEWER)
    )
    assert response.status_code == 422
    assert "average" in response.json()["problems"][0]["reason"]
    # 4.5 counts procedures (a) and dossiers (b): each is listed when named
    both = api.get(
        "/v1/units/75/dossiers", params={"indicator": "4.5"}, headers=bearer(PROVINCE_VIEWER)
    )
    assert both.status_code == 422 and both.json()["problems"][0]["field"] == "part"
    kinds = set()
    for part in ("a", "b"):
        ok = api.get(
            "/v1/units/75/dossiers",
            params={"indicator": "4.5", "part": part, "outcome": "counted"},
            headers=bearer(PROVINCE_VIEWER),
        )
        assert ok.status_code == 200, ok.text
        kinds |= {i["kind"] for i in ok.json()["items"]}
    assert kinds == {"procedure", "dossier"}


@pytest.mark.parametrize(
    ("indicator", "kind", "reasons"),
    [
        ("1.1", "procedure", {"announced_late"}),
        ("1.2", "procedure", {"published_late", "not_published_overdue"}),
        ("1.3", "procedure", {"components_missing"}),
        ("3.1", "procedure", {"no_online_service"}),
        ("3.2", "procedure", {"no_online_dossier"}),
        ("4.6", "commune", {"certified_copies_not_offered", "no_certified_copy_issued"}),
    ],
)
def test_procedure_and_commune_indicators_list_what_cost_the_points(
    api, reference, indicator, kind, reasons
):
    response = api.get(
        "/v1/units/75/dossiers",
        params={"indicator": indicator, "period": "2024-Q2", "limit": 1000},
        headers=bearer(PROVINCE_VIEWER),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    card = reference.scorecard("75", parse_period("2024-Q2")).indicator(indicator)
    part = card.parts[0]
    assert body["total"] == part.denominator - part.numerator
    assert {i["kind"] for i in body["items"]} <= {kind}
    assert {i["reason"] for i in body["items"]} <= reasons
    if body["items"]:
        assert body["items"][0]["facts"] is not None
    if indicator == "1.3":  # which components each publication lacks
        assert all(i["detail_vi"].startswith("Thiếu: ") for i in body["items"])
    # worst first (failing the most indicators), then by code: the reference's order
    scope = scope_of(reference.tree, "75", parse_period("2024-Q2"), AS_OF)
    rows = listing(MEASURES[part.measure], reference.facts, scope, Outcome.lost)
    assert [i["code"] for i in body["items"]] == [row["code"] for row, _ in rows]


def test_warnings_list_the_reference_dossiers_and_the_projected_score(api, reference):
    response = api.get(
        "/v1/warnings",
        params={"unit": "75", "horizon": "3d", "limit": 1000},
        headers=bearer(PROVINCE_VIEWER),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    units = reference.tree.subtree("75")
    expected = [
        r["code"] for r in turning_late(reference.facts.dossier, units, AS_OF, timedelta(days=3))
    ]
    assert [i["code"] for i in body["items"]] == expected and expected
    assert body["total"] == len(expected)
    assert body["horizon_hours"] == 72
    assert all(set(i) == CASE_FIELDS for i in body["items"])
    # the default period: this quarter, as for every route
    scope = scope_of(reference.tree, "75", parse_period("2024-Q2"), AS_OF)
    assert body["period"]["label"] == "2024-Q2"
    now = score(
        reference.profile,
        reference_tallies(reference.profile, reference.facts, scope),
        reference.tree.level_of("75"),
    )
    end = score(
        reference.profile,
        reference_tallies(reference.profile, reference.facts, projected(scope)),
        reference.tree.level_of("75"),
    )
    assert body["now"]["total"] == pytest.approx(now.total)
    assert body["projected"]["total"] == pytest.approx(end.total)
    assert body["projected"]["on_time_rate"] < body["now"]["on_time_rate"]
