"""scripts/demo.sh (`make demo`) as a newcomer runs it through a pipe: plain lines instead of the
live board, and a signal to its process group (Ctrl-C, a closed terminal) stops everything it
started, its own broker included, with status 0."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.ingest.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
BOARD_LINE = re.compile(r"^\d\d:\d\d:\d\d .+: \d+\.\d\d/100 ", re.M)


def answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.timeout(420)
@pytest.mark.parametrize("signame", ["SIGINT", "SIGHUP"])
def test_the_demo_prints_plain_lines_and_a_signal_stops_everything(
    tmp_path: Path, signame: str
) -> None:
    ports = {name: free_port() for name in ("api", "ingest", "aggregator", "kafka", "controller")}
    env = {
        **os.environ,
        "DEMO_API_PORT": str(ports["api"]),
        "DEMO_INGEST_PORT": str(ports["ingest"]),
        "DEMO_AGGREGATOR_PORT": str(ports["aggregator"]),
        "KAFKA_PORT": str(ports["kafka"]),
        "KAFKA_CONTROLLER_PORT": str(ports["controller"]),
        "KAFKA_DIR": str(tmp_path / "kafka"),
        "DEMO_DIR": str(tmp_path / "demo"),
        "DEMO_RATE": "400",
    }
    out = tmp_path / "demo.out"
    with out.open("wb") as sink:  # a file, not a terminal, as `make demo | tee demo.log` is
        demo = subprocess.Popen(
            ["bash", "scripts/demo.sh"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300
        while not BOARD_LINE.search(out.read_text(encoding="utf-8", errors="replace")):
            assert demo.poll() is None, out.read_text(encoding="utf-8", errors="replace")
            assert time.monotonic() < deadline, out.read_text(encoding="utf-8", errors="replace")
            time.sleep(1)
        os.killpg(demo.pid, getattr(signal, signame))  # what a terminal sends its foreground
        status = demo.wait(timeout=120)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
        subprocess.run(
            [str(ROOT / "deploy/kafka/kafka.sh"), "down"], env=env, capture_output=True, check=False
        )
    text = out.read_text(encoding="utf-8", errors="replace")
    assert status == 0, text
    assert "\x1b[" not in text  # no live board redrawn in place, no colours
    assert "sự kiện đã nhận" in text and "Ctrl-C để dừng" not in text
    assert "stopping Kafka" in text and "stopped; logs and data in" in text
    assert [name for name, port in ports.items() if answers(port)] == []
    assert not (tmp_path / "kafka" / "kafka.pid").exists()
