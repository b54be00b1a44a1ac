"""Alert rules and PromQL: every expression parses (promtool), reads metrics and labels the
services really export, every alert has a `promtool test rules` unit test that passes, and
Alertmanager accepts its configuration and routes by audience and severity."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from dashboards import metrics as m
from dashboards import operations
from dashboards.alerts import AlertSettings, operations_rules, province_rules
from dashboards.grafana import PrometheusTarget
from services.aggregator.metrics import AggregatorMetrics
from services.api.metrics import ApiMetrics
from services.ingest.metrics import IngestMetrics
from tthc.profile import load_profile

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
RULES = ROOT / "deploy" / "prometheus" / "rules"
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
PROFILE = load_profile()
ALERTS = operations_rules() + province_rules(PROFILE)

# What Grafana puts in place of its interval variables before Prometheus parses a query.
GRAFANA_INTERVALS = {"$__rate_interval": "1m", "$__interval": "30s", "$__range": "1h"}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: run scripts/install-system-deps.sh", pytrace=False)
    return path


@pytest.fixture(scope="module")
def promtool() -> str:
    return _tool("promtool")


@pytest.fixture(scope="module")
def amtool() -> str:
    return _tool("amtool")


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL as Grafana sends it) of the operations dashboard."""
    queries = []
    for panel in operations.build()._iter_panels():
        for target in panel.targets:
            assert isinstance(target, PrometheusTarget), panel.title
            expr = target.expr
            for variable, value in GRAFANA_INTERVALS.items():
                expr = expr.replace(variable, value)
            queries.append((panel.title, expr))
    return queries


def all_queries() -> list[tuple[str, str]]:
    return dashboard_queries() + [(f"alert {a.name}", a.expr) for a in ALERTS]


def _check_rules(promtool: str, tmp_path: Path, exprs: list[str]) -> subprocess.CompletedProcess:
    rules = [{"record": f"tthc:check_{n}", "expr": e} for n, e in enumerate(exprs)]
    path = tmp_path / "check.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "check", "rules": rules}]}))
    return subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )


def test_every_promql_expression_parses(promtool: str, tmp_path: Path) -> None:
    # `promtool check rules` parses each rule's expression with Prometheus' own parser.
    queries = all_queries()
    result = _check_rules(promtool, tmp_path, [expr for _, expr in queries])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout


def test_promtool_rejects_a_broken_expression(promtool: str, tmp_path: Path) -> None:
    # Guards the test above against a check that accepts anything.
    result = _check_rules(promtool, tmp_path, ["sum by (le (rate(x_bucket[5m]))"])
    assert result.returncode != 0


def test_generated_rule_files_load(promtool: str) -> None:
    files = sorted(str(p) for p in RULES.glob("tthc-*.yml"))
    result = subprocess.run(
        [promtool, "check", "rules", *files], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(operations_rules())} rules found" in result.stdout


# --- Metric names and labels -------------------------------------------------------------------


def exported() -> dict[str, set[str]]:
    """Every series name the three services export, with its label names."""
    series: dict[str, set[str]] = {}
    for metrics in (IngestMetrics(), AggregatorMetrics(), ApiMetrics()):
        for metric in vars(metrics).values():
            if not isinstance(metric, MetricWrapperBase):
                continue
            name, labels = metric._name, set(metric._labelnames)  # noqa: SLF001
            kind = metric._type  # noqa: SLF001
            if kind == "counter":
                series[f"{name}_total"] = labels
            elif kind == "histogram":
                series[f"{name}_bucket"] = labels | {"le"}
                series[f"{name}_sum"] = series[f"{name}_count"] = labels
            else:
                series[name] = labels
    series["up"] = set()
    # ClickHouse's own series carry no label of their own; the watermark's name is expected.
    series.update(dict.fromkeys(m.CLICKHOUSE_SERIES, set()))
    for name, labels in m.NOT_YET_EXPORTED.items():
        series.setdefault(name, set(labels))
    return series


TARGET_LABELS = {"job", "instance"}  # added by Prometheus to every scraped series
_SELECTOR = re.compile(r"\b(tthc_\w+|ClickHouse\w+|up)\b(?:\{([^}]*)\})?")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")
_MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)\s*\"")


def test_every_metric_and_label_a_query_reads_is_exported() -> None:
    series = exported()
    for where, expr in all_queries():
        selectors = _SELECTOR.findall(expr)
        assert selectors, f"{where}: no metric found in {expr}"
        allowed = set(TARGET_LABELS)
        for name, _ in selectors:
            assert name in series, f"{where}: no service exports {name}"
            allowed |= series[name]
        used = {label for _, matchers in selectors for label in _MATCHER.findall(matchers)}
        used |= {
            label.strip()
            for group in _GROUPING.findall(expr)
            for label in group.split(",")
            if label.strip()
        }
        assert used <= allowed, f"{where}: labels {sorted(used - allowed)} not on {selectors}"


# --- promtool test rules -----------------------------------------------------------------------


def unit_test_files() -> list[Path]:
    return sorted(HERE.glob("*.test.yml"))


def test_alert_unit_tests_pass(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "test", "rules", *(p.name for p in unit_test_files())],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILED" not in result.stdout


def test_every_alert_is_tested_firing_and_quiet() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in unit_test_files():
        document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in document["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {a.name for a in ALERTS}
    assert names <= firing, f"never seen firing: {sorted(names - firing)}"
    assert names <= quiet, f"never seen quiet: {sorted(names - quiet)}"


def test_alerts_carry_the_labels_alertmanager_routes_on() -> None:
    for alert in ALERTS:
        data = alert.to_dict()
        assert data["labels"]["severity"] in ("critical", "warning", "info")
        assert data["labels"]["audience"] in ("operations", "province")
        assert data["annotations"]["summary"] and data["annotations"]["description"]


# --- Alertmanager ------------------------------------------------------------------------------


def test_alertmanager_accepts_its_config(amtool: str) -> None:
    result = subprocess.run(
        [amtool, "check-config", str(ALERTMANAGER)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=critical", "audience=operations"], "truc-van-hanh"),
        (["severity=warning", "audience=operations"], "van-hanh"),
        (["severity=info", "audience=operations"], "nhat-ky"),
        (["severity=warning", "audience=province"], "van-phong-tinh"),
        (["severity=critical", "audience=province"], "van-phong-tinh"),
    ],
)
def test_alertmanager_routes_by_audience_and_severity(
    amtool: str, labels: list[str], receiver: str
) -> None:
    result = subprocess.run(
        [amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [receiver]


def test_every_alert_reaches_a_receiver(amtool: str) -> None:
    receivers = {
        r["name"] for r in yaml.safe_load(ALERTMANAGER.read_text(encoding="utf-8"))["receivers"]
    }
    for alert in ALERTS:
        labels = [f"{k}={v}" for k, v in alert.to_dict()["labels"].items()]
        result = subprocess.run(
            [amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.stdout.split()[0] in receivers, alert.name


# --- Prometheus configurations -----------------------------------------------------------------


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus-compose.yml"])
def test_prometheus_configs_load_the_rules_and_alertmanager(promtool: str, config: str) -> None:
    folder = ROOT / "deploy" / "prometheus"
    result = subprocess.run(
        [promtool, "check", "config", config],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    document = yaml.safe_load((folder / config).read_text(encoding="utf-8"))
    assert document["rule_files"] == ["rules/*.yml"]
    (manager,) = document["alerting"]["alertmanagers"]
    assert manager["static_configs"][0]["targets"][0].endswith(":9093")
    for name in ("tthc-operations.yml", "tthc-province.yml"):
        assert f"Checking rules/{name}" in result.stdout


# --- Settings and the catalog ------------------------------------------------------------------


def test_thresholds_are_settings_and_the_indicator_comes_from_the_catalog(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TTHC_ALERT_ON_TIME_MIN_DOSSIERS", "50")
    monkeypatch.setenv("TTHC_ALERT_SOURCE_SILENT_HOURS", "3")
    settings = AlertSettings()
    by_name = {a.name: a for a in operations_rules(settings) + province_rules(PROFILE, settings)}
    assert by_name["TthcOnTimeRateLow"].expr.endswith(">= 50")
    assert "[3h]" in by_name["TthcSourceSilent"].expr
    assert "hour() >= 4 and hour() < 10" in by_name["TthcSourceSilent"].expr  # 11:00 in Vietnam
    renumbered = PROFILE.model_copy(
        update={
            "indicators": [
                i.model_copy(update={"code": "9.9"}) if i.code == "2.1" else i
                for i in PROFILE.indicators
            ]
        }
    )
    (on_time, turning_late) = province_rules(renumbered, settings)
    assert 'indicator="9.9"' in on_time.expr and "chỉ tiêu 9.9" in turning_late.description
