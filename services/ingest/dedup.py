"""Which events this process has already put into Kafka: resends are answered `duplicate`.

A bounded, time-limited memory of (source, id) pairs, kept by one process and lost at restart.
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

Key = tuple[str, str]


class DuplicateWindow:
    def __init__(
        self, size: int, retention_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._size = size
        self._retention = retention_seconds
        self._clock = clock
        self._seen: OrderedDict[Key, float] = OrderedDict()
        self._in_flight: dict[Key, asyncio.Future[bool]] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def seen(self, key: Key) -> bool:
        """True when Kafka acknowledged this pair within the retention window."""
        at = self._seen.get(key)
        if at is None:
            return False
        if self._clock() - at > self._retention:
            del self._seen[key]
            return False
        return True

    def in_flight(self, key: Key) -> asyncio.Future[bool] | None:
        """The outcome (True: in Kafka) of a publish of this pair that is under way, if any."""
        return self._in_flight.get(key)

    def begin(self, key: Key) -> None:
        """This pair is being published now."""
        self._in_flight[key] = asyncio.get_running_loop().create_future()

    def end(self, key: Key, delivered: bool) -> None:
        """The publish of this pair ended; remember the pair if Kafka has it."""
        if delivered:
            self.remember(key)
        waiter = self._in_flight.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(delivered)

    def remember(self, key: Key) -> None:
        if self._size <= 0:
            return
        self._seen[key] = self._clock()
        self._seen.move_to_end(key)
        # Oldest first: drop what has expired, then what exceeds the size.
        horizon = self._clock() - self._retention
        while self._seen:
            oldest_key, oldest_at = next(iter(self._seen.items()))
            if oldest_at >= horizon and len(self._seen) <= self._size:
                break
            del self._seen[oldest_key]
