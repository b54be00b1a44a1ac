"""Panel factories: grafanalib panels with the settings these dashboards share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grafanalib import core as g

from dashboards.grafana import (
    CLICKHOUSE,
    PROMETHEUS,
    ClickHouseTarget,
    Column,
    PrometheusTarget,
    QueryFormat,
    overrides,
)

Target = ClickHouseTarget | PrometheusTarget
NO_DATA = "Chưa có số liệu"


def source(targets: Sequence[Target]) -> dict[str, str]:
    """The panel's datasource: the one its targets query (never a mix)."""
    kinds = {type(t) for t in targets}
    if len(kinds) != 1:
        raise ValueError(f"a panel queries one datasource, not {sorted(k.__name__ for k in kinds)}")
    return CLICKHOUSE if kinds == {ClickHouseTarget} else PROMETHEUS


def stat(
    title: str,
    target: Target,
    *,
    columns: Sequence[Column] = (),
    fields: str = "",
    unit: str = "none",
    decimals: int | None = None,
    steps: list[dict[str, Any]] | None = None,
    threshold_mode: str = "absolute",
    mappings: list[dict[str, Any]] | None = None,
    color_mode: str = "value",
    description: str = "",
    min_value: float | None = None,
    max_value: float | None = None,
) -> g.Stat:
    extra: dict[str, Any] = {"fieldConfig": {"defaults": {}}}
    if min_value is not None:
        extra["fieldConfig"]["defaults"]["min"] = min_value
    if max_value is not None:
        extra["fieldConfig"]["defaults"]["max"] = max_value
    return g.Stat(
        title=title,
        description=description,
        dataSource=source([target]),
        targets=[target],
        color={"mode": "thresholds"},
        format=unit,
        decimals=decimals,
        thresholds=steps or [{"color": "blue", "value": None}],
        thresholdType=threshold_mode,
        mappings=mappings or [],
        colorMode=color_mode,
        graphMode="none",
        reduceCalc="lastNotNull",
        fields=fields,
        noValue=NO_DATA,
        overrides=overrides(columns),
        extraJson=extra,
    )


def table(
    title: str,
    sql: str,
    columns: Sequence[Column],
    *,
    description: str = "",
    sort_by: str | None = None,
    descending: bool = False,
    paged: bool = False,
) -> g.Table:
    """A table of exactly `columns`, in their order, as `sql` selects them. `paged`: it shows
    its rows page by page, and its footer counts them."""
    target = query(sql, *(c.name for c in columns))
    extra: dict[str, object] = {"fieldConfig": {"defaults": {"noValue": "—"}}}
    if paged:
        extra["options"] = {
            "footer": {
                "show": True,
                "countRows": True,
                "reducer": ["count"],
                "fields": "",
                "enablePagination": True,
            }
        }
    return g.Table(
        title=title,
        description=description,
        dataSource=source([target]),
        targets=[target],
        overrides=overrides(columns),
        filterable=True,
        sortBy=[g.TableSortByField(displayName=_label(columns, sort_by), desc=descending)]
        if sort_by
        else [],
        extraJson=extra,
    )


def _label(columns: Sequence[Column], name: str | None) -> str:
    return next((c.label for c in columns if c.name == name), name or "")


def query(sql: str, *columns: str) -> ClickHouseTarget:
    """A table query: the columns, in order, as `sql` selects them."""
    return ClickHouseTarget(rawSql=sql, columns=columns)


def series(sql: str, *columns: str) -> ClickHouseTarget:
    """A time series query: `time` and the value columns, as `sql` selects them."""
    return ClickHouseTarget(rawSql=sql, columns=columns, format=QueryFormat.time_series)


def timeseries(
    title: str,
    targets: Sequence[Target],
    *,
    unit: str = "none",
    decimals: int | None = None,
    columns: Sequence[Column] = (),
    min_value: float | None = None,
    max_value: float | None = None,
    draw_style: str = "line",
    show_points: str = "auto",
    description: str = "",
    stacking: str | None = None,
) -> g.TimeSeries:
    return g.TimeSeries(
        title=title,
        description=description,
        dataSource=source(targets),
        targets=list(targets),
        unit=unit,
        valueDecimals=decimals,
        valueMin=min_value,
        valueMax=max_value,
        drawStyle=draw_style,
        showPoints=show_points,
        pointSize=6,
        fillOpacity=10,
        spanNulls=True,
        legendDisplayMode="list",
        legendPlacement="bottom",
        tooltipMode="multi",
        stacking={"mode": stacking, "group": "A"} if stacking else {},
        overrides=overrides(columns),
    )


def barchart(
    title: str,
    target: Target,
    *,
    columns: Sequence[Column] = (),
    unit: str = "none",
    horizontal: bool = False,
    description: str = "",
    min_value: float | None = None,
    max_value: float | None = None,
) -> g.BarChart:
    defaults: dict[str, Any] = {"unit": unit}
    if min_value is not None:
        defaults["min"] = min_value
    if max_value is not None:
        defaults["max"] = max_value
    return g.BarChart(
        title=title,
        description=description,
        dataSource=source([target]),
        targets=[target],
        orientation="horizontal" if horizontal else "vertical",
        showValue="auto",
        xTickLabelRotation=0 if horizontal else -30,
        overrides=overrides(columns),
        extraJson={"fieldConfig": {"defaults": defaults}},
    )


def text(title: str, content: str) -> g.Text:
    return g.Text(title=title, content=content, mode="markdown")
