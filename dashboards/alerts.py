"""Prometheus alert rules, for the operators and for the province, generated with the dashboards.

The province's rules name their indicator from the catalog; every metric they read is one of
dashboards.metrics (checked against the services). Each rule carries `severity` (critical,
warning, info: Alertmanager routes on it) and `audience` (operations or province).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import yaml

from dashboards import metrics as m
from dashboards.grafana import OPERATIONS_UID, UNIT_UID
from tthc.profile import Profile

Severity = Literal["critical", "warning", "info"]
Audience = Literal["operations", "province"]

# Thresholds: operational choices, not methodology (the profile has no say in them).
INGEST_SERVER_ERROR_RATIO = 0.05  # of HTTP requests answered 5xx
INGEST_REJECTED_RATIO = 0.10  # of events rejected as invalid
CONSUMER_LAG_RECORDS = 10_000
STALL_MINUTES = 10  # events accepted but none processed for this long
SNAPSHOT_STALE_SECONDS = 300
ON_TIME_MEASURE = "dossiers_on_time"  # its indicator (2.1) comes from the profile
ON_TIME_THRESHOLD = 0.90


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


def operations_rules() -> list[AlertRule]:
    jobs = m.JOB_MATCHER
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
            f'sum(rate({m.INGEST_REQUESTS}{{status=~"5.."}}[5m])) '
            f"/ sum(rate({m.INGEST_REQUESTS}[5m])) > {INGEST_SERVER_ERROR_RATIO}",
            "5m",
            "critical",
            "operations",
            "Tiếp nhận trả lỗi 5xx cho {{ $value | humanizePercentage }} yêu cầu",
            f"Quá {_percent(INGEST_SERVER_ERROR_RATIO)} yêu cầu gửi sự kiện bị lỗi phía hệ "
            "thống (thường do Kafka không sẵn sàng); các hệ thống nguồn phải gửi lại.",
            OPERATIONS_UID,
        ),
        AlertRule(
            "TthcIngestRejectingEvents",
            f'sum(rate({m.INGEST_EVENTS}{{outcome="rejected"}}[15m])) '
            f"/ sum(rate({m.INGEST_EVENTS}[15m])) > {INGEST_REJECTED_RATIO}",
            "15m",
            "warning",
            "operations",
            "{{ $value | humanizePercentage }} sự kiện gửi đến bị từ chối",
            f"Quá {_percent(INGEST_REJECTED_RATIO)} sự kiện không hợp lệ trong 15 phút: một "
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
            "TthcConsumerLagHigh",
            f"sum({m.AGGREGATOR_CONSUMER_LAG}) > {CONSUMER_LAG_RECORDS}",
            "10m",
            "warning",
            "operations",
            "Bộ tổng hợp chậm: {{ $value }} bản ghi chờ xử lý",
            f"Độ trễ tiêu thụ Kafka trên {CONSUMER_LAG_RECORDS} bản ghi trong 10 phút; điểm số "
            "chưa phản ánh các sự kiện mới nhất.",
            OPERATIONS_UID,
        ),
        AlertRule(
            "TthcPipelineStalled",
            f'sum(rate({m.INGEST_EVENTS}{{outcome="accepted"}}[{STALL_MINUTES}m])) > 0 '
            f"and (sum(rate({m.AGGREGATOR_EVENTS}[{STALL_MINUTES}m])) or vector(0)) == 0",
            "5m",
            "critical",
            "operations",
            f"Sự kiện vẫn đến nhưng không sự kiện nào được xử lý trong {STALL_MINUTES} phút",
            "Bộ tổng hợp đứng (treo, mất kết nối Kafka hoặc ClickHouse): dữ liệu điểm không "
            "còn tươi.",
            OPERATIONS_UID,
        ),
        AlertRule(
            "TthcDeadLettersGrowing",
            f"sum(increase({m.AGGREGATOR_DEAD_LETTERS}[15m])) > 0",
            "0m",
            "warning",
            "operations",
            "Có sự kiện bị chuyển vào topic thư chết trong 15 phút qua",
            "Sự kiện không giải mã hoặc không hợp lệ đã đến bộ tổng hợp; xem lý do trên bảng "
            "Vận hành và topic thư chết.",
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
            "TthcScoresStale",
            f"time() - max({m.API_REFRESHED_AT}) > {SNAPSHOT_STALE_SECONDS}",
            "5m",
            "warning",
            "operations",
            "Bảng điểm không được tính lại từ {{ $value | humanizeDuration }}",
            "Bảng điều khiển Grafana hiển thị điểm cũ: kiểm tra dịch vụ API và ClickHouse.",
            OPERATIONS_UID,
        ),
    ]


def province_rules(profile: Profile) -> list[AlertRule]:
    on_time = profile.indicator_counting(ON_TIME_MEASURE)
    threshold = _percent(ON_TIME_THRESHOLD)
    return [
        AlertRule(
            "TthcOnTimeRateLow",
            f'{m.API_INDICATOR_RATE}{{indicator="{on_time.code}", period_kind="month"}} '
            f"< {ON_TIME_THRESHOLD}",
            "1h",
            "warning",
            "province",
            f"Đơn vị {{{{ $labels.unit }}}}: {on_time.name_vi.lower()} tháng này "
            f"{{{{ $value | humanizePercentage }}}}, dưới {threshold}",
            f"Chỉ tiêu {on_time.code} ({on_time.name_vi}, {on_time.points:g} điểm) của đơn vị "
            f"trong tháng đang dưới {threshold} suốt một giờ. Xem các hồ sơ trễ hạn trên bảng "
            "Chi tiết đơn vị.",
            UNIT_UID,
        ),
        AlertRule(
            "TthcDossiersTurningLate",
            f'{m.API_TURNING_LATE}{{level!="province"}} > 0',
            "15m",
            "warning",
            "province",
            "Đơn vị {{ $labels.unit }}: {{ $value }} hồ sơ sắp quá hạn",
            f"Hồ sơ đang xử lý sẽ trễ hạn nếu không được giải quyết sớm, làm giảm chỉ tiêu "
            f"{on_time.code}. Danh sách trên bảng Chi tiết đơn vị.",
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


def rule_files(profile: Profile) -> dict[str, str]:
    """File name (under deploy/prometheus/rules/) → content."""
    return {
        "tthc-operations.yml": rules_yaml("tthc-van-hanh", operations_rules()),
        "tthc-province.yml": rules_yaml("tthc-tinh", province_rules(profile), interval="1m"),
    }
