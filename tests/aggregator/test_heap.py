"""The frozen heap still gives back reference cycles, every `collect_every` batches; `trim`
gives freed pages back to the system."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref

from services.aggregator.heap import Heap, release
from tests.aggregator.conftest import ROOT


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


def test_trim_gives_freed_pages_back() -> None:
    """Blocks freed in the middle of malloc's heap stay resident until `trim` (in a fresh
    process: this one's heap is not ours to judge)."""
    script = """
from services.aggregator.heap import trim
def rss():
    return next(int(line.split()[1]) for line in open("/proc/self/status") if "VmRSS" in line)
blocks = [bytes(2000) for _ in range(100_000)]
kept = blocks[::50]  # one block in 50 alive: free() can give nothing back
del blocks
before = rss()
print(trim(), before - rss())
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    trimmed, released_kib = result.stdout.split()
    assert trimmed == "True"
    assert int(released_kib) > 100 * 1024  # of ~190 MiB freed
