"""Build the sample unit set ``tthc/data/units/dong-nai.json``.

Usage: ``python scripts/build_sample_units.py`` (needs the ``vietnam-provinces`` package:
``pip install -e ".[scripts]"``).

What goes in:

- the province and its 95 communes and wards as of the 1 July 2025 reform (Đồng Nai took in
  Bình Phước), straight from ``vietnam-provinces`` with the statistics office codes;
- the provincial departments (sở). They have no statistics office code, so each gets
  ``"<province code>.<initials of the Vietnamese name>"`` (``"75.STP"`` = Sở Tư pháp);
- a few historical units with a ``successor``, so that data sent before the reform (for instance
  the 2024 dossiers of Xã Bù Nho, Bình Phước) resolves to today's tree.

About the historical units (``vietnam-provinces`` 2025.x carries only the new structure, so none
of this comes from the package; it is checked against it where possible):

- Old codes are the statistics office codes of the pre-2025 list. When communes merged, the new
  commune kept the code of one of the old ones (e.g. new Xã Phú Riềng 25264 = old Xã Phú Riềng),
  so an old code that was kept already resolves to the right unit and needs no entry here; only
  the codes that disappeared need a historical unit.
- Xã Bù Nho (Huyện Phú Riềng, Bình Phước): old code 25252, as found in public copies of the
  pre-2025 statistics office list (not confirmed against an official source). Note that 25441,
  sometimes quoted for it, was old Xã Minh Hưng (Chơn Thành) and is now Phường Minh Hưng: it
  cannot be Bù Nho's code. Successor: Xã Phú Riềng (25264): the 2025 arrangement merged Xã Bù
  Nho and Xã Phú Riềng into Xã Phú Riềng. The merger is taken from public lists of the 2025
  arrangement of Đồng Nai's communes, consistent with the code reuse above; it is not in the
  package. Treat it as plausible, not authoritative.
- Xã Long Tân (25258) → Xã Long Hà (25255) and Xã Bảo Quang (26092) → Phường Bảo Vinh (26098):
  same sources, same caveat.
- Former districts (Huyện Phú Riềng 698, Thành phố Long Khánh 732) were abolished with the
  district level; their successor is the province, which took over their role in roll-ups.
- The former province Bình Phước (70) has Đồng Nai (75) as successor.
- Departments: in March 2025 Sở Kế hoạch và Đầu tư merged into Sở Tài chính and Sở Tài nguyên
  và Môi trường into Sở Nông nghiệp và Môi trường; in July 2025 Bình Phước's departments merged
  into Đồng Nai's. Bình Phước's codes use its old province code (``"70.STC"``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vietnam_provinces import Province, Ward
from vietnam_provinces import __data_version__ as VP_DATA_VERSION
from vietnam_provinces import __version__ as VP_VERSION

PROVINCE_CODENAME = "dong_nai"
OUTPUT = Path(__file__).resolve().parent.parent / "tthc" / "data" / "units" / "dong-nai.json"

# (initials, Vietnamese name) of today's departments.
DEPARTMENTS: list[tuple[str, str]] = [
    ("SNV", "Sở Nội vụ"),
    ("STP", "Sở Tư pháp"),
    ("STC", "Sở Tài chính"),
    ("SXD", "Sở Xây dựng"),
    ("SNNMT", "Sở Nông nghiệp và Môi trường"),
    ("SYT", "Sở Y tế"),
    ("SGDDT", "Sở Giáo dục và Đào tạo"),
    ("SCT", "Sở Công Thương"),
    ("SKHCN", "Sở Khoa học và Công nghệ"),
    ("SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch"),
]

# Historical units: code, name, level, parent, successor, kind (see the module docstring).
HISTORICAL: list[tuple[str, str, str, str | None, str, str]] = [
    ("75.SKHDT", "Sở Kế hoạch và Đầu tư", "department", "75", "75.STC", "sở"),
    ("75.STNMT", "Sở Tài nguyên và Môi trường", "department", "75", "75.SNNMT", "sở"),
    ("70", "Tỉnh Bình Phước", "province", None, "75", "tỉnh"),
    ("70.STP", "Sở Tư pháp tỉnh Bình Phước", "department", "70", "75.STP", "sở"),
    ("70.STC", "Sở Tài chính tỉnh Bình Phước", "department", "70", "75.STC", "sở"),
    ("70.SKHDT", "Sở Kế hoạch và Đầu tư tỉnh Bình Phước", "department", "70", "70.STC", "sở"),
    ("698", "Huyện Phú Riềng", "district", "70", "75", "huyện"),
    ("25252", "Xã Bù Nho", "commune", "698", "25264", "xã"),
    ("25258", "Xã Long Tân", "commune", "698", "25255", "xã"),
    ("732", "Thành phố Long Khánh", "district", "75", "75", "thành phố"),
    ("26092", "Xã Bảo Quang", "commune", "732", "26098", "xã"),
]

# Today's names the historical successors must have in the package (guards against a package
# update that renumbers communes).
EXPECTED_SUCCESSORS = {
    "25264": "Xã Phú Riềng",
    "25255": "Xã Long Hà",
    "26098": "Phường Bảo Vinh",
}


def unit(
    code: str,
    name: str,
    level: str,
    parent: str | None,
    kind: str,
    successor: str | None = None,
) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "level": level,
        "parent": parent,
        "successor": successor,
        "kind": kind,
    }


def build() -> dict[str, Any]:
    province = next(p for p in Province.iter_all() if p.codename == PROVINCE_CODENAME)
    province_code = f"{int(province.code):02d}"
    units = [unit(province_code, f"Tỉnh {province.name}", "province", None, "tỉnh")]
    units += [
        unit(f"{province_code}.{initials}", name, "department", province_code, "sở")
        for initials, name in DEPARTMENTS
    ]
    wards = sorted(Ward.iter_by_province(province.code), key=lambda w: int(w.code))
    units += [
        unit(f"{int(w.code):05d}", w.name, "commune", province_code, w.division_type.value)
        for w in wards
    ]
    current = {u["code"]: u["name"] for u in units}
    for code, expected in EXPECTED_SUCCESSORS.items():
        if current.get(code) != expected:
            raise SystemExit(f"{code}: expected {expected!r}, package has {current.get(code)!r}")
    for code, name, level, parent, successor, kind in HISTORICAL:
        if code in current:
            raise SystemExit(f"historical code {code} is used by today's {current[code]!r}")
        units.append(unit(code, name, level, parent, kind, successor))
    return {
        "province": province.name,
        "source": (
            f"vietnam-provinces {VP_VERSION} (data of {VP_DATA_VERSION}): province, communes "
            "and wards after the July 2025 reform; departments and historical units added by "
            "scripts/build_sample_units.py (see its docstring for sources and caveats)"
        ),
        "units": units,
    }


def render(document: dict[str, Any]) -> str:
    """JSON with one unit per line, so that changes read well in a diff."""
    head = {k: v for k, v in document.items() if k != "units"}
    lines = [json.dumps(head, ensure_ascii=False)[:-1] + ', "units": [']
    rows = [json.dumps(u, ensure_ascii=False) for u in document["units"]]
    lines += [f"  {row}," for row in rows[:-1]] + [f"  {rows[-1]}", "]}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    document = build()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(render(document), encoding="utf-8")
    print(f"wrote {len(document['units'])} units to {OUTPUT.name}")


if __name__ == "__main__":
    main()
