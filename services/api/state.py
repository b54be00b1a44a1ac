"""Everything one API app holds, built once from its settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from services.api.metrics import ApiMetrics
from services.api.pool import ClientPool
from services.api.settings import ApiSettings
from services.api.windows import BusinessGauges
from services.auth import KeyRing
from tthc.profile import Profile, load_profile
from tthc.units import UnitTree, load_units


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ApiState:
    settings: ApiSettings
    tree: UnitTree
    profile: Profile
    keyring: KeyRing
    integrations: KeyRing  # the ingest's keys
    pool: ClientPool
    metrics: ApiMetrics
    gauges: BusinessGauges
    clock: Callable[[], datetime]

    @classmethod
    def build(cls, settings: ApiSettings, clock: Callable[[], datetime] = utc_now) -> ApiState:
        tree = load_units(settings.units)
        profile = load_profile(settings.profile)
        metrics = ApiMetrics()
        pool = ClientPool(
            settings.clickhouse_url, settings.clickhouse_clients, metrics.query_seconds
        )
        gauges = BusinessGauges(
            pool,
            tree,
            profile,
            metrics,
            clock=clock,
            warning_horizon=settings.warning_horizon,
            cache_seconds=settings.gauges_cache_seconds,
        )
        return cls(
            settings=settings,
            tree=tree,
            profile=profile,
            keyring=KeyRing(settings.all_viewer_tokens(), tree),
            integrations=KeyRing(settings.all_integration_keys(), tree),
            pool=pool,
            metrics=metrics,
            gauges=gauges,
            clock=clock,
        )


def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


State = Annotated[ApiState, Depends(api_state)]
