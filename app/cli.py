"""The ``chronicle`` command: serve, migrate, openapi."""

import contextlib
import json
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import structlog
import typer
import uvicorn
from pydantic import SecretStr

from app.config import Settings
from app.logs import configure_logging
from app.storage import migrations
from app.storage.embedded import EmbeddedPostgres

cli = typer.Typer(help="Chronicle, an event store on PostgreSQL.", no_args_is_help=True)
log = structlog.get_logger("chronicle.cli")


def _database(settings: Settings, stack: ExitStack) -> Settings:
    """Settings with a database URL: the configured one, or an embedded server's."""
    if settings.database_url is not None:
        return settings
    embedded = stack.enter_context(EmbeddedPostgres(settings.data_dir))
    assert embedded.url is not None
    return settings.model_copy(update={"database_url": SecretStr(embedded.url)})


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
) -> None:
    """Migrate and serve the API (embedded PostgreSQL unless CHRONICLE_DATABASE_URL is set)."""
    settings = Settings()
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = settings.model_copy(update=overrides)
    configure_logging(settings.log_level, settings.log_json)
    from app.hub.server import GracefulServer
    from app.main import create_app

    with ExitStack() as stack:
        settings = _database(settings, stack)
        migrations.upgrade(settings.database_dsn())
        log.info("listening", url=f"http://{settings.host}:{settings.port}")
        app = create_app(settings)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            # Above the hub's own limit, so the hub can close 1009 with a reason first.
            ws_max_size=settings.ws_max_frame_bytes * 2,
        )
        # Tells WebSocket clients why before uvicorn closes their sockets (1012).
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl+C after shutdown
            GracefulServer(config, app).run()


@cli.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
) -> None:
    """Apply the schema migrations up to REVISION and exit."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    with ExitStack() as stack:
        settings = _database(settings, stack)
        migrations.upgrade(settings.database_dsn(), revision)
        log.info("migrated", revision=revision)


@cli.command()
def openapi(
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout")] = None,
) -> None:
    """Print the OpenAPI document (no database needed)."""
    from app.main import create_app

    document = json.dumps(create_app(Settings()).openapi(), indent=2, sort_keys=False) + "\n"
    if output is None:
        typer.echo(document, nl=False)
    else:
        output.write_text(document)


def main() -> None:
    cli()
