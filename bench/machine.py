"""What the figures were measured on: CPU, cores, memory, and the versions that matter."""

from __future__ import annotations

import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _kafka_version() -> str:
    jars = sorted((ROOT / "deploy" / "kafka" / "lib").glob("kafka_2.13-*.jar"))
    match = re.search(r"kafka_2\.13-(.+)\.jar$", jars[-1].name) if jars else None
    return f"Apache Kafka {match.group(1)} (KRaft, single node)" if match else "unknown"


def _java_version() -> str:
    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    first = (out.stderr or out.stdout).splitlines()
    return first[0].strip() if first else "unknown"


def describe() -> dict[str, str]:
    """Facts about this machine, without any path or host name."""
    return {
        "cpu": _cpu_model(),
        "cores": str(psutil.cpu_count(logical=True)),
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "clickhouse": f"chDB {_version('chdb')} (engine {_version('chdb-core')}), "
        f"clickhouse-connect {_version('clickhouse-connect')}",
        "kafka": _kafka_version(),
        "java": _java_version(),
        "clients": f"kafka-python {_version('kafka-python')}, aiokafka {_version('aiokafka')}, "
        f"faust-streaming {_version('faust-streaming')}, uvicorn {_version('uvicorn')}",
    }
