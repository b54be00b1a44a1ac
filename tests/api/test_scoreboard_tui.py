"""`tthc scoreboard`'s board, read from the API itself (the test client is an httpx client)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from services.scoreboard_tui import BoardError, Reading, Sources, board, line, read

SOURCES = Sources("http://testserver")


def text(reading: Reading, *, live: bool) -> str:
    console = Console(record=True, width=160, file=io.StringIO())
    console.print(board(reading, weakest=3, url=SOURCES.url, live=live))
    return console.export_text()


def test_the_province_board_lists_its_weakest_communes(api):
    reading = read(api, SOURCES, unit=None, period="2024-Q2")
    assert reading.scores["unit"]["code"] == "75"
    shown = text(reading, live=False)
    communes = len(reading.ranking["units"])
    assert f"3 xã/phường yếu nhất (trên {communes})" in shown
    assert "Ctrl-C" not in shown  # printed once: nothing to stop
    assert "Ctrl-C để dừng" in text(reading, live=True)
    assert "quy về thang 100" not in shown  # the province is assessed on all 100 points
    assert "2.1 đúng hạn:" in shown  # the indicator found by its measure


def test_the_province_board_ranks_its_weakest_departments_beside_the_communes(api):
    reading = read(api, SOURCES, unit=None, period="2024-Q2")
    ranked = [e for e in reading.departments["units"] if e["rank"] is not None]
    assert len(ranked) > 3, "the sample province has more departments than the board shows"
    shown = text(reading, live=False)
    assert f"3 sở, ban, ngành yếu nhất (trên {len(ranked)})" in shown
    weakest = ranked[-1]  # the API's ranking, best first: the last is the weakest
    assert weakest["unit"]["level"] == "department"
    row = next(r for r in shown.splitlines() if f"{weakest['rank']}/{len(ranked)}" in r)
    assert weakest["unit"]["name"] in row and f"{weakest['total']:.2f}" in row
    header = next(r for r in shown.splitlines() if "xã/phường yếu nhất" in r)
    assert "sở, ban, ngành yếu nhất" in header  # side by side


def test_a_commune_board_has_no_department_ranking(api):
    reading = read(api, SOURCES, unit="25264", period="2024-Q2")
    assert reading.departments is None
    assert "sở, ban, ngành" not in text(reading, live=False)


def test_a_commune_is_ranked_among_the_province_communes_and_its_total_rescaled(api):
    reading = read(api, SOURCES, unit="25264", period="2024-Q2")
    scores = reading.scores
    assert scores["max_points"] < 100
    shown = text(reading, live=False)
    communes = len(reading.ranking["units"])
    assert communes > 1
    assert f"Xếp hạng trong {communes} xã/phường của tỉnh" in shown
    assert "yếu nhất" not in shown and "1/1" not in shown
    rank = next(e["rank"] for e in reading.ranking["units"] if e["unit"]["code"] == "25264")
    assert f"{rank}/{communes}" in shown
    rescaled = (
        f"{scores['points']:.2f}/{scores['max_points']:g} điểm của các chỉ số áp dụng, "
        f"quy về thang 100: {scores['total']:.2f}"
    )
    assert rescaled in shown
    assert rescaled in line(reading)


def test_an_unknown_unit_is_one_line_with_the_api_reason(api):
    with pytest.raises(BoardError, match="HTTP 404.*unknown unit code '99999'"):
        read(api, SOURCES, unit="99999", period=None)


def test_without_the_counters_only_the_watermark_speaks_of_events(api):
    reading = read(api, SOURCES, unit="75", period="2024-Q2")
    # no ingest or aggregator counters to read: what is pending is the API's watermark alone
    # (another test of the session may have left an aggregator's report in the store)
    watermark = (reading.scores.get("pipeline") or {}).get("events_not_counted")
    assert (reading.accepted, reading.pending) == (None, watermark)
    if not watermark:
        assert "sự kiện" not in line(reading)
    else:
        assert f"{watermark:,} sự kiện chưa được tính" in line(reading)
