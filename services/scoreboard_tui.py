"""The terminal scoreboard of `tthc scoreboard` (and `make demo`): a client of the API.

Every few seconds: the unit's total and grade, the five groups, the 2.1 on-time rate, and the
weakest communes of the ranking (for a commune: its rank among the province's communes), with,
for the province, the weakest of its departments (sở, ban, ngành) beside them, read from
`/v1/scores` and `/v1/rankings`. On a terminal the board is redrawn in place; through a pipe
(`make demo | tee demo.log`) it prints one plain line whenever the numbers change.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from rich.columns import Columns
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

ON_TIME_MEASURE = "dossiers_on_time"  # the indicator whose part counts it: 2.1
GRADE_STYLE = {
    "Xuất sắc": "bold green",
    "Tốt": "green",
    "Khá": "yellow",
    "Trung bình": "dark_orange",
}
ACCEPTED = re.compile(
    r'^tthc_ingest_events_total\{[^}]*outcome="accepted"[^}]*\} ([0-9.e+]+)$', re.M
)
# What the aggregator has taken off the log: valid events and dead letters alike.
TAKEN = re.compile(
    r"^tthc_aggregator_(?:events_total|dead_letters_total)\{[^}]*\} ([0-9.e+]+)$", re.M
)


class BoardError(Exception):
    """The board cannot be drawn: one line, Vietnamese / English."""


@dataclass(frozen=True)
class Sources:
    """Where the board reads: the API, and optionally the ingest's and aggregator's /metrics."""

    url: str
    ingest_url: str | None = None
    aggregator_url: str | None = None


@dataclass(frozen=True)
class Reading:
    scores: dict[str, Any]
    ranking: dict[str, Any] | None  # the weakest communes under the unit, or all the province's
    departments: dict[str, Any] | None  # the province's departments, when the board shows it
    accepted: int | None
    pending: int | None
    took: float


def _bar(points: float, maximum: float, width: int = 24) -> Text:
    share = points / maximum if maximum else 0.0
    filled = round(share * width)
    style = "green" if share >= 0.8 else "yellow" if share >= 0.5 else "red"
    return Text("█" * filled, style=style) + Text("░" * (width - filled), style="grey37")


def metric_sum(client: httpx.Client, url: str | None, pattern: re.Pattern[str]) -> int | None:
    if not url:
        return None
    try:
        text = client.get(f"{url}/metrics", timeout=2).text
    except httpx.HTTPError:
        return None
    return int(sum(float(v) for v in pattern.findall(text)))


def pending_events(
    client: httpx.Client, sources: Sources, accepted: int | None, scores: dict[str, Any]
) -> int | None:
    """Events accepted that are not yet in the numbers.

    The API's pipeline watermark when its answer carries one (`pipeline.events_not_counted`);
    else the ingest's accepted events less what the aggregator has taken off the log, from
    their counters (both count from the start of their process, as in `tthc run`). None when
    neither can be read.
    """
    watermark = (scores.get("pipeline") or {}).get("events_not_counted")
    if watermark is not None:
        return int(watermark)
    taken = metric_sum(client, sources.aggregator_url, TAKEN)
    if accepted is None or taken is None:
        return None
    return max(0, accepted - taken)


def _answer(response: httpx.Response) -> dict[str, Any]:
    """The JSON of a 200, else BoardError with the API's own message and reason."""
    if response.status_code == 200:
        body: dict[str, Any] = response.json()
        return body
    try:
        problem = response.json()
        reasons = "; ".join(p["reason"] for p in problem.get("problems", []))
        message = problem["message"] + (f": {reasons}" if reasons else "")
    except (ValueError, KeyError, TypeError):
        message = response.text[:200]
    raise BoardError(f"API trả lời HTTP {response.status_code} / API answered: {message}")


def read(
    client: httpx.Client, sources: Sources, *, unit: str | None, period: str | None
) -> Reading:
    """One reading of the API (and the counters); BoardError when the API cannot answer."""
    started = time.perf_counter()
    when = {"period": period} if period else {}
    try:
        province = _answer(client.get("/v1/rankings", params={"level": "province"}))["units"][0]
        target = unit or province["unit"]["code"]
        scores = _answer(client.get("/v1/scores", params={"unit": target, **when}))
        # A commune has no communes under it: rank it among the province's instead.
        parent = province["unit"]["code"] if scores["unit"]["level"] == "commune" else target
        ranking = _ranking(client, "commune", parent, when)
        departments = None
        if scores["unit"]["level"] == "province":
            departments = _ranking(client, "department", target, when)
    except httpx.HTTPError as error:
        raise BoardError(
            f"không kết nối được API tại {sources.url} / cannot reach the API: {error}"
        ) from None
    except (KeyError, IndexError, ValueError) as error:
        raise BoardError(f"API trả lời không đúng dạng / unexpected answer: {error!r}") from None
    accepted = metric_sum(client, sources.ingest_url, ACCEPTED)
    return Reading(
        scores=scores,
        ranking=ranking,
        departments=departments,
        accepted=accepted,
        pending=pending_events(client, sources, accepted, scores),
        took=time.perf_counter() - started,
    )


def _ranking(
    client: httpx.Client, level: str, parent: str, when: dict[str, str]
) -> dict[str, Any] | None:
    """The ranking of one level under the parent (from the windows); None when the API has
    none."""
    answer = client.get("/v1/rankings", params={"level": level, "parent": parent, **when})
    return answer.json() if answer.status_code == 200 else None


def _rescaled(scores: dict[str, Any]) -> str | None:
    """Indicators that do not apply (to a commune, or with nothing counted yet) are left out:
    the points of those that apply are put back on 100."""
    if scores["max_points"] == 100:
        return None
    return (
        f"{scores['points']:.2f}/{scores['max_points']:g} điểm của các chỉ số áp dụng, "
        f"quy về thang 100: {_total(scores['total'])}"
    )


def _facts(reading: Reading) -> Text:
    facts = Text()
    on_time = next(
        (
            i
            for i in reading.scores["indicators"]
            if any(p["measure"] == ON_TIME_MEASURE for p in i.get("parts") or ())
        ),
        None,
    )
    if on_time is not None:
        rate = on_time["rate"]
        facts.append(
            f"{on_time['code']} đúng hạn: {on_time['numerator']:.0f}/{on_time['denominator']} hồ sơ"
            + (f" ({rate:.1%})" if rate is not None else "")
        )
    if reading.accepted is not None:
        facts.append(f"   · sự kiện đã nhận: {reading.accepted:,}")
    if reading.pending:
        facts.append(f"   · {reading.pending:,} sự kiện chưa được tính", style="bold yellow")
    return facts


def _ranking_table(reading: Reading, weakest: int) -> Table | None:
    """The weakest communes, or for a commune its rank among the province's."""
    if reading.ranking is None:
        return None
    # units with nothing to judge are listed unranked, after the others: not the weakest
    units = _ranked(reading.ranking)
    unit = reading.scores["unit"]
    if unit["level"] == "commune":
        shown = [e for e in units if e["unit"]["code"] == unit["code"]]
        return _table(f"Xếp hạng trong {len(units)} xã/phường của tỉnh", shown, len(units))
    shown = units[-weakest:][::-1]
    return _table(f"{len(shown)} xã/phường yếu nhất (trên {len(units)})", shown, len(units))


def _departments_table(reading: Reading, weakest: int) -> Table | None:
    """The province's weakest departments (sở, ban, ngành), beside its weakest communes."""
    if reading.departments is None:
        return None
    units = _ranked(reading.departments)
    shown = units[-weakest:][::-1]
    return _table(f"{len(shown)} sở, ban, ngành yếu nhất (trên {len(units)})", shown, len(units))


def _ranked(ranking: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in ranking["units"] if e["rank"] is not None]


def _table(title: str, shown: list[dict[str, Any]], ranked: int) -> Table | None:
    if not shown:
        return None
    table = Table(title=title, show_edge=False)
    for column, justify in (
        ("Hạng", "right"),
        ("Đơn vị", "left"),
        ("Điểm", "right"),
        ("Xếp loại", "left"),
        ("±", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for entry in shown:
        change = entry["rank_change"]
        moved = "" if not change else (f"[green]▲{change}" if change > 0 else f"[red]▼{-change}")
        table.add_row(
            f"{entry['rank']}/{ranked}",
            entry["unit"]["name"],
            _total(entry["total"]),
            entry["grade"],
            moved,
        )
    return table


def board(reading: Reading, *, weakest: int, url: str, live: bool) -> Group:
    """The board: headline, groups, facts, the ranking, and a footer."""
    scores = reading.scores
    unit, period, grade = scores["unit"], scores["period"], scores["grade"]
    headline = Text.assemble(
        (f"{unit['name']} ", "bold"),
        (f"· {period['label']} ", ""),
        (_total(scores["total"]), "bold cyan"),
        ("/100  ", ""),
        (grade, GRADE_STYLE.get(grade, "red")),
    )
    rescaled = _rescaled(scores)
    if rescaled:
        headline.append(f"\n{rescaled}", style="grey62")
    groups = Table(title="Năm nhóm chỉ số", expand=False, show_edge=False)
    for column, justify in (("Nhóm", "left"), ("Điểm", "right"), ("Tối đa", "right"), ("", "left")):
        groups.add_column(column, justify=justify)  # type: ignore[arg-type]
    for g in scores["groups"]:
        groups.add_row(
            f"{g['number']}. {g['name_vi']}",
            f"{g['points']:.2f}",
            f"{g['max_points']:g}",
            _bar(g["points"], g["max_points"]),
        )
    parts: list[Any] = [Panel(headline, expand=False), groups, _facts(reading)]
    rankings = (_ranking_table(reading, weakest), _departments_table(reading, weakest))
    tables = [t for t in rankings if t is not None]
    if tables:
        parts.append(Columns(tables, padding=(0, 4)))
    took = f"{reading.took * 1000:.0f} ms"
    footer = f"API: {url}/docs · cập nhật {time.strftime('%H:%M:%S')} ({took})"
    parts.append(Text(footer + (" · Ctrl-C để dừng" if live else ""), style="grey50"))
    return Group(*parts)


def line(reading: Reading) -> str:
    """The board in one plain line, for a log or a pipe."""
    scores = reading.scores
    words = [
        f"{scores['unit']['name']} {scores['period']['label']}: "
        f"{_total(scores['total'])}/100 {scores['grade']}",
        _facts(reading).plain.replace("   · ", "; ").strip(),
    ]
    rescaled = _rescaled(scores)
    if rescaled:
        words.append(rescaled)
    return " · ".join(w for w in words if w)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def watch(
    sources: Sources,
    *,
    unit: str | None,
    period: str | None,
    every: float,
    weakest: int,
    once: bool,
    console: Console,
) -> None:
    """Draw the board until interrupted; with `once`, one board (BoardError if it cannot)."""
    # Stop cleanly (the cursor restored) on Ctrl-C, and on SIGTERM or SIGHUP from a script that
    # started this board in the background (where SIGINT may come in ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    with httpx.Client(base_url=sources.url, timeout=30) as client:

        def reading() -> Reading:
            return read(client, sources, unit=unit, period=period)

        if once:
            console.print(board(reading(), weakest=weakest, url=sources.url, live=False))
            return
        if not console.is_terminal:
            _plain(reading, every=every, console=console)
            return

        def render() -> Any:
            try:
                return board(reading(), weakest=weakest, url=sources.url, live=True)
            except BoardError as error:
                return Text(f"đang chờ API… {error}", style="yellow")

        with Live(render(), console=console, refresh_per_second=4, screen=False) as live:
            while True:
                time.sleep(every)
                live.update(render())


def _plain(reading: Callable[[], Reading], *, every: float, console: Console) -> None:
    """One line each time the numbers change (and each minute regardless), no cursor moves."""
    last, said_at = "", 0.0
    while True:
        try:
            now = line(reading())
        except BoardError as error:
            now = f"đang chờ API… {error}"
        if now != last or time.monotonic() - said_at >= 60:
            console.print(f"{time.strftime('%H:%M:%S')} {now}", highlight=False, soft_wrap=True)
            last, said_at = now, time.monotonic()
        time.sleep(every)


def _total(value: float | None) -> str:
    """A total on 100, or a dash for a unit with nothing to judge in the period."""
    return "—" if value is None else f"{value:.2f}"
