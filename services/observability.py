"""Structured logs and Prometheus metrics, the same way in every service.

Logs are JSON lines (structlog) on stderr: one object per event with ``service``, ``level``,
``timestamp`` (UTC, ISO 8601) and the fields the caller gave. Never pass secrets as fields; in
case one slips through (an exception's message, a library's line), every line is redacted on
its way out: values of credential-named fields, bearer tokens, our keys (``tthc_…``) and
SHA-256 hex digests become ``[redacted]``. Tracebacks are structured without frame locals
(locals hold the request, its headers, the key).

Metrics go through :class:`Metrics`, a thin facade over one ``CollectorRegistry`` per instance:
names get the ``tthc_<service>_`` prefix, and two instances (two apps in one test process)
never collide in the global registry.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping, MutableMapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import structlog
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "Metrics",
    "RequestObserver",
    "WebMetrics",
    "configure_logging",
    "get_logger",
    "redact",
    "web_app",
]

REDACTED = "[redacted]"
# Field names whose value is a secret whatever it looks like.
_SECRET_NAMES = re.compile(
    r"authorization|api[-_]?key|token|secret|password|passwd|sha256|credential|cookie", re.I
)
_SECRET_TEXT = re.compile(
    r"(?i:bearer|basic)\s+[A-Za-z0-9._~+/=-]+"  # an Authorization header's value
    r"|(?i:x-api-key)['\"]?\s*[:=,]\s*b?['\"]?[^\s'\",)]+"  # X-API-Key: …, ('x-api-key', '…')
    r"|tthc_[A-Za-z0-9_-]{8,}"  # a key made by `tthc keys new`
    r"|\b[0-9a-fA-F]{64}\b"  # a SHA-256, as keys are stored
)


def redact(value: Any) -> Any:
    """``value`` with anything credential-like replaced, in nested dicts and lists too."""
    if isinstance(value, str):
        return _SECRET_TEXT.sub(REDACTED, value)
    if isinstance(value, dict):
        return {k: REDACTED if _secret_name(k) else redact(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return redact(value.decode("utf-8", "replace"))
    if isinstance(value, list | tuple):
        if len(value) == 2 and _secret_name(value[0]):  # a header as a (name, value) pair
            return [value[0], REDACTED]
        return [redact(v) for v in value]
    return value


def _secret_name(name: Any) -> bool:
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    return isinstance(name, str) and _SECRET_NAMES.search(name) is not None


def _redact_event(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    redacted: dict[str, Any] = redact(dict(event))
    return redacted


class _RedactingFormatter(logging.Formatter):
    """The standard library's lines (uvicorn, kafka-python), redacted the same way."""

    def format(self, record: logging.LogRecord) -> str:
        return str(redact(super().format(record)))


def configure_logging(service: str, level: str = "INFO", *, json: bool = True) -> None:
    """Route structlog (and the standard library's logging) to JSON lines on stderr."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )

    def add_service(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event.setdefault("service", service)
        return event

    structlog.configure(
        processors=[
            add_service,
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            _redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Libraries log through the standard library (kafka-python, uvicorn): keep their warnings.
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(_RedactingFormatter(logging.BASIC_FORMAT))


def get_logger(name: str) -> Any:
    """A structlog logger; ``name`` goes into every line as ``component``.

    Lazy: safe at import time, it follows the configuration made later by configure_logging.
    """
    return structlog.get_logger(component=name)


_http_log = get_logger("http")

# Latency buckets from 0.5 ms to 30 s: HTTP requests and Kafka round trips on one scale.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip


class Metrics:
    """Prometheus metrics of one service instance, in a registry of its own."""

    def __init__(self, service: str) -> None:
        self.prefix = f"tthc_{service}_"
        self.registry = CollectorRegistry(auto_describe=True)

    def counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
        return Counter(self.prefix + name, doc, list(labels), registry=self.registry)

    def gauge(self, name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(self.prefix + name, doc, list(labels), registry=self.registry)

    def histogram(
        self,
        name: str,
        doc: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> Histogram:
        return Histogram(
            self.prefix + name, doc, list(labels), registry=self.registry, buckets=tuple(buckets)
        )

    def render(self) -> tuple[bytes, str]:
        """The text exposition of every metric, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class WebMetrics:
    """Base of a web service's metrics: every request's route, status and latency, and the
    service's own metrics that a subclass adds to `facade`."""

    def __init__(self, service: str) -> None:
        self.facade = m = Metrics(service)
        self.requests = m.counter(
            "requests_total", "HTTP requests by route and status", ["route", "status"]
        )
        self.request_seconds = m.histogram(
            "request_seconds", "HTTP request latency by route", ["route"]
        )

    def render(self) -> tuple[bytes, str]:
        return self.facade.render()


LogFields = Callable[[dict[str, Any]], dict[str, Any]]


class RequestObserver:
    """ASGI middleware: latency and status of every request into the metrics, and one JSON log
    line per request (for the quiet routes, probes and scrapes, only when they fail).

    ``log_fields`` picks what a service adds to the line from the request's state (the
    integration's or viewer's name, never a key).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: WebMetrics,
        quiet_routes: Collection[str] = ("/metrics", "/healthz", "/readyz"),
        log_fields: LogFields = lambda _: {},
    ) -> None:
        self.app = app
        self.requests = metrics.requests
        self.seconds = metrics.request_seconds
        self.quiet_routes = frozenset(quiet_routes)
        self.log_fields = log_fields

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            # Unknown paths share one label: a scanner must not grow the metrics without bound.
            label = getattr(route, "path", None) or (
                "unmatched" if status == 404 else scope["path"]
            )
            self.seconds.labels(label).observe(elapsed)
            self.requests.labels(label, str(status)).inc()
            if label not in self.quiet_routes or status >= 400:
                _http_log.info(
                    "request",
                    method=scope["method"],
                    route=label,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                    **self.log_fields(scope.get("state", {})),
                )


class ServiceState(Protocol):
    """What a service keeps for its routes; the app observes its requests with its metrics."""

    @property
    def metrics(self) -> WebMetrics: ...


def web_app(
    service: str,
    state: ServiceState,
    *,
    summary: str,
    description: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
    log_fields: LogFields,
) -> FastAPI:
    """The FastAPI app `tthc <service>`: its requests observed (metrics, one log line each),
    its stop logged as `<service>_stopped` once its own `lifespan` is over, and its `state`
    at `app.state.<service>` for the routes."""
    log = get_logger(f"services.{service}")

    @contextlib.asynccontextmanager
    async def logged(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with lifespan(app):
                yield
        finally:
            log.info(f"{service}_stopped")

    # FastAPIOffline serves Swagger UI and ReDoc from the package: /docs works with no CDN.
    app = FastAPIOffline(
        title=f"tthc {service}",
        summary=summary,
        description=description,
        version="1",
        lifespan=logged,
    )
    app.add_middleware(RequestObserver, metrics=state.metrics, log_fields=log_fields)
    setattr(app.state, service, state)
    return app
