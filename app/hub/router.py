"""The ``/ws`` endpoint: hands each WebSocket to the hub in lifespan state."""

from fastapi import APIRouter, WebSocket

router = APIRouter()


@router.websocket("/ws")
async def hub_socket(websocket: WebSocket) -> None:
    """One connection, many calls; the protocol is in openapi/asyncapi.json and the README."""
    await websocket.app.state.hub.serve(websocket)
