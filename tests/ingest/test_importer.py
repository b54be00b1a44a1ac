"""`tthc import`: NDJSON and one-stop-shop CSV through the batch endpoint, resumable."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from services.cli import import_command
from services.ingest.app import create_app
from services.ingest.importer import ImportState, ImportStopped, run_import
from services.ingest.settings import IngestSettings
from tests.ingest.helpers import PROVINCE_KEY, Record, free_port, processed, received
from tests.served import served as served_app
from tthc.units import load_units

CSV_HEADER = (
    "ma_ho_so,ma_don_vi,ma_tthc,kenh,ngay_tiep_nhan,han_xu_ly,ngay_yeu_cau_bo_sung,"
    "ly_do_bo_sung,ngay_nhan_bo_sung,so_tien,ngay_thanh_toan,thanh_toan_truc_tuyen,"
    "ngay_xu_ly_xong,ngay_tra_ket_qua,ket_qua_dien_tu,ngay_danh_gia,hai_long\n"
)


def _ndjson(path: Path, events: list[Any], extra_lines: dict[int, bytes] | None = None) -> Path:
    lines = [orjson.dumps(e) for e in events]
    for position, line in sorted((extra_lines or {}).items()):
        lines.insert(position, line)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _dossiers(commune: str, count: int) -> list[dict[str, Any]]:
    events = []
    for n in range(count):
        code = f"H75-IMP-{n:04}"
        events += [received(code, commune), processed(code)]
    return events


def _ids(records: list[Record]) -> Counter[str]:
    return Counter(r.value["id"] for r in records)


def test_ndjson_import_with_rejected_lines(
    client: TestClient,
    commune: str,
    tmp_path: Path,
    topic_records: Callable[..., list[Record]],
) -> None:
    events = _dossiers(commune, 10)
    file = _ndjson(
        tmp_path / "history.ndjson",
        events,
        {3: b"", 5: b"{broken", 8: orjson.dumps(received("H75-IMP-X", "99999"))},
    )

    state = run_import(file, client, batch_size=7, show_progress=False)

    assert (state.accepted, state.duplicate, state.rejected, state.complete) == (20, 0, 2, True)
    assert [(r.line, r.reason) for r in state.rejections] == [
        (6, "malformed_json"),
        (9, "unknown_unit"),
    ]
    assert state.rejections[1].problems[0][0] == "data.unit"
    records = topic_records(expect=20)
    assert _ids(records) == Counter(e["id"] for e in events)

    # Done is done: running it again sends nothing.
    again = run_import(file, client, batch_size=7, show_progress=False)
    assert again.accepted == 20 and again.complete


class Interrupt(KeyboardInterrupt):
    pass


def _interrupt_after(client: httpx.Client, responses: int) -> None:
    """Ctrl-C right after the ingest answered the n-th batch, before the importer records it."""
    seen = 0

    def hook(_: httpx.Response) -> None:
        nonlocal seen
        seen += 1
        if seen == responses:
            raise Interrupt

    client.event_hooks = {"request": [], "response": [hook]}


def test_ndjson_import_resumes_without_double_counting(
    client: TestClient,
    commune: str,
    tmp_path: Path,
    topic_records: Callable[..., list[Record]],
) -> None:
    events = _dossiers(commune, 30)  # 60 events, 6 batches of 10
    file = _ndjson(tmp_path / "history.ndjson", events)

    _interrupt_after(client, 4)
    with pytest.raises(Interrupt):
        run_import(file, client, batch_size=10, show_progress=False)
    saved = ImportState.load(tmp_path / "history.ndjson.import-state.json")
    assert (saved.lines, saved.accepted, saved.complete) == (30, 30, False)

    client.event_hooks = {"request": [], "response": []}
    state = run_import(file, client, batch_size=10, show_progress=False)

    # The 4th batch reached Kafka before the interruption: resent, it comes back duplicate.
    assert (state.accepted, state.duplicate, state.rejected) == (50, 10, 0)
    records = topic_records(expect=60)
    assert _ids(records) == Counter(e["id"] for e in events)  # each event exactly once


@pytest.fixture
def csv_export(commune: str, tmp_path: Path) -> Path:
    """A one-stop-shop export of five rows, two of them refused (one spans two lines)."""
    file = tmp_path / "mot-cua.csv"
    rows = CSV_HEADER + "".join(
        [
            # Received online, processed and returned electronically, rated.
            f"H75-CSV-1,{commune},1.001234.000.00.00.H75,truc_tuyen,04/08/2025 08:30,"
            "08/08/2025,,,,,,,06/08/2025 16:00,07/08/2025 09:00,1,07/08/2025 10:00,1\n",
            # A supplement whose reason spans two lines, and a fee paid online.
            f"H75-CSV-2,{commune},1.001234.000.00.00.H75,1,2025-08-04 09:00,,"
            '2025-08-05 10:00,"Thiếu giấy tờ,\nbổ sung bản sao",2025-08-06 08:00,'
            "50.000,2025-08-06 08:05,co,,,,,\n",
            # A bad date and an unknown channel: the row is refused, naming both columns.
            f"H75-CSV-3,{commune},1.001234.000.00.00.H75,fax,32/13/2025,,,,,,,,,,,,\n",
            "\n",
            # Only received, with an ISO time.
            f"H75-CSV-4,{commune},1.001234.000.00.00.H75,2,2025-08-04T10:00:00+07:00,,,,,,,,,,,,\n",
            # A unit the ingest does not know: refused by the ingest.
            "H75-CSV-5,99999,1.001234.000.00.00.H75,2,2025-08-04T11:00:00+07:00,,,,,,,,,,,,\n",
        ]
    )
    file.write_text(rows, encoding="utf-8")
    return file


def test_csv_export_is_mapped_to_events(
    client: TestClient, csv_export: Path, topic_records: Callable[..., list[Record]]
) -> None:
    state = run_import(csv_export, client, source="mot-cua-csv", batch_size=3, show_progress=False)

    assert (state.accepted, state.rejected) == (9, 2)
    refused_row, refused_unit = state.rejections
    assert (refused_row.line, refused_row.reason) == (5, "unmappable_row")
    assert {column for column, _ in refused_row.problems} == {"kenh", "ngay_tiep_nhan"}
    assert (refused_unit.line, refused_unit.reason, refused_unit.id) == (
        8,
        "unknown_unit",
        "H75-CSV-5/received",
    )
    by_id = {r.value["id"]: r for r in topic_records(expect=9)}
    assert sorted(by_id) == sorted(
        [
            "H75-CSV-1/received",
            "H75-CSV-1/processed",
            "H75-CSV-1/result_returned",
            "H75-CSV-1/rated",
            "H75-CSV-2/received",
            "H75-CSV-2/supplement_requested",
            "H75-CSV-2/supplement_received",
            "H75-CSV-2/fee_paid",
            "H75-CSV-4/received",
        ]
    )
    first = by_id["H75-CSV-1/received"].value
    assert first["source"] == "mot-cua-csv"
    assert first["data"]["channel"] == 2
    assert first["data"]["received_at"] == "2025-08-04T08:30:00+07:00"
    assert first["data"]["due_at"] == "2025-08-08T23:59:59+07:00"  # a date: end of that day
    assert by_id["H75-CSV-1/result_returned"].value["data"]["electronic"] is True
    supplement = by_id["H75-CSV-2/supplement_requested"].value["data"]
    assert supplement["reason"] == "Thiếu giấy tờ,\nbổ sung bản sao"
    assert by_id["H75-CSV-2/fee_paid"].value["data"] == {
        "at": "2025-08-06T08:05:00+07:00",
        "amount": 50000,
        "online": True,
    }
    assert {r.key for r in by_id.values()} == {b"H75-CSV-1", b"H75-CSV-2", b"H75-CSV-4"}


def test_csv_extensions_become_due_date_changes_and_a_bad_one_is_reported(
    client: TestClient,
    commune: str,
    tmp_path: Path,
    topic_records: Callable[..., list[Record]],
) -> None:
    procedure = "1.001234.000.00.00.H75"
    file = tmp_path / "mot-cua.csv"
    file.write_text(
        "ma_ho_so,ma_don_vi,ma_tthc,ngay_tiep_nhan,han_xu_ly,ngay_gia_han,han_xu_ly_moi,"
        "ly_do_gia_han\n"
        # Extended once, with a reason.
        f"H75-EXT-1,{commune},{procedure},04/08/2025 08:30,08/08/2025,"
        "07/08/2025 15:00,13/08/2025 17:00,Chờ ý kiến sở\n"
        # Not extended: the columns are empty.
        f"H75-EXT-2,{commune},{procedure},04/08/2025 09:00,08/08/2025,,,\n"
        # A new due date that is no date: the row is refused, the others go through.
        f"H75-EXT-3,{commune},{procedure},04/08/2025 10:00,08/08/2025,07/08/2025,tuần sau,\n"
        f"H75-EXT-4,{commune},{procedure},04/08/2025 11:00,,05/08/2025,12/08/2025,\n",
        encoding="utf-8",
    )

    state = run_import(file, client, source="mot-cua-csv", show_progress=False)

    assert (state.accepted, state.rejected) == (5, 1)
    [refused] = state.rejections
    assert (refused.line, refused.reason, refused.id) == (4, "unmappable_row", "H75-EXT-3")
    assert [column for column, _ in refused.problems] == ["han_xu_ly_moi"]
    by_id = {r.value["id"]: r for r in topic_records(expect=5)}
    assert sorted(by_id) == [
        "H75-EXT-1/due_date_changed/2025-08-07T08:00:00+00:00",
        "H75-EXT-1/received",
        "H75-EXT-2/received",
        "H75-EXT-4/due_date_changed/2025-08-04T17:00:00+00:00",
        "H75-EXT-4/received",
    ]
    changed = by_id["H75-EXT-1/due_date_changed/2025-08-07T08:00:00+00:00"]
    assert changed.key == b"H75-EXT-1"
    assert changed.value["type"] == "vn.tthc.dossier.due_date_changed.v1"
    assert changed.value["time"] == "2025-08-07T15:00:00+07:00"
    assert changed.value["data"] == {
        "at": "2025-08-07T15:00:00+07:00",
        "due_at": "2025-08-13T17:00:00+07:00",
        "reason": "Chờ ý kiến sở",
    }


def test_csv_import_resumes_after_a_multiline_row(
    client: TestClient, csv_export: Path, topic_records: Callable[..., list[Record]]
) -> None:
    # batch_size=4: rows 1 | 2 | 3+4+5; stop after the second batch (row 2, two lines) is answered.
    _interrupt_after(client, 2)
    with pytest.raises(Interrupt):
        run_import(csv_export, client, batch_size=4, show_progress=False)
    client.event_hooks = {"request": [], "response": []}
    state = run_import(csv_export, client, batch_size=4, show_progress=False)

    assert state.complete
    assert state.accepted + state.duplicate == 9
    assert [(r.line, r.reason) for r in state.rejections] == [
        (5, "unmappable_row"),
        (8, "unknown_unit"),
    ]
    records = topic_records(expect=9)
    assert len(records) == 9 and set(_ids(records).values()) == {1}


def test_ingest_down_stops_the_import_and_a_later_run_finishes_it(
    make_settings: Callable[..., IngestSettings],
    client: TestClient,
    commune: str,
    tmp_path: Path,
    topic_records: Callable[..., list[Record]],
) -> None:
    file = _ndjson(tmp_path / "history.ndjson", _dossiers(commune, 3))
    down = make_settings(kafka_bootstrap=f"127.0.0.1:{free_port()}", kafka_timeout=0.5)
    waits: list[float] = []
    with (
        TestClient(
            create_app(down), headers={"Authorization": f"Bearer {PROVINCE_KEY}"}
        ) as unavailable,
        pytest.raises(ImportStopped, match="giving up after 3 attempts: HTTP 503"),
    ):
        run_import(file, unavailable, max_retries=2, sleep=waits.append, show_progress=False)
    assert waits == [2.0, 2.0]  # the ingest's Retry-After

    state = run_import(file, client, show_progress=False)
    assert state.accepted == 6
    assert len(topic_records(expect=6)) == 6


def test_a_state_file_of_another_file_is_not_used(
    client: TestClient, commune: str, tmp_path: Path
) -> None:
    file = _ndjson(tmp_path / "a.ndjson", _dossiers(commune, 1))
    state_path = tmp_path / "state.json"
    ImportState(file="b.ndjson", fingerprint="0" * 64, format="ndjson", offset=10).save(state_path)
    with pytest.raises(ImportStopped, match="another file"):
        run_import(file, client, state_path=state_path, show_progress=False)
    assert run_import(file, client, state_path=state_path, restart=True, show_progress=False)


@pytest.fixture
def served(make_settings: Callable[..., IngestSettings]) -> Iterator[str]:
    """The ingest over real HTTP (uvicorn in a thread), for the command line."""
    with served_app(create_app(make_settings())) as url:
        yield url


def test_import_command_over_http(
    served: str, commune: str, tmp_path: Path, topic_records: Callable[..., list[Record]]
) -> None:
    file = _ndjson(tmp_path / "history.ndjson", _dossiers(commune, 5), {4: b"{broken"})
    app = typer.Typer()
    app.command()(import_command)
    runner = CliRunner()

    result = runner.invoke(
        app, [str(file), "--url", served], env={"TTHC_API_KEY": PROVINCE_KEY, "COLUMNS": "200"}
    )

    assert result.exit_code == 1, result.output  # 1: some lines were rejected
    assert "malformed_json" in result.output
    assert len(topic_records(expect=10)) == 10
    wrong_key = runner.invoke(
        app, [str(file), "--url", served, "--restart"], env={"TTHC_API_KEY": "nope"}
    )
    assert wrong_key.exit_code == 77  # not 75: running it again will not help
    assert "the ingest refused the key (HTTP 401): unknown API key" in wrong_key.output
    assert "run the same command again" not in wrong_key.output
    no_key = runner.invoke(app, [str(file), "--url", served, "--restart"], env={"COLUMNS": "200"})
    assert no_key.exit_code == 77
    assert "no key given: set TTHC_API_KEY" in no_key.output


def test_with_the_ingests_policy_refused_events_are_not_even_sent(
    client: TestClient,
    commune: str,
    tmp_path: Path,
    topic_records: Callable[..., list[Record]],
) -> None:
    good = received("H75-IMP-P1", commune)
    future = {**received("H75-IMP-P2", commune), "time": "2099-01-01T00:00:00+07:00"}
    file = _ndjson(tmp_path / "checked.ndjson", [good, future, received("H75-IMP-P3", "99999")])
    sent: list[bytes] = []
    client.event_hooks = {"request": [lambda request: sent.append(request.read())], "response": []}
    policy = IngestSettings().event_policy(load_units("dong-nai"))

    state = run_import(file, client, policy=policy, show_progress=False)

    assert (state.accepted, state.rejected) == (1, 2)
    assert [(r.line, r.reason) for r in state.rejections] == [
        (2, "future_time"),
        (3, "unknown_unit"),
    ]
    assert b"H75-IMP-P2" not in b"".join(sent) and b"H75-IMP-P3" not in b"".join(sent)
    assert len(topic_records(expect=1)) == 1
