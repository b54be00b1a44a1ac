"""What grafanalib lacks for these dashboards: typed targets for the ClickHouse plugin and for
Prometheus, field labels, a grid layout and the shared dashboard settings.

A ClickHouse target declares the columns its panel reads (`columns`): field overrides are keyed
by them, and the tests run the SQL and compare, so a renamed column cannot silently blank a panel.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import attr
from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

from tthc.calendar import VN_TZ

# Grafana's dashboard JSON model version the panels are written for (Grafana 10.4 – 11.x):
# set explicitly, grafanalib's default (12) would have Grafana re-migrate every panel.
SCHEMA_VERSION = 39

CLICKHOUSE_PLUGIN_ID = "grafana-clickhouse-datasource"
CLICKHOUSE_UID = "tthc-clickhouse"
PROMETHEUS_UID = "tthc-prometheus"
CLICKHOUSE: dict[str, str] = {"type": CLICKHOUSE_PLUGIN_ID, "uid": CLICKHOUSE_UID}
PROMETHEUS: dict[str, str] = {"type": "prometheus", "uid": PROMETHEUS_UID}

# Dashboards link to each other by uid; the tests check every link resolves.
PROVINCE_UID = "tthc-province"
UNIT_UID = "tthc-unit"
INDICATOR_UID = "tthc-indicator"
OPERATIONS_UID = "tthc-operations"
TAGS = ["tthc", "766"]


class QueryFormat(IntEnum):
    """The plugin's result formats (sqlds FormatQueryOption)."""

    time_series = 0
    table = 1


@attr.s(frozen=True, auto_attribs=True, kw_only=True)
class ClickHouseTarget:
    """A raw-SQL query of the grafana-clickhouse-datasource plugin (v4 query model)."""

    rawSql: str
    columns: tuple[str, ...]  # what the panel reads, in order; not part of the JSON
    refId: str = "A"
    format: QueryFormat = QueryFormat.table

    def to_json_data(self) -> dict[str, Any]:
        return {
            "datasource": CLICKHOUSE,
            "editorType": "sql",
            "format": int(self.format),
            "queryType": "timeseries" if self.format is QueryFormat.time_series else "table",
            "rawSql": self.rawSql,
            "refId": self.refId,
        }


@attr.s(frozen=True, auto_attribs=True, kw_only=True)
class PrometheusTarget:
    """A PromQL query of the Prometheus datasource."""

    expr: str
    legendFormat: str = ""
    refId: str = "A"
    instant: bool = False

    def to_json_data(self) -> dict[str, Any]:
        return {
            "datasource": PROMETHEUS,
            "editorMode": "code",
            "expr": self.expr,
            "instant": self.instant,
            "legendFormat": self.legendFormat,
            "range": not self.instant,
            "refId": self.refId,
        }


# --- Fields ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """How one result column is shown: its Vietnamese label, unit, decimals, link, width."""

    name: str
    label: str
    unit: str | None = None
    decimals: int | None = None
    width: int | None = None
    link: tuple[str, str] | None = None  # (title, url)
    cell: str | None = None  # table cell type: "gauge", "color-background" …
    hidden: bool = False
    extra: tuple[tuple[str, Any], ...] = field(default=())

    def override(self) -> dict[str, Any]:
        properties: list[dict[str, Any]] = [{"id": "displayName", "value": self.label}]
        if self.unit is not None:
            properties.append({"id": "unit", "value": self.unit})
        if self.decimals is not None:
            properties.append({"id": "decimals", "value": self.decimals})
        if self.width is not None:
            properties.append({"id": "custom.width", "value": self.width})
        if self.link is not None:
            title, url = self.link
            properties.append({"id": "links", "value": [{"title": title, "url": url}]})
        if self.cell is not None:
            properties.append({"id": "custom.cellOptions", "value": {"type": self.cell}})
        if self.hidden:
            properties.append({"id": "custom.hidden", "value": True})
        properties.extend({"id": key, "value": value} for key, value in self.extra)
        return {"matcher": {"id": "byName", "options": self.name}, "properties": properties}


def overrides(columns: Iterable[Column]) -> list[dict[str, Any]]:
    return [c.override() for c in columns]


def thresholds(steps: Sequence[tuple[float | None, str]]) -> list[dict[str, Any]]:
    """Threshold steps [(from value, colour)]; the first starts at -infinity (None)."""
    return [{"color": color, "value": value} for value, color in steps]


def row_link(uid: str, variables: Sequence[tuple[str, str]]) -> str:
    """A data link URL from a table row: (variable, field of the row) pairs, plus the period."""
    params = "&".join(f"var-{var}=${{__data.fields.{column}}}" for var, column in variables)
    return f"/d/{uid}?${{__url_time_range}}&var-period=${{period}}&{params}"


# --- Layout ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    panel: g.Panel
    width: int
    height: int


def place(rows: Sequence[Sequence[Cell]]) -> list[g.Panel]:
    """Give every panel its gridPos, row after row (a row is as tall as its tallest cell)."""
    placed: list[g.Panel] = []
    y = 0
    for row in rows:
        x = 0
        for cell in row:
            if x + cell.width > 24:
                raise ValueError(f"panel {cell.panel.title!r} does not fit in 24 columns")
            placed.append(
                attr.evolve(cell.panel, gridPos=g.GridPos(h=cell.height, w=cell.width, x=x, y=y))
            )
            x += cell.width
        y += max((cell.height for cell in row), default=0)
    return placed


# --- Variables and dashboards ------------------------------------------------------------------


def query_variable(name: str, label: str, sql: str, *, refresh: int = 1) -> g.Template:
    """A variable filled by a ClickHouse query (first column value, second column text)."""
    return g.Template(
        name=name,
        label=label,
        query=sql,
        dataSource=CLICKHOUSE,
        refresh=refresh,
        sort=0,  # as the query orders it
    )


def custom_variable(
    name: str, label: str, options: Sequence[tuple[str, str]], default: str
) -> g.Template:
    """A fixed list of (value, Vietnamese text) options."""
    # Grafana parses "text : value" items separated by commas; a comma in a text is escaped.
    query = ", ".join(f"{text.replace(',', chr(92) + ',')} : {value}" for value, text in options)
    return g.Template(
        name=name,
        label=label,
        query=query,
        type="custom",
        options=[
            {"selected": value == default, "text": text, "value": value} for value, text in options
        ],
    )


def dashboard(
    *,
    uid: str,
    title: str,
    description: str,
    panels: list[g.Panel],
    variables: Sequence[g.Template] = (),
    time_from: str = "now-1y",
    refresh: str = "1m",
) -> g.Dashboard:
    links = [
        g.DashboardLink(
            title="Bộ chỉ số 766",
            type="dashboards",
            tags=["766"],
            asDropdown=True,
            includeVars=False,
            keepTime=True,
        )
    ]
    return g.Dashboard(
        uid=uid,
        title=title,
        description=description,
        tags=TAGS,
        timezone=VN_TZ.key,
        time=g.Time(time_from, "now"),
        refresh=refresh,
        schemaVersion=SCHEMA_VERSION,
        editable=False,
        links=links,
        panels=panels,
        templating=g.Templating(list=list(variables)),
    ).auto_panel_ids()


def to_json(board: g.Dashboard) -> str:
    """Deterministic JSON text of a dashboard (sorted keys, UTF-8, trailing newline)."""
    data = json.loads(json.dumps(board.to_json_data(), cls=DashboardEncoder))
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def clickhouse_targets(panel: g.Panel) -> list[ClickHouseTarget]:
    return [t for t in panel.targets if isinstance(t, ClickHouseTarget)]
