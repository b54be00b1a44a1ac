"""The report's charts as PNG: the groups against their maxima, the year's months, the communes."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display: files only

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tthc.report import Report, number_vi  # noqa: E402

plt.rcParams.update({"font.family": "DejaVu Sans", "font.size": 9})  # has Vietnamese letters
WIDTH, HEIGHT = 6.3, 2.8  # inches: the text width of an A4 page with official margins
BLUE, GREY = "#1f4e79", "#c9d3df"


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.tight_layout()
    figure.savefig(out, format="png", dpi=150)
    plt.close(figure)
    return out.getvalue()


def groups(report: Report) -> bytes:
    figure, axes = plt.subplots(figsize=(WIDTH, HEIGHT))
    names = [f"Nhóm {g.number}" for g in report.card.groups][::-1]
    axes.barh(names, [g.max_points for g in report.card.groups][::-1], color=GREY, label="Tối đa")
    bars = axes.barh(
        names, [g.points for g in report.card.groups][::-1], color=BLUE, label="Đạt được"
    )
    axes.bar_label(bars, labels=[number_vi(g.points) for g in report.card.groups][::-1], padding=3)
    axes.set_xlabel("Điểm")
    axes.set_title("Điểm từng nhóm so với điểm tối đa")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    return _png(figure)


def months(report: Report) -> bytes:
    figure, axes = plt.subplots(figsize=(WIDTH, HEIGHT))
    labels = [m.label for m in report.months]
    totals = [m.total if m.total is not None else float("nan") for m in report.months]
    axes.plot(labels, totals, marker="o", color=BLUE)
    axes.set_ylim(0, 100)
    axes.set_ylabel("Tổng điểm (trên 100)")
    axes.set_title(f"Diễn biến tổng điểm các tháng năm {report.period.start_date.year}")
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


def communes(report: Report) -> bytes:
    figure, axes = plt.subplots(figsize=(WIDTH, HEIGHT))
    totals = [s.total for s in report.communes if s.total is not None]
    axes.hist(totals, bins=list(range(0, 101, 5)), color=BLUE, edgecolor="white")
    low = min(totals, default=0.0)
    axes.set_xlim(max(0, int(low // 10) * 10 - 10), 100)
    axes.set_xlabel("Tổng điểm (trên 100)")
    axes.set_ylabel("Số xã, phường")
    axes.set_title(f"Phân bố điểm của {len(totals)} xã, phường")
    return _png(figure)
