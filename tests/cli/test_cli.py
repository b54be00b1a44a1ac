"""The `tthc` command line, run as a user runs it."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from services.auth import generate_key, hash_key, weak_key
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


# --- Bad input: one clear line and a non-zero exit, never a traceback ---------------------------


def _one_error_line(result) -> str:
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_validate_events_on_a_missing_file_says_so_in_one_line(tmp_path):
    result = runner.invoke(app, ["validate-events", str(tmp_path / "missing.ndjson")])
    assert result.exit_code == 2
    assert "missing.ndjson: không có tệp này / no such file" in _one_error_line(result)
    result = runner.invoke(app, ["validate-events", str(tmp_path)])
    assert result.exit_code == 2
    assert "is a directory" in _one_error_line(result)


def test_validate_events_on_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.ndjson"
    path.write_bytes(json.dumps(received()).encode() + b"\n\xe9\xe0\n")
    result = runner.invoke(app, ["validate-events", str(path)])
    assert result.exit_code == 2
    assert "not UTF-8" in result.output and "Traceback" not in result.output


def test_an_unforeseen_failure_is_one_line_through_the_entry_point(tmp_path):
    # The installed `tthc` (services.cli:main): a bad setting fails before any command code runs.
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "replay", "--clickhouse", "nope://x"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "TTHC_AGGREGATOR_PARTITIONS": "not-a-number"},
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("lỗi / error: ValidationError")


# --- Keys and viewer tokens ----------------------------------------------------------------------


def test_keys_new_refuses_a_scope_outside_the_unit_tree():
    result = runner.invoke(app, ["keys", "new", "probe", "--scope", "99999"])
    assert result.exit_code == 2
    assert "--scope 99999: không phải mã đơn vị / not a unit code" in _one_error_line(result)
    named = runner.invoke(app, ["keys", "new", "probe", "--scope", "75", "--scope", "Biên Hòa"])
    assert named.exit_code == 2
    assert "did you mean 26068 (Phường Biên Hòa)" in _one_error_line(named)


def test_keys_new_prints_toml_by_default_and_json_for_the_environment():
    from services.auth import KeyRing, parse_keys
    from tthc.units import load_units

    tree = load_units("dong-nai")
    toml = runner.invoke(app, ["keys", "new", "mot-cua", "--scope", "26068"])
    assert toml.exit_code == 0, toml.output
    assert toml.stdout.startswith('[[keys]]\nname = "mot-cua"')
    as_json = runner.invoke(app, ["keys", "new", "mot-cua", "--scope", "26068", "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    (entry,) = parse_keys(json.loads(as_json.stdout))  # what TTHC_INGEST_API_KEYS takes
    key = as_json.stderr.rsplit(": ", 1)[1].strip()
    grant = KeyRing([entry], tree).authenticate(key)
    assert grant is not None and grant.covers("26068") and not grant.covers("75")


def test_keys_viewer_makes_a_token_the_api_accepts():
    from services.api.settings import ApiSettings

    result = runner.invoke(
        app, ["keys", "viewer", "so-noi-vu", "--scope", "75", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert "mã xem / viewer token" in result.stderr
    settings = ApiSettings(viewer_tokens=json.loads(result.stdout))
    assert [t.name for t in settings.all_viewer_tokens()] == ["so-noi-vu"]


def test_keys_hash_reads_a_pipe_without_a_password_prompt():
    from services.auth import hash_key

    secret = generate_key()  # a guessable one is refused (see below)
    result = runner.invoke(app, ["keys", "hash"], input=f"{secret}\n")
    assert result.exit_code == 0
    assert result.stdout.strip() == hash_key(secret)
    assert "Password" not in result.output and "API key" not in result.output
    empty = runner.invoke(app, ["keys", "hash"], input="")
    assert empty.exit_code == 2


def test_indicators_table_names_rules_in_vietnamese():
    result = runner.invoke(app, ["indicators"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "theo tỷ lệ" in result.output and "theo dõi, 0 điểm" in result.output
    assert "đủ điểm từ 80%" in result.output
    assert "linear" not in result.output and "full_at" not in result.output


def test_import_of_a_csv_without_the_required_columns_says_which(tmp_path):
    file = tmp_path / "export.csv"
    file.write_text("ma_ho_so,ngay_tiep_nhan\nH75-1,04/08/2025\n", encoding="utf-8")
    result = runner.invoke(app, ["import", str(file), "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "lacks required columns: ma_don_vi, ma_tthc (docs/onestop-csv.md)" in line
    assert "run the same command again" not in result.output


def test_scoreboard_once_with_the_api_down_exits_1_in_one_line():
    from tests.ingest.helpers import free_port

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = runner.invoke(app, ["scoreboard", "--once", "--url", url], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert f"không kết nối được API tại {url} / cannot reach the API" in _one_error_line(result)


def test_validate_events_applies_the_ingests_checks(tmp_path):
    good = {
        "specversion": "1.0",
        "id": "a",
        "source": "mot-cua",
        "type": "vn.tthc.dossier.received.v1",
        "subject": "H75.25195-1",
        "time": "2025-08-05T10:00:00+07:00",
        "data": {
            "unit": "25195",
            "procedure": "1.001234",
            "channel": 2,
            "received_at": "2025-08-05T09:00:00+07:00",
        },
    }
    unknown_unit = {**good, "id": "b", "data": {**good["data"], "unit": "99999"}}
    future = {**good, "id": "c", "time": "2099-01-01T10:00:00+07:00"}
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(json.dumps(e) for e in (good, unknown_unit, future)) + "\n")
    result = runner.invoke(app, ["validate-events", str(path)])
    assert result.exit_code == 1
    assert "line 2: data.unit:" in result.output and "line 3: time:" in result.output
    assert "1 valid, 2 invalid" in result.output


def test_keys_hash_refuses_a_guessable_key_and_takes_a_random_one():
    weak = runner.invoke(app, ["keys", "hash", "password123"])
    assert weak.exit_code == 2 and "guessable" in weak.output and len(weak.output) < 300
    assert all(weak_key(generate_key()) is None for _ in range(500))  # `keys new` makes these
    key = generate_key()
    strong = runner.invoke(app, ["keys", "hash", key])
    assert strong.exit_code == 0 and strong.output.strip() == hash_key(key)
