"""From tallies to the total on 100: rescaling, what does not apply, grades, points lost."""

from __future__ import annotations

import pytest

from tthc.measures import Tally
from tthc.profile import load_profile
from tthc.scoring import NO_DATA_VI, score
from tthc.units import UnitLevel


def perfect(profile) -> dict[str, Tally]:
    keys = {p.measure for i in profile.indicators for p in i.parts}
    return {k: Tally(10, 10) for k in keys}


def test_a_perfect_unit_scores_100_at_every_level():
    profile = load_profile()
    for level in (UnitLevel.province, UnitLevel.commune):
        card = score(profile, perfect(profile), level)
        assert card.total == pytest.approx(100)
        assert card.grade_vi == "Xuất sắc"


def test_a_commune_is_put_on_100_over_the_82_points_it_is_assessed_on():
    profile = load_profile()
    tallies = perfect(profile)
    tallies["dossiers_on_time"] = Tally(5, 10)  # 2.1: 10 of 20 points lost
    card = score(profile, tallies, UnitLevel.commune)
    assert (card.points, card.max_points) == (72, 82)
    assert card.total == pytest.approx(100 * 72 / 82)
    assert card.indicator("2.1").lost == 10
    assert card.indicator("1.1").lost == 0 and not card.indicator("1.1").assessed
    groups = {g.number: (g.points, g.max_points) for g in card.groups}
    assert groups[1] == (6, 6) and groups[2] == (10, 20)


def test_the_full_setting_counts_what_does_not_apply_as_earned():
    profile = load_profile().model_copy(update={"non_applicable": "full"})
    tallies = perfect(profile)
    tallies["dossiers_on_time"] = Tally(5, 10)
    card = score(profile, tallies, UnitLevel.commune)
    assert card.total == pytest.approx(90)  # 72 earned + 18 not assessed


def test_an_empty_part_is_left_out_unless_the_profile_says_otherwise():
    profile = load_profile()
    tallies = perfect(profile)
    tallies["procedures_announced_on_time"] = Tally(0, 0)  # nothing announced this month
    card = score(profile, tallies, UnitLevel.province)
    assert not card.indicator("1.1").applicable
    assert card.max_points == 94 and card.total == pytest.approx(100)


def test_a_unit_with_nothing_to_judge_in_the_period_has_no_score():
    """No dossier, no feedback: 5.2 and 5.3 would give full points and 5.4 none (a 50,
    "Trung bình"), but there is nothing to score; what is counted whatever the period (the
    procedures offered online, the certified copies) does not make a period's score."""
    profile = load_profile()
    tallies = {k: Tally(0, 0) for k in perfect(profile)}
    tallies["procedures_online"] = Tally(8, 10)
    tallies["communes_certified_copies"] = Tally(1, 1)
    for level in (UnitLevel.province, UnitLevel.commune):
        card = score(profile, tallies, level)
        assert card.total is None and not card.has_data
        assert (card.grade_vi, card.grade_en) == (NO_DATA_VI, "No data")
    # one feedback received is something to judge
    tallies["feedback_on_time"] = Tally(1, 1)
    card = score(profile, tallies, UnitLevel.commune)
    assert card.has_data and card.total is not None and card.grade_vi != NO_DATA_VI
