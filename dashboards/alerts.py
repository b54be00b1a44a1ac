"""Prometheus alert rules, for the operators and for the province, generated with the dashboards.

The province's rules name their indicator from the catalog; every metric they read is one of
dashboards.metrics (checked against the services). Each rule carries `severity` (critical,
warning, info: Alertmanager routes on it) and `audience` (operations or province).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import yaml
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from dashboards import metrics as m
from dashboards.grafana import OPERATIONS_UID, UNIT_UID
from tthc.calendar import VN_TZ
from tthc.profile import Profile

Severity = Literal["critical", "warning", "info"]
Audience = Literal["operations", "province"]

# The indicator the province's alerts watch, found in the catalog by what it measures.
ON_TIME_MEASURE = "dossiers_on_time"


class AlertSettings(BaseSettings):
    """Thresholds of the rules: operational choices, not methodology (the profile has no say).

    `make dashboards` reads them from TTHC_ALERT_* (e.g. TTHC_ALERT_ON_TIME_MIN_DOSSIERS=50)."""

    model_config = SettingsConfigDict(env_prefix="TTHC_ALERT_", extra="ignore", frozen=True)

    ingest_server_error_ratio: float = Field(0.05, description="of HTTP requests answered 5xx")
    ingest_rejected_ratio: float = Field(0.10, description="of events rejected as invalid")
    consumer_lag_records: int = 10_000
    stall_minutes: int = Field(10, description="events accepted but none processed this long")
    on_time_threshold: float = 0.90
    on_time_min_dossiers: int = Field(
        30, description="a unit's on-time rate out of fewer dossiers raises nothing"
    )
    on_time_period: Literal["month", "quarter"] = "month"
    on_time_hours: int = Field(2, description="how long the rate must stay low")
    turning_late_min_dossiers: int = Field(
        5, description="dossiers of a unit turning late within the warning horizon"
    )
    source_silent_hours: int = Field(
        2, ge=1, description="an integration with no event accepted this long in working hours"
    )
    working_hours: tuple[int, int] = Field(
        (8, 17), description="Vietnam time, Monday to Friday (public holidays not known here)"
    )
    clickhouse_failed_queries_per_minute: float = 1.0
    clickhouse_disk_free_ratio: float = Field(0.10, description="free share of the data disk")
    api_server_error_ratio: float = Field(0.05, description="of API requests answered 5xx")
    api_latency_seconds: float = Field(2.0, description="95th percentile of API requests")
    watermark_lag_minutes: int = Field(15, description="facts this far behind the event log")
    commit_stall_minutes: int = Field(
        5, description="a backlog, and no offset committed by the aggregator this long"
    )


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: str
    duration: str  # how long the condition must hold ("for")
    severity: Severity
    audience: Audience
    summary: str  # Vietnamese, one line; may use Prometheus templates ({{ $labels.x }})
    description: str
    dashboard: str  # uid of the dashboard to open

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.duration,
            "labels": {"severity": self.severity, "audience": self.audience},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "dashboard": f"/d/{self.dashboard}",
            },
        }


def _percent(ratio: float) -> str:
    return f"{ratio:.0%}"


def _working_hours_utc(settings: AlertSettings) -> str:
    """PromQL true on working days, from `source_silent_hours` after the day's start to its end:
    the whole window of the silence rule then lies inside working hours. Prometheus thinks in
    UTC; Vietnam has no daylight saving time, so its offset is a constant."""
    offset = VN_TZ.utcoffset(datetime(2025, 1, 1))
    assert offset is not None
    hours = int(offset.total_seconds() // 3600)
    start, end = settings.working_hours
    first, last = start + settings.source_silent_hours - hours, end - hours
    # Vietnam's working day falls inside one UTC day: the UTC weekday is Vietnam's weekday.
    assert 0 <= first < last <= 24, "working hours must not cross midnight UTC"
    return (
        f"on() (hour() >= {first} and hour() < {last}) "
        "and on() (day_of_week() >= 1 and day_of_week() <= 5)"
    )


def _request_errors(metric: str, ratio: float) -> str:
    return f'sum(rate({metric}{{status=~"5.."}}[5m])) / sum(rate({metric}[5m])) > {ratio}'


def operations_rules(settings: AlertSettings | None = None) -> list[AlertRule]:
    s = settings or AlertSettings()
    jobs = m.JOB_MATCHER
    silent = s.source_silent_hours
    quiet_routes = 'route!~"/metrics|/healthz|/readyz"'
    return [
        AlertRule(
            "TthcServiceDown",
            f"up{{{jobs}}} == 0",
            "2m",
            "critical",
            "operations",
            "Dịch vụ {{ $labels.job }} ({{ $labels.instance }}) không phản hồi",
            "Prometheus không đọc được /metrics của dịch vụ trong 2 phút.",
            OPERATIONS_UID,
        ),
        AlertRule(
            "TthcIngestServerErrors",
            _request_errors(m.INGEST_REQUESTS, s.ingest_server_error_ratio),
            "5m",
            "critical",
            "operations",
            "Tiếp nhận trả lỗi 5xx cho {{ $value | humanizePercentage }} yêu cầu",
            f"Quá {_percent(s.ingest_server_error_ratio)} yêu cầu gửi sự kiện bị lỗi phía hệ "
            "thống (thường do Kafka không sẵn sàng); các hệ thống nguồn phải gửi lại.",
            OPERATIONS_UID,
        ),
        AlertRule(
            "TthcIngestRejectingEvents",
            f'sum(rate({m.INGEST_EVENTS}{{outcome="rejected"}}[15m])) '
            f"/ sum(rate({m.INGEST_EVENTS}[15m])) > {s.ingest_rejected_ratio}",
            "15m",
            "warning",
            "operations",
            "{{ $value | humanizePercentage }} sự kiện gửi đến bị từ chối",
            f"Quá {_percent(s.ingest_rejected_ratio)} sự kiện không hợp lệ trong 15 phút: một "
            "hệ thống nguồn gửi sai định dạng (xem lý do trên bảng Vận hành).",
            OPERATIONS_UID,
        ),
        AlertRule(
            "TthcIngestKafkaDown",
            f"max({m.INGEST_KAFKA_UP}) == 0",
            "2m",
            "critical",
            "operations",
            "Dịch vụ tiếp nhận mất kết nối Kafka",
            "Sự kiện mới bị trả 503 cho đến khi Kafka hoạt động lại.",
            OPERATIONS_UID,
        ),
        AlertRule(
            "TthcSourceSilent",
            f"sum by (integration) (increase({m.INGEST_INTEGRATION_EVENTS}[{silent}h])) == 0 "
            f"and {_working_hours_utc(s)}",
            "15m",
            "warning",
            "operations",
            f"Hệ thống nguồn {{{{ $labels.integration }}}} không gửi sự kiện nào trong {silent} "
            "giờ làm việc",
            f"Không có sự kiện nào được nhận từ khóa {{{{ $labels.integration }}}} trong {silent} "
            "giờ (giờ hành chính, thứ Hai đến thứ Sáu): kiểm tra kết nối và khóa của hệ thống "
            "nguồn. Ngày lễ không được tính đến.",
            OPERATIONS_UID,
        ),
        AlertRule(
            "TthcConsumerLagHigh",
            f"sum({m.AGGREGATOR_CONSUMER_LAG}) > {s.consumer_lag_records}",
            "10m",
            "warning",
            "operations",
            "Bộ tổng hợp chậm: {{ $value }} bản ghi chờ xử lý",
            f"Độ trễ tiêu thụ Kafka trên {s.consumer_lag_records} bản ghi trong 10 phút; điểm "
            "số chưa phản ánh các sự kiện mới nhất.",
            OPERATIONS_UID,
        ),
        AlertRule(
            "TthcPipelineStalled",
            f'sum(rate({m.INGEST_EVENTS}{{outcome="accepted"}}[{s.stall_minutes}m])) > 0 '
            f"and (sum(rate({m.AGGREGATOR_EVENTS}[{s.stall_minutes}m])) or vector(0)) == 0",
            "5m",
            "critical",
            "operations",
            f"Sự kiện vẫn đến nhưng không sự kiện nào được xử lý trong {s.stall_minutes} phút",
            "Bộ tổng hợp đứng (treo, mất kết nối Kafka hoặc ClickHouse): dữ liệu điểm không "
            "còn tươi.",
            OPERATIONS_UID,
        ),
        AlertRule(
            "TthcPipelineBehind",
            f"max({m.AGGREGATOR_WATERMARK_LAG}) > {s.watermark_lag_minutes * 60}",
            "10m",
            "warning",
            "operations",
            "Dữ liệu điểm chậm {{ $value | humanizeDuration }} so với sự kiện đã nhận",
            f"Mốc xử lý (watermark) của bộ tổng hợp chậm quá {s.watermark_lag_minutes} phút "
            "so với cuối nhật ký sự kiện trong 10 phút: điểm số chưa tính các sự kiện mới.",
            OPERATIONS_UID,
        ),
        AlertRule(
            "TthcAggregatorNotCommitting",
            f"sum({m.AGGREGATOR_LOG_END} - {m.AGGREGATOR_COMMITTED}) > 0 "
            f"and time() - max({m.AGGREGATOR_LAST_COMMIT}) > {s.commit_stall_minutes * 60}",
            "2m",
            "critical",
            "operations",
            "Bộ tổng hợp không ghi nhận tiến độ: {{ $value }} sự kiện chưa tính",
            f"Còn sự kiện chưa tính nhưng không offset nào được commit trong "
            f"{s.commit_stall_minutes} phút (ClickHouse lỗi, lô bị treo): điểm số dừng ở mốc "
            "watermark, xem /healthz của API.",
            OPERATIONS_UID,
        ),
        AlertRule(
            "TthcPartitionLeftUnread",
            f"sum by (topic, partition) (increase({m.AGGREGATOR_READ_AGAIN}[1h])) > 0",
            "0m",
            "warning",
            "operations",
            "Phân vùng {{ $labels.partition }} của {{ $labels.topic }} bị bỏ đọc và được đọc lại",
            "Bộ tổng hợp giữ phân vùng nhưng không đọc được sự kiện nào dù sự kiện vẫn chờ (lỗi "
            "của Faust sau khi cân bằng lại nhóm): nó đã tự đọc lại từ offset đã commit. Lặp "
            "lại nhiều lần: khởi động lại bộ tổng hợp.",
            OPERATIONS_UID,
        ),
        AlertRule(
            "TthcDeadLettersGrowing",
            f"sum(increase({m.AGGREGATOR_DEAD_LETTERS}[15m])) > 0",
            "0m",
            "warning",
            "operations",
            "Có sự kiện bị chuyển vào topic thư chết trong 15 phút qua",
            "Sự kiện không giải mã, không hợp lệ hoặc không tính được đã đến bộ tổng hợp; xem "
            "lý do trên bảng Vận hành và topic thư chết.",
            OPERATIONS_UID,
        ),
        AlertRule(
            "TthcClickHouseWritesFailing",
            f"sum(increase({m.AGGREGATOR_WRITE_FAILURES}[10m])) > 0",
            "5m",
            "warning",
            "operations",
            "Bộ tổng hợp ghi ClickHouse bị lỗi",
            "Có lần ghi lỗi trong 10 phút qua; bộ tổng hợp đang thử ghi lại, nếu kéo dài độ "
            "trễ tiêu thụ sẽ tăng.",
            OPERATIONS_UID,
        ),
        AlertRule(
            "TthcClickHouseQueriesFailing",
            f"sum by (instance) (rate({m.CLICKHOUSE_FAILED_QUERIES}[10m])) * 60 "
            f"> {s.clickhouse_failed_queries_per_minute:g}",
            "10m",
            "warning",
            "operations",
            'ClickHouse: {{ $value | printf "%.1f" }} truy vấn lỗi mỗi phút',
            f"Quá {s.clickhouse_failed_queries_per_minute:g} truy vấn lỗi mỗi phút trong 10 "
            "phút (theo ClickHouse): xem system.query_log và nhật ký của ClickHouse.",
            OPERATIONS_UID,
        ),
        AlertRule(
            "TthcClickHouseDiskLow",
            f"{m.CLICKHOUSE_DISK_AVAILABLE} / {m.CLICKHOUSE_DISK_TOTAL} "
            f"< {s.clickhouse_disk_free_ratio}",
            "10m",
            "critical",
            "operations",
            "ClickHouse còn {{ $value | humanizePercentage }} dung lượng đĩa trống",
            f"Đĩa dữ liệu của ClickHouse còn dưới {_percent(s.clickhouse_disk_free_ratio)}: khi "
            "đầy, ClickHouse từ chối ghi và điểm số ngừng cập nhật. Mở rộng đĩa hoặc dọn dữ liệu.",
            OPERATIONS_UID,
        ),
        AlertRule(
            "TthcApiServerErrors",
            _request_errors(m.API_REQUESTS, s.api_server_error_ratio),
            "5m",
            "critical",
            "operations",
            "API truy vấn trả lỗi 5xx cho {{ $value | humanizePercentage }} yêu cầu",
            f"Quá {_percent(s.api_server_error_ratio)} yêu cầu đến API truy vấn bị lỗi phía hệ "
            "thống trong 5 phút (thường do ClickHouse): bảng điểm và Grafana có thể trống.",
            OPERATIONS_UID,
        ),
        AlertRule(
            "TthcApiSlow",
            f"histogram_quantile(0.95, sum by (le) "
            f"(rate({m.API_REQUEST_SECONDS}_bucket{{{quiet_routes}}}[10m]))) "
            f"> {s.api_latency_seconds:g}",
            "10m",
            "warning",
            "operations",
            "API truy vấn chậm: 95% yêu cầu trong {{ $value | humanizeDuration }}",
            f"Phân vị 95 thời gian trả lời của API vượt {s.api_latency_seconds:g} giây trong "
            "10 phút: xem các truy vấn ClickHouse chậm trên bảng Vận hành.",
            OPERATIONS_UID,
        ),
    ]


def province_rules(profile: Profile, settings: AlertSettings | None = None) -> list[AlertRule]:
    s = settings or AlertSettings()
    on_time = profile.indicator_counting(ON_TIME_MEASURE)
    threshold = _percent(s.on_time_threshold)
    period = {"month": "tháng", "quarter": "quý"}[s.on_time_period]
    series = f'{{indicator="{on_time.code}", period_kind="{s.on_time_period}"}}'
    return [
        AlertRule(
            "TthcOnTimeRateLow",
            f"{m.API_INDICATOR_RATE}{series} < {s.on_time_threshold} "
            f"and {m.API_INDICATOR_COUNTED}{series} >= {s.on_time_min_dossiers}",
            f"{s.on_time_hours}h",
            "warning",
            "province",
            f"Đơn vị {{{{ $labels.unit }}}}: {on_time.name_vi.lower()} {period} này "
            f"{{{{ $value | humanizePercentage }}}}, dưới {threshold}",
            f"Chỉ tiêu {on_time.code} ({on_time.name_vi}, {on_time.points:g} điểm) của đơn vị "
            f"trong {period} đang dưới {threshold} suốt {s.on_time_hours} giờ, tính trên ít "
            f"nhất {s.on_time_min_dossiers} hồ sơ. Xem các hồ sơ trễ hạn trên bảng Chi tiết "
            "đơn vị.",
            UNIT_UID,
        ),
        AlertRule(
            "TthcDossiersTurningLate",
            f'{m.API_TURNING_LATE}{{level!="province"}} >= {s.turning_late_min_dossiers}',
            "30m",
            "warning",
            "province",
            "Đơn vị {{ $labels.unit }}: {{ $value }} hồ sơ sắp quá hạn",
            f"Từ {s.turning_late_min_dossiers} hồ sơ đang xử lý trở lên sẽ trễ hạn nếu không "
            f"được giải quyết sớm, làm giảm chỉ tiêu {on_time.code}. Danh sách trên bảng Chi "
            "tiết đơn vị.",
            UNIT_UID,
        ),
    ]


def rules_yaml(group: str, rules: list[AlertRule], interval: str = "30s") -> str:
    document = {
        "groups": [{"name": group, "interval": interval, "rules": [r.to_dict() for r in rules]}]
    }
    header = (
        "# Generated by `make dashboards` (dashboards/alerts.py); do not edit by hand.\n"
        "# Unit tests: tests/prometheus/ (promtool test rules).\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def rule_files(profile: Profile, settings: AlertSettings | None = None) -> dict[str, str]:
    """File name (under deploy/prometheus/rules/) → content."""
    s = settings or AlertSettings()
    return {
        "tthc-operations.yml": rules_yaml("tthc-van-hanh", operations_rules(s)),
        "tthc-province.yml": rules_yaml("tthc-tinh", province_rules(profile, s), interval="1m"),
    }
