"""The process-wide hub: its sessions, shared resources, stats and graceful shutdown."""

import asyncio
from collections import Counter
from typing import Any

import asyncpg
from starlette.websockets import WebSocket

from app.auth.authenticator import Authenticator
from app.config import Settings
from app.domain.access import Caller
from app.hub import methods  # noqa: F401  (registers the methods)
from app.hub.fanout import Fanout
from app.hub.metrics import WS_CONNECTIONS
from app.hub.session import Session
from app.storage.group_commit import GroupCommitter
from app.storage.notifications import Listener

# Events the shared live reader takes per query; more than a few commits' worth.
FANOUT_PAGE_SIZE = 1000


class Hub:
    """Created in the lifespan; the ``/ws`` route runs one Session per connection here."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        listener: Listener,
        appender: GroupCommitter,
        authenticator: Authenticator,
    ) -> None:
        self.pool = pool
        self.authenticator = authenticator
        self.appender = appender
        self.settings = settings
        self.listener = listener
        self.fanout = Fanout(
            pool,
            settings.database_dsn(),
            listener,
            FANOUT_PAGE_SIZE,
            settings.ws_subscription_poll_interval,
        )
        self.sessions: set[Session] = set()
        self.closing = False
        self._per_principal: Counter[int] = Counter()
        self._admitted: dict[Session, int] = {}

    async def serve(self, websocket: WebSocket) -> None:
        session = Session(websocket, self)
        if self.closing:
            await websocket.close(1001, "server shutting down")
            return
        self.sessions.add(session)
        WS_CONNECTIONS.inc()
        try:
            await session.run()
        finally:
            self.sessions.discard(session)
            self._release(session)
            WS_CONNECTIONS.dec()

    def admit(self, session: Session, caller: Caller) -> bool:
        """Count ``session`` against its principal's cap; False if the cap is reached.
        Auth off (no principal): no cap, there is nobody to tell apart."""
        if caller.principal_id is None:
            return True
        if (
            self._per_principal[caller.principal_id]
            >= self.settings.ws_max_connections_per_principal
        ):
            return False
        self._per_principal[caller.principal_id] += 1
        self._admitted[session] = caller.principal_id
        return True

    def _release(self, session: Session) -> None:
        principal_id = self._admitted.pop(session, None)
        if principal_id is not None:
            self._per_principal[principal_id] -= 1
            if not self._per_principal[principal_id]:
                del self._per_principal[principal_id]

    def stats(self) -> dict[str, Any]:
        return {
            "connections": len(self.sessions),
            "calls": sum(len(s.calls) for s in self.sessions),
            "queue_limit": self.settings.ws_send_queue_size,
            "queue_depths": [s.outbox.depth for s in self.sessions],
            "frames_sent": [s.frames_sent for s in self.sessions],
            # Connections whose socket is full while a page of frames waits to be written.
            "backed_up": sum(s.waiting_for_socket for s in self.sessions),
            "max_queue_depth": max((s.outbox.max_depth for s in self.sessions), default=0),
            "notifications": self.listener.notifications,
            "listening": self.listener.connected.is_set(),
            "listener_connects": self.listener.connects,
            **self.fanout.stats(),
        }

    async def close(self, reason: str = "server shutting down", grace: float = 2.0) -> None:
        """End subscriptions with ``reason`` and close every connection 1001. Run it before
        uvicorn's own shutdown, which closes WebSockets with a bare 1012."""
        self.closing = True
        await asyncio.gather(
            *(s.shutdown(reason, grace) for s in list(self.sessions)), return_exceptions=True
        )
        await self.fanout.stop()
