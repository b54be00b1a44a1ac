"""The frozen heap still gives back reference cycles, every `collect_every` batches."""

from __future__ import annotations

import gc
import weakref

from services.aggregator.heap import Heap, release


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_a_cycle_frozen_by_a_batch_is_collected_at_the_next_full_collection():
    heap = Heap(collect_every=3)
    node = Node()
    gone = weakref.ref(node)
    try:
        heap.settle()  # batch 1: the cycle is alive, so it is frozen
        assert gc.get_freeze_count() > 0
        del node
        gc.collect()
        assert gone() is not None  # frozen: out of the collector's sight
        heap.settle()  # batch 2
        assert gone() is not None
        heap.settle()  # batch 3: everything is handed back and collected
        assert gone() is None
    finally:
        release()
    assert gc.get_freeze_count() == 0
