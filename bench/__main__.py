"""`python -m bench`: run the benchmark suite and write its report.

python -m bench                      # the full run (make bench): docs/benchmarks.{md,json}
python -m bench --smoke --out DIR    # tiny sizes, a minute or so: what the smoke test runs
python -m bench --only latency       # one figure (ingest, aggregator, freshness, latency,
                                     # replay), merged into the report already in --out
python -m bench --bootstrap HOST:PORT  # a running broker instead of starting one
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import warnings
from pathlib import Path

from bench.report import Report
from bench.suite import FIGURES, SMOKE, Sizes, run

ROOT = Path(__file__).resolve().parent.parent


def scrub(text: str) -> str:
    """No path of this machine in a committed report (an error message may carry one)."""
    return text.replace(str(ROOT) + "/", "").replace(tempfile.gettempdir() + "/", "<tmp>/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--only", nargs="+", choices=FIGURES, default=list(FIGURES))
    parser.add_argument("--bootstrap", help="a running Kafka broker (host:port)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    report = run(SMOKE if args.smoke else Sizes(), bootstrap=args.bootstrap, only=tuple(args.only))
    args.out.mkdir(parents=True, exist_ok=True)
    earlier = args.out / "benchmarks.json"
    if set(args.only) != set(FIGURES) and earlier.exists():
        report = report.merged_into(Report.from_json(earlier.read_text(encoding="utf-8")))
    (args.out / "benchmarks.md").write_text(scrub(report.to_markdown()), encoding="utf-8")
    (args.out / "benchmarks.json").write_text(scrub(report.to_json()), encoding="utf-8")
    print(f"== bench: wrote {args.out / 'benchmarks.md'} and {args.out / 'benchmarks.json'}")


if __name__ == "__main__":
    main()
