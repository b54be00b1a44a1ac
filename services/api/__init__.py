"""The query API: scores, rankings, trends, drill-down and early warning, read from ClickHouse.

parse (unit, period, as of) → count (SQL the domain compiles) → score (the domain) → answer.
"""

from services.api.app import create_app
from services.api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]
