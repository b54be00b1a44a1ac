"""Which events this process has already put into Kafka: resends are answered `duplicate`.

A bounded, time-limited memory of (key name, source, id), each with a digest of what was
published, kept by one process and lost at restart. The same triple with another digest is a
conflicting resend (answered 409). The key's name is part of it: an event another key sent
first (perhaps refused downstream, not the caller's) does not make the caller's a duplicate.
It spares Kafka and the aggregator the common resends (an integration retrying after a timeout,
an import resumed); it is not what makes counting exactly-once: the aggregator folds each
entity's history as a set keyed by (source, id), so whatever slips past here still counts once.

A pair is remembered only once Kafka has acknowledged it. While a pair is being published, a
second request with the same pair waits for that outcome instead of publishing it again.
Everything runs on the event loop's thread: no locks.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable

Key = tuple[str, ...]


class DuplicateWindow:
    def __init__(
        self, size: int, retention_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._size = size
        self._retention = retention_seconds
        self._clock = clock
        self._seen: OrderedDict[Key, tuple[float, bytes]] = OrderedDict()
        self._in_flight: dict[Key, tuple[asyncio.Future[bool], bytes]] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def seen(self, key: Key) -> bool:
        """True when Kafka acknowledged this pair within the retention window."""
        return self._digest_seen(key) is not None

    def _digest_seen(self, key: Key) -> bytes | None:
        kept = self._seen.get(key)
        if kept is None:
            return None
        if self._clock() - kept[0] > self._retention:
            del self._seen[key]
            return None
        return kept[1]

    def known(self, key: Key) -> bytes | None:
        """The digest of what was published (or is being published) under this key, if any."""
        flying = self._in_flight.get(key)
        return flying[1] if flying is not None else self._digest_seen(key)

    def in_flight(self, key: Key) -> asyncio.Future[bool] | None:
        """The outcome (True: in Kafka) of a publish of this pair that is under way, if any."""
        flying = self._in_flight.get(key)
        return flying[0] if flying is not None else None

    def begin(self, key: Key, digest: bytes = b"") -> None:
        """This pair is being published now."""
        self._in_flight[key] = (asyncio.get_running_loop().create_future(), digest)

    def end(self, key: Key, delivered: bool) -> None:
        """The publish of this pair ended; remember the pair if Kafka has it."""
        flying = self._in_flight.pop(key, None)
        if delivered:
            self.remember(key, flying[1] if flying is not None else b"")
        if flying is not None and not flying[0].done():
            flying[0].set_result(delivered)

    def remember(self, key: Key, digest: bytes = b"") -> None:
        if self._size <= 0:
            return
        self._seen[key] = (self._clock(), digest)
        self._seen.move_to_end(key)
        # Oldest first: drop what has expired, then what exceeds the size.
        horizon = self._clock() - self._retention
        while self._seen:
            oldest_key, (oldest_at, _) = next(iter(self._seen.items()))
            if oldest_at >= horizon and len(self._seen) <= self._size:
                break
            del self._seen[oldest_key]
