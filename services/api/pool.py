"""A few ClickHouse clients, each used by one thread at a time.

Routes run on FastAPI's thread pool; a clickhouse-connect client serves one query at a time,
so each query borrows a client, and a route's independent queries may run side by side
(`rows_of_each`, on the pool's own threads). On the embedded engine every client of the
process opens the same data directory (chDB allows several clients on one path in one
process), so the API can share a process with the aggregator.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from prometheus_client import Histogram

from services.storage.clickhouse import Client, clickhouse_client

# ClickHouse compiles an expression the third time it meets it, inside the query that meets
# it: ~60 ms once per expression at 10M dossiers, with no measured gain after (the answers'
# queries are planned more than they compute). An answer should not pay for that.
ANSWER_SETTINGS = {
    "compile_expressions": 0,
    "compile_aggregate_expressions": 0,
    "compile_sort_description": 0,
}


class ClientPool:
    def __init__(self, url: str, size: int, timings: Histogram | None = None) -> None:
        self.url = url
        self.size = size
        self.timings = timings
        self._idle: queue.LifoQueue[Client] = queue.LifoQueue()
        self._made = 0
        self._all: list[Client] = []
        self._lock = threading.Lock()
        # made once: a request that runs its queries side by side starts no thread of its own
        self._side_by_side = ThreadPoolExecutor(size, thread_name_prefix="clickhouse")

    @contextmanager
    def client(self) -> Iterator[Client]:
        client = self._borrow()
        try:
            yield client
        finally:
            self._idle.put(client)

    def _borrow(self) -> Client:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._made < self.size:
                self._made += 1
                try:
                    client = clickhouse_client(self.url, ANSWER_SETTINGS)
                except Exception:
                    self._made -= 1
                    raise
                self._all.append(client)
                return client
        return self._idle.get()

    def rows(self, sql: str, purpose: str) -> list[dict[str, Any]]:
        """The rows of a query, as dicts."""
        started = time.perf_counter()
        with self.client() as client:
            rows = list(client.query(sql).named_results())
        if self.timings is not None:
            self.timings.labels(purpose).observe(time.perf_counter() - started)
        return rows

    def rows_of_each(self, sqls: Sequence[str], purpose: str) -> list[list[dict[str, Any]]]:
        """The rows of each query, the queries run side by side on up to `size` clients (the
        caller holds none while it waits, so this cannot starve the pool)."""
        if len(sqls) < 2 or self.size < 2:
            return [self.rows(sql, purpose) for sql in sqls]
        return list(self._side_by_side.map(lambda sql: self.rows(sql, purpose), sqls))

    def close(self) -> None:
        with self._lock:
            for client in self._all:
                client.close()
            self._all.clear()
            self._made = 0
            while not self._idle.empty():
                self._idle.get_nowait()
            # as the clients, ready to be made again if the pool is used after this
            self._side_by_side.shutdown(wait=False)
            self._side_by_side = ThreadPoolExecutor(self.size, thread_name_prefix="clickhouse")
