"""The ``chronicle`` command: serve, migrate, openapi; principals, keys and grants."""

import contextlib
import gc
import ipaddress
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import structlog
import typer
import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from app import access_cli
from app.config import Settings
from app.hub.coalescing import CoalescingWebSocketProtocol
from app.hub.server import GracefulServer
from app.logs import configure_logging
from app.storage import migrations
from app.storage.embedded import with_database

cli = typer.Typer(help="Chronicle, an event store on PostgreSQL.", no_args_is_help=True)
log = structlog.get_logger("chronicle.cli")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _warn_if_open(settings: Settings) -> None:
    if settings.auth_enabled or _is_loopback(settings.host):
        return
    log.warning("auth_disabled_on_network", host=settings.host)
    print(
        f"\n!!! WARNING: authentication is OFF (CHRONICLE_AUTH_ENABLED=false) and Chronicle "
        f"listens on {settings.host}, not only on this machine.\n!!! Anyone who can reach "
        f"port {settings.port} can read, write and delete every chronicle.\n!!! Turn auth on, "
        "or listen on 127.0.0.1 only.\n",
        file=sys.stderr,
        flush=True,
    )


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Server processes sharing the port")
    ] = None,
) -> None:
    """Migrate and serve the API (embedded PostgreSQL unless CHRONICLE_DATABASE_URL is set)."""
    settings = Settings()
    given = {"host": host, "port": port, "workers": workers}
    settings = settings.model_copy(update={k: v for k, v in given.items() if v is not None})
    configure_logging(settings.log_level, settings.log_json)
    _warn_if_open(settings)

    with ExitStack() as stack:
        # Once, in this process: workers share the one database and its migrated schema.
        settings = with_database(settings, stack)
        migrations.upgrade(settings.database_dsn())
        log.info(
            "listening", url=f"http://{settings.host}:{settings.port}", workers=settings.workers
        )
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl+C after shutdown
            if settings.workers == 1:
                from app.main import create_app

                app = create_app(settings)
                settle_garbage_collection()
                GracefulServer(_uvicorn_config(app, settings), app).run()
            else:
                _serve_workers(settings)


def _uvicorn_config(app: Any, settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        factory=isinstance(app, str),
        loop="uvloop",
        http="httptools",
        # Chronicle never reads the client's address; parsing X-Forwarded-* on every
        # request cost 7% of a publish (bench/RESULTS.md).
        proxy_headers=False,
        ws=CoalescingWebSocketProtocol,
        log_config=None,
        access_log=False,
        # Above the hub's own limit, so the hub can close 1009 with a reason first.
        ws_max_size=settings.ws_max_frame_bytes * 2,
    )


def _serve_workers(settings: Settings) -> None:
    """Run ``settings.workers`` processes on one socket bound here. Each worker reads its
    settings from the environment, so the database URL (the embedded server's too) goes
    there before they are spawned."""
    assert settings.database_url is not None
    os.environ["CHRONICLE_DATABASE_URL"] = settings.database_url.get_secret_value()
    config = _uvicorn_config(f"{__name__}:worker_app", settings)
    _Supervisor(config, sockets=[config.bind_socket()]).run()


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn calls this factory in each worker)."""
    from app.main import create_app

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    app = create_app(settings)
    settle_garbage_collection()
    return app


def settle_garbage_collection() -> None:
    """Keep the collector's pauses short in a server process holding many connections.

    Measured with gc callbacks beside 1,000 subscribers: a full (generation 2) collection
    of 200-450 ms every second or two, each a latency spike for every subscriber. What is
    loaded by now (modules, models, routes) lives as long as the process, so it is frozen
    out of every collection; and the young generations are collected less often, so fewer
    collections reach the old one (a first generation of 50,000 made its own pauses of
    20-50 ms; at 5,000 they stay under 5 ms).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(5_000, 50, 100)


class _WorkerServer(GracefulServer):
    """GracefulServer for a worker, which only has its app once uvicorn has loaded it."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config, FastAPI())

    async def shutdown(self, sockets: list | None = None) -> None:  # type: ignore[type-arg]
        app = self.config.loaded_app
        while not isinstance(app, FastAPI) and hasattr(app, "app"):  # uvicorn's middleware
            app = app.app
        if isinstance(app, FastAPI):
            self._app = app
        await super().shutdown(sockets)


class _Worker(Process):
    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = _WorkerServer(self.config)
        return self._server


class _Supervisor(Multiprocess):
    """uvicorn's process supervisor, with workers that end subscriptions gracefully."""

    def init_processes(self) -> None:
        for _ in range(self.processes_num):
            process = _Worker(self.config, self.sockets)
            process.start()
            self.processes.append(process)


@cli.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
) -> None:
    """Apply the schema migrations up to REVISION and exit."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    with ExitStack() as stack:
        settings = with_database(settings, stack)
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


access_cli.register(cli)


def main() -> None:
    cli()
