"""Grafana dashboards (grafanalib), Grafana provisioning and Prometheus alert rules for tthc,
generated from the indicator catalog: `make dashboards` (python -m dashboards)."""
