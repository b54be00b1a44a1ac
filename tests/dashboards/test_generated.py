"""The generated files: committed and current, valid JSON and YAML, consistent with each other
and with the indicator catalog they are generated from."""

from __future__ import annotations

import json
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from dashboards.build import DASHBOARDS_DIR, PROVISIONING_DIR, dashboards, outputs, stale
from dashboards.grafana import SCHEMA_VERSION, ClickHouseTarget, clickhouse_targets, to_json
from tthc.profile import load_profile, parse_profile

ROOT = Path(__file__).resolve().parents[2]
PROFILE = load_profile()


def committed_dashboards() -> dict[str, dict[str, Any]]:
    folder = ROOT / DASHBOARDS_DIR
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}


def all_panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    panels = []
    for panel in board["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


def test_committed_files_are_what_make_dashboards_generates() -> None:
    assert stale(ROOT) == [], "run `make dashboards` and commit the result"


def test_generation_is_deterministic() -> None:
    assert outputs(PROFILE) == outputs(load_profile())


def test_the_dashboard_folder_has_only_generated_dashboards() -> None:
    generated = {p.name for p in outputs(PROFILE) if p.parent == DASHBOARDS_DIR}
    assert set(committed_dashboards()) == generated


def test_dashboards_are_valid_and_laid_out() -> None:
    for name, board in committed_dashboards().items():
        assert board["schemaVersion"] == SCHEMA_VERSION, name
        assert board["uid"] and board["title"].startswith("Bộ chỉ số 766"), name
        assert board["timezone"] == "Asia/Ho_Chi_Minh", name
        ids = [p["id"] for p in all_panels(board)]
        assert len(ids) == len(set(ids)), f"{name}: panel ids repeat"
        cells: set[tuple[int, int]] = set()
        for panel in all_panels(board):
            pos = panel["gridPos"]
            assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, f"{name}: {panel['title']}"
            area = {
                (x, y)
                for x in range(pos["x"], pos["x"] + pos["w"])
                for y in range(pos["y"], pos["y"] + pos["h"])
            }
            assert not cells & area, f"{name}: {panel['title']} overlaps another panel"
            cells |= area


def test_every_datasource_is_a_provisioned_one() -> None:
    provisioned = yaml.safe_load(
        (ROOT / PROVISIONING_DIR / "datasources" / "tthc.yml").read_text(encoding="utf-8")
    )
    known = {(d["type"], d["uid"]) for d in provisioned["datasources"]}
    for name, board in committed_dashboards().items():
        for panel in all_panels(board):
            if panel["type"] == "text":
                continue
            sources = [panel["datasource"], *(t["datasource"] for t in panel["targets"])]
            for source in sources:
                assert (source["type"], source["uid"]) in known, f"{name}: {panel['title']}"
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                source = variable["datasource"]
                assert (source["type"], source["uid"]) in known, f"{name}: ${variable['name']}"


def test_links_lead_to_generated_dashboards() -> None:
    uids = {board["uid"] for board in committed_dashboards().values()}
    rules = (ROOT / "deploy/prometheus/rules").glob("tthc-*.yml")
    texts = [p.read_text(encoding="utf-8") for p in ROOT.glob(f"{DASHBOARDS_DIR}/*.json")]
    texts += [p.read_text(encoding="utf-8") for p in rules]
    linked = {uid for text in texts for uid in re.findall(r"/d/([\w-]+)", text)}
    assert linked and linked <= uids


def test_provider_points_where_compose_mounts_the_dashboards() -> None:
    provider = yaml.safe_load(
        (ROOT / PROVISIONING_DIR / "dashboards" / "tthc.yml").read_text(encoding="utf-8")
    )
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    mounts = compose["services"]["grafana"]["volumes"]
    path = provider["providers"][0]["options"]["path"]
    assert any(m.startswith(f"./{DASHBOARDS_DIR}:{path}") for m in mounts), mounts


def test_field_labels_name_columns_the_queries_return() -> None:
    for name, board in dashboards(PROFILE).items():
        for panel in board._iter_panels():
            targets = clickhouse_targets(panel)
            if not targets:
                continue
            columns = {c for t in targets for c in t.columns}
            data = panel.to_json_data()
            for override in data["fieldConfig"]["overrides"]:
                field = override["matcher"]["options"]
                assert field in columns, f"{name}: {panel.title}: no column {field!r}"


def test_every_clickhouse_query_declares_its_columns() -> None:
    for board in dashboards(PROFILE).values():
        for panel in board._iter_panels():
            for target in panel.targets:
                if isinstance(target, ClickHouseTarget):
                    assert target.columns, panel.title


def _edited_profile():
    """The default profile with a group renamed, an indicator renamed and a grade band added."""
    raw = tomllib.loads(
        resources.files("tthc.profiles").joinpath("default.toml").read_text("utf-8")
    )
    raw["group"][0]["name_vi"] = "Minh bạch thông tin"
    raw["indicator"][4]["name_vi"] = "Hồ sơ đúng hạn (tên riêng của tỉnh)"
    raw["grade"].append({"min_score": 95, "name_vi": "Tiêu biểu", "name_en": "Outstanding"})
    return parse_profile(raw, "edited profile")


def test_what_users_read_comes_from_the_catalog() -> None:
    edited = _edited_profile()
    boards = {name: to_json(board) for name, board in dashboards(edited).items()}
    province, indicator = boards["tthc-province.json"], boards["tthc-indicator.json"]
    assert "1. Minh bạch thông tin" in province
    assert "Công khai, minh bạch" not in province
    assert "Tiêu biểu" in province  # grade colours follow the bands
    assert "2.1 — Hồ sơ đúng hạn (tên riêng của tỉnh)" in indicator
    rules = outputs(edited)[Path("deploy/prometheus/rules/tthc-province.yml")]
    assert "Hồ sơ đúng hạn (tên riêng của tỉnh)" in rules


def test_every_indicator_is_offered_and_described() -> None:
    board = committed_dashboards()["tthc-indicator.json"]
    variable = next(v for v in board["templating"]["list"] if v["name"] == "indicator")
    assert [o["value"] for o in variable["options"]] == [i.code for i in PROFILE.indicators]
    catalog = next(p for p in board["panels"] if p["title"] == "Danh mục chỉ tiêu")
    for indicator in PROFILE.indicators:
        assert f"| {indicator.code} | {indicator.name_vi} |" in catalog["options"]["content"]
    # Grafana splits a custom variable's query on unescaped commas.
    items = re.split(r"(?<!\\),\s*", variable["query"])
    assert len(items) == len(PROFILE.indicators)
