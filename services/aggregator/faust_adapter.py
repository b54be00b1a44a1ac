"""Everything the aggregator relies on in Faust beyond its documented API, in one place.

Written for faust-streaming `FAUST_VERSION` (a test pins it: an upgrade must read this again):

- the aggregator commits offsets itself, from its `CommitTracker`: Faust's own committer can
  pass records it skipped around a rebalance, so `Consumer.commit` is replaced by a no-op and
  the aggregator calls the private `Consumer._commit`, then drops the offsets it committed from
  `Consumer._acked` / `_acked_index` (Faust keeps every acknowledged offset until its commit);
- records fetched while a rebalance begins are dropped by Faust (`Consumer.getmany` stops at
  a new generation), yet the fetch position has moved past them: records after them show the
  hole, but with none after them the partition is held and never read again; `read_again`
  seeks it, after lifting any pause Faust left on it;
- a batch holds records of several partitions, and Faust's tables pick the changelog partition
  (and RocksDB's partition) from the *current event*, a context variable
  (`faust.streams._current_event`): a table write is run with its own record's event set.

The rest of the aggregator talks to these functions, never to Faust's internals.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any

import faust
import faust.streams
from faust.exceptions import ConsumerNotStarted
from faust.types import TP

from services.aggregator.processing import Partition, Record

FAUST_VERSION = "0.15.3"


def record_of(event: faust.EventT[bytes]) -> Record:
    """What the steps need of a Faust event; the event stays as the record's `origin`."""
    message = event.message
    headers = message.headers
    if isinstance(headers, Mapping):
        headers = list(headers.items())
    return Record(
        value=message.value,
        key=message.key,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        headers=tuple(headers or ()),
        origin=event,
    )


def in_partition(record: Record, write: Callable[[], Any]) -> Any:
    """Run a table read or write as if `record`'s event were the current one."""
    token = faust.streams._current_event.set(weakref.ref(record.origin))
    try:
        return write()
    finally:
        faust.streams._current_event.reset(token)


async def _no_commit(*args: Any, **kwargs: Any) -> bool:
    return False


def take_over_commits(app: faust.App) -> None:
    """Switch Faust's committer off. (Called in the running loop: touching `app.consumer`
    earlier binds the app to the wrong loop.)"""
    app.consumer.commit = _no_commit  # type: ignore[method-assign]  # on purpose


async def commit(app: faust.App, positions: Mapping[Partition, int]) -> dict[Partition, int]:
    """Commit each partition's next offset to read, after the changelogs are flushed; return
    the positions the broker took: none when it refused the commit (a rebalance under way:
    Faust logs nothing and answers False), and only partitions this worker holds (Faust leaves
    out the others without a word)."""
    if not positions:
        return {}
    await app.producer.flush()
    consumer: Any = app.consumer
    held = consumer.assignment()
    tps = {TP(*tp): offset for tp, offset in positions.items() if TP(*tp) in held}
    # Faust filters again in its consumer thread: an assignment that changes in between comes
    # with a revocation, and the aggregator forgets the revoked partitions' positions.
    if not tps or not await consumer._commit(tps):
        return {}
    for tp, offset in tps.items():
        acked = consumer._acked.get(tp)
        if acked:
            acked[:] = [o for o in acked if o >= offset]
        index = consumer._acked_index.get(tp)
        if index:
            index.difference_update([o for o in index if o < offset])
    return {(tp.topic, tp.partition): offset for tp, offset in tps.items()}


async def seek(app: faust.App, tp: Partition, offset: int) -> None:
    """Read `tp` again from `offset`, if still held (a seek of another raises)."""
    if TP(*tp) in app.consumer.assignment():
        await app.consumer.seek(TP(*tp), offset)


async def read_again(app: faust.App, tp: Partition, offset: int) -> bool:
    """Fetch `tp` again, from `offset`, whatever Faust paused; False when Faust is
    rebalancing or recovering its tables (its pauses then are on purpose) or `tp` is not held."""
    if app.rebalancing or app.in_recovery or TP(*tp) not in app.consumer.assignment():
        return False
    app.consumer.resume_partitions({TP(*tp)})
    await seek(app, tp, offset)
    return True


async def log_ends(app: faust.App, tps: list[Partition]) -> dict[Partition, int]:
    """The end of the log of each partition, asked of the broker (the high-water mark of
    `log_end` is known only once the partition was fetched)."""
    ends = await app.consumer.highwaters(*(TP(*tp) for tp in tps))
    return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}


async def log_starts(app: faust.App, tps: list[Partition]) -> dict[Partition, int]:
    """The first offset still in the log of each partition."""
    earliest = await app.consumer.earliest_offsets(*(TP(*tp) for tp in tps))
    return {(tp.topic, tp.partition): offset for tp, offset in earliest.items()}


def assignment(app: faust.App) -> list[Partition]:
    """The partitions of the group's topics this worker holds now (none until its consumer
    has started: /healthz answers from the first instant)."""
    try:
        held = app.consumer.assignment()
    except ConsumerNotStarted:
        return []
    return sorted((tp.topic, tp.partition) for tp in held)


def log_end(app: faust.App, tp: Partition) -> int | None:
    """The partition's end (high-water mark) as last fetched, if known."""
    end: int | None = app.consumer.highwater(TP(*tp))
    return end
