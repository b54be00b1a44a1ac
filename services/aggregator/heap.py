"""Keeps CPython's cyclic garbage collector off the aggregator's long-lived heap.

The worker and the replay hold tens of thousands of decoded histories, each event a handful of
pydantic objects, for as long as they may be needed again. CPython walks every tracked object
in a full collection, and runs one each time the heap has grown by a quarter: that was more
than half of the replay's time and a sixth of the worker's. What is alive after a batch is
mostly that heap, so `settle` moves it to the permanent generation (`gc.freeze`), out of the
collector's walks. Frozen objects are still freed as soon as nothing refers to them; only
reference cycles among them wait, until every `collect_every` batches everything is handed
back and collected once.

Freed memory stays with the allocator: glibc's malloc keeps the pages of a freed run of small
blocks unless they sit at the top of its heap, so the worker's memory stays at the peak of its
biggest window step. `trim` hands them back (`malloc_trim`) after each step.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Callable


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


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None under another C library."""
    try:
        function: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return function


_MALLOC_TRIM = _malloc_trim()


def trim() -> bool:
    """Give the pages malloc holds free back to the system; whether any went back."""
    return bool(_MALLOC_TRIM(0)) if _MALLOC_TRIM is not None else False
