# syntax=docker/dockerfile:1
# Chronicle: event store service.
#   docker build -t chronicle .
#   docker run -p 8000:8000 -e CHRONICLE_DATABASE_URL=postgresql://user:pass@host:5432/db chronicle
# Without CHRONICLE_DATABASE_URL the service starts its embedded PostgreSQL in
# CHRONICLE_DATA_DIR (/var/lib/chronicle, a volume) -- fine for a trial, not for production.

# ---- builder: build the wheel, install it and its dependencies into a venv ----
FROM python:3.11.14-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY alembic ./alembic
COPY app ./app

# The wheel is built by hatchling in pip's isolated build environment; the venv is
# copied whole into the runtime stage (same base image, so same interpreter path).
RUN python -m venv /opt/venv \
    && pip wheel --no-cache-dir --no-deps --wheel-dir /dist . \
    && /opt/venv/bin/pip install --no-cache-dir /dist/chronicle-*.whl

# ---- runtime ----
FROM python:3.11.14-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="chronicle" \
      org.opencontainers.image.description="An event store as a web service on PostgreSQL"

RUN groupadd --system --gid 10001 chronicle \
    && useradd --system --uid 10001 --gid chronicle --no-create-home \
       --home-dir /var/lib/chronicle --shell /usr/sbin/nologin chronicle \
    && mkdir -p /var/lib/chronicle \
    && chown chronicle:chronicle /var/lib/chronicle

COPY --from=builder /opt/venv /opt/venv

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CHRONICLE_HOST=0.0.0.0 \
    CHRONICLE_PORT=8000 \
    CHRONICLE_DATA_DIR=/var/lib/chronicle

WORKDIR /var/lib/chronicle
VOLUME ["/var/lib/chronicle"]
USER 10001:10001

EXPOSE 8000

# Liveness only (/health does not touch the database); slim has no curl, so use Python.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('CHRONICLE_PORT', '8000') + '/health', timeout=4)"]

ENTRYPOINT ["chronicle", "serve"]
