"""The compose profile `cluster` without a Docker engine: its services, their settings and the
ClickHouse, Keeper and nginx files they mount agree with each other and with the code.

The whole file's validity against the Compose Specification is test_compose.py's.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from pydantic_settings import BaseSettings

from bench.scale import CLUSTER_SETTINGS
from services.aggregator.settings import AggregatorSettings
from services.api.settings import ApiSettings
from services.ingest.settings import IngestSettings
from tests.deploy.test_compose import (
    COMPOSE,
    COMPOSED,
    ROOT,
    check_depends_on,
    check_settings,
    check_tthc_command,
    named_volumes,
)

ALL: dict[str, dict[str, Any]] = COMPOSED["services"]
CLUSTER = {name: s for name, s in ALL.items() if "cluster" in s.get("profiles", [])}
CLICKHOUSE_CONFIG = ROOT / "deploy/clickhouse"
NGINX = ROOT / "deploy/nginx/cluster.conf"
SETTINGS: dict[str, type[BaseSettings]] = {
    "ingest": IngestSettings,
    "aggregator": AggregatorSettings,
    "api": ApiSettings,
}


def named(kind: str) -> list[str]:
    return sorted(name for name in CLUSTER if re.fullmatch(rf"{kind}-\d+", name))


def env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in (CLUSTER[service].get("environment") or {}).items()}


def xml(name: str) -> ET.Element:
    return ET.parse(CLICKHOUSE_CONFIG / name).getroot()


def test_the_profile_has_every_part_of_a_cluster() -> None:
    assert len(named("clickhouse")) == 2 and "keeper" in CLUSTER
    assert len(named("aggregator")) >= 2
    assert len(named("ingest")) == 2 and len(named("api")) == 2
    assert {"gateway", "kafka-topics"} <= set(CLUSTER)
    assert "profiles" not in ALL["kafka"]  # the cluster shares the stack's broker


def test_the_file_says_it_was_not_run() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert "--profile cluster up" in text and "no Docker" in text


def test_services_restart_check_their_health_and_wait_for_what_exists() -> None:
    for name, service in CLUSTER.items():
        if name == "kafka-topics":  # a one-shot job
            assert service["restart"] == "no"
            continue
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"][0] == "CMD", name
        check_depends_on(name, service, ALL)


def test_mounts_exist_and_every_worker_keeps_its_own_state() -> None:
    volumes: dict[str, str] = {}
    for name, service in CLUSTER.items():
        for source in named_volumes(name, service):
            assert source not in volumes, f"{name} and {volumes.get(source)} share {source}"
            volumes[source] = name
    for name in named("aggregator") + named("clickhouse") + ["keeper"]:
        assert name in volumes.values(), name


@pytest.mark.parametrize("kind", sorted(SETTINGS))
def test_environment_names_settings_the_code_reads(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for service in named(kind):
        check_settings(service, env(service), SETTINGS[kind], monkeypatch)


def test_the_services_name_the_cluster_that_the_nodes_define() -> None:
    (cluster,) = xml("cluster.xml").find("remote_servers")  # type: ignore[misc]
    clusters = {
        env(s)[f"{SETTINGS[kind].model_config['env_prefix']}CLICKHOUSE_CLUSTER"]
        for kind in ("aggregator", "api")
        for s in named(kind)
    }
    assert clusters == {cluster.tag}
    hosts = [shard.findtext("replica/host") for shard in cluster.findall("shard")]
    assert hosts == named("clickhouse")
    assert {shard.findtext("replica/port") for shard in cluster.findall("shard")} == {"9000"}
    assert all(s.findtext("internal_replication") == "true" for s in cluster.findall("shard"))


def test_each_node_is_its_own_shard_and_replica_and_finds_the_keeper() -> None:
    config = xml("cluster.xml")
    macros = config.find("macros")
    assert macros is not None
    shard, replica = macros.find("shard"), macros.find("replica")
    assert shard is not None and replica is not None
    nodes = [env(name) for name in named("clickhouse")]
    assert len({n[shard.attrib["from_env"]] for n in nodes}) == len(nodes)
    assert [n[replica.attrib["from_env"]] for n in nodes] == named("clickhouse")
    keeper = xml("keeper.xml").find("keeper_server")
    assert keeper is not None
    assert config.findtext("zookeeper/node/host") == "keeper"
    assert config.findtext("zookeeper/node/port") == keeper.findtext("tcp_port")
    assert keeper.findtext("raft_configuration/server/hostname") == "keeper"
    ready = keeper.findtext("http_control/port")
    assert f"http://127.0.0.1:{ready}/ready" in " ".join(CLUSTER["keeper"]["healthcheck"]["test"])
    for name in named("clickhouse"):
        mounts = CLUSTER[name]["volumes"]
        assert "./deploy/clickhouse/cluster.xml:/etc/clickhouse-server/config.d/cluster.xml:ro" in (
            mounts
        )
        assert "./deploy/clickhouse/users.xml:/etc/clickhouse-server/users.d/tthc.xml:ro" in mounts


def test_the_nodes_set_what_the_services_and_the_chdb_tests_rely_on() -> None:
    profile = xml("users.xml").find("profiles/default")
    assert profile is not None
    assert {child.tag: child.text for child in profile} == {
        k: str(v) for k, v in CLUSTER_SETTINGS.items()
    }


def test_services_reach_kafka_and_the_cluster_nodes_with_the_nodes_credentials() -> None:
    node = env(named("clickhouse")[0])
    user, password, database = (
        node["CLICKHOUSE_USER"],
        node["CLICKHOUSE_PASSWORD"],
        node["CLICKHOUSE_DB"],
    )
    reached = set()
    for kind in ("aggregator", "api"):
        prefix = SETTINGS[kind].model_config["env_prefix"]
        for service in named(kind):
            url = env(service)[f"{prefix}CLICKHOUSE_URL"]
            match = re.fullmatch(rf"http://{user}:{password}@(clickhouse-\d+):8123/{database}", url)
            assert match and match.group(1) in CLUSTER, url
            reached.add(match.group(1))
    assert reached == set(named("clickhouse"))  # the load is spread over the nodes
    for kind in ("aggregator", "ingest"):
        prefix = SETTINGS[kind].model_config["env_prefix"]
        for service in named(kind):
            assert env(service)[f"{prefix}KAFKA_BOOTSTRAP"] == "kafka:9092"


def test_the_topic_has_a_partition_for_every_worker() -> None:
    command = dict(
        arg.removeprefix("--").split("=", 1)
        for arg in CLUSTER["kafka-topics"]["command"]
        if "=" in arg
    )
    workers = named("aggregator")
    assert int(command["partitions"]) >= len(workers)
    for worker in workers:
        assert env(worker)["TTHC_AGGREGATOR_TOPIC"] == command["topic"]
        assert env(worker)["TTHC_AGGREGATOR_PARTITIONS"] == command["partitions"]
    for ingest in named("ingest"):
        assert env(ingest)["TTHC_INGEST_TOPIC"] == command["topic"]
    assert command["bootstrap-server"] == "kafka:9092"


def test_every_api_replica_only_reads_and_all_read_one_node() -> None:
    replicas = named("api")
    assert len(replicas) >= 2
    # nothing in the API's settings turns on a writer: the workers keep the windows
    assert all("REFRESH" not in key for s in replicas for key in env(s))
    assert not any("refresh" in name for name in SETTINGS["api"].model_fields)
    assert {env(s)["TTHC_API_CLICKHOUSE_URL"] for s in replicas} == {
        env("api-1")["TTHC_API_CLICKHOUSE_URL"]
    }


def test_the_gateway_spreads_each_port_over_the_replicas_listening_there() -> None:
    conf = NGINX.read_text(encoding="utf-8")
    upstreams = {
        name: re.findall(r"server ([\w-]+):(\d+)", body)
        for name, body in re.findall(r"upstream (\w+) \{(.*?)\}", conf, re.S)
    }
    listens = dict(
        zip(
            re.findall(r"listen (\d+);", conf),
            re.findall(r"proxy_pass http://(\w+);", conf),
            strict=True,
        )
    )
    check_tthc_command(CLUSTER["ingest-1"]["command"])
    ports = {
        "ingest": CLUSTER["ingest-1"]["command"][-1],
        "api": env("api-1")["TTHC_API_PORT"],
    }
    for kind, port in ports.items():
        assert upstreams[kind] == [(name, port) for name in named(kind)]
        assert listens[port] == kind
        for service in named(kind):
            assert f"http://127.0.0.1:{port}/healthz" in " ".join(
                CLUSTER[service]["healthcheck"]["test"]
            )
    assert sorted(p.split(":")[-1] for p in CLUSTER["gateway"]["ports"]) == sorted(listens)
    assert set(CLUSTER["gateway"]["depends_on"]) == set(named("api") + named("ingest"))
