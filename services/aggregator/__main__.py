"""`python -m services.aggregator`: run one aggregator worker with settings from the environment."""

from __future__ import annotations

from services.aggregator.settings import AggregatorSettings
from services.observability import configure_logging


def run(settings: AggregatorSettings | None = None) -> None:
    """Run a worker until SIGTERM or SIGINT; Faust stops it cleanly (a crash is safe too)."""
    settings = settings or AggregatorSettings()
    # Before the modules that bind their loggers at import.
    configure_logging("aggregator", settings.log_level)
    import faust

    from services.aggregator.app import Aggregator

    aggregator = Aggregator.prepare(settings)
    worker = faust.Worker(aggregator.app, loglevel=settings.log_level, quiet=True)
    # Faust's start-up spinner lowers the root logger to DEBUG to spin on every record, so each
    # library's debug line (a few per event) would be built and dropped: no spinner.
    worker.spinner = None
    try:
        worker.execute_from_commandline()
    finally:
        aggregator.writer.close()


if __name__ == "__main__":
    run()
