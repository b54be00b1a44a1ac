"""Where the time goes: a profile of one call, as text for the report.

pyinstrument (a statistical call-stack profiler, in the test extras) when it is installed;
otherwise cProfile's top functions by cumulative time.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent


def _clean(text: str) -> str:
    """No paths of this machine in a committed report: paths relative to the repository, site
    packages by their package name, and the profiler's header dropped."""
    lines = text.splitlines()
    while lines and not lines[0].lstrip()[:1].isdigit() and not lines[0].startswith("cProfile"):
        lines = lines[1:]
    out = "\n".join(line for line in lines if line.strip())
    out = out.replace(str(ROOT) + "/", "")
    return re.sub(r"\S*/(site|dist)-packages/", "", re.sub(r"/\S*/lib/python3\.\d+/", "", out))


def profile_call(call: Callable[[], T], *, limit: int = 25) -> tuple[T, str]:
    """Run `call` under a profiler; return its result and the profile as text."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        return _cprofile(call, limit)
    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        result = call()
    finally:
        profiler.stop()
    text = _clean(profiler.output_text(unicode=False, color=False, show_all=False))
    return result, "\n".join(text.splitlines()[:limit])


def _cprofile(call: Callable[[], T], limit: int) -> tuple[T, str]:
    profiler = cProfile.Profile()
    result = profiler.runcall(call)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(limit)
    text = _clean("cProfile, top functions by cumulative time:\n" + out.getvalue())
    return result, text
