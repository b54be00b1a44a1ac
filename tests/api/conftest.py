"""A generated province workload, its reference facts in embedded ClickHouse, and the API on it.

The facts are the reference computation's own (tthc.reference.fact_tables), inserted as the
aggregator would insert them, so the API's numbers can be compared with the reference for any
unit, period and instant. One chDB directory per test package (a process opens one at a time);
the end-to-end test runs the whole pipeline in a subprocess of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.api import ApiSettings, create_app
from services.api.pool import ClientPool
from services.auth import ApiKey, hash_key
from services.storage.clickhouse import clickhouse_client, migrate
from services.storage.schema import TABLES
from services.storage.windows import rebuild_windows
from tthc.calendar import VN_TZ, WorkingCalendar
from tthc.facts import CommuneFacts, DossierFacts, FeedbackFacts, ProcedureFacts
from tthc.measures import FactTables, Subject, Tally
from tthc.periods import Period
from tthc.profile import Profile, load_profile
from tthc.reference import fact_tables, reference_tallies, scope_of
from tthc.scoring import Scorecard, score
from tthc.simulation import Workload, generate_events
from tthc.state import Ledger
from tthc.units import UnitTree, load_units

AS_OF = datetime(2024, 6, 20, 12, 0, tzinfo=VN_TZ)
# The windows' W: before AS_OF, as the aggregator's last recompute of a key may be; what turns
# late since then (with no event) is in the windows' changes.
JUDGED_AT = AS_OF - timedelta(days=3)
# Small for 2 shared cores; every indicator still gets a denominator somewhere.
WORKLOAD = Workload(
    seed=7,
    start=date(2024, 4, 1),
    months=3,
    dossiers_per_commune_month=3,
    dossiers_per_department_month=8,
    until=AS_OF,  # what happens later never happened: open dossiers stay open
)

PROVINCE_VIEWER = "tthc_test_province_viewer"
COMMUNE_VIEWER = "tthc_test_commune_viewer"  # covers Xã Phú Riềng (25264) only
VIEWERS = [
    ApiKey(name="province", sha256=hash_key(PROVINCE_VIEWER), scope=("75",)),
    ApiKey(name="phu-rieng", sha256=hash_key(COMMUNE_VIEWER), scope=("25264",)),
]
FACT_CLASSES = {
    Subject.dossier: DossierFacts,
    Subject.feedback: FeedbackFacts,
    Subject.procedure: ProcedureFacts,
    Subject.commune: CommuneFacts,
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Reference:
    tree: UnitTree
    profile: Profile
    facts: FactTables

    def tallies(self, unit: str, period: Period, as_of: datetime = AS_OF) -> dict[str, Tally]:
        return reference_tallies(self.profile, self.facts, scope_of(self.tree, unit, period, as_of))

    def scorecard(self, unit: str, period: Period, as_of: datetime = AS_OF) -> Scorecard:
        return score(self.profile, self.tallies(unit, period, as_of), self.tree.level_of(unit))


def load_facts(url: str, facts: FactTables, windows_judged_at: datetime | None = JUDGED_AT) -> None:
    """Insert reference fact rows as the aggregator's tables hold them (version 1), and the
    windows it would keep, judged at `windows_judged_at` (W; None: no windows)."""
    client = clickhouse_client(url)
    try:
        migrate(client)
        for subject, cls in FACT_CLASSES.items():
            rows = getattr(facts, subject.value)
            rows = list(rows.values()) if isinstance(rows, dict) else list(rows)
            if rows:
                client.insert(
                    getattr(TABLES, subject.value),
                    [[*row.values(), 1] for row in rows],
                    column_names=[*cls.columns(), "version"],
                )
        if windows_judged_at is not None:
            margin = datetime.now(UTC) - windows_judged_at
            rebuild_windows(client, margin_seconds=int(margin.total_seconds()))
    finally:
        client.close()


@pytest.fixture(scope="package")
def reference() -> Reference:
    tree, profile = load_units(), load_profile()
    ledger = Ledger()
    for event in generate_events(tree, WORKLOAD):
        ledger.add(event)
    return Reference(tree, profile, fact_tables(ledger, WorkingCalendar(), profile))


@pytest.fixture(scope="package")
def facts_url(tmp_path_factory: pytest.TempPathFactory, reference: Reference) -> str:
    directory: Path = tmp_path_factory.mktemp("api") / "clickhouse"
    url = f"chdb://{directory}"
    load_facts(url, reference.facts)
    return url


@pytest.fixture(scope="package")
def pool(facts_url: str) -> Iterator[ClientPool]:
    pool = ClientPool(facts_url, 2)
    yield pool
    pool.close()


@pytest.fixture(scope="package")
def api(facts_url: str) -> Iterator[TestClient]:
    settings = ApiSettings(clickhouse_url=facts_url, viewer_tokens=VIEWERS, log_json=False)
    app = create_app(settings, clock=lambda: AS_OF, configure_logs=False)
    with TestClient(app) as client:
        yield client
