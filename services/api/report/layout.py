"""The report laid out once, as blocks that both writers (DOCX, PDF) draw the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.api.report import charts
from tthc.calendar import VN_TZ
from tthc.report import (
    MOTTO,
    NATION,
    Listing,
    Report,
    Standing,
    date_line,
    lower_first,
    number_vi,
    place_of,
    signed_vi,
)

# The page both writers set up (Nghị định 30/2020/NĐ-CP): A4, the official margins, Times New
# Roman 13 pt.
PAGE_CM = (21.0, 29.7)  # width, height
MARGINS_CM = (2.0, 2.0, 2.0, 3.0)  # top, right, bottom, left
FONT, FONT_PT = "Times New Roman", 13


@dataclass(frozen=True)
class Masthead:
    """The official heading: the issuing unit on the left, the nation and motto on the right."""

    issuer: str
    number: str
    nation: str
    motto: str
    dateline: str


@dataclass(frozen=True)
class Title:
    text: str
    subtitle: str


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str
    italic: bool = False


@dataclass(frozen=True)
class Table:
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: frozenset[int] = field(default_factory=frozenset)  # right-aligned columns


@dataclass(frozen=True)
class Picture:
    png: bytes
    caption: str


@dataclass(frozen=True)
class Recipients:
    lines: tuple[str, ...]
    signer: str


Block = Masthead | Title | Heading | Paragraph | Table | Picture | Recipients
SAMPLE = 20  # late items shown in full; the rest are counted


def _ranking(caption: str, rows: tuple[Standing, ...]) -> Table:
    return Table(
        caption,
        ("Hạng", "Mã", "Tên đơn vị", "Tổng điểm", "Xếp loại", "Hạng kỳ trước", "Thay đổi hạng"),
        tuple(
            (
                "—" if s.rank is None else str(s.rank),
                s.code,
                s.name,
                number_vi(s.total),
                s.grade,
                "—" if s.previous_rank is None else str(s.previous_rank),
                "—" if s.rank_change is None else f"{s.rank_change:+d}" if s.rank_change else "0",
            )
            for s in rows
        ),
        frozenset({0, 3, 5, 6}),
    )


def _day(moment: datetime | None) -> str:
    return f"{moment.astimezone(VN_TZ):%d/%m/%Y}" if moment else "—"


def _late(caption: str, listing: Listing, *, dossiers: bool) -> list[Block]:
    shown = listing.items[:SAMPLE]
    more = listing.total - len(shown)
    intro = f"Tổng số: {listing.total}." + (
        f" Liệt kê {len(shown)} trường hợp đầu." if more else ""
    )
    headers: tuple[str, ...]
    if dossiers:
        headers = ("Mã hồ sơ", "Đơn vị", "Mã thủ tục", "Ngày tiếp nhận", "Hạn xử lý",
                   "Quá hạn (ngày)", "Lý do")  # fmt: skip
    else:
        headers = ("Mã phản ánh", "Đơn vị", "Ngày tiếp nhận", "Hạn xử lý", "Ngày xử lý xong",
                   "Lý do")  # fmt: skip
    rows = tuple(
        (
            i.code,
            i.unit,
            *((i.procedure,) if dossiers else ()),
            _day(i.received_at),
            _day(i.due_at),
            number_vi(i.overdue_days, 1) if dossiers else _day(i.ended_at),
            i.reason,
        )
        for i in shown
    )
    blocks: list[Block] = [Paragraph(f"{caption}. {intro}")]
    if rows:
        dates = {3, 4, 5} if dossiers else {2, 3, 4}  # right-aligned, never broken
        blocks.append(Table(caption, headers, rows, frozenset(dates)))
    return blocks


def blocks(report: Report) -> list[Block]:
    card, before = report.card, report.previous_card
    previous_groups = {g.number: g for g in before.groups} if before else {}
    out: list[Block] = [
        Masthead(
            issuer=report.unit_name.upper(),
            number="Số:\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0/BC",  # the office writes the number in
            nation=NATION,
            motto=MOTTO,
            dateline=date_line(place_of(report.province_name), report.issued_on),
        ),
        Title(
            report.title,
            f"(Số liệu tính đến {report.judged_at.astimezone(VN_TZ):%H:%M ngày %d/%m/%Y})",
        ),
        Heading("I. KẾT QUẢ CHUNG"),
        *(Paragraph(line) for line in report.summary()),
        Table(
            "Điểm theo nhóm chỉ số",
            ("Nhóm", "Tên nhóm", "Điểm đạt", "Điểm tối đa", "Tỷ lệ (%)", "Kỳ trước", "Thay đổi"),
            tuple(
                (
                    str(g.number),
                    g.name_vi,
                    number_vi(g.points),
                    number_vi(g.max_points),
                    number_vi(100 * g.points / g.max_points if g.max_points else None, 1),
                    number_vi(previous_groups[g.number].points) if previous_groups else "—",
                    signed_vi(g.points - previous_groups[g.number].points)
                    if previous_groups
                    else "—",
                )
                for g in card.groups
            )
            + (
                (
                    "",
                    "Tổng điểm (trên 100)",
                    number_vi(card.total),
                    "100",
                    "",
                    number_vi(before.total) if before else "—",
                    signed_vi(report.change),
                ),
            ),
            frozenset({0, 2, 3, 4, 5, 6}),
        ),
        Picture(charts.groups(report), "Hình 1. Điểm từng nhóm so với điểm tối đa"),
        Heading("II. XẾP HẠNG CÁC CƠ QUAN, ĐƠN VỊ"),
    ]
    if report.departments:
        out.append(_ranking("Bảng xếp hạng các sở, ban, ngành", report.departments))
    if report.communes:
        out.append(_ranking("Bảng xếp hạng các xã, phường", report.communes))
        out.append(Picture(charts.communes(report), "Hình 2. Phân bố tổng điểm các xã, phường"))
    if not report.departments and not report.communes:
        out.append(Paragraph("Đơn vị không có đơn vị trực thuộc để xếp hạng."))
    out.append(Heading("III. CÁC CHỈ SỐ BỊ TRỪ NHIỀU ĐIỂM NHẤT"))
    if report.losses:
        out.append(
            Table(
                "Các chỉ số bị trừ nhiều điểm nhất",
                (
                    "Mã",
                    "Tên chỉ số",
                    "Điểm đạt / tối đa",
                    "Bị trừ",
                    "Đạt / tổng số",
                    "Nguyên nhân (số trường hợp)",
                ),  # fmt: skip
                tuple(
                    (
                        loss.code,
                        loss.name,
                        f"{number_vi(loss.points)} / {number_vi(loss.max_points)}",
                        number_vi(loss.lost),
                        f"{number_vi(loss.numerator, 0)} / {loss.denominator}",
                        "; ".join(f"{c.label} ({c.count})" for c in loss.causes) or "—",
                    )
                    for loss in report.losses
                ),
                frozenset({2, 3, 4}),
            )
        )
    else:
        out.append(Paragraph("Không có chỉ số nào bị trừ điểm."))
    out.append(Heading("IV. HỒ SƠ TRỄ HẠN VÀ PHẢN ÁNH, KIẾN NGHỊ XỬ LÝ TRỄ HẠN"))
    out.extend(_late("Hồ sơ giải quyết trễ hạn", report.late_dossiers, dossiers=True))
    out.extend(_late("Phản ánh, kiến nghị xử lý trễ hạn", report.late_feedback, dossiers=False))
    out.append(Heading(f"V. DIỄN BIẾN TRONG NĂM {report.period.start_date.year}"))
    out.append(Picture(charts.months(report), "Hình 3. Tổng điểm từng tháng"))
    out.append(
        Recipients(
            ("Nơi nhận:", f"- Ủy ban nhân dân {lower_first(report.province_name)};", "- Lưu: VT."),
            f"{report.unit_name.upper()}",
        )
    )
    return out


def filename(report: Report, extension: str) -> str:
    return f"bao-cao-766-{report.unit_code}-{report.period.label}.{extension}"
