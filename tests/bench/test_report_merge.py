"""`python -m bench --only X` refreshes X in the committed report and keeps every other figure."""

from bench.report import Report, Row, Section, Status

EARLIER, LATER = "2026-01-01 00:00 UTC", "2026-01-03 00:00 UTC"


def _report(sections: list[Section], details: dict[str, object], at: str = EARLIER) -> Report:
    return Report({"cpu": "2"}, {}, at, 1.0, sections, details)


def test_a_partial_run_replaces_its_sections_and_keeps_the_others() -> None:
    earlier = _report(
        [
            Section("ingest", "Ingest", "m", [Row("rate", 1.0, "/s")]),
            Section("replay", "Replay", "m", [Row("rate", 2.0, "/s", "≥ 3", Status.missed)]),
            Section("memory", "Memory", "m", [Row("ingest", 10, "MiB"), Row("replay", 20, "MiB")]),
        ],
        {"ingest": 1, "replay": 2},
    )
    text = earlier.to_json()
    assert Report.from_json(text).to_json() == text  # the committed report reads back whole

    partial = _report(
        [
            Section("replay", "Replay", "m", [Row("rate", 4.0, "/s", "≥ 3", Status.passed)]),
            Section("memory", "Memory", "m", [Row("replay", 30, "MiB")]),
        ],
        {"replay": 4},
        LATER,
    )
    merged = partial.merged_into(Report.from_json(text))
    assert [s.key for s in merged.sections] == ["ingest", "replay", "memory"]
    assert merged.sections[0].rows[0].value == 1.0
    assert merged.sections[1].rows[0].status is Status.passed
    assert [(r.measure, r.value) for r in merged.sections[2].rows] == [
        ("ingest", 10),
        ("replay", 30),
    ]
    assert merged.details == {"ingest": 1, "replay": 4}

    # what was kept says when it was measured; what this run measured does not need to
    assert [s.measured_at for s in merged.sections] == [EARLIER, "", ""]
    assert [r.note for r in merged.sections[2].rows] == [f"measured at {EARLIER}", ""]
    markdown = merged.to_markdown()
    assert f"*Measured at {EARLIER}, in an earlier run" in markdown
    assert f"| Ingest ({EARLIER}) |" not in markdown  # the ingest row has no goal: not summed up
    assert "kept from earlier runs" in markdown

    # a later partial run keeps those dates, and dates nothing twice
    again = _report([Section("replay", "Replay", "m", [])], {}, "2026-01-05 00:00 UTC")
    twice = again.merged_into(Report.from_json(merged.to_json()))
    assert [s.measured_at for s in twice.sections] == [EARLIER, "", LATER]
    assert twice.sections[2].rows[0].note == f"measured at {EARLIER}"
