"""`python -m services.api`: serve the API with settings from the environment."""

from __future__ import annotations

import uvicorn

from services.api import ApiSettings, create_app


def run(settings: ApiSettings | None = None) -> None:
    settings = settings or ApiSettings()
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)


if __name__ == "__main__":
    run()
