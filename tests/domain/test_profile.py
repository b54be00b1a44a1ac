"""The methodology profile: the default, and the errors an edited profile gets."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources

import pytest

from tthc.profile import ProfileError, Rule, load_profile, parse_profile
from tthc.units import UnitLevel


@pytest.fixture
def raw() -> dict:
    text = resources.files("tthc.profiles").joinpath("default.toml").read_text("utf-8")
    return tomllib.loads(text)


def test_the_default_profile_has_22_indicators_100_points_and_17_for_communes():
    profile = load_profile()
    assert len(profile.indicators) == 22
    assert sum(i.points_at(UnitLevel.province) for i in profile.indicators) == 100
    assert len(profile.indicators_for(UnitLevel.commune)) == 17
    assert [g.points for g in profile.groups] == [18, 20, 22, 22, 18]
    assert profile.by_code["3.5"].points == 4 and len(profile.by_code["3.5"].parts) == 2
    assert profile.by_code["2.2"].monitoring


def test_rules_turn_rates_into_points():
    profile = load_profile()
    linear = profile.by_code["2.1"].parts[0]
    full_at = profile.by_code["3.3"].parts[0]
    assert linear.points_for(0.915) == pytest.approx(18.3)
    assert full_at.rule is Rule.full_at
    assert full_at.points_for(0.25) == pytest.approx(3.0)
    assert full_at.points_for(0.5) == full_at.points_for(0.9) == 6


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r["indicator"].append(copy.deepcopy(r["indicator"][0])),
            "indicator 1.1: duplicate",
        ),
        (lambda r: r["indicator"][4].update(rule="sigmoid"), "indicator 2.1 rule"),
        (lambda r: r["indicator"][4].update(points=21), "group 2: its indicators carry 21"),
        (lambda r: [r["indicator"][4].update(points=21), r["group"][1].update(points=21)], "101"),
        (lambda r: r["indicator"][4].update(measure="nothing"), "unknown measure 'nothing'"),
        (lambda r: r["indicator"][6].pop("full_at"), "needs a full_at threshold"),
        (lambda r: r["indicator"][0].update(group=9), "indicator 1.1: unknown group 9"),
        (
            lambda r: r["indicator"][10]["part"][1].update(levels=["county"]),
            "indicator 3.5 part b levels",
        ),
    ],
)
def test_a_broken_profile_is_refused_naming_the_entry(raw, change, message):
    change(raw)
    with pytest.raises(ProfileError, match=message.replace("(", r"\(")):
        parse_profile(raw, "edited.toml")


def test_a_profile_that_is_not_toml_says_so(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("name = [", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(path)


def test_grades_follow_the_bands():
    profile = load_profile()
    assert profile.grade(95).name_vi == "Xuất sắc"
    assert profile.grade(80).name_vi == "Tốt"
    assert profile.grade(79.99).name_vi == "Khá"
    assert profile.grade(10).name_vi == "Yếu"
