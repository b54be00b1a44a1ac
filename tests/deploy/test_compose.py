"""docker-compose.yml without a Docker engine: valid against the Compose Specification's JSON
schema, and every service's command, port and environment matches what the code reads.

The schema (compose-spec.json beside this file) is the one Docker Compose v2.40.3 embeds and
validates with; see COMPOSE-SPEC.md for where it comes from.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic_settings import BaseSettings

from dashboards.grafana import CLICKHOUSE_PLUGIN_ID
from dashboards.provisioning import DATASOURCE_ENV
from services.aggregator.settings import AggregatorSettings
from services.api.settings import ApiSettings
from services.ingest.settings import IngestSettings

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
COMPOSE = ROOT / "docker-compose.yml"
SETTINGS: dict[str, type[BaseSettings]] = {
    "ingest": IngestSettings,
    "aggregator": AggregatorSettings,
    "api": ApiSettings,
}


def schema() -> dict[str, Any]:
    return json.loads((HERE / "compose-spec.json").read_text(encoding="utf-8"))


def raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


_VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


class MissingVariable(ValueError):
    """What `docker compose` stops on: a `${VAR:?message}` with VAR unset or empty."""


def interpolate(value: Any, environment: dict[str, str] | None = None) -> Any:
    """Compose's interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`."""
    environment = environment or {}
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name, operator, argument = match.groups()
            given = environment.get(name)
            empty = given is None or (given == "" and operator in (":-", ":?"))
            if operator in (":?", "?") and empty:
                raise MissingVariable(f"{name}: {argument}")
            if operator in (":-", "-") and empty:
                return argument
            return given or ""

        return _VARIABLE.sub(substitute, value).replace("$$", "$")
    if isinstance(value, list):
        return [interpolate(v, environment) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, environment) for k, v in value.items()}
    return value


def env_file(path: Path) -> dict[str, str]:
    """A compose env file: KEY=VALUE lines, # comments, values optionally in single quotes."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


EXAMPLE_ENV = ROOT / "deploy" / "compose.env.example"
DEMO_ENV = ROOT / "deploy" / "demo.env"
DEMO = env_file(DEMO_ENV)
# The example as an operator fills it in: every empty (required) value given.
FILLED = {k: v or f"filled-{k.lower()}" for k, v in env_file(EXAMPLE_ENV).items()}
COMPOSED = interpolate(raw(), DEMO)
# The single-node stack; the profile `cluster` is tests/deploy/test_compose_cluster.py's.
SERVICES: dict[str, dict[str, Any]] = {
    name: service
    for name, service in COMPOSED["services"].items()
    if "cluster" not in service.get("profiles", [])
}


def env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in (SERVICES[service].get("environment") or {}).items()}


def validate(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(schema())
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


# --- The specification -------------------------------------------------------------------------


def test_the_schema_is_the_compose_specification() -> None:
    spec = schema()
    jsonschema.Draft7Validator.check_schema(spec)
    assert spec["title"] == "Compose Specification"
    assert {"services", "volumes", "networks"} <= set(spec["properties"])


def test_compose_file_is_valid_against_the_specification() -> None:
    assert validate(raw()) == []
    assert validate(COMPOSED) == []  # and once the variables have their values
    assert validate(interpolate(raw(), FILLED)) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("services", "api", "imagee"), "tthc"),  # an unknown key
        (("services", "api", "depends_on", "clickhouse", "condition"), "when_ready"),
        (("services", "kafka", "ports"), "9092:9092"),  # a list is required
    ],
)
def test_the_schema_catches_mistakes(path: tuple[str, ...], value: Any) -> None:
    broken = copy.deepcopy(raw())
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert validate(broken)


# --- The stack ---------------------------------------------------------------------------------


def test_the_stack_has_every_component() -> None:
    assert set(SERVICES) == {
        "kafka",
        "clickhouse",
        "ingest",
        "aggregator",
        "api",
        "simulator",
        "prometheus",
        "alertmanager",
        "grafana",
    }
    assert SERVICES["simulator"]["profiles"] == ["simulator"]
    assert all("profiles" not in s for name, s in SERVICES.items() if name != "simulator")


def test_kafka_is_the_official_image_in_kraft_mode() -> None:
    image, version = SERVICES["kafka"]["image"].split(":")
    assert image == "apache/kafka" and version.startswith("4.0.")
    kafka = env("kafka")
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    assert kafka["KAFKA_LOG_RETENTION_MS"] == "-1"  # events are kept forever


def test_every_long_running_service_has_a_health_check_and_restarts() -> None:
    for name, service in SERVICES.items():
        if name == "simulator":
            continue
        assert service["healthcheck"]["test"][0] == "CMD", name
        assert service["restart"] == "unless-stopped", name


def check_depends_on(name: str, service: dict[str, Any], services: dict[str, Any]) -> None:
    """What `name` waits for is one of `services`; one waited for as healthy has a health check,
    one waited for to end is a one-shot job."""
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):  # the short form: waits for it to start, nothing to check
        depends = dict.fromkeys(depends, {"condition": "service_started"})
    for other, condition in depends.items():
        assert other in services, f"{name} depends on unknown {other}"
        if condition["condition"] == "service_healthy":
            assert "healthcheck" in services[other], f"{name} waits for {other}"
        if condition["condition"] == "service_completed_successfully":
            assert services[other]["restart"] == "no", f"{name} waits for {other} to end"


def named_volumes(name: str, service: dict[str, Any]) -> list[str]:
    """The named volumes `name` mounts, each declared; its bind mounts exist in the repository."""
    named = []
    for volume in service.get("volumes", []):
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (ROOT / source).exists(), f"{name}: {source}"
        else:
            assert source in COMPOSED["volumes"], f"{name}: volume {source} not declared"
            named.append(source)
    return named


def test_a_service_waited_for_as_healthy_has_a_health_check() -> None:
    for name, service in SERVICES.items():
        check_depends_on(name, service, SERVICES)


def test_bind_mounts_exist_in_the_repository() -> None:
    for name, service in SERVICES.items():
        named_volumes(name, service)


def test_the_services_are_built_from_the_dockerfile() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert "pip install ." in dockerfile
    for name in ("ingest", "aggregator", "api", "simulator"):
        assert SERVICES[name]["build"] == ".", name


# --- Environment, commands and ports against the code -------------------------------------------


def check_settings(
    service: str,
    variables: dict[str, str],
    settings: type[BaseSettings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each of the service's variables names a setting the code reads, and the values load."""
    assert variables, service
    prefix = settings.model_config["env_prefix"]
    with monkeypatch.context() as environment:
        for name, value in variables.items():
            assert name.startswith(prefix), f"{service}: {name} is not one of {prefix}*"
            field = name.removeprefix(prefix).lower()
            assert field in settings.model_fields, f"{service}: {name} sets no setting"
            environment.setenv(name, value)
        loaded = settings()  # the values are valid for the settings class
        for name in variables:
            assert getattr(loaded, name.removeprefix(prefix).lower()) is not None, name


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_environment_names_settings_the_code_reads(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    variables = {k: v for k, v in env(service).items() if k.startswith("TTHC_")}
    check_settings(service, variables, SETTINGS[service], monkeypatch)


def tthc_command(name: str) -> Any:
    """The click command behind `tthc <name>`."""
    import typer

    from services.cli import app

    group = typer.main.get_command(app)
    commands = group.commands  # type: ignore[attr-defined]
    assert name in commands, f"no command `tthc {name}`"
    return commands[name]


def check_tthc_command(command: list[str]) -> Any:
    """`tthc <name> --option value …`: the command exists and takes every option given."""
    assert command[0] == "tthc", command
    found = tthc_command(command[1])
    options = {opt for param in found.params for opt in getattr(param, "opts", [])}
    given = {arg for arg in command[2:] if arg.startswith("--")}
    assert given <= options, f"{command}: unknown options {sorted(given - options)}"
    return found


def listen_port(service: str) -> int:
    """The port the service's process listens on, as its command and settings say."""
    command = SERVICES[service]["command"]
    if command[0] == "tthc":
        check_tthc_command(command)
        assert command[command.index("--host") + 1] == "0.0.0.0"
        return int(command[command.index("--port") + 1])
    assert command[:2] == ["python", "-m"], command
    assert importlib.util.find_spec(f"{command[2]}.__main__") is not None, command
    variables = env(service)
    if service == "aggregator":  # on the metrics network only: see its own test
        assert variables["TTHC_AGGREGATOR_HTTP_HOST"] == METRICS_HOST
        return int(variables["TTHC_AGGREGATOR_HTTP_PORT"])
    assert variables["TTHC_API_HOST"] == "0.0.0.0"
    return int(variables["TTHC_API_PORT"])


METRICS_HOST = "aggregator-metrics"  # the aggregator's name on the internal metrics network


def test_only_prometheus_reaches_the_aggregators_web_server() -> None:
    assert COMPOSED["networks"]["metrics"]["internal"] is True
    on_metrics = {
        name for name, service in SERVICES.items() if "metrics" in (service.get("networks") or {})
    }
    assert on_metrics == {"aggregator", "prometheus"}
    aggregator = SERVICES["aggregator"]
    assert aggregator["networks"]["metrics"]["aliases"] == [METRICS_HOST]
    assert "ports" not in aggregator  # nothing published on the host either


def scrape_targets() -> dict[str, str]:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus-compose.yml").read_text())
    return {
        job["job_name"]: job["static_configs"][0]["targets"][0] for job in config["scrape_configs"]
    }


@pytest.mark.parametrize("service", ["ingest", "aggregator", "api"])
def test_ports_agree_across_command_health_check_prometheus_and_publishing(service: str) -> None:
    port = listen_port(service)
    host = METRICS_HOST if service == "aggregator" else service
    assert scrape_targets()[service] == f"{host}:{port}"
    health = " ".join(SERVICES[service]["healthcheck"]["test"])
    local = METRICS_HOST if service == "aggregator" else "127.0.0.1"
    assert f"http://{local}:{port}/healthz" in health
    published = SERVICES[service].get("ports", [])
    assert not published or any(p.endswith(f":{port}") for p in published)


def test_services_reach_kafka_and_clickhouse_where_compose_puts_them() -> None:
    clickhouse = env("clickhouse")
    for service, settings in SETTINGS.items():
        prefix = settings.model_config["env_prefix"]
        variables = env(service)
        if f"{prefix}KAFKA_BOOTSTRAP" in variables:
            assert variables[f"{prefix}KAFKA_BOOTSTRAP"] == "kafka:9092"
        if f"{prefix}CLICKHOUSE_URL" in variables:
            url = variables[f"{prefix}CLICKHOUSE_URL"]
            user, password = clickhouse["CLICKHOUSE_USER"], clickhouse["CLICKHOUSE_PASSWORD"]
            assert url == f"http://{user}:{password}@clickhouse:8123/{clickhouse['CLICKHOUSE_DB']}"
    assert env("ingest")["TTHC_INGEST_TOPIC"] == env("aggregator")["TTHC_AGGREGATOR_TOPIC"]


def test_the_simulator_command_is_a_tthc_command_and_reaches_the_ingest() -> None:
    command = SERVICES["simulator"]["command"]
    assert command[:2] == ["tthc", "simulate"]
    simulate = check_tthc_command(command)
    url = command[command.index("--url") + 1]
    assert url == f"http://ingest:{listen_port('ingest')}"
    key = next(p for p in simulate.params if "--key" in getattr(p, "opts", []))
    assert set(env("simulator")) == {key.envvar}


def test_prometheus_and_alertmanager_find_each_other() -> None:
    prometheus = SERVICES["prometheus"]["command"]
    assert "--config.file=/etc/prometheus/prometheus-compose.yml" in prometheus
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus-compose.yml").read_text())
    target = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"][0]
    assert target == "alertmanager:9093"
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in SERVICES["alertmanager"]["command"]


def test_grafana_has_the_plugin_and_what_the_provisioned_datasources_read() -> None:
    grafana = env("grafana")
    assert grafana["GF_INSTALL_PLUGINS"].split()[0] == CLICKHOUSE_PLUGIN_ID
    assert set(DATASOURCE_ENV) <= set(grafana)
    assert grafana["TTHC_CLICKHOUSE_HOST"] == "clickhouse"
    assert grafana["TTHC_PROMETHEUS_URL"] == "http://prometheus:9090"
    home = grafana["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (ROOT / "deploy/grafana/dashboards" / Path(home).name).exists()


# --- Out of the box: credentials from an env file, loopback by default, a provisioned demo ------


def test_compose_stops_without_the_credentials() -> None:
    with pytest.raises(MissingVariable, match="TTHC_CLICKHOUSE_PASSWORD"):
        interpolate(raw(), {})
    with pytest.raises(MissingVariable, match="GF_SECURITY_ADMIN_PASSWORD"):
        interpolate(raw(), {"TTHC_CLICKHOUSE_PASSWORD": "x"})
    text = COMPOSE.read_text(encoding="utf-8")
    assert ":-admin}" not in text.replace("GF_SECURITY_ADMIN_USER:-admin}", "")
    assert "PASSWORD:-" not in text


def test_the_example_env_file_asks_for_every_required_variable() -> None:
    required = {
        m.group(1)
        for m in _VARIABLE.finditer(COMPOSE.read_text(encoding="utf-8"))
        if m.group(2) == ":?"
    }
    example = env_file(EXAMPLE_ENV)
    assert required and required <= set(example)
    assert all(example[name] == "" for name in required)  # to be filled in, no default
    read = {m.group(1) for m in _VARIABLE.finditer(COMPOSE.read_text(encoding="utf-8"))}
    assert set(example) <= read, sorted(set(example) - read)  # and nothing compose ignores


def test_by_default_nothing_is_published_beyond_this_machine_and_scores_are_not_open() -> None:
    for environment in (FILLED, DEMO):
        services = interpolate(raw(), environment)["services"]
        published = [p for s in services.values() for p in s.get("ports", [])]
        assert published and all(p.startswith("127.0.0.1:") for p in published), published
    assert (
        interpolate(raw(), FILLED)["services"]["api"]["environment"]["TTHC_API_OPEN_SCORES"]
        == "false"
    )


def test_the_demo_env_provisions_the_simulator_key_and_a_viewer_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.auth import KeyRing
    from tthc.units import load_units

    for service in ("ingest", "api"):
        for name, value in env(service).items():
            monkeypatch.setenv(name, value)  # as the containers get them
    tree = load_units(env("api")["TTHC_API_UNITS"])
    simulator_key = env("simulator")["TTHC_SIMULATE_KEY"]
    assert simulator_key == DEMO["TTHC_SIMULATE_KEY"]
    grant = KeyRing(IngestSettings().all_keys(), tree).authenticate(simulator_key)
    assert grant is not None and grant.covers(tree.root.code)
    token = DEMO["TTHC_DEMO_VIEWER_TOKEN"]
    viewer = KeyRing(ApiSettings().all_viewer_tokens(), tree).authenticate(token)
    assert viewer is not None and viewer.covers(tree.root.code)
    assert token in DEMO_ENV.read_text(encoding="utf-8").split("curl")[1]  # the example uses it


def test_the_comments_name_the_key_commands_as_they_print_json() -> None:
    from typer.testing import CliRunner

    from services.cli import app

    header = COMPOSE.read_text(encoding="utf-8").split("\nname:")[0]
    assert "`tthc keys new NAME --scope UNIT --format json`" in header
    assert "`tthc keys viewer NAME --scope UNIT --format json`" in header
    printed = CliRunner().invoke(app, ["keys", "new", "x", "--scope", "75", "--format", "json"])
    assert printed.exit_code == 0
    assert IngestSettings(api_keys=json.loads(printed.stdout)).all_keys()[0].name == "x"


def test_grafana_installs_the_plugin_from_a_mounted_zip_offline(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import zipfile

    grafana = SERVICES["grafana"]
    assert grafana["entrypoint"] == ["/bin/sh", "/opt/tthc/entrypoint.sh"]
    mounts = dict(v.rsplit(":", 2)[:2] for v in grafana["volumes"])
    assert mounts["./deploy/grafana/entrypoint.sh"] == "/opt/tthc/entrypoint.sh"
    assert mounts["./deploy/grafana/plugins"] == "/opt/tthc/plugins"
    zips, plugins = tmp_path / "zips", tmp_path / "plugins"
    zips.mkdir()
    with zipfile.ZipFile(zips / f"{CLICKHOUSE_PLUGIN_ID}-4.3.2.linux_amd64.zip", "w") as z:
        z.writestr(f"{CLICKHOUSE_PLUGIN_ID}/plugin.json", json.dumps({"id": CLICKHOUSE_PLUGIN_ID}))

    def start(folder: Path) -> str:
        result = subprocess.run(
            ["/bin/sh", str(ROOT / "deploy/grafana/entrypoint.sh")],
            env={
                "PATH": "/usr/bin:/bin",
                "TTHC_PLUGIN_ZIPS": str(folder),
                "GF_PATHS_PLUGINS": str(plugins),
                "GF_INSTALL_PLUGINS": env("grafana")["GF_INSTALL_PLUGINS"],
                "TTHC_GRAFANA_RUN": shutil.which("env")
                or "/usr/bin/env",  # prints what Grafana gets
            },
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    offline = start(zips)
    assert (plugins / CLICKHOUSE_PLUGIN_ID / "plugin.json").exists()
    assert "GF_INSTALL_PLUGINS=\n" in offline  # nothing to download
    online = start(tmp_path / "empty")
    assert f"GF_INSTALL_PLUGINS={CLICKHOUSE_PLUGIN_ID} 4.3.2" in online  # the default: download
