"""(4) Live operations: events per second, consumer lag, freshness, dead letters, errors and
latencies of the three services (Prometheus)."""

from __future__ import annotations

from typing import Any

from grafanalib import core as g

from dashboards import metrics as m
from dashboards.grafana import OPERATIONS_UID, Cell, PrometheusTarget, dashboard, place
from dashboards.panels import stat, timeseries

RATE = "$__rate_interval"


def _p(expr: str, legend: str = "", ref: str = "A", *, instant: bool = False) -> PrometheusTarget:
    return PrometheusTarget(expr=expr, legendFormat=legend, refId=ref, instant=instant)


def _quantile(q: float, histogram: str, by: str = "") -> str:
    labels = "le" + (f", {by}" if by else "")
    return f"histogram_quantile({q}, sum by ({labels}) (rate({histogram}_bucket[{RATE}])))"


def _rising(orange: float, red: float) -> list[dict[str, Any]]:
    """Green, then orange and red as the value grows past each threshold."""
    return [
        {"color": "green", "value": None},
        {"color": "orange", "value": orange},
        {"color": "red", "value": red},
    ]


def services_up() -> g.Stat:
    target = _p(f"up{{{m.JOB_MATCHER}}}", "{{job}}", instant=True)
    return _up_or_down("Dịch vụ đang chạy", target, down="Ngừng", up="Hoạt động")


def kafka_up() -> g.Stat:
    target = _p(f"min({m.INGEST_KAFKA_UP})", instant=True)
    return _up_or_down("Kafka (phía tiếp nhận)", target, down="Mất kết nối", up="Kết nối")


def _up_or_down(title: str, target: PrometheusTarget, *, down: str, up: str) -> g.Stat:
    """A 0 (red) or 1 (green) metric, in words."""
    words = {
        "0": {"color": "red", "index": 0, "text": down},
        "1": {"color": "green", "index": 1, "text": up},
    }
    return stat(
        title,
        target,
        mappings=[{"type": "value", "options": words}],
        color_mode="background",
        steps=[{"color": "red", "value": None}, {"color": "green", "value": 1}],
    )


def lag_total() -> g.Stat:
    return stat(
        "Bản ghi chờ xử lý",
        _p(f"sum({m.AGGREGATOR_CONSUMER_LAG})", instant=True),
        steps=_rising(1000, 10000),
        description="Tổng độ trễ của nhóm tiêu thụ trên mọi phân vùng Kafka.",
    )


def dead_letters_hour() -> g.Stat:
    return stat(
        "Thư chết trong 1 giờ",
        _p(f"sum(increase({m.AGGREGATOR_DEAD_LETTERS}[1h]))", instant=True),
        decimals=0,
        steps=[{"color": "green", "value": None}, {"color": "red", "value": 1}],
        description="Sự kiện không giải mã hoặc không hợp lệ, đã chuyển sang topic thư chết.",
    )


def not_counted() -> g.Stat:
    return stat(
        "Sự kiện chưa tính / not yet counted",
        _p(f"sum({m.AGGREGATOR_LOG_END} - {m.AGGREGATOR_COMMITTED})", instant=True),
        decimals=0,
        steps=_rising(1000, 10000),
        description="Watermark: sự kiện trong log Kafka chưa có trong ClickHouse (cuối log trừ "
        "offset đã commit, mọi phân vùng).",
    )


def counted_to() -> g.Stat:
    return stat(
        "Dữ liệu đầy đủ đến / counted up to",
        _p(f"min({m.AGGREGATOR_COUNTED_TO}) * 1000", instant=True),
        unit="dateTimeAsIso",
        steps=[{"color": "blue", "value": None}],
        description="Watermark: thời điểm sự kiện mà mọi phân vùng đã được tính đến.",
    )


def scores_behind() -> g.Stat:
    return stat(
        "Điểm chậm hơn sự kiện",
        _p(f"max({m.AGGREGATOR_WATERMARK_LAG})", instant=True),
        unit="s",
        steps=_rising(120, 600),
        description="Các cửa sổ điểm được tính lại sau mỗi lô sự kiện: điểm chậm đúng bằng "
        "độ trễ của bộ tổng hợp (watermark).",
    )


def build() -> g.Dashboard:
    rows = [
        [
            Cell(services_up(), 8, 4),
            Cell(kafka_up(), 4, 4),
            Cell(lag_total(), 4, 4),
            Cell(dead_letters_hour(), 4, 4),
            Cell(scores_behind(), 4, 4),
        ],
        [Cell(not_counted(), 12, 4), Cell(counted_to(), 12, 4)],
        [
            Cell(
                timeseries(
                    "Sự kiện tiếp nhận mỗi giây, theo kết quả",
                    [_p(f"sum by (outcome) (rate({m.INGEST_EVENTS}[{RATE}]))", "{{outcome}}")],
                    unit="reqps",
                    description="accepted: nhận; duplicate: gửi lại; rejected: bị từ chối (4xx); "
                    "unavailable: Kafka không sẵn sàng (503).",
                ),
                12,
                8,
            ),
            Cell(
                timeseries(
                    "Sự kiện đã xử lý mỗi giây, theo loại",
                    [_p(f"sum by (type) (rate({m.AGGREGATOR_EVENTS}[{RATE}]))", "{{type}}")],
                    unit="reqps",
                ),
                12,
                8,
            ),
        ],
        [
            Cell(
                timeseries(
                    "Độ trễ tiêu thụ Kafka theo phân vùng (bản ghi)",
                    [
                        _p(
                            f"sum by (topic, partition) ({m.AGGREGATOR_CONSUMER_LAG})",
                            "{{topic}}/{{partition}}",
                        )
                    ],
                ),
                12,
                8,
            ),
            Cell(
                timeseries(
                    "Độ tươi dữ liệu: thời điểm xử lý trừ thời điểm sự kiện",
                    [
                        _p(_quantile(0.5, m.AGGREGATOR_EVENT_LAG), "trung vị", "A"),
                        _p(_quantile(0.95, m.AGGREGATOR_EVENT_LAG), "phân vị 95", "B"),
                    ],
                    unit="s",
                    description="Xã gửi lô hồ sơ trong ngày vào buổi tối nên độ trễ vài giờ là "
                    "bình thường; tăng liên tục là dấu hiệu hệ thống chậm.",
                ),
                12,
                8,
            ),
        ],
        [
            Cell(
                timeseries(
                    "Thư chết theo lý do",
                    [
                        _p(
                            f"sum by (reason) (increase({m.AGGREGATOR_DEAD_LETTERS}[{RATE}]))",
                            "{{reason}}",
                        )
                    ],
                    draw_style="bars",
                ),
                8,
                8,
            ),
            Cell(
                timeseries(
                    "Sự kiện bị từ chối mỗi giây, theo lý do",
                    [
                        _p(
                            "sum by (reason) "
                            f'(rate({m.INGEST_EVENTS}{{outcome="rejected"}}[{RATE}]))',
                            "{{reason}}",
                        )
                    ],
                    unit="reqps",
                ),
                8,
                8,
            ),
            Cell(
                timeseries(
                    "Lỗi hệ thống mỗi giây",
                    [
                        _p(
                            f'sum(rate({m.INGEST_REQUESTS}{{status=~"5.."}}[{RATE}]))',
                            "tiếp nhận: HTTP 5xx",
                            "A",
                        ),
                        _p(
                            f"sum(rate({m.INGEST_PRODUCE_FAILURES}[{RATE}]))",
                            "tiếp nhận: ghi Kafka lỗi",
                            "B",
                        ),
                        _p(
                            f"sum(rate({m.AGGREGATOR_WRITE_FAILURES}[{RATE}]))",
                            "tổng hợp: ghi ClickHouse lỗi",
                            "C",
                        ),
                        _p(
                            f'sum(rate({m.API_REQUESTS}{{status=~"5.."}}[{RATE}]))',
                            "API: HTTP 5xx",
                            "D",
                        ),
                    ],
                    unit="reqps",
                ),
                8,
                8,
            ),
        ],
        [
            Cell(
                timeseries(
                    "Thời gian phản hồi (phân vị 95)",
                    [
                        _p(
                            _quantile(0.95, m.INGEST_REQUEST_SECONDS, "route"),
                            "tiếp nhận {{route}}",
                            "A",
                        ),
                        _p(_quantile(0.95, m.INGEST_PRODUCE_SECONDS), "ghi Kafka", "B"),
                        _p(_quantile(0.95, m.API_REQUEST_SECONDS, "route"), "API {{route}}", "C"),
                    ],
                    unit="s",
                ),
                12,
                8,
            ),
            Cell(
                timeseries(
                    "Ghi ClickHouse: thời gian (phân vị 95)",
                    [_p(_quantile(0.95, m.AGGREGATOR_WRITE_SECONDS, "table"), "{{table}}")],
                    unit="s",
                ),
                6,
                8,
            ),
            Cell(
                timeseries(
                    "Ghi ClickHouse: dòng mỗi giây",
                    [
                        _p(
                            f"sum by (table) (rate({m.AGGREGATOR_WRITE_ROWS}_sum[{RATE}]))",
                            "{{table}}",
                        )
                    ],
                    unit="none",
                ),
                6,
                8,
            ),
        ],
    ]
    return dashboard(
        uid=OPERATIONS_UID,
        title="Bộ chỉ số 766 — Vận hành hệ thống",
        description="Sức khỏe luồng dữ liệu: tiếp nhận, Kafka, tổng hợp, ClickHouse, API.",
        panels=place(rows),
        time_from="now-6h",
        refresh="30s",
    )
