"""Services as subprocesses: start, wait until they answer, watch their memory, stop.

Peak memory is the larger of two readings: the kernel's high-water mark of the process's
resident set (VmHWM in /proc/<pid>/status, read just before it is stopped) and the highest sum of
resident sets over the process and its children, sampled every 100 ms by psutil while it ran.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _hwm_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class MemoryWatch:
    """The highest resident set of a process tree, sampled in a background thread."""

    pid: int
    interval: float = 0.1
    peak_bytes: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"memwatch-{self.pid}", daemon=True)
        self._thread.start()

    def sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        total = 0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        self.peak_bytes = max(self.peak_bytes, total, _hwm_bytes(self.pid))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def stop(self) -> int:
        self.sample()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        return self.peak_bytes


@dataclass
class Service:
    """A started subprocess (its own process group) and its memory watch."""

    name: str
    process: subprocess.Popen[bytes]
    watch: MemoryWatch
    log_path: Path
    peak_bytes: int = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM to its process group, SIGKILL after `timeout`; return its peak memory."""
        if self.process.poll() is None:
            self.peak_bytes = self.watch.stop()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        else:
            self.peak_bytes = max(self.peak_bytes, self.watch.stop())
        return self.peak_bytes


def start(
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    log_dir: Path,
    cwd: Path = ROOT,
) -> Service:
    """Start `argv` (a list after the Python interpreter: `["-m", "services.api"]`)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    full_env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, *argv],
            cwd=cwd,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopping it stops its children too
        )
    watch = MemoryWatch(process.pid)
    watch.start()
    return Service(name, process, watch, log_path)


def run(name: str, argv: Sequence[str], *, log_dir: Path) -> tuple[Service, dict[str, Any] | None]:
    """Run `argv` to its end: the stopped service (its peak memory in `peak_bytes`) and the JSON
    object its last log line holds, or None when it failed."""
    child = start(name, argv, log_dir=log_dir)
    code = child.process.wait()
    child.stop()
    if code != 0:
        return child, None
    return child, json.loads(child.log_path.read_text().strip().splitlines()[-1])


def wait_http(service: Service, url: str, timeout: float = 120.0, ok: int = 200) -> float:
    """Wait until GET `url` answers `ok`; return the seconds waited. Fails if the process dies."""
    started = time.monotonic()
    with httpx.Client(timeout=5) as client:
        while True:
            if service.process.poll() is not None:
                raise RuntimeError(
                    f"{service.name} exited ({service.process.returncode}) before answering "
                    f"{url}:\n{service.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code == ok:
                    return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"{service.name} did not answer {url} within {timeout:.0f} s")
            time.sleep(0.1)


@contextlib.contextmanager
def running(*services: Service) -> Iterator[tuple[Service, ...]]:
    try:
        yield services
    finally:
        for s in reversed(services):
            s.stop()
