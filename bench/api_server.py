"""The API, served with its clock fixed: `python -m bench.api_server --clock ISO`.

With the clock on the last day of the benchmark's year, the refresher keeps that year's
snapshot and `period=<year>` is judged at the same instant as the raw-events query.
Settings come from the environment (TTHC_API_*), as for `python -m services.api`.
"""

from __future__ import annotations

import argparse
from datetime import datetime

import uvicorn

from services.api import ApiSettings, create_app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clock", required=True, help="ISO 8601 instant with its offset")
    args = parser.parse_args()
    clock = datetime.fromisoformat(args.clock)
    settings = ApiSettings()
    app = create_app(settings, clock=lambda: clock)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
