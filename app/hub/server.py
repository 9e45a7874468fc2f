"""A uvicorn Server that lets the hub say goodbye before uvicorn closes WebSockets (1012)."""

from fastapi import FastAPI
from uvicorn import Config, Server


class GracefulServer(Server):
    """On shutdown, first end subscriptions with a reason and close 1001 (``Hub.close``)."""

    def __init__(self, config: Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app

    async def shutdown(self, sockets: list | None = None) -> None:  # type: ignore[type-arg]
        hub = getattr(self._app.state, "hub", None)
        if hub is not None:
            await hub.close("server shutting down")
        await super().shutdown(sockets)
