"""The CSV export of a one-stop-shop system (một cửa điện tử), mapped to events.

One row per dossier; a column left empty means the step did not happen (yet). Headers are
matched without regard to case or surrounding spaces; unknown columns are ignored.

=============================  ========================================================
column                         meaning → event
=============================  ========================================================
ma_ho_so *                     dossier code → every event's ``subject``
ma_don_vi *                    unit code (receiving unit)
ma_tthc *                      national procedure code
ngay_tiep_nhan *               received → ``dossier.received``
kenh                           1/truc_tiep, 2/truc_tuyen, 3/buu_chinh (default 1)
doi_tuong                      ca_nhan / to_chuc (default ca_nhan)
han_xu_ly                      due date of the received dossier
ngay_tu_choi, ly_do_tu_choi    refused at intake → ``dossier.refused``
ngay_yeu_cau_bo_sung,          supplement requested → ``dossier.supplement_requested``
ly_do_bo_sung
ngay_nhan_bo_sung              supplement received → ``dossier.supplement_received``
ngay_gia_han, han_xu_ly_moi,   due date extended (when, new due date; both needed)
ly_do_gia_han                  → ``dossier.due_date_changed``
ngay_yeu_cau_nghia_vu_tc,      financial obligation → ``dossier.financial_obligation_requested``
so_tien
ngay_thanh_toan,               fee paid → ``dossier.fee_paid`` (amount ``so_tien``)
thanh_toan_truc_tuyen
ngay_rut                       withdrawn → ``dossier.withdrawn``
ngay_dung_xu_ly, ly_do_dung    stopped → ``dossier.stopped``
ngay_xu_ly_xong                processed → ``dossier.processed``
ngay_tra_ket_qua,              result returned → ``dossier.result_returned``
ket_qua_dien_tu,
day_kho_du_lieu
ngay_dong_bo                   synced to the national portal → ``dossier.synced_to_portal``
ngay_danh_gia, hai_long        rated → ``dossier.rated``
=============================  ========================================================

(* required.) Times: ISO 8601 (``2025-08-04T08:30:00+07:00``; without an offset it is
Vietnam time), ``dd/mm/yyyy``, ``dd/mm/yyyy HH:MM[:SS]`` or ``yyyy-mm-dd HH:MM[:SS]``. A due
date without a time means the end of that day. Booleans: 1/0, true/false, co/khong, x/empty.

Event ids are ``<ma_ho_so>/<fact>``: importing the same export again (or a later export of the
same dossiers) produces the same ids, so nothing counts twice; only new steps are new events.
An extension can happen again, so its id also carries its time
(``<ma_ho_so>/due_date_changed/<ngay_gia_han>``): a later export's new extension is a new
event, and the latest by time sets the due date.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, time
from typing import Any

from pydantic import ValidationError

from tthc import events as ev
from tthc.calendar import VN_TZ

REQUIRED = ("ma_ho_so", "ma_don_vi", "ma_tthc", "ngay_tiep_nhan")

CHANNELS = {"1": 1, "2": 2, "3": 3, "truc_tiep": 1, "truc_tuyen": 2, "buu_chinh": 3}
APPLICANTS = {"ca_nhan": "individual", "to_chuc": "organization"}
TRUE = {"1", "true", "co", "có", "x", "yes"}
FALSE = {"", "0", "false", "khong", "không", "no"}

# Facts a dossier may have more than once: their id carries their time too, so that a later
# export's new one is a new event, not a duplicate of the first one imported.
_REPEATABLE: frozenset[type[ev.Payload]] = frozenset({ev.DossierDueDateChanged})

_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
_DATE_ONLY = ("%d/%m/%Y", "%Y-%m-%d")


class RowError(ValueError):
    """A row that cannot be mapped, with each problem as (column, reason)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{c}: {r}" for c, r in problems))


def normalize_header(names: list[str]) -> list[str]:
    return [re.sub(r"\s+", "_", name.strip().lower()) for name in names]


def missing_columns(header: list[str]) -> list[str]:
    return [c for c in REQUIRED if c not in header]


def _when(text: str, *, end_of_day: bool = False) -> datetime:
    text = text.strip()
    value: datetime | None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
        for fmt in _FORMATS:
            try:
                value = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if value is None:
            for fmt in _DATE_ONLY:
                try:
                    day = datetime.strptime(text, fmt).date()
                except ValueError:
                    continue
                value = datetime.combine(day, time(23, 59, 59) if end_of_day else time(0, 0))
                break
        if value is None:
            raise ValueError(f"not a date or time: {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=VN_TZ)
    return value


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ValueError(f"not a yes/no value: {text!r}")


class _Row:
    """Typed access to one row, collecting every problem before failing."""

    def __init__(self, row: Mapping[str, str]) -> None:
        self.row = row
        self.problems: list[tuple[str, str]] = []

    def text(self, column: str) -> str | None:
        value = (self.row.get(column) or "").strip()
        return value or None

    def when(self, column: str, *, end_of_day: bool = False) -> datetime | None:
        value = self.text(column)
        if value is None:
            return None
        try:
            return _when(value, end_of_day=end_of_day)
        except ValueError as error:
            self.problems.append((column, str(error)))
            return None

    def together(self, *columns: str) -> None:
        """Columns that make sense only all filled or all empty."""
        filled = [c for c in columns if self.text(c) is not None]
        if filled:
            self.problems.extend(
                (c, f"required when {filled[0]} is filled") for c in columns if c not in filled
            )

    def flag(self, column: str) -> bool:
        try:
            return _bool(self.row.get(column) or "")
        except ValueError as error:
            self.problems.append((column, str(error)))
            return False

    def choice(self, column: str, choices: Mapping[str, Any], default: Any) -> Any:
        value = self.text(column)
        if value is None:
            return default
        key = value.lower()
        if key not in choices:
            self.problems.append((column, f"expected one of {', '.join(choices)}; got {value!r}"))
            return default
        return choices[key]

    def amount(self, column: str) -> int | None:
        value = self.text(column)
        if value is None:
            return None
        digits = value.replace(".", "").replace(",", "").replace(" ", "")
        if not digits.isdigit():
            self.problems.append((column, f"not an amount in đồng: {value!r}"))
            return None
        return int(digits)


def row_events(row: Mapping[str, str], *, source: str) -> list[dict[str, Any]]:
    """The CloudEvents of one dossier row, in lifecycle order; RowError naming the columns."""
    r = _Row(row)
    for column in REQUIRED:
        if r.text(column) is None:
            r.problems.append((column, "required"))
    code = r.text("ma_ho_so") or ""
    received_at = r.when("ngay_tiep_nhan")
    amount = r.amount("so_tien")
    # Every column is read, so that one pass names every problem of the row.
    intake = {
        "unit": r.text("ma_don_vi"),
        "procedure": r.text("ma_tthc"),
        "channel": r.choice("kenh", CHANNELS, 1),
        "received_at": received_at,
        "due_at": r.when("han_xu_ly", end_of_day=True),
        "applicant_type": r.choice("doi_tuong", APPLICANTS, "individual"),
    }
    r.together("ngay_gia_han", "han_xu_ly_moi")
    new_due_at = r.when("han_xu_ly_moi", end_of_day=True)
    steps: list[tuple[str, type[ev.Payload], dict[str, Any]]] = []
    if received_at is not None:
        steps.append(("ngay_tiep_nhan", ev.DossierReceived, intake))
    optional: list[tuple[str, type[ev.Payload], dict[str, Any]]] = [
        ("ngay_tu_choi", ev.DossierRefused, {"reason": r.text("ly_do_tu_choi")}),
        (
            "ngay_yeu_cau_bo_sung",
            ev.DossierSupplementRequested,
            {"reason": r.text("ly_do_bo_sung")},
        ),
        ("ngay_nhan_bo_sung", ev.DossierSupplementReceived, {}),
        (
            "ngay_gia_han",
            ev.DossierDueDateChanged,
            {"due_at": new_due_at, "reason": r.text("ly_do_gia_han")},
        ),
        (
            "ngay_yeu_cau_nghia_vu_tc",
            ev.DossierFinancialObligationRequested,
            {"amount": amount or 0},
        ),
        (
            "ngay_thanh_toan",
            ev.DossierFeePaid,
            {"amount": amount, "online": r.flag("thanh_toan_truc_tuyen")},
        ),
        ("ngay_rut", ev.DossierWithdrawn, {}),
        ("ngay_dung_xu_ly", ev.DossierStopped, {"reason": r.text("ly_do_dung")}),
        ("ngay_xu_ly_xong", ev.DossierProcessed, {}),
        (
            "ngay_tra_ket_qua",
            ev.DossierResultReturned,
            {
                "electronic": r.flag("ket_qua_dien_tu"),
                "pushed_to_data_store": r.flag("day_kho_du_lieu"),
            },
        ),
        ("ngay_dong_bo", ev.DossierSyncedToPortal, {}),
        ("ngay_danh_gia", ev.DossierRated, {"satisfied": r.flag("hai_long")}),
    ]
    for column, payload_type, fields in optional:
        at = r.when(column)
        if at is not None:
            steps.append((column, payload_type, {"at": at, **fields}))
    if r.problems:
        raise RowError(r.problems)
    events = []
    for column, payload_type, fields in steps:
        event_id = f"{code}/{payload_type.fact}"
        if payload_type in _REPEATABLE:
            # the instant, not how it was written: an export in another offset is the same event
            event_id += f"/{fields['at'].astimezone(UTC).isoformat()}"
        try:
            payload = payload_type.model_validate(fields)
            event = ev.make_event(payload, subject=code, id=event_id, source=source)
        except ValidationError as error:
            r.problems.extend(
                (f"{column} ({payload_type.fact}.{'.'.join(map(str, e['loc']))})", e["msg"])
                for e in error.errors(include_url=False)
            )
            continue
        events.append(event.to_cloudevent())
    if r.problems:
        raise RowError(r.problems)
    return events
