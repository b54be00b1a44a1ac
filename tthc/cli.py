"""The `tthc` command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tthc.events import EventError, parse_event
from tthc.profile import ProfileError, load_profile
from tthc.units import UnitLevel

app = typer.Typer(
    help="Bộ chỉ số 766: real-time scores of administrative procedures for a province.",
    no_args_is_help=True,
)
console = Console()
errors = Console(stderr=True)

ProfileOption = Annotated[
    Path | None, typer.Option("--profile", help="A methodology profile (TOML); default built in")
]


@app.command()
def indicators(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines")] = False,
    profile_path: ProfileOption = None,
) -> None:
    """Print the indicator catalog of the methodology profile."""
    try:
        profile = load_profile(profile_path)
    except (ProfileError, OSError) as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    if as_json:
        catalog = {
            "profile": {"name": profile.name, "version": profile.version},
            "groups": [g.model_dump() for g in profile.groups],
            "indicators": [
                {
                    "code": i.code,
                    "group": i.group,
                    "name_vi": i.name_vi,
                    "name_en": i.name_en,
                    "points": i.points,
                    "levels": [level.value for level in i.levels],
                    "monitoring": i.monitoring,
                    "parts": [p.model_dump(mode="json") for p in i.parts],
                }
                for i in profile.indicators
            ],
        }
        typer.echo(json.dumps(catalog, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{profile.description} ({profile.name} {profile.version})")
    for column in ("Mã", "Chỉ số", "Điểm", "Cách tính", "Cấp xã"):
        table.add_column(column)
    groups = {g.number: g for g in profile.groups}
    shown_group = None
    for i in profile.indicators:
        if i.group != shown_group:
            g = groups[i.group]
            table.add_row("", f"[bold]{g.number}. {g.name_vi}[/bold]", f"[bold]{g.points:g}[/]")
            shown_group = i.group
        rules = " + ".join(
            p.rule.value + (f" {p.full_at:.0%}" if p.full_at else "") for p in i.parts
        )
        commune = i.points_at(UnitLevel.commune) if i.applies_to(UnitLevel.commune) else None
        table.add_row(
            i.code,
            i.name_vi,
            f"{i.points:g}",
            rules,
            "—" if commune is None else f"{commune:g}",
        )
    console.print(table)


@app.command("validate-events")
def validate_events(
    file: Annotated[Path, typer.Argument(help="NDJSON: one CloudEvent per line")],
) -> None:
    """Check a file of events; report each bad line with the field and the reason."""
    good = bad = 0
    with file.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                parse_event(json.loads(line))
                good += 1
            except json.JSONDecodeError as error:
                bad += 1
                errors.print(f"line {number}: not JSON: {error.msg} (column {error.colno})")
            except EventError as error:
                bad += 1
                for path, reason in error.problems:
                    errors.print(f"line {number}: {path}: {reason}")
    console.print(f"{good} valid, {bad} invalid")
    if bad:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
