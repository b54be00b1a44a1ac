# The image of the three services (ingest, aggregator, api) and the simulator: the project
# installed with pip; which one runs is the container's command (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Only what the package needs (see .dockerignore), so that a change elsewhere keeps the cache.
COPY pyproject.toml README.md ./
COPY tthc ./tthc
COPY services ./services
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /var/lib/tthc --shell /usr/sbin/nologin tthc \
    && mkdir -p /var/lib/tthc/aggregator \
    && chown -R tthc /var/lib/tthc \
    && rm -rf /src

USER tthc
WORKDIR /var/lib/tthc
# api 8000, ingest 8001, aggregator /metrics and /healthz 8002
EXPOSE 8000 8001 8002
CMD ["tthc", "--help"]
