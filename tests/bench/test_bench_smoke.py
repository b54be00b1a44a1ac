"""The benchmark suite at tiny sizes: every figure is produced, positive, and the report renders.

Speed goals are judged by the report of a full `make bench`, never here: this only keeps the
suite from rotting as the services change. It needs the real broker (the kafka_bootstrap
fixture) and starts the services as the full run does, so it takes a minute or so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.report import Status
from bench.suite import FIGURES, SMOKE, TITLES, run


@pytest.mark.timeout(900)
def test_every_figure_is_produced_and_the_report_renders(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    report = run(SMOKE, bootstrap=kafka_bootstrap, workdir=tmp_path)

    by_key = {s.key: s for s in report.sections}
    assert set(by_key) == {*FIGURES, "memory"}
    for section in report.sections:
        assert not section.error, f"{section.title}: {section.error}"
        assert section.rows, section.title
        for row in section.rows:
            assert row.status is not Status.unavailable, f"{section.title}: {row.measure}"
            assert row.value is not None and row.value > 0, f"{section.title}: {row.measure}"
        if section.missed:  # a missed goal says where the time goes
            assert section.where_time_goes, section.title

    # one freshness p50 and p99 per rate, both latency sizes, a memory row per service
    assert len(by_key["freshness"].rows) == 2 * len(SMOKE.freshness_rates)
    for dossiers in SMOKE.latency_dossiers:
        assert report.details[f"latency_{dossiers}"]["numbers_match"]
        assert report.details[f"latency_{dossiers}"]["windows_match"]
    memory = " ".join(r.measure for r in by_key["memory"].rows)
    for service in ("ingest", "aggregator", "all-in-one", "API", "replay"):
        assert service in memory

    markdown = report.to_markdown()
    for title in TITLES.values():
        assert f"## {title}" in markdown
    assert "## Machine" in markdown and "| cores |" in markdown
    assert str(tmp_path) not in markdown  # no path of this machine in a report
    document = json.loads(report.to_json())
    assert document["machine"]["python"] and document["sections"]
