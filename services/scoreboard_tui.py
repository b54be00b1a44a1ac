"""The terminal scoreboard of `tthc scoreboard` (and `make demo`): a client of the API.

Every few seconds: the unit's total and grade, the five groups, the 2.1 on-time rate, and the
weakest communes of the ranking, read from `/v1/scores` and `/v1/rankings`.
"""

from __future__ import annotations

import re
import signal
import time
from typing import Any

import httpx
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


def _bar(points: float, maximum: float, width: int = 24) -> Text:
    share = points / maximum if maximum else 0.0
    filled = round(share * width)
    style = "green" if share >= 0.8 else "yellow" if share >= 0.5 else "red"
    return Text("█" * filled, style=style) + Text("░" * (width - filled), style="grey37")


def _accepted(client: httpx.Client, ingest_url: str | None) -> int | None:
    if not ingest_url:
        return None
    try:
        text = client.get(f"{ingest_url}/metrics", timeout=2).text
    except httpx.HTTPError:
        return None
    return int(sum(float(v) for v in ACCEPTED.findall(text)))


def board(
    scores: dict[str, Any],
    ranking: dict[str, Any] | None,
    *,
    weakest: int,
    accepted: int | None,
    url: str,
    took: float,
) -> Group:
    unit, period = scores["unit"], scores["period"]
    grade = scores["grade"]
    headline = Text.assemble(
        (f"{unit['name']} ", "bold"),
        (f"· {period['label']} ", ""),
        (f"{scores['total']:.2f}", "bold cyan"),
        ("/100  ", ""),
        (grade, GRADE_STYLE.get(grade, "red")),
    )
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
    on_time = next(
        (
            i
            for i in scores["indicators"]
            if any(p["measure"] == ON_TIME_MEASURE for p in i.get("parts") or ())
        ),
        None,
    )
    facts = Text()
    if on_time is not None:
        rate = on_time["rate"]
        facts.append(
            f"{on_time['code']} đúng hạn: {on_time['numerator']:.0f}/{on_time['denominator']} hồ sơ"
            + (f" ({rate:.1%})" if rate is not None else "")
        )
    if accepted is not None:
        facts.append(f"   · sự kiện đã nhận: {accepted:,}")
    parts: list[Any] = [Panel(headline, expand=False), groups, facts]
    if ranking is not None and ranking["units"]:
        low = ranking["units"][-weakest:][::-1]
        table = Table(title=f"{len(low)} xã/phường yếu nhất", show_edge=False)
        for column, justify in (
            ("Hạng", "right"),
            ("Đơn vị", "left"),
            ("Điểm", "right"),
            ("Xếp loại", "left"),
            ("±", "right"),
        ):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for entry in low:
            change = entry["rank_change"]
            moved = (
                "" if not change else (f"[green]▲{change}" if change > 0 else f"[red]▼{-change}")
            )
            table.add_row(
                f"{entry['rank']}/{len(ranking['units'])}",
                entry["unit"]["name"],
                f"{entry['total']:.2f}",
                entry["grade"],
                moved,
            )
        parts.append(table)
    parts.append(
        Text(
            f"API: {url}/docs · cập nhật {time.strftime('%H:%M:%S')} ({took * 1000:.0f} ms) · "
            "Ctrl-C để dừng",
            style="grey50",
        )
    )
    return Group(*parts)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def watch(
    url: str,
    *,
    unit: str | None,
    period: str | None,
    every: float,
    weakest: int,
    ingest_url: str | None,
    once: bool,
    console: Console,
) -> None:
    # Stop cleanly (the cursor restored) on Ctrl-C, and on SIGTERM from a script that started
    # this board in the background (where SIGINT may come in ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    with httpx.Client(base_url=url, timeout=30) as client:

        def render() -> Any:
            started = time.perf_counter()
            try:
                target = unit
                if target is None:  # the province: the root of the catalogue's unit tree
                    target = client.get("/v1/rankings", params={"level": "province"}).json()[
                        "units"
                    ][0]["unit"]["code"]
                params = {"unit": target, **({"period": period} if period else {})}
                scores = client.get("/v1/scores", params=params)
                scores.raise_for_status()
                ranking = client.get(
                    "/v1/rankings",
                    params={
                        "level": "commune",
                        "parent": target,
                        "source": "snapshot",
                        **({"period": period} if period else {}),
                    },
                )
                ranked = ranking.json() if ranking.status_code == 200 else None
            except (httpx.HTTPError, KeyError, IndexError, ValueError) as error:
                return Text(f"đang chờ API tại {url}… ({error!r})", style="yellow")
            took = time.perf_counter() - started
            return board(
                scores.json(),
                ranked,
                weakest=weakest,
                accepted=_accepted(client, ingest_url),
                url=url,
                took=took,
            )

        if once:
            console.print(render())
            return
        with Live(render(), console=console, refresh_per_second=4, screen=False) as live:
            while True:
                time.sleep(every)
                live.update(render())
