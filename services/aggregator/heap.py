"""Keeps CPython's cyclic garbage collector off the aggregator's long-lived heap.

The worker and the replay hold tens of thousands of decoded histories, each event a handful of
pydantic objects, for as long as they may be needed again. CPython walks every tracked object
in a full collection, and runs one each time the heap has grown by a quarter: that was more
than half of the replay's time and a sixth of the worker's. What is alive after a batch is
mostly that heap, so `settle` moves it to the permanent generation (`gc.freeze`), out of the
collector's walks. Frozen objects are still freed as soon as nothing refers to them; only
reference cycles among them wait, until every `collect_every` batches everything is handed
back and collected once.
"""

from __future__ import annotations

import gc


class Heap:
    def __init__(self, collect_every: int = 100) -> None:
        self.collect_every = collect_every
        self._batches = 0

    def settle(self) -> None:
        """After a batch: freeze what is alive; every `collect_every` batches, collect first."""
        self._batches += 1
        if self._batches % self.collect_every == 0:
            release()
            gc.collect()
        gc.freeze()


def release() -> None:
    """Hand every frozen object back to the collector (the work is done)."""
    gc.unfreeze()
