"""The seed report of Xã Bù Nho (Bình Phước), Q2 2024, rebuilt from events.

Bù Nho merged into Xã Phú Riềng in 2025; its history is scored against today's unit. The
report gives: online payment 77.4%, digitized 97.6%, electronic results 98.3%, electronic
certified copies 100%, reuse of digitized data 79.6%, synced 100%, no feedback, satisfaction 100%.
With 1,000 dossiers every one of those rates is an exact count.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.domain.builders import Scenario, d, t
from tthc.events import (
    CertifiedCopyIssued,
    CertifiedCopyOffered,
    DossierDigitized,
    DossierFeePaid,
    DossierFinancialObligationRequested,
    DossierProcessed,
    DossierRated,
    DossierResultReturned,
    DossierSyncedToPortal,
    OnlineService,
)

BU_NHO = "25252"
DOSSIERS = 1000
WITH_FEE = 500
PAID_ONLINE = 387  # 77.4% of 500
DIGITIZED = 976
ELECTRONIC_RESULT = 983
REUSED = 796


@pytest.fixture(scope="module")
def bu_nho() -> Scenario:
    s = Scenario()
    s.procedure("BN-FEE", online=OnlineService.partial, fee_bearing=True, payment_integrated=True)
    s.procedure("BN-FREE", online=OnlineService.full)
    s.add(BU_NHO, CertifiedCopyOffered(unit=BU_NHO, since=d("2023-06-01")))
    s.add(BU_NHO, CertifiedCopyIssued(unit=BU_NHO, at=t("2024-04-10 09:00"), count=12))
    first_day = t("2024-04-01 08:00")
    for n in range(DOSSIERS):
        code = f"BN-{n:04d}"
        received = first_day + timedelta(hours=2 * n)  # spread over April to mid-June
        s.dossier(
            code,
            unit=BU_NHO,
            procedure="BN-FEE" if n < WITH_FEE else "BN-FREE",
            online=n % 2 == 0,
            received=received.strftime("%Y-%m-%d %H:%M"),
            due=(received + timedelta(days=3)).strftime("%Y-%m-%d %H:%M"),
        )
        s.add(code, DossierSyncedToPortal(at=received + timedelta(minutes=3)))
        if n < WITH_FEE:
            s.add(code, DossierFinancialObligationRequested(at=received, amount=25_000))
            paid = received + timedelta(hours=1)
            s.add(code, DossierFeePaid(at=paid, amount=25_000, online=n < PAID_ONLINE))
        s.add(
            code,
            DossierDigitized(
                at=received + timedelta(minutes=30),
                digitized_components=2 if n < DIGITIZED else 0,
                reused_components=1 if n < REUSED else 0,
            ),
        )
        done = received + timedelta(days=2)
        s.add(code, DossierProcessed(at=done))
        s.add(code, DossierResultReturned(at=done, electronic=n < ELECTRONIC_RESULT))
        if n % 10 == 0:
            s.add(code, DossierRated(at=done + timedelta(hours=1), satisfied=True))
    return s


def rates(s: Scenario) -> dict[str, float | None]:
    card = s.scorecard(BU_NHO, period="2024-Q2", as_of="2024-07-01 00:00")
    return {i.code: i.rate for i in card.indicators}


def test_the_reference_computation_gives_the_reported_rates(bu_nho: Scenario) -> None:
    r = rates(bu_nho)
    assert r["3.6"] == pytest.approx(0.774)
    assert r["4.2"] == pytest.approx(0.976)
    assert r["4.1"] == pytest.approx(0.983)
    assert r["4.3"] == pytest.approx(0.796)
    assert r["4.6"] == pytest.approx(1.0)
    assert r["1.4"] == pytest.approx(1.0)
    assert r["5.4"] == pytest.approx(1.0)
    assert r["5.2"] is None and r["5.3"] is None  # no feedback received


def test_the_commune_gets_full_points_for_feedback_it_never_received(bu_nho: Scenario) -> None:
    card = bu_nho.scorecard(BU_NHO, period="2024-Q2", as_of="2024-07-01 00:00")
    for code in ("5.2", "5.3", "5.4"):
        assert card.indicator(code).points == 6
    # 17 indicators apply to a commune, worth 82 points before rescaling to 100
    assert sum(1 for i in card.indicators if i.assessed) == 17
    assert card.max_points == 82
    assert card.total == pytest.approx(100 * card.points / 82)


def test_history_of_a_merged_commune_counts_for_its_successor(bu_nho: Scenario) -> None:
    today = bu_nho.scorecard("25264", period="2024-Q2", as_of="2024-07-01 00:00")
    assert today.indicator("3.6").parts[0].denominator == WITH_FEE
    assert today.total == bu_nho.scorecard(BU_NHO, period="2024-Q2").total
