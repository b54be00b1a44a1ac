"""Everything one ingest app holds, built once from its settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from services.auth import ApiKey, Grant, KeyRing
from services.ingest.dedup import DuplicateWindow
from services.ingest.examples import all_examples
from services.ingest.intake import Intake
from services.ingest.metrics import IngestMetrics
from services.ingest.publisher import Publisher
from services.ingest.settings import IngestSettings
from tthc.units import UnitTree, load_units


@dataclass
class IngestState:
    settings: IngestSettings
    tree: UnitTree
    keyring: KeyRing
    anonymous: Grant | None
    metrics: IngestMetrics
    publisher: Publisher
    intake: Intake
    examples: dict[str, dict[str, Any]]

    @classmethod
    def build(cls, settings: IngestSettings) -> IngestState:
        tree = load_units(settings.units)
        anonymous = _anonymous(tree) if settings.allow_anonymous else None
        metrics = IngestMetrics()
        # Every configured integration from the start, at 0: one silent since a restart shows.
        for key in settings.all_keys():
            metrics.integration_events.labels(key.name)
        if anonymous is not None:
            metrics.integration_events.labels(anonymous.name)
        publisher = Publisher(
            settings.kafka_bootstrap,
            settings.topic,
            timeout=settings.kafka_timeout,
            linger_ms=settings.kafka_linger_ms,
            retry_after=settings.retry_after,
            metrics=metrics,
        )
        policy = settings.event_policy(tree)
        window = DuplicateWindow(
            settings.duplicate_window_size, settings.duplicate_retention.total_seconds()
        )
        return cls(
            settings=settings,
            tree=tree,
            keyring=KeyRing(settings.all_keys(), tree),
            anonymous=anonymous,
            metrics=metrics,
            publisher=publisher,
            intake=Intake(policy, window, publisher, metrics),
            examples=all_examples(tree),
        )


def _anonymous(tree: UnitTree) -> Grant:
    """What a request without a key may do when anonymous sending is allowed: the whole tree."""
    root = tree.root.code
    return Grant(ApiKey(name="anonymous", sha256="0" * 64, scope=(root,)), tree.subtree(root))


def ingest_state(request: Request) -> IngestState:
    state: IngestState = request.app.state.ingest
    return state


State = Annotated[IngestState, Depends(ingest_state)]
