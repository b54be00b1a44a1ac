"""Every generated file, by path under the repository: dashboards, Grafana provisioning and the
Prometheus alert rules. `python -m dashboards` writes them; `--check` fails when one is stale."""

from __future__ import annotations

from pathlib import Path

from grafanalib import core as g

from dashboards import alerts, indicator, operations, province, provisioning, unit
from dashboards.grafana import to_json
from tthc.profile import Profile, load_profile

GRAFANA_DIR = Path("deploy/grafana")
DASHBOARDS_DIR = GRAFANA_DIR / "dashboards"
PROVISIONING_DIR = GRAFANA_DIR / "provisioning"
RULES_DIR = Path("deploy/prometheus/rules")


def dashboards(profile: Profile) -> dict[str, g.Dashboard]:
    """File name → dashboard."""
    return {
        "tthc-province.json": province.build(profile),
        "tthc-unit.json": unit.build(profile),
        "tthc-indicator.json": indicator.build(profile),
        "tthc-operations.json": operations.build(),
    }


def outputs(profile: Profile | None = None) -> dict[Path, str]:
    profile = profile or load_profile()
    files: dict[Path, str] = {
        DASHBOARDS_DIR / name: to_json(board) for name, board in dashboards(profile).items()
    }
    files[PROVISIONING_DIR / "datasources" / "tthc.yml"] = provisioning.to_yaml(
        provisioning.datasources()
    )
    files[PROVISIONING_DIR / "dashboards" / "tthc.yml"] = provisioning.to_yaml(
        provisioning.dashboard_provider()
    )
    for name, text in alerts.rule_files(profile).items():
        files[RULES_DIR / name] = text
    return files


def write(root: Path, profile: Profile | None = None) -> list[Path]:
    """Write every file under `root`; return those whose content changed."""
    changed = []
    for relative, text in outputs(profile).items():
        path = root / relative
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        changed.append(relative)
    return changed


def stale(root: Path, profile: Profile | None = None) -> list[Path]:
    """Files missing or different from what the code generates."""
    return [
        relative
        for relative, text in outputs(profile).items()
        if not (root / relative).exists() or (root / relative).read_text(encoding="utf-8") != text
    ]
