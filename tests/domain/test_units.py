"""The unit tree: the Đồng Nai sample, merges resolving to today's tree, and invalid trees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tthc.units import Unit, UnitLevel, UnitTree, load_units, packaged_unit_sets, parse_units


@pytest.fixture(scope="module")
def tree() -> UnitTree:
    return load_units("dong-nai")


def u(
    code: str,
    level: str,
    parent: str | None,
    successor: str | None = None,
    name: str | None = None,
) -> Unit:
    return Unit(
        code=code,
        name=name or f"Unit {code}",
        level=UnitLevel(level),
        parent=parent,
        successor=successor,
    )


# --- the sample province ---------------------------------------------------------------------


def test_sample_is_packaged() -> None:
    assert "dong-nai" in packaged_unit_sets()


def test_sample_root_is_the_province(tree: UnitTree) -> None:
    assert tree.root.code == "75"
    assert tree.root.name == "Tỉnh Đồng Nai"
    assert tree.root.level is UnitLevel.province
    assert tree.province == "Đồng Nai"


def test_sample_has_95_communes_and_wards_after_the_2025_reform(tree: UnitTree) -> None:
    communes = tree.units_at_level(UnitLevel.commune)
    assert len(communes) == 95
    assert {c.kind for c in communes} == {"xã", "phường"}
    assert sum(c.kind == "phường" for c in communes) == 23
    assert all(c.parent == "75" for c in communes)
    # A Bình Phước ward and a Biên Hòa ward are both Đồng Nai now.
    assert tree.get("25210").name == "Phường Đồng Xoài"
    assert tree.get("26068").name == "Phường Biên Hòa"


def test_sample_departments(tree: UnitTree) -> None:
    departments = {d.code: d.name for d in tree.units_at_level("department")}
    assert len(departments) == 10
    assert departments["75.STP"] == "Sở Tư pháp"
    assert departments["75.STC"] == "Sở Tài chính"
    assert departments["75.SNNMT"] == "Sở Nông nghiệp và Môi trường"
    # Merged departments are historical, not current.
    assert "75.SKHDT" not in departments
    assert "75.SKHDT" in tree


def test_sample_no_district_level_today(tree: UnitTree) -> None:
    assert tree.units_at_level(UnitLevel.district) == []
    assert tree.get("698").level is UnitLevel.district  # historical Huyện Phú Riềng


def test_children_of_the_province(tree: UnitTree) -> None:
    children = tree.children("75")
    assert len(children) == 10 + 95
    assert all(c.is_current for c in children)
    with_history = tree.children("75", include_historical=True)
    # + 2 merged departments of Đồng Nai and the former district Long Khánh
    assert {c.code for c in with_history} - {c.code for c in children} == {
        "75.SKHDT",
        "75.STNMT",
        "732",
    }


def test_province_subtree_holds_every_unit(tree: UnitTree) -> None:
    everything = {unit.code for unit in tree}
    assert tree.subtree("75") == everything
    assert len(everything) == 1 + 10 + 95 + 11


def test_bu_nho_resolves_to_phu_rieng(tree: UnitTree) -> None:
    bu_nho = tree.get("25252")
    assert bu_nho.name == "Xã Bù Nho"
    assert not bu_nho.is_current
    assert tree.resolve("25252") == "25264"
    assert tree.get("25264").name == "Xã Phú Riềng"
    assert tree.is_within("25252", "75")
    assert tree.is_within("25252", "25264")
    assert not tree.is_within("25252", "25255")  # Long Hà, the neighbour
    assert "25252" in tree.subtree("75")
    assert tree.subtree("25264") == {"25264", "25252"}
    assert tree.level_of("25252") is UnitLevel.commune
    assert tree.ancestors("25252") == ("75",)


def test_subtree_of_a_historical_code_is_that_of_its_successor(tree: UnitTree) -> None:
    assert tree.subtree("25252") == tree.subtree("25264")


def test_former_province_and_district_resolve_to_the_province(tree: UnitTree) -> None:
    assert tree.resolve("70") == "75"
    assert tree.resolve("698") == "75"
    assert tree.level_of("698") is UnitLevel.province
    assert tree.is_within("698", "75")
    assert not tree.is_within("698", "25264")


def test_two_step_successor_chain(tree: UnitTree) -> None:
    # Bình Phước's Sở KH&ĐT → Bình Phước's Sở Tài chính (3/2025) → Đồng Nai's (7/2025).
    assert tree.get("70.SKHDT").successor == "70.STC"
    assert tree.resolve("70.SKHDT") == "75.STC"
    assert tree.subtree("75.STC") == {"75.STC", "75.SKHDT", "70.STC", "70.SKHDT"}
    assert tree.is_within("70.SKHDT", "75.STC")
    assert not tree.is_within("70.SKHDT", "75.STP")


def test_current_unit_resolves_to_itself(tree: UnitTree) -> None:
    assert tree.resolve("26098") == "26098"
    assert tree.subtree("26098") == {"26098", "26092"}  # + Xã Bảo Quang
    assert tree.ancestors("26098") == ("75",)
    assert tree.ancestors("75") == ()
    assert tree.is_within("75", "75")
    assert not tree.is_within("75", "26098")


def test_units_at_level_under_a_unit(tree: UnitTree) -> None:
    assert [c.code for c in tree.units_at_level("commune", under="25264")] == ["25264"]
    assert len(tree.units_at_level("commune", under="75")) == 95
    assert tree.units_at_level("department", under="25264") == []


def test_unknown_codes_raise_key_error_naming_the_code(tree: UnitTree) -> None:
    assert "99999" not in tree
    for call in (tree.get, tree.resolve, tree.subtree, tree.level_of, tree.ancestors):
        with pytest.raises(KeyError, match="99999"):
            call("99999")
    with pytest.raises(KeyError, match="99999"):
        tree.is_within("99999", "75")
    with pytest.raises(KeyError, match="99999"):
        tree.is_within("25264", "99999")


def test_load_from_a_file_path(tmp_path: Path) -> None:
    path = tmp_path / "tiny.json"
    document = {
        "province": "Thử",
        "source": "test",
        "units": [
            {"code": "99", "name": "Tỉnh Thử", "level": "province", "parent": None},
            {"code": "99001", "name": "Xã Một", "level": "commune", "parent": "99", "kind": "xã"},
        ],
    }
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    tree = load_units(str(path))
    assert tree.root.code == "99"
    assert tree.get("99001").kind == "xã"
    assert load_units(path).province == "Thử"


def test_unknown_packaged_name() -> None:
    with pytest.raises(ValueError, match="no packaged unit set 'atlantis'.*dong-nai"):
        load_units("atlantis")


def test_document_needs_units() -> None:
    with pytest.raises(ValueError, match="'units' list"):
        parse_units({"province": "x"})


def test_units_reject_unknown_levels_and_fields() -> None:
    with pytest.raises(ValueError):
        Unit.model_validate({"code": "1", "name": "x", "level": "hamlet"})
    with pytest.raises(ValueError):
        Unit.model_validate({"code": "1", "name": "x", "level": "commune", "colour": "red"})


# --- invalid trees ---------------------------------------------------------------------------


def under_01(*units: Unit) -> UnitTree:
    """The tree of province 01 and `units`."""
    return UnitTree([u("01", "province", None), *units])


def test_duplicate_code() -> None:
    with pytest.raises(ValueError, match=r"duplicate unit code '01001'.*'Xã A'.*'Xã B'"):
        under_01(*(u("01001", "commune", "01", name=name) for name in ("Xã A", "Xã B")))


def test_missing_parent() -> None:
    with pytest.raises(ValueError, match=r"unit '01001' .*parent '02' is not in the tree"):
        under_01(u("01001", "commune", "02"))


def test_two_roots() -> None:
    with pytest.raises(ValueError, match=r"more than one root.*'01'.*'02'"):
        under_01(u("02", "province", None))


def test_no_root() -> None:
    with pytest.raises(ValueError, match="no root"):
        UnitTree([])


def test_historical_units_without_parent_are_not_roots() -> None:
    tree = under_01(u("02", "province", None, successor="01"))
    assert tree.root.code == "01"
    assert tree.resolve("02") == "01"


def test_cycle_in_successors() -> None:
    with pytest.raises(ValueError, match=r"cycle in successors: .*01001 -> 01002 -> 01001"):
        under_01(
            u("01001", "commune", "01", successor="01002"),
            u("01002", "commune", "01", successor="01001"),
        )


def test_own_successor() -> None:
    with pytest.raises(ValueError, match="unit '01001' .*own successor"):
        under_01(u("01001", "commune", "01", successor="01001"))


def test_missing_successor() -> None:
    with pytest.raises(ValueError, match=r"unit '01001' .*successor '01009' is not in the tree"):
        under_01(u("01001", "commune", "01", successor="01009"))


def test_cycle_in_parents() -> None:
    with pytest.raises(ValueError, match=r"cycle in parents: .*01\.A -> 01\.B -> 01\.A"):
        under_01(u("01.A", "department", "01.B"), u("01.B", "department", "01.A"))


def test_current_unit_under_a_merged_unit() -> None:
    with pytest.raises(ValueError, match=r"unit '01001' .*merged into '01'"):
        under_01(u("001", "district", "01", successor="01"), u("01001", "commune", "001"))


def test_level_order() -> None:
    with pytest.raises(ValueError, match=r"unit '001' .*district cannot sit under the commune"):
        under_01(u("01001", "commune", "01"), u("001", "district", "01001"))
    # A department may sit under a department (e.g. a sub-department of a Sở).
    tree = under_01(u("01.S", "department", "01"), u("01.S.C", "department", "01.S"))
    assert tree.ancestors("01.S.C") == ("01.S", "01")
