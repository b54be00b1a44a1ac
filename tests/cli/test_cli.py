"""The `tthc` command line, run as a user runs it."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from services.cli import app
from tests.domain.test_events import received
from tthc.measures import MEASURES

runner = CliRunner()


def test_indicators_json_lists_22_indicators_worth_100_with_17_for_communes():
    result = runner.invoke(app, ["indicators", "--json"])
    assert result.exit_code == 0, result.output
    catalog = json.loads(result.output)
    indicators = catalog["indicators"]
    assert len(indicators) == 22
    assert sum(i["points"] for i in indicators) == 100
    assert sum("commune" in i["levels"] for i in indicators) == 17
    assert indicators[0]["name_vi"] == "Tỷ lệ TTHC được công bố đúng hạn"
    # every part says what it counts, as declared beside its measure
    parts = [p for i in indicators for p in i["parts"]]
    assert all(p["counts"] == MEASURES[p["measure"]].counts for p in parts)
    assert all(p["out_of"] == MEASURES[p["measure"]].out_of for p in parts)


def test_indicators_table_shows_vietnamese_names():
    result = runner.invoke(app, ["indicators"])
    assert result.exit_code == 0
    assert "Công khai, minh bạch" in result.output and "5.4" in result.output


def test_validate_events_reports_each_bad_line(tmp_path):
    bad = received(channel=9)
    lines = [json.dumps(received()), "{not json", json.dumps(bad), ""]
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = runner.invoke(app, ["validate-events", str(path)])
    assert result.exit_code == 1
    assert "line 2: not JSON" in result.output
    assert "line 3: data.channel" in result.output
    assert "1 valid, 2 invalid" in result.output


def test_a_broken_profile_is_reported_not_raised(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('name = "x"\n', encoding="utf-8")
    result = runner.invoke(app, ["indicators", "--profile", str(path)])
    assert result.exit_code == 2
    assert "version" in result.output


def _commands(typer_app):
    """(name, callback) of every command, those of sub-apps (`keys ...`) included."""
    for info in typer_app.registered_commands:
        yield info.name or info.callback.__name__, info.callback
    for group in typer_app.registered_groups:
        yield from _commands(group.typer_instance)


def test_every_command_opens_its_help_with_a_one_line_summary():
    # `tthc --help` lists each command by the first paragraph of its docstring: a hard line
    # break there shows up as a broken line in the list.
    for name, callback in _commands(app):
        doc = (callback.__doc__ or "").strip()
        assert doc, f"{name}: no help text"
        summary = doc.split("\n\n", 1)[0]
        assert "\n" not in summary, f"{name}: the first paragraph of its docstring spans lines"
