"""The `tthc` command line."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, NoReturn, TextIO

import typer
from rich.console import Console
from rich.table import Table

from services.auth import generate_key, hash_key, weak_key
from tthc.catalog_doc import indicators_markdown, part_info
from tthc.profile import ProfileError, Rule, load_profile
from tthc.units import UnitLevel, UnitTree, load_units

if TYPE_CHECKING:
    import httpx

app = typer.Typer(
    help="Bộ chỉ số 766: real-time scores of administrative procedures for a province.",
    no_args_is_help=True,
)
console = Console()
errors = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """One clear line on stderr and a non-zero exit: what a user sees instead of a traceback."""
    errors.print(message, style="red", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def input_file(path: Path) -> Iterator[TextIO]:
    """A UTF-8 text file named on the command line; one line and exit 2 when it cannot be read."""
    try:
        with path.open(encoding="utf-8") as handle:
            yield handle
    except FileNotFoundError:
        fail(f"{path}: không có tệp này / no such file")
    except IsADirectoryError:
        fail(f"{path}: là thư mục, không phải tệp / is a directory, not a file")
    except PermissionError:
        fail(f"{path}: không có quyền đọc / permission denied")
    except UnicodeDecodeError as error:
        fail(f"{path}: không phải UTF-8 / not UTF-8 text (byte {error.start})")


def main() -> None:
    """`tthc`: a failure nobody foresaw is one line too (TTHC_DEBUG=1 shows the traceback)."""
    try:
        app(standalone_mode=True)
    except Exception as error:  # a user gets one line; the traceback is for a developer
        if os.environ.get("TTHC_DEBUG"):
            raise
        errors.print(
            f"lỗi / error: {type(error).__name__}: {error} (TTHC_DEBUG=1 để xem chi tiết)",
            style="red",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)


ProfileOption = Annotated[
    Path | None, typer.Option("--profile", help="A methodology profile (TOML); default built in")
]


@app.command()
def indicators(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines")] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the reference page (docs/indicators.md)")
    ] = False,
    profile_path: ProfileOption = None,
) -> None:
    """Print the indicator catalog of the methodology profile."""
    if as_json and markdown:
        fail("--json và --markdown: chọn một / choose one")
    try:
        profile = load_profile(profile_path)
    except (ProfileError, OSError) as error:
        fail(str(error))
    if markdown:
        typer.echo(indicators_markdown(profile), nl=False)
        return
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
                    "parts": [part_info(p) for p in i.parts],
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
        rules = " + ".join(rule_vi(p.rule, p.full_at) for p in i.parts)
        commune = i.points_at(UnitLevel.commune) if i.applies_to(UnitLevel.commune) else None
        table.add_row(
            i.code,
            i.name_vi,
            f"{i.points:g}",
            rules,
            "—" if commune is None else f"{commune:g}",
        )
    console.print(table)


def rule_vi(rule: Rule, full_at: float | None) -> str:
    """How the table names a part's rule, for officials (the JSON keeps the profile's words)."""
    if rule is Rule.full_at:
        return f"đủ điểm từ {full_at:.0%}"
    return {Rule.linear: "theo tỷ lệ", Rule.monitoring: "theo dõi, 0 điểm"}[rule]


@app.command("validate-events")
def validate_events(
    file: Annotated[Path, typer.Argument(help="NDJSON: one CloudEvent per line")],
    units: Annotated[str, typer.Option(help="unit set name or unit document")] = "dong-nai",
    procedures: Annotated[
        Path | None, typer.Option(help="known procedure codes, as the ingest's PROCEDURES_FILE")
    ] = None,
) -> None:
    """Check a file of events with the ingest's own rules, naming each bad field.

    Every check but the key's scope (the file names no key)."""
    from services.ingest.checks import Rejected
    from services.ingest.settings import IngestSettings

    policy = IngestSettings(units=units, procedures_file=procedures).event_policy(load_units(units))
    configured: set[str] = set()
    good = bad = 0
    with input_file(file) as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                policy.validate(json.loads(line), configured)
                good += 1
            except json.JSONDecodeError as error:
                bad += 1
                errors.print(f"line {number}: not JSON: {error.msg} (column {error.colno})")
            except Rejected as rejected:
                bad += 1
                errors.print(f"line {number}: {rejected.rejection.message}")
                for path, reason in rejected.rejection.problems:
                    errors.print(f"line {number}: {path}: {reason}", markup=False)
    console.print(f"{good} valid, {bad} invalid")
    if bad:
        raise typer.Exit(1)


# --- Running the services (they import the services lazily: the domain does not need them) -----

HostOption = Annotated[str, typer.Option(help="interface to listen on (loopback by default)")]


def _chdb_url(directory: Path) -> str:
    """chDB wants an absolute path after `chdb://` (`chdb:///abs/dir`)."""
    return f"chdb://{directory.resolve()}"


@app.command()
def run(
    kafka: Annotated[str, typer.Option(help="Kafka bootstrap servers")] = "127.0.0.1:9092",
    data_dir: Annotated[
        Path, typer.Option(help="embedded ClickHouse and the aggregator's tables go here")
    ] = Path("var"),
    topic: Annotated[str, typer.Option(help="the events topic")] = "tthc.events",
    host: HostOption = "127.0.0.1",
    ingest_port: Annotated[int, typer.Option()] = 8001,
    api_port: Annotated[int, typer.Option()] = 8000,
    aggregator_port: Annotated[int, typer.Option(help="the aggregator's /metrics")] = 8002,
    units: Annotated[str, typer.Option(help="unit set name or unit document")] = "dong-nai",
    profile_path: ProfileOption = None,
    ingest_keys: Annotated[
        Path | None, typer.Option(help="the integrations' API keys (TOML/JSON)")
    ] = None,
    viewer_tokens: Annotated[Path | None, typer.Option(help="viewer tokens (TOML/JSON)")] = None,
    allow_anonymous: Annotated[
        bool, typer.Option(help="development only: accept events without a key")
    ] = False,
    partitions: Annotated[int, typer.Option(help="partitions of a new events topic")] = 4,
    batch_seconds: Annotated[
        float,
        typer.Option(
            help="the aggregator's batch window: short here, for freshness on embedded "
            "ClickHouse (a worker on a server batches for TTHC_AGGREGATOR_BATCH_SECONDS, 1 s)"
        ),
    ] = 0.3,
) -> None:
    """Serve ingest, aggregator and API in one process on embedded ClickHouse (Kafka external).

    Other settings come from the environment (TTHC_INGEST_*, TTHC_AGGREGATOR_*, TTHC_API_*).
    """
    import asyncio

    from services.aggregator.settings import AggregatorSettings
    from services.allinone import Listen, serve
    from services.api.settings import ApiSettings
    from services.ingest.settings import IngestSettings

    clickhouse = _chdb_url(data_dir / "clickhouse")
    (data_dir / "clickhouse").mkdir(parents=True, exist_ok=True)
    ingest = IngestSettings(
        kafka_bootstrap=kafka,
        topic=topic,
        units=units,
        api_keys_file=ingest_keys,
        allow_anonymous=allow_anonymous,
    )
    aggregator = AggregatorSettings(
        kafka_bootstrap=kafka,
        topic=topic,
        clickhouse_url=clickhouse,
        data_dir=data_dir / "aggregator",
        profile=profile_path,
        units=units,
        http_host=host,
        http_port=aggregator_port,
        partitions=partitions,
        batch_seconds=batch_seconds,
    )
    api = ApiSettings(
        clickhouse_url=clickhouse,
        profile=profile_path,
        units=units,
        viewer_tokens_file=viewer_tokens,
        integration_keys_file=ingest_keys,
    )
    asyncio.run(serve(ingest, aggregator, api, Listen(host, ingest_port, api_port)))


@app.command()
def aggregator() -> None:
    """Run one aggregator worker alone (settings: TTHC_AGGREGATOR_*)."""
    from services.aggregator.__main__ import run as run_worker

    run_worker()


@app.command()
def replay(
    kafka: Annotated[str | None, typer.Option(help="Kafka bootstrap servers")] = None,
    topic: Annotated[str | None, typer.Option(help="the events topic")] = None,
    clickhouse: Annotated[
        str | None, typer.Option(help="http://host:8123 or chdb:///absolute/dir")
    ] = None,
    profile_path: ProfileOption = None,
) -> None:
    """Rebuild ClickHouse's facts from the start of the Kafka log.

    Run it after a profile change or a lost database. Unset options come from
    TTHC_AGGREGATOR_*; stop the workers first when they share an embedded (chDB) directory.
    """
    from services.aggregator.replay import replay as rebuild
    from services.aggregator.settings import AggregatorSettings

    settings = AggregatorSettings()
    rebuild(
        kafka_bootstrap=kafka or settings.kafka_bootstrap,
        topic=topic or settings.topic,
        clickhouse_url=clickhouse or settings.clickhouse_url,
        layout=settings.layout,
        profile=profile_path or settings.profile,
        units=settings.units,
        console=errors,
    )


windows_app = typer.Typer(help="The rolling windows the aggregator keeps.", no_args_is_help=True)
app.add_typer(windows_app, name="windows")


@windows_app.command("rebuild")
def windows_rebuild(
    clickhouse: Annotated[
        str | None, typer.Option(help="http://host:8123 or chdb:///absolute/dir")
    ] = None,
) -> None:
    """Fill the facts by day and the windows of every (unit, day) from the facts.

    Run it once after upgrading to the version that keeps windows (migration 11), with the
    workers stopped; `tthc replay` does it too. Unset options come from TTHC_AGGREGATOR_*.
    """
    from services.aggregator.settings import AggregatorSettings
    from services.storage.clickhouse import clickhouse_client, migrate
    from services.storage.windows import rebuild_windows

    settings = AggregatorSettings()
    client = clickhouse_client(clickhouse or settings.clickhouse_url)
    try:
        migrate(client, settings.layout)
        rebuild_windows(client, settings.layout, settings.windows_margin_seconds)
    finally:
        client.close()


@app.command()
def api(host: HostOption = "127.0.0.1", port: Annotated[int, typer.Option()] = 8000) -> None:
    """Serve the query API alone, on a ClickHouse server (settings: TTHC_API_*)."""
    import uvicorn

    from services.api import ApiSettings, create_app

    uvicorn.run(create_app(ApiSettings()), host=host, port=port, log_config=None)


@app.command()
def simulate(
    url: Annotated[str, typer.Option(help="the ingest's base URL")] = "http://127.0.0.1:8001",
    api_key: Annotated[
        str | None, typer.Option("--key", envvar="TTHC_SIMULATE_KEY", help="the ingest API key")
    ] = None,
    units: Annotated[str, typer.Option(help="unit set name or unit document")] = "dong-nai",
    seed: Annotated[int, typer.Option(help="same seed, same events")] = 766,
    months: Annotated[int, typer.Option(help="months of history, this one included")] = 3,
    scale: Annotated[float, typer.Option(help="× the default dossiers per unit and month")] = 1.0,
    until: Annotated[
        str | None, typer.Option(help="the workload's 'now' (ISO 8601); default now")
    ] = None,
    rate: Annotated[float, typer.Option(help="at most this many events/s (0: no cap)")] = 1000.0,
    speed: Annotated[
        float, typer.Option(help="replay the timeline this many times faster (0: just --rate)")
    ] = 0.0,
    batch: Annotated[int, typer.Option(help="events per request")] = 200,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
) -> None:
    """Send a realistic province workload to the ingest, as its integrations would."""
    from datetime import UTC, datetime

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from services.simulator import Sender, replay, timeline, workload_until
    from tthc.calendar import VN_TZ
    from tthc.units import load_units

    now = datetime.now(UTC)
    if until is not None:
        now = datetime.fromisoformat(until)
        now = now if now.tzinfo else now.replace(tzinfo=VN_TZ)
    tree = load_units(units)
    workload = workload_until(now, months=months, seed=seed, scale=scale)
    pairs = timeline(tree, workload)
    console.print(
        f"{len(pairs):,} events of {tree.root.name} from {workload.start} to "
        f"{now.astimezone(VN_TZ):%Y-%m-%d %H:%M} (seed {seed}) → {url}"
    )
    columns = (
        TextColumn("gửi sự kiện"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>7.0f} ev/s"),
        TimeRemainingColumn(),
    )
    with Sender(url, api_key) as sender, Progress(*columns, disable=quiet) as bar:
        task = bar.add_task("send", total=len(pairs), rate=0.0)
        started = time.monotonic()
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            bar.update(task, advance=n, rate=done / max(1e-6, time.monotonic() - started))

        try:
            report = replay(
                sender, pairs, rate=rate, speed=speed, batch_size=batch, progress=advance
            )
        except RuntimeError as error:
            errors.print(f"[red]{error}[/red]")
            raise typer.Exit(1) from None
    console.print(
        f"sent {report.sent:,} in {report.seconds:.1f}s ({report.rate:,.0f} ev/s): "
        f"{report.accepted:,} accepted, {report.duplicate:,} duplicate, "
        f"{report.rejected:,} rejected, {report.retries} retries"
    )
    for line in report.rejections:
        errors.print(f"rejected: {line}")
    if report.rejected:
        raise typer.Exit(1)


@app.command()
def scoreboard(
    url: Annotated[str, typer.Option(help="the API's base URL")] = "http://127.0.0.1:8000",
    unit: Annotated[str | None, typer.Option(help="default: the province")] = None,
    period: Annotated[str | None, typer.Option(help="default: this quarter")] = None,
    every: Annotated[float, typer.Option(help="seconds between refreshes")] = 3.0,
    weakest: Annotated[int, typer.Option(help="how many of the weakest communes")] = 8,
    ingest_url: Annotated[
        str | None, typer.Option(help="show the ingest's accepted events from its /metrics")
    ] = None,
    aggregator_url: Annotated[
        str | None,
        typer.Option(help="with --ingest-url: show the events not yet counted (its /metrics)"),
    ] = None,
    once: Annotated[
        bool, typer.Option(help="print one board and exit (1 when the API cannot answer)")
    ] = False,
) -> None:
    """A live scoreboard in the terminal: the total and grade, the groups, the weakest communes.

    Through a pipe or into a file it prints one plain line whenever the numbers change.
    """
    from services.scoreboard_tui import BoardError, Sources, watch

    sources = Sources(url.rstrip("/"), ingest_url, aggregator_url)
    try:
        watch(
            sources,
            unit=unit,
            period=period,
            every=every,
            weakest=weakest,
            once=once,
            console=console,
        )
    except BoardError as error:
        fail(str(error), 1)
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # the reader of the pipe is gone (Ctrl-C on `make demo | tee`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


keys = typer.Typer(help="API keys of the integrations (stored as SHA-256 only).")
app.add_typer(keys, name="keys")


class ReportFormat(StrEnum):
    docx = "docx"
    pdf = "pdf"


@app.command("report")
def report_command(
    unit: Annotated[str, typer.Option(help="mã đơn vị, e.g. 75 (the province), 75.STP, 25264")],
    period: Annotated[
        str | None,
        typer.Option(help="2026-Q3, 2026-H1 (half-year), 2026 (year); default this quarter"),
    ] = None,
    file_format: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.pdf,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="default: the API's file name, here")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="judge at this instant")] = None,
    url: Annotated[
        str, typer.Option("--url", envvar="TTHC_API_URL", help="the query API's base URL")
    ] = "http://127.0.0.1:8000",
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="TTHC_API_TOKEN",
            help="a viewer token covering the unit (prefer the environment variable)",
        ),
    ] = None,
) -> None:
    """The periodic report on Decision 766 (DOCX or PDF), from a running query API.

    The same numbers as the API and the dashboards: the query API builds the report, this
    command asks for it with a viewer token and writes the file."""
    import httpx

    params = {"format": file_format.value, "period": period, "as_of": as_of}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(
            f"{url.rstrip('/')}/v1/units/{unit}/report",
            params={k: v for k, v in params.items() if v is not None},
            headers=headers,
            timeout=300,
        )
    except httpx.HTTPError as error:
        fail(f"Không gọi được API / cannot reach the API at {url}: {error}", 1)
    if response.status_code != 200:
        fail(_api_refusal(response), 1)
    disposition = response.headers.get("content-disposition", "")
    named = disposition.split('filename="')[-1].rstrip('"') if "filename=" in disposition else ""
    target = output or Path(named or f"bao-cao-766-{unit}.{file_format.value}")
    try:
        target.write_bytes(response.content)
    except OSError as error:
        fail(f"{target}: không ghi được tệp / cannot write the file ({error.strerror})", 1)
    console.print(f"{target} ({len(response.content):,} bytes)")


def _api_refusal(response: httpx.Response) -> str:
    """The API's error answer in one line: its message and the parameters at fault."""
    try:
        body = response.json()
        problems = "; ".join(f"{p['field']}: {p['reason']}" for p in body.get("problems", []))
        return f"{body['message']}" + (f" ({problems})" if problems else "")
    except (ValueError, KeyError, TypeError):
        return f"the API answered {response.status_code}"


@app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(help="NDJSON of CloudEvents, or a one-stop-shop CSV export", exists=True),
    ],
    url: Annotated[
        str, typer.Option("--url", envvar="TTHC_INGEST_URL", help="Base URL of the ingest")
    ] = "http://127.0.0.1:8001",
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", envvar="TTHC_API_KEY", help="Prefer the environment variable"),
    ] = None,
    file_format: Annotated[
        str, typer.Option("--format", help="auto (by extension), ndjson or csv")
    ] = "auto",
    source: Annotated[
        str, typer.Option("--source", help="CloudEvents source of events made from CSV rows")
    ] = "mot-cua-csv",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=100_000)] = 500,
    state: Annotated[
        Path | None, typer.Option("--state", help="Resume state; default FILE.import-state.json")
    ] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Ignore the saved state")] = False,
    units: Annotated[
        str, typer.Option(help="the ingest's unit set: events it would refuse are not sent")
    ] = "dong-nai",
) -> None:
    """Import history through the ingest; run it again to resume after an interruption.

    A one-stop-shop CSV has one row per dossier.
    Required: ma_ho_so, ma_don_vi, ma_tthc, ngay_tiep_nhan; each other step is a date column.
    Every column, with an example file: docs/onestop-csv.md. The key comes from TTHC_API_KEY.
    Each event is first checked here with the ingest's own rules (see validate-events).
    """
    from services.ingest.importer import (
        ImportRefused,
        ImportStopped,
        make_client,
        print_summary,
        run_import,
    )
    from services.ingest.settings import IngestSettings

    if file_format not in ("auto", "ndjson", "csv"):
        raise typer.BadParameter("--format must be auto, ndjson or csv")
    kind: Literal["ndjson", "csv"] | None = None if file_format == "auto" else file_format  # type: ignore[assignment]
    console = Console(stderr=True)
    with make_client(url, api_key) as client:
        try:
            result = run_import(
                file,
                client,
                format=kind,
                source=source,
                batch_size=batch_size,
                state_path=state,
                restart=restart,
                policy=IngestSettings(units=units).event_policy(load_units(units)),
                console=console,
            )
        except KeyboardInterrupt:
            errors.print("[yellow]interrupted: run the same command again to resume[/yellow]")
            raise typer.Exit(130) from None
        except ImportRefused as refused:
            hint = ""
            if refused.status == 77:
                missing = "" if api_key else "; chưa có khóa / no key given: set TTHC_API_KEY"
                hint = f"{missing} (`tthc keys new` makes one)"
            fail(f"{refused}{hint}", refused.status)
        except ImportStopped as stopped:
            errors.print(f"[red]{stopped}[/red]")
            errors.print("what was answered is saved: run the same command again to resume")
            raise typer.Exit(75) from None
    print_summary(result, console)
    if result.rejected:
        raise typer.Exit(1)


@app.command("ingest")
def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8001,
    workers: Annotated[int, typer.Option(help="Processes (each has its own duplicate window)")] = 1,
) -> None:
    """Run the ingest HTTP service (settings from TTHC_INGEST_* variables)."""
    import uvicorn

    uvicorn.run(
        "services.ingest.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=os.environ.get("TTHC_INGEST_LOG_LEVEL", "info").lower(),
        access_log=False,  # the app logs each request as one JSON line
    )


@keys.command("hash")
def hash_key_command(
    key: Annotated[str | None, typer.Argument(help="The key; read from stdin when omitted")] = None,
) -> None:
    """Print the SHA-256 to store for an API key (a long random one: see keys new)."""
    value = (key if key is not None else read_secret("API key")).strip()
    problem = weak_key(value)
    if problem is not None:
        errors.print(problem, markup=False)
        raise typer.Exit(2)
    typer.echo(hash_key(value))


def read_secret(prompt: str) -> str:
    """A secret from a pipe (its first line), or typed at a terminal without echo."""
    if not sys.stdin.isatty():
        value = sys.stdin.readline().strip()
        if not value:
            fail(f"{prompt}: không có gì trên stdin / nothing on stdin")
        return value
    return str(typer.prompt(prompt, hide_input=True))


# --- Keys and viewer tokens: both are key documents of services.auth, checked against the tree ---

KeyFormat = Annotated[
    str,
    typer.Option(
        "--format",
        help="toml: an entry for a key file; json: a list for TTHC_INGEST_API_KEYS / "
        "TTHC_API_VIEWER_TOKENS (docker-compose's .env)",
    ),
]
ScopeOption = Annotated[
    list[str], typer.Option("--scope", help="Unit code(s) it covers, with all units under them")
]
UnitsOption = Annotated[str, typer.Option(help="unit set name or unit document")]


def checked_scopes(scopes: list[str], units: str) -> list[str]:
    """The scopes, each a unit code of the tree; else one line naming the first that is not."""
    try:
        tree = load_units(units)
    except (ValueError, OSError) as error:
        fail(f"--units {units}: {error}")
    for scope in scopes:
        if scope not in tree:
            hint = _did_you_mean(tree, scope)
            fail(f"--scope {scope}: không phải mã đơn vị / not a unit code{hint}")
    return scopes


def _did_you_mean(tree: UnitTree, text: str) -> str:
    wanted = text.casefold()
    named = [u for u in tree if wanted in u.name.casefold()]
    if not named:
        return f" of {tree.root.name} ({tree.root.code})"
    return "; có phải / did you mean " + ", ".join(f"{u.code} ({u.name})" for u in named[:5])


def key_entry(name: str, key: str, scopes: list[str], key_format: str) -> str:
    """The stored form of a new key: a TOML [[keys]] entry or a one-entry JSON list."""
    if key_format == "json":
        entry = {"name": name, "sha256": hash_key(key), "scope": scopes}
        return json.dumps([entry], ensure_ascii=False)
    quoted = ", ".join(json.dumps(s, ensure_ascii=False) for s in scopes)
    return f'[[keys]]\nname = {json.dumps(name)}\nsha256 = "{hash_key(key)}"\nscope = [{quoted}]'


def issue_key(name: str, scopes: list[str], units: str, key_format: str, what: str) -> None:
    if key_format not in ("toml", "json"):
        fail("--format: toml hoặc json / toml or json")
    scopes = checked_scopes(scopes, units)
    key = generate_key()
    errors.print(
        f"{name}: {what}, chỉ hiện một lần / shown once: {key}", markup=False, soft_wrap=True
    )
    typer.echo(key_entry(name, key, scopes, key_format))


@keys.command("new")
def new_key_command(
    name: Annotated[str, typer.Argument(help="The integration, e.g. mot-cua-tinh")],
    scope: ScopeOption,
    units: UnitsOption = "dong-nai",
    key_format: KeyFormat = "toml",
) -> None:
    """Make an ingest key: print it once on stderr (give it to the integration) and its entry.

    The entry (stdout) goes into the ingest's key file (TTHC_INGEST_API_KEYS_FILE).
    With --format json: a list for TTHC_INGEST_API_KEYS (docker-compose's .env).
    """
    issue_key(name, scope, units, key_format, "khóa tiếp nhận / ingest key")


@keys.command("viewer")
def new_viewer_command(
    name: Annotated[str, typer.Argument(help="Who reads, e.g. so-noi-vu or grafana")],
    scope: ScopeOption,
    units: UnitsOption = "dong-nai",
    key_format: KeyFormat = "toml",
) -> None:
    """Make a viewer token for the query API: dossier lists and warnings of its scope.

    The entry (stdout) goes into the API's token file (TTHC_API_VIEWER_TOKENS_FILE).
    With --format json: a list for TTHC_API_VIEWER_TOKENS (docker-compose's .env).
    The reader sends the token as `Authorization: Bearer <token>`.
    """
    issue_key(name, scope, units, key_format, "mã xem / viewer token")


if __name__ == "__main__":
    main()
