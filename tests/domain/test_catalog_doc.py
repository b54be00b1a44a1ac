"""docs/indicators.md: generated from the methodology profile, and current."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli import app
from tthc.catalog_doc import DENOMINATOR, NOT_ASSESSED, NUMERATOR, indicators_markdown
from tthc.expr import lit
from tthc.measures import COUNTED, MEASURES, Measure, Subject
from tthc.measures.catalog import _dossiers
from tthc.profile import load_profile, parse_profile
from tthc.units import UnitLevel

DOC = Path(__file__).resolve().parents[2] / "docs" / "indicators.md"


def _section(markdown: str, heading: str) -> str:
    """The text under a `## heading`, up to the next one."""
    return markdown.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def _table(text: str) -> list[dict[str, str]]:
    """The rows of the first Markdown table in `text`, by column name."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [
        dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
        for line in lines[2:]
    ]


def test_the_committed_page_is_what_the_profile_generates():
    assert DOC.read_text(encoding="utf-8") == indicators_markdown(load_profile()), (
        "docs/indicators.md is stale: run `make docs` and commit the result"
    )


def test_the_cli_prints_the_page():
    result = CliRunner().invoke(app, ["indicators", "--markdown"])
    assert result.exit_code == 0, result.output
    assert result.output == indicators_markdown(load_profile())


def test_json_and_markdown_together_are_refused():
    result = CliRunner().invoke(app, ["indicators", "--json", "--markdown"])
    assert result.exit_code == 2


def test_every_indicator_appears_once_with_its_points_at_each_level():
    profile = load_profile()
    page = indicators_markdown(profile)
    rows = _table(_section(page, "Indicators"))
    assert [row["Code"] for row in rows] == [i.code for i in profile.indicators]
    for indicator, row in zip(profile.indicators, rows, strict=True):
        assert row["Tên chỉ số"] == indicator.name_vi and row["Name"] == indicator.name_en
        for level in UnitLevel:
            expected = (
                f"{indicator.points_at(level):g}" if indicator.applies_to(level) else NOT_ASSESSED
            )
            assert row[level.value] == expected, (indicator.code, level)
        headings = re.findall(rf"^### {re.escape(indicator.code)} (.+)$", page, re.MULTILINE)
        assert headings == [indicator.name_vi]


def test_group_subtotals_add_up_to_100_at_province_level():
    profile = load_profile()
    rows = _table(_section(indicators_markdown(profile), "Groups"))
    *groups, total = rows
    assert [int(g["Group"]) for g in groups] == [g.number for g in profile.groups]
    assert [float(g["province"]) for g in groups] == [g.points for g in profile.groups]
    assert sum(float(g["province"]) for g in groups) == 100
    assert total["province"] == "**100**"
    commune = sum(float(g["commune"]) for g in groups)
    assert total["commune"] == f"**{commune:g}**" and commune < 100


def test_commune_differences_are_shown():
    # the default profile: 3.5 part a (payment integrated) is not assessed at commune level,
    # part b is; 3.4 and 4.5 are not assessed there at all
    rows = {row["Code"]: row for row in _table(_section(_page(), "Indicators"))}
    assert (rows["3.5"]["province"], rows["3.5"]["commune"]) == ("4", "2")
    assert rows["3.5"]["Rule"] == "a: full at 80%; b: linear"
    assert rows["3.4"]["commune"] == NOT_ASSESSED and rows["3.4"]["province"] == "0"
    assert rows["4.5"]["commune"] == NOT_ASSESSED
    assert rows["1.1"]["commune"] == NOT_ASSESSED and rows["1.1"]["province"] == "6"


def test_special_cases_follow_when_empty():
    page = _page()

    def nothing_to_count(code: str) -> list[str]:
        section = page.split(f"\n### {code} ", 1)[1].split("\n### ", 1)[0]
        return re.findall(r"Nothing to count: (.+)$", section, re.MULTILINE)

    assert nothing_to_count("5.2") == ["full points"]
    assert nothing_to_count("5.4") == ["0 points"]
    assert nothing_to_count("2.1") == ["not applicable (left out of the total)"]
    assert nothing_to_count("2.2") == ["—"]  # monitoring: 0 points whatever happens
    assert len(nothing_to_count("3.5")) == 2


def test_every_indicator_section_says_what_its_measures_count():
    page = _page()
    for indicator in load_profile().indicators:
        section = _indicator_section(page, indicator.code)
        for part in indicator.parts:
            measure = MEASURES[part.measure]
            assert f"  - {NUMERATOR}: {measure.counts}\n" in section, (indicator.code, part.label)
            assert f"  - {DENOMINATOR}: {measure.out_of}\n" in section, (indicator.code, part.label)
            when = (
                f"its `{measure.period_column}`"
                if measure.period_column
                else "not placed in a period"
            )
            assert f"  - Measure: `{measure.key}`, " in section and when in section
        lines = re.findall(rf"^  - ({NUMERATOR}|{DENOMINATOR}): ", section, re.MULTILINE)
        assert lines == [NUMERATOR, DENOMINATOR] * len(indicator.parts), indicator.code


@pytest.mark.parametrize("key", sorted(MEASURES))
def test_a_measures_denominator_words_say_how_its_rows_are_placed_in_time(key: str):
    measure = MEASURES[key]
    if measure.period_column is None:
        assert "whatever the period" in measure.out_of and "in the period" not in measure.out_of
    else:
        assert "in the period" in measure.out_of and "whatever the period" not in measure.out_of


def test_a_measure_cannot_be_declared_without_its_words():
    with pytest.raises(TypeError):
        Measure("m", Subject.dossier, COUNTED, COUNTED, "received_at")  # type: ignore[call-arg]
    for counts, out_of in [("", "dossiers"), ("dossiers", "  "), ("two\nlines", "dossiers")]:
        with pytest.raises(ValueError, match="one line of words"):
            Measure(
                "m", Subject.dossier, COUNTED, COUNTED, "received_at", counts=counts, out_of=out_of
            )
    # a denominator of its own without words of its own would keep the default's words
    with pytest.raises(ValueError, match="together"):
        _dossiers("m", COUNTED, counts="dossiers", denominator=lit(True))


def test_grades_and_the_total_on_100_come_from_the_profile():
    raw = _default_raw()
    raw["non_applicable"] = "full"
    raw["grade"] = [
        {"min_score": 0, "name_vi": "Chưa đạt", "name_en": "Not met"},
        {"min_score": 75, "name_vi": "Đạt", "name_en": "Met"},
    ]
    page = indicators_markdown(parse_profile(raw))
    section = _section(page, "Total on 100 and grade")
    assert '`non_applicable = "full"`' in section
    assert [(r["Score"], r["Xếp loại"], r["Grade"]) for r in _table(section)] == [
        ("≥ 75", "Đạt", "Met"),
        ("≥ 0", "Chưa đạt", "Not met"),
    ]
    assert '`non_applicable = "rescale"`' in _section(_page(), "Total on 100 and grade")


def _indicator_section(page: str, code: str) -> str:
    """The text under `### <code> ...`, up to the next heading."""
    return re.split(r"\n#{2,3} ", page.split(f"\n### {code} ", 1)[1], maxsplit=1)[0]


def _page() -> str:
    return indicators_markdown(load_profile())


def _default_raw() -> dict:
    text = resources.files("tthc.profiles").joinpath("default.toml").read_text("utf-8")
    return tomllib.loads(text)
