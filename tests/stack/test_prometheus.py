"""The Prometheus configuration is valid for the promtool of the Debian package the local
stack uses (scripts/install-system-deps.sh installs it), and scrapes the three services."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool not found: run scripts/install-system-deps.sh", pytrace=False)
    return path


def test_promtool_accepts_the_config(promtool):
    result = subprocess.run(
        [promtool, "check", "config", "prometheus.yml"],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_rejects_a_broken_config(promtool, tmp_path):
    # Guards the test above against a promtool that accepts anything.
    broken = tmp_path / "prometheus.yml"
    broken.write_text("scrape_configs:\n  - job_name: api\n    scrape_interval: soon\n")
    result = subprocess.run(
        [promtool, "check", "config", str(broken)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0


def test_config_scrapes_ingest_aggregator_and_api_on_loopback():
    # PyYAML is no dependency of the project: read the flat job list with a pattern.
    text = (PROMETHEUS_DIR / "prometheus.yml").read_text()
    jobs = re.findall(
        r"- job_name: (\w+)\n\s+metrics_path: (\S+)\n\s+static_configs:\n"
        r"\s+- targets: \[([^\]]*)\]",
        text,
    )
    targets = {name: (path, [t.strip(' "') for t in ts.split(",")]) for name, path, ts in jobs}
    assert targets == {
        "ingest": ("/metrics", ["127.0.0.1:8001"]),
        "aggregator": ("/metrics", ["127.0.0.1:8002"]),
        "api": ("/metrics", ["127.0.0.1:8000"]),
    }
