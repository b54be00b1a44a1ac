"""The query API's FastAPI app: `create_app(settings)`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from fastapi import Depends, FastAPI

from services.api import errors, export
from services.api.routers import (
    catalog,
    dossiers,
    health,
    procedures,
    rankings,
    rejections,
    reports,
    scores,
    search,
    trends,
    unknown_procedures,
    warnings,
)
from services.api.settings import ApiSettings
from services.api.state import ApiState, utc_now
from services.observability import configure_logging, get_logger, web_app
from services.storage.clickhouse import migrate

log = get_logger("services.api")

DESCRIPTION = """\
Điểm Bộ chỉ số 766 theo thời gian thực / Real-time scores of Decision 766/QĐ-TTg.

* **Scores** (`/v1/scores`): a unit's total on 100, grade, groups and indicators, over the unit
  and everything under it, for a month (`2024-05`), quarter (`2024-Q2`), half-year (`2024-H1`),
  year (`2024`, to date) or a date range (`from=`&`to=`), judged now or `as_of` an instant.
* **Rankings** (`/v1/rankings`) of the units of one level, with the rank change since the
  previous period; **trends** (`/v1/trends`) by day, week or month; **procedure by procedure**
  (`/v1/units/{code}/procedures`): an indicator on dossiers for each procedure, worst first
  (2.2, the average processing time, is defined per procedure).
* **Sources**: scores, rankings and trends are read from the rolling windows the aggregator
  keeps per unit and day (and sums per month), exact now (an open dossier turns late at its
  due instant with no new event) and at the end of every past month, quarter and year; an
  instant in the past (`as_of`), or a period a window cannot judge, is counted from the facts.
  Every answer says which (`source`: windows or facts); `source=facts` asks for the facts.
* **Drill-down** (`/v1/units/{code}/dossiers`): what cost an indicator its points and why:
  the dossiers, the feedback (5.x), the procedures (1.1-1.3, 3.1, 3.2, 3.5) or the communes (4.6);
  **early warning** (`/v1/warnings`): open dossiers about to turn late, and the score the period
  ends with if nothing changes. Both need a viewer token (`Authorization: Bearer <token>`)
  covering the unit, and show no personal data.
* **Search** (`/v1/search?q=bu nho`): units and procedures by name, accents optional.
* **Export**: every listing and ranking (scores, rankings, trends, procedures, dossiers,
  warnings, indicators) as a spreadsheet with `format=xlsx` or `format=csv` (or by `Accept:`),
  Vietnamese column headers under the unit, the period and the instant it was judged at.
* **Errors** name the parameter at fault (`problems[].field`), in Vietnamese and English:
  404 for an unknown unit or indicator, 422 for a malformed parameter.
"""


def create_app(
    settings: ApiSettings | None = None,
    *,
    clock: Callable[[], datetime] = utc_now,
    configure_logs: bool = True,
) -> FastAPI:
    """A ready-to-serve API. At start it applies the ClickHouse migrations (idempotent; the
    aggregator applies the same); it writes nothing else."""
    settings = settings or ApiSettings()
    if configure_logs:
        configure_logging("api", settings.log_level, json=settings.log_json)
    state = ApiState.build(settings, clock)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        def prepare() -> list[int]:
            with state.pool.client() as client:
                return migrate(client, settings.layout)

        applied = await asyncio.to_thread(prepare)
        # What start-up built (the unit tree, the profile, the modules) lives as long as the
        # process: kept out of the collector's full passes, which took ~80 ms in a ranking
        gc.freeze()
        log.info(
            "api_started",
            clickhouse=settings.clickhouse_url.split("@")[-1],
            migrated=applied,
            units=settings.units,
            viewer_tokens=len(state.keyring),
            open_scores=settings.open_scores,
        )
        try:
            yield
        finally:
            state.pool.close()

    app = web_app(
        "api",
        state,
        summary="Điểm Bộ chỉ số 766 / Decision 766 scores",
        description=DESCRIPTION,
        lifespan=lifespan,
        log_fields=lambda request_state: {"viewer": request_state.get("viewer")},
    )
    errors.install(app)
    for module in (scores, rankings, trends, procedures):  # score answers: how far data goes
        app.include_router(module.router, dependencies=[Depends(scores.pipeline_headers)])
    for module in (
        dossiers,
        unknown_procedures,
        warnings,
        reports,
        search,
        catalog,
        rejections,
        health,
    ):
        app.include_router(module.router)
    export.install(app, settings.max_page_size)
    return app
