"""Ingest, aggregator and API in one process, on one event loop, over embedded ClickHouse.

chDB opens a data directory in one process only, so the embedded profile runs everything that
touches ClickHouse in one process. One asyncio loop carries it all:

- the aggregator's Faust app, started with `faust.contrib.asgi.faust_app_running` (Faust's
  documented way to share a loop with ASGI servers); it also serves its /metrics and /healthz
  on its own port, as when it runs alone;
- two uvicorn servers as tasks of the same loop, the ingest's and the API's apps, with
  uvicorn's signal capture turned off: this module owns SIGINT/SIGTERM and stops the servers,
  then Faust (which commits only what is in ClickHouse), in that order.

The aggregator and the API each open their own clients on the same chDB directory (chDB
allows several clients on one path in one process); Kafka stays external.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn

from services.aggregator.settings import AggregatorSettings
from services.api.settings import ApiSettings
from services.ingest.settings import IngestSettings
from services.observability import configure_logging, get_logger

log = get_logger("services.allinone")


@dataclass(frozen=True)
class Listen:
    host: str = "127.0.0.1"
    ingest_port: int = 8001
    api_port: int = 8000


class _Server(uvicorn.Server):
    """A uvicorn server that leaves process signals to its owner."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(app: object, host: str, port: int) -> _Server:
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    return _Server(config)


async def serve(
    ingest: IngestSettings,
    aggregator: AggregatorSettings,
    api: ApiSettings,
    listen: Listen,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the three until `stop` is set (or SIGINT/SIGTERM when no event is given)."""
    from faust.contrib.asgi import faust_app_running

    from services.aggregator.app import Aggregator
    from services.api import create_app as create_api
    from services.ingest.app import create_app as create_ingest

    loop = asyncio.get_running_loop()
    if stop is None:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    worker = await asyncio.to_thread(Aggregator.prepare, aggregator)  # migrates, creates topics
    servers = [
        _server(create_ingest(ingest), listen.host, listen.ingest_port),
        _server(create_api(api, configure_logs=False), listen.host, listen.api_port),
    ]
    configure_logging("tthc", api.log_level, json=api.log_json)  # one process, one name
    try:
        async with faust_app_running(worker.app, stop_timeout=60):
            tasks = [asyncio.create_task(s.serve()) for s in servers]
            log.info(
                "all_in_one_started",
                ingest=f"http://{listen.host}:{listen.ingest_port}",
                api=f"http://{listen.host}:{listen.api_port}",
                aggregator=f"http://{aggregator.http_host}:{aggregator.http_port}",
                clickhouse=api.clickhouse_url,
                kafka=aggregator.kafka_bootstrap,
            )
            stopping = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait([stopping, *tasks], return_when=asyncio.FIRST_COMPLETED)
            failed = [t for t in done if t is not stopping and t.exception() is not None]
            for server in servers:
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            stopping.cancel()
            if failed:
                raise failed[0].exception()  # type: ignore[misc]
            if any(not s.started for s in servers):
                raise RuntimeError("a server did not start (is its port free?)")
    finally:
        worker.writer.close()
        log.info("all_in_one_stopped")
