"""`tthc import FILE`: send an export of history through the batch endpoint, resumably.

The file is NDJSON (one CloudEvent per line, sent as is: the ingest validates) or the CSV export
of a one-stop-shop system (see :mod:`services.ingest.onestop_csv`, mapped to events here).
Records are sent in batches; a batch is done once the ingest has answered it (each event
accepted, duplicate or rejected). After each answered batch a small state file records the
byte offset after its last record and the running counts, so an interrupted import (Ctrl-C, a
crash, the ingest down for longer than the retries) resumes right after what was answered.
A batch that was sent but not answered is sent again on resume: its events that did reach Kafka
come back `duplicate`, and event ids are deterministic, so nothing counts twice.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import httpx
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from services.ingest.checks import EventPolicy, Rejected
from services.ingest.onestop_csv import RowError, missing_columns, normalize_header, row_events

Format = Literal["ndjson", "csv"]
STATE_VERSION = 1
FINGERPRINT_BYTES = 64 * 1024
MAX_KEPT_REJECTIONS = 1000
NDJSON = "application/x-ndjson"


class ImportStopped(Exception):
    """The import stopped; what was answered is recorded in the state file."""


class ImportRefused(ImportStopped):
    """Running the import again will not help until its cause is fixed: the file, the state
    file (status 2) or the key the ingest refused (401, 403: status 77)."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Rejection:
    line: int
    id: str | None
    reason: str
    problems: list[tuple[str, str]]


@dataclass
class ImportState:
    """What has been answered so far; saved after every answered batch."""

    file: str
    fingerprint: str
    format: str
    offset: int = 0  # bytes of the file fully answered
    lines: int = 0  # lines of the file fully answered (the CSV header counts)
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    complete: bool = False
    version: int = STATE_VERSION

    def save(self, path: Path) -> None:
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(asdict(self), ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, path)  # atomic: a crash leaves the old state or the new one

    @classmethod
    def load(cls, path: Path) -> ImportState:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("version") != STATE_VERSION:
            raise ImportRefused(f"{path}: state of another version; remove it or use --restart")
        document["rejections"] = [
            Rejection(
                line=r["line"],
                id=r["id"],
                reason=r["reason"],
                problems=[(f, m) for f, m in r["problems"]],
            )
            for r in document.get("rejections", [])
        ]
        return cls(**document)

    def reject(self, rejection: Rejection) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_KEPT_REJECTIONS:
            self.rejections.append(rejection)


@dataclass
class _Record:
    """One line or row of the file and what goes into the batch for it."""

    line: int  # where it starts in the file, from 1
    last_line: int  # where it ends (a CSV row may span lines)
    end: int  # byte offset just after the record
    lines: list[bytes]  # NDJSON lines to send (one per event)
    ids: list[str | None]
    local: Rejection | None = None  # refused before sending (a CSV row that does not map)


def default_state_path(file: Path) -> Path:
    return file.with_name(file.name + ".import-state.json")


def detect_format(file: Path) -> Format:
    if file.suffix.lower() == ".csv":
        return "csv"
    return "ndjson"


def _fingerprint(file: Path) -> str:
    with file.open("rb") as handle:
        return hashlib.sha256(handle.read(FINGERPRINT_BYTES)).hexdigest()


# --- reading the file ------------------------------------------------------------------------


def _ndjson_records(handle: BinaryIO, start: int, lines_done: int) -> Iterator[_Record]:
    handle.seek(start)
    offset, number = start, lines_done
    for raw in handle:
        offset += len(raw)
        number += 1
        line = raw.strip()
        if not line:
            continue
        yield _Record(
            line=number, last_line=number, end=offset, lines=[line], ids=[_claimed_id(line)]
        )


def _claimed_id(line: bytes) -> str | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value.get("id") if isinstance(value, dict) else None


def _csv_header(handle: BinaryIO) -> tuple[bytes, list[str]]:
    """The header line and its column names; ImportRefused when a required column is missing."""
    handle.seek(0)
    header_line = handle.readline()
    header = normalize_header(next(csv.reader([header_line.decode("utf-8-sig")]), []))
    missing = missing_columns(header)
    if missing:
        raise ImportRefused(
            f"CSV header lacks required columns: {', '.join(missing)} (docs/onestop-csv.md)"
        )
    return header_line, header


def _csv_records(handle: BinaryIO, start: int, lines_done: int, source: str) -> Iterator[_Record]:
    """Rows with the byte offset after each: csv pulls lines lazily, so the count is exact."""
    header_line, header = _csv_header(handle)
    consumed = max(start, len(header_line))
    handle.seek(consumed)
    base = max(lines_done, 1)  # physical lines before the reader's first: at least the header

    def lines() -> Iterator[str]:
        nonlocal consumed
        for raw in handle:
            consumed += len(raw)
            yield raw.decode("utf-8")

    reader = csv.reader(lines())
    last = base
    for values in reader:
        first, last = last + 1, base + reader.line_num  # a quoted field may span lines
        if not any(v.strip() for v in values):
            continue
        row = dict(zip(header, values, strict=False))
        try:
            events = row_events(row, source=source)
        except RowError as error:
            code = row.get("ma_ho_so") or None
            rejection = Rejection(first, code, "unmappable_row", error.problems)
            yield _Record(
                line=first, last_line=last, end=consumed, lines=[], ids=[], local=rejection
            )
            continue
        yield _Record(
            line=first,
            last_line=last,
            end=consumed,
            lines=[json.dumps(e, ensure_ascii=False).encode("utf-8") for e in events],
            ids=[e["id"] for e in events],
        )


def _checked(records: Iterator[_Record], policy: EventPolicy) -> Iterator[_Record]:
    """The ingest's own checks before sending: a record with an event it would refuse is
    refused here, whole (a CSV row's events go together or not at all)."""
    configured: set[str] = set()  # procedures the file configures, as the ingest learns them
    for record in records:
        for line, id_ in zip(record.lines, record.ids, strict=True):
            try:
                policy.validate(json.loads(line), configured)
            except ValueError:
                break  # not JSON: the ingest names the problem
            except Rejected as rejected:
                problems = list(rejected.rejection.problems)
                reason = rejected.rejection.reason.value
                record.local = Rejection(record.line, id_, reason, problems)
                record.lines, record.ids = [], []
                break
        yield record


# --- sending ---------------------------------------------------------------------------------


def _batches(
    records: Iterator[_Record], batch_size: int, max_bytes: int
) -> Iterator[list[_Record]]:
    """Whole records per batch (a CSV row's events are never split across batches)."""
    batch: list[_Record] = []
    events = size = 0
    for record in records:
        record_size = sum(len(line) + 1 for line in record.lines)
        if batch and (events + len(record.lines) > batch_size or size + record_size > max_bytes):
            yield batch
            batch, events, size = [], 0, 0
        batch.append(record)
        events += len(record.lines)
        size += record_size
    if batch:
        yield batch


def _post(
    client: httpx.Client,
    body: bytes,
    *,
    max_retries: int,
    sleep: Callable[[float], None],
    say: Callable[[str], None],
) -> dict[str, Any]:
    """POST one batch; retry what is worth retrying (503, 429, network), else stop."""
    delay = 1.0
    for attempt in range(max_retries + 1):
        try:
            response = client.post(
                "/v1/events/batch", content=body, headers={"Content-Type": NDJSON}
            )
        except httpx.TransportError as error:
            problem = f"cannot reach the ingest: {error!r}"
            wait = delay
        else:
            if response.status_code == 200:
                result: dict[str, Any] = response.json()
                return result
            if response.status_code in (401, 403):
                raise ImportRefused(_refusal(response), 77)
            if response.status_code not in (429, 503):
                raise ImportStopped(
                    f"the ingest refused the batch: HTTP {response.status_code} {response.text}"
                )
            problem = f"HTTP {response.status_code}"
            header = response.headers.get("Retry-After", "")
            wait = float(header) if header.isdigit() else delay
        if attempt == max_retries:
            raise ImportStopped(f"giving up after {max_retries + 1} attempts: {problem}")
        say(f"{problem}; retrying in {wait:g}s")
        sleep(wait)
        delay = min(delay * 2, 30.0)
    raise AssertionError("unreachable")


def _refusal(response: httpx.Response) -> str:
    try:
        reasons = "; ".join(p["reason"] for p in response.json()["problems"])
    except (ValueError, KeyError, TypeError):
        reasons = response.text[:200]
    return f"the ingest refused the key (HTTP {response.status_code}): {reasons}"


def run_import(
    file: Path,
    client: httpx.Client,
    *,
    format: Format | None = None,
    source: str = "mot-cua-csv",
    batch_size: int = 500,
    max_batch_bytes: int = 4 * 1024 * 1024,
    state_path: Path | None = None,
    restart: bool = False,
    policy: EventPolicy | None = None,
    max_retries: int = 8,
    console: Console | None = None,
    show_progress: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> ImportState:
    """Send ``file`` through ``client`` (base URL and API key set); resume from the state file.

    With ``policy`` (the ingest's checks), events the ingest would refuse are refused here,
    unsent. Returns the final state; raises ImportStopped when it had to stop (resume by
    running again).
    """
    console = console or Console(stderr=True)
    kind: Format = format or detect_format(file)
    state_path = state_path or default_state_path(file)
    fingerprint = _fingerprint(file)
    state = ImportState(file=file.name, fingerprint=fingerprint, format=kind)
    if state_path.exists() and not restart:
        saved = ImportState.load(state_path)
        if saved.fingerprint != fingerprint or saved.format != kind:
            raise ImportRefused(
                f"{state_path} records an import of another file (or format); "
                "use --restart to start over"
            )
        state = saved
        if state.complete:
            console.print(f"{file.name}: already imported (state in {state_path.name})")
            return state
        if state.offset:
            console.print(f"resuming {file.name} after line {state.lines} (byte {state.offset})")

    total = file.stat().st_size
    if kind == "csv":  # a header that cannot do stops before anything is drawn or sent
        with file.open("rb") as handle:
            _csv_header(handle)
    with file.open("rb") as handle, Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[counts]}"),
        console=console,
        disable=not show_progress,
        transient=False,
    ) as progress:  # fmt: skip
        task = progress.add_task(
            file.name, total=total, completed=state.offset, counts=_counts(state)
        )
        records = (
            _csv_records(handle, state.offset, state.lines, source)
            if kind == "csv"
            else _ndjson_records(handle, state.offset, state.lines)
        )
        if policy is not None:
            records = _checked(records, policy)
        for batch in _batches(records, batch_size, max_batch_bytes):
            sendable = [r for r in batch if r.local is None]
            body = b"\n".join(line for r in sendable for line in r.lines) + b"\n"
            answer: dict[str, Any] = {"results": []}
            if any(r.lines for r in sendable):
                answer = _post(
                    client, body, max_retries=max_retries, sleep=sleep, say=console.print
                )
            _record_answer(state, batch, answer)
            state.offset = batch[-1].end
            state.lines = batch[-1].last_line
            state.save(state_path)
            progress.update(task, completed=state.offset, counts=_counts(state))
        state.complete = True
        state.save(state_path)
    return state


def _record_answer(state: ImportState, batch: list[_Record], answer: dict[str, Any]) -> None:
    """Count the batch's outcomes in file order; results come in the order of the lines sent."""
    results = iter(answer.get("results", []))
    expected = sum(len(r.ids) for r in batch if r.local is None)
    if len(answer.get("results", [])) != expected:
        raise ImportStopped(
            f"the ingest answered {len(answer.get('results', []))} results for {expected} events"
        )
    for record in batch:
        if record.local is not None:
            state.reject(record.local)
            continue
        for event_id in record.ids:
            result = next(results)
            outcome = result.get("outcome")
            if outcome == "accepted":
                state.accepted += 1
            elif outcome == "duplicate":
                state.duplicate += 1
            else:
                state.reject(
                    Rejection(
                        line=record.line,
                        id=result.get("id") or event_id,
                        reason=result.get("reason") or "rejected",
                        problems=[(p["field"], p["reason"]) for p in result.get("problems", [])],
                    )
                )


def _counts(state: ImportState) -> str:
    return (
        f"[green]{state.accepted} accepted[/] · {state.duplicate} duplicate · "
        f"[red]{state.rejected} rejected[/]"
    )


def print_summary(state: ImportState, console: Console, *, limit: int = 20) -> None:
    outcome = "xong / done" if state.complete else "dừng giữa chừng / interrupted"
    table = Table(title=f"{state.file}: {outcome}")
    for column in ("Đã nhận / accepted", "Trùng / duplicate", "Từ chối / rejected"):
        table.add_column(column, justify="right")
    table.add_row(str(state.accepted), str(state.duplicate), str(state.rejected))
    console.print(table)
    if not state.rejections:
        return
    rejected = Table(title="Dòng bị từ chối / rejected lines")
    for column in ("dòng / line", "id", "lý do / reason", "chi tiết / problems"):
        rejected.add_column(column)
    for r in state.rejections[:limit]:
        problems = "; ".join(f"{f}: {m}" for f, m in r.problems)
        rejected.add_row(str(r.line), r.id or "", r.reason, problems)
    console.print(rejected)
    more = state.rejected - min(limit, len(state.rejections))
    if more > 0:
        console.print(
            f"… và {more} dòng nữa / and {more} more "
            f"(the state file keeps the first {MAX_KEPT_REJECTIONS})"
        )


def make_client(url: str, api_key: str | None, timeout: float = 60.0) -> httpx.Client:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.Client(base_url=url, headers=headers, timeout=timeout)
