"""The documentation pages of an app load every asset from the app itself (offline networks)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

_ASSET = re.compile(r'(?:src|href|spec-url)="([^"]+)"')
_SCRIPT_URL = re.compile(r"url: '([^']+)'")


def assert_docs_served_offline(client: TestClient) -> None:
    """/docs and /redoc name no outside URL, and each asset they name is served, non-empty."""
    for page, marker in (("/docs", "SwaggerUIBundle"), ("/redoc", "<redoc")):
        response = client.get(page)
        assert response.status_code == 200, page
        assert marker in response.text, page
        assets = _ASSET.findall(response.text) + _SCRIPT_URL.findall(response.text)
        assert assets, page
        outside = [a for a in assets if re.match(r"(https?:)?//", a)]
        assert outside == [], page
        for asset in assets:
            served = client.get(asset)
            assert served.status_code == 200, asset
            assert len(served.content) > 100, asset
