"""The periodic report on Decision 766 (quarter, half-year, year): what it says, from scorecards.

A province reports its results to the People's Committee every quarter, half-year and year. The
report is made of the same numbers as the API: the unit's scorecard and the previous period's,
the rankings of its departments and communes, the indicators that lost the most points with the
causes counted, the late dossiers and the feedback handled late. Everything here decides what the
report says; drawing it (DOCX, PDF, charts) is an adapter's business.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from tthc.periods import Period
from tthc.ranking import rank, rank_change
from tthc.scoring import Scorecard

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
TOP_LOSSES = 5


def number_vi(value: float | None, decimals: int = 2) -> str:
    """86.4 → '86,40': Vietnamese writes a decimal comma and groups thousands with dots."""
    if value is None:
        return "—"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def signed_vi(value: float | None, decimals: int = 2) -> str:
    if value is None:
        return "—"
    return ("+" if value > 0 else "") + number_vi(value, decimals)


def period_title(period: Period) -> str:
    """'Quý III năm 2026', 'Tháng 5 năm 2024', '6 tháng đầu năm 2024', 'Năm 2024'."""
    label, start = period.label, period.start_date
    last = period.end_date.toordinal() - 1
    if len(label) == 7 and label[4] == "-" and label[5] == "Q":
        return f"Quý {ROMAN[int(label[6])]} năm {start.year}"
    if len(label) == 7 and label[4] == "-" and label[5] == "H":
        return f"6 tháng {'đầu' if label[6] == '1' else 'cuối'} năm {start.year}"
    if len(label) == 7 and label[4] == "-":
        return f"Tháng {start.month} năm {start.year}"
    if len(label) == 4:
        return f"Năm {start.year}"
    end = date.fromordinal(last)
    return f"Từ ngày {start:%d/%m/%Y} đến ngày {end:%d/%m/%Y}"


def place_of(name: str) -> str:
    """'Tỉnh Đồng Nai' → 'Đồng Nai': the place a document is dated at."""
    for kind in ("Thành phố ", "Tỉnh "):
        if name.startswith(kind):
            return name[len(kind) :]
    return name


def lower_first(name: str) -> str:
    """'Tỉnh Đồng Nai' → 'tỉnh Đồng Nai', as it reads inside a sentence."""
    return name[:1].lower() + name[1:]


def date_line(place: str, day: date) -> str:
    """The dateline under the motto: 'Đồng Nai, ngày 05 tháng 10 năm 2026'."""
    return f"{place}, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


@dataclass(frozen=True)
class Standing:
    """One unit in a ranking table."""

    code: str
    name: str
    rank: int | None  # None: nothing to judge in the period, not ranked (listed last)
    total: float | None
    grade: str
    previous_rank: int | None
    rank_change: int | None
    previous_total: float | None


def standings(
    now: Mapping[str, Scorecard], before: Mapping[str, Scorecard], names: Mapping[str, str]
) -> list[Standing]:
    """Units best first with the rank and total they had in the previous period; the units
    with nothing to judge come last, unranked."""
    earlier = {p.code: p for p in rank({c: card.total for c, card in before.items()})}
    out = []
    places = rank({c: card.total for c, card in now.items()})
    for place in places:
        was = earlier.get(place.code)
        out.append(
            Standing(
                code=place.code,
                name=names[place.code],
                rank=place.rank,
                total=place.value,
                grade=now[place.code].grade_vi,
                previous_rank=was.rank if was else None,
                rank_change=rank_change(place.rank, was.rank if was else None),
                previous_total=was.value if was else None,
            )
        )
    ranked = {p.code for p in places}
    for code in sorted((c for c in now if c not in ranked), key=lambda c: (names[c], c)):
        was = earlier.get(code)
        out.append(
            Standing(code, names[code], None, None, now[code].grade_vi,
                     was.rank if was else None, None, was.value if was else None)
        )  # fmt: skip
    return out


@dataclass(frozen=True)
class Cause:
    label: str  # in Vietnamese
    count: int


@dataclass(frozen=True)
class Loss:
    """An indicator that lost points, with what it counted and why its items failed."""

    code: str
    name: str
    lost: float
    points: float
    max_points: float
    numerator: float
    denominator: int
    causes: tuple[Cause, ...]  # empty where the indicator counts no dossiers one by one


def top_losses(card: Scorecard, count: int = TOP_LOSSES) -> list[str]:
    """The codes of the indicators that lost the most points, most first."""
    lost = [i for i in card.indicators if i.applicable and i.lost > 1e-9]
    lost.sort(key=lambda i: (-i.lost, i.code))
    return [i.code for i in lost[:count]]


def loss_of(card: Scorecard, code: str, causes: Sequence[Cause]) -> Loss:
    found = card.indicator(code)
    counted = [p for p in found.parts if p.applicable]
    return Loss(
        code=code,
        name=found.name_vi,
        lost=found.lost,
        points=found.points,
        max_points=found.max_points,
        numerator=sum(p.numerator for p in counted),
        denominator=sum(p.denominator for p in counted),
        causes=tuple(sorted(causes, key=lambda c: (-c.count, c.label))),
    )


@dataclass(frozen=True)
class LateItem:
    """A late dossier (or feedback handled late): codes and times, no personal data."""

    code: str
    unit: str  # the unit's name
    procedure: str  # '' for feedback
    received_at: datetime | None
    due_at: datetime | None
    ended_at: datetime | None
    overdue_days: float | None
    reason: str


@dataclass(frozen=True)
class Listing:
    total: int
    items: tuple[LateItem, ...]  # the first ones (a report shows a sample, and says how many)


@dataclass(frozen=True)
class MonthPoint:
    label: str  # 'T1' … 'T12'
    total: float | None  # None for a month with nothing to judge yet


@dataclass(frozen=True)
class Report:
    unit_code: str
    unit_name: str
    province_name: str  # for the dateline
    period: Period
    previous: Period
    issued_on: date
    judged_at: datetime
    card: Scorecard
    previous_card: Scorecard | None
    rank: int | None  # among the units of its level (None for the province itself)
    ranked_among: int
    departments: tuple[Standing, ...]
    communes: tuple[Standing, ...]
    losses: tuple[Loss, ...]
    late_dossiers: Listing
    late_feedback: Listing
    months: tuple[MonthPoint, ...]

    @property
    def title(self) -> str:
        return (
            f"BÁO CÁO KẾT QUẢ ĐÁNH GIÁ BỘ CHỈ SỐ PHỤC VỤ NGƯỜI DÂN, DOANH NGHIỆP "
            f"{period_title(self.period).upper()}"
        )

    @property
    def change(self) -> float | None:
        before = self.previous_card.total if self.previous_card is not None else None
        now = self.card.total
        return None if now is None or before is None else now - before

    def summary(self) -> list[str]:
        """The opening paragraphs: total, grade, rank and the change since the previous period."""
        card = self.card
        lines = [
            f"Căn cứ Quyết định số 766/QĐ-TTg ngày 23/6/2022 của Thủ tướng Chính phủ phê duyệt "
            f"Bộ chỉ số chỉ đạo, điều hành và đánh giá chất lượng phục vụ người dân, doanh "
            f"nghiệp trong thực hiện thủ tục hành chính, dịch vụ công theo thời gian thực trên "
            f"môi trường điện tử, {self.unit_name} báo cáo kết quả "
            f"{lower_first(period_title(self.period))} như sau.",
            (
                f"Tổng điểm đạt {number_vi(card.total)}/100 điểm, xếp loại {card.grade_vi}"
                + (f", xếp hạng {self.rank}/{self.ranked_among}" if self.rank is not None else "")
                + "."
            )
            if card.total is not None
            else "Trong kỳ chưa có dữ liệu để đánh giá (không có hồ sơ, thủ tục nào được tính).",
        ]
        if self.change is not None and self.previous_card is not None:
            assert self.previous_card.total is not None
            direction = "tăng" if self.change > 0 else "giảm" if self.change < 0 else "không đổi"
            amount = f" {number_vi(abs(self.change))} điểm" if self.change else ""
            lines.append(
                f"So với {lower_first(period_title(self.previous))} "
                f"({number_vi(self.previous_card.total)} điểm), tổng điểm {direction}{amount}."
            )
        else:
            lines.append(f"{period_title(self.previous)} chưa có số liệu để so sánh.")
        weakest = min(card.groups, key=lambda g: g.points / g.max_points if g.max_points else 1)
        lines.append(
            f"Nhóm có tỷ lệ điểm thấp nhất: nhóm {weakest.number} ({weakest.name_vi}), "
            f"{number_vi(weakest.points)}/{number_vi(weakest.max_points)} điểm."
        )
        return lines
