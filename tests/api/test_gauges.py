"""The business gauges: computed when Prometheus scrapes, from the windows. The API writes
nothing."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.api.conftest import COMMUNE_VIEWER, PROVINCE_VIEWER, Reference, bearer
from tthc.calendar import VN_TZ
from tthc.periods import containing

ROOT = Path(__file__).resolve().parents[2]


def test_metrics_carry_the_business_gauges_as_the_scores_have_them(api, reference: Reference):
    state = api.app.state.api
    text = api.get("/metrics").text
    assert 'tthc_api_unit_indicator_rate{indicator="2.1",level="commune"' in text
    assert 'tthc_api_unit_indicator_counted{indicator="2.1",level="commune"' in text
    assert "tthc_api_dossiers_turning_late{" in text
    quarter = containing("quarter", state.clock().astimezone(VN_TZ).date())
    total = re.search(
        r'tthc_api_unit_total_score\{level="province",period_kind="quarter",unit="75"\} (\S+)',
        text,
    )
    assert total is not None
    assert float(total.group(1)) == pytest.approx(reference.scorecard("75", quarter).total)


def test_with_scores_closed_the_score_gauges_need_a_province_token(api):
    state = api.app.state.api
    opened = state.settings
    state.settings = opened.model_copy(update={"open_scores": False})
    try:
        anonymous = api.get("/metrics").text
        commune = api.get("/metrics", headers=bearer(COMMUNE_VIEWER)).text
        province = api.get("/metrics", headers=bearer(PROVINCE_VIEWER)).text
    finally:
        state.settings = opened
    for text in (anonymous, commune):
        assert "tthc_api_unit_total_score" not in text
        assert "tthc_api_unit_indicator_rate" not in text
        assert "tthc_api_dossiers_turning_late" not in text
        assert "tthc_api_clickhouse_query_seconds" in text  # the pipeline's stay open
    assert 'tthc_api_unit_total_score{level="province",period_kind="quarter",unit="75"}' in province


def test_the_dossiers_of_unknown_procedures_are_counted(api):
    listed = api.get("/v1/unknown-procedures", params={"unit": "75"}).json()
    text = api.get("/metrics").text
    assert f"tthc_api_unknown_procedure_dossiers {float(listed['total_dossiers'])}" in text


def test_the_api_writes_nothing():
    found = subprocess.run(
        ["grep", "-rnE", r"\.insert\(|client\.command\(|ALTER TABLE|INSERT INTO", "services/api"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert found.stdout == ""
