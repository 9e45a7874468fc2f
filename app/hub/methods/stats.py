"""The ``stats`` method: what the hub holds right now (connections, calls, queue depths)."""

from typing import Any

from app.domain.access import SERVER_ADMIN
from app.hub.calls import CallContext, method
from app.hub.methods.catalog import NoParams


@method("stats", NoParams, need=SERVER_ADMIN)
async def stats(ctx: CallContext, params: NoParams) -> dict[str, Any]:
    """Proof that memory is bounded: no connection's queue ever exceeded ``queue_limit``."""
    return ctx.stats()
