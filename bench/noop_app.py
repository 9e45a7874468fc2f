"""The HTTP ceiling: a FastAPI app whose publish route takes the same request model and path
as Chronicle's and does nothing, served by uvicorn as Chronicle is (uvloop, httptools).

    python -m bench.noop_app --port 8001 --workers 1
"""

import typer
import uvicorn
from fastapi import FastAPI, status

from app.api.deps import ChronicleName, StreamName
from app.schemas.events import PublishIn

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/chronicles/{chronicle}/streams/{stream}/events", status_code=status.HTTP_201_CREATED)
async def publish_events(chronicle: ChronicleName, stream: StreamName, body: PublishIn) -> dict:
    return {"chronicle": chronicle, "stream": stream, "count": len(body.events)}


def main(port: int = 8001, workers: int = 1) -> None:
    uvicorn.run(
        "bench.noop_app:app",
        host="127.0.0.1",
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    typer.run(main)
