"""`python -m dashboards [--check] [--profile FILE]`: write (or check) the generated files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dashboards.build import stale, write
from tthc.profile import load_profile

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a generated file is stale")
    parser.add_argument("--profile", type=Path, help="methodology profile (TOML); default built in")
    args = parser.parse_args(argv)
    profile = load_profile(args.profile)
    if args.check:
        old = stale(ROOT, profile)
        for path in old:
            print(f"stale: {path} (run `make dashboards`)", file=sys.stderr)
        return 1 if old else 0
    for path in write(ROOT, profile):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
