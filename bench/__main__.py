"""``python -m bench``: every benchmark suite, one Markdown table of figures beside ceilings.

    python -m bench [--smoke] [--workers 1 --workers 2] [--only publish_http] [--output FILE]

Uses CHRONICLE_BENCH_DATABASE_URL (a server's maintenance database) or an embedded
PostgreSQL; each suite gets a fresh migrated database, dropped afterwards. A suite is a
module of this package with ``run(url: str, smoke: bool, workers: int) -> list[Figure]``;
one whose figures do not depend on the server's worker count sets ``WORKER_SENSITIVE =
False`` and runs once.
"""

import importlib
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Annotated

import typer

from bench.database import bench_database
from bench.report import Figure, markdown

# Add a suite by adding its module name here.
SUITES = [
    "publish_http",
    "hot_stream",
    "publish_ws",
    "peers",
    "ordering_cost",
    "catchup",
    "fanout",
    "connections",
    "queries",
]


def _machine() -> str:
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return (
        f"{platform.node()}: {cores} cores, Python {platform.python_version()}, "
        f"{platform.platform()}"
    )


def main(
    smoke: Annotated[bool, typer.Option(help="Tiny sizes: checks that every suite runs")] = False,
    workers: Annotated[
        list[int] | None, typer.Option(help="uvicorn workers (repeat to compare)")
    ] = None,
    only: Annotated[list[str] | None, typer.Option(help="Run only these suites")] = None,
    output: Annotated[Path | None, typer.Option(help="Also write the table here")] = None,
) -> None:
    counts = workers or [1]
    figures: list[Figure] = []
    failed: list[str] = []
    started = time.perf_counter()
    for name in only or SUITES:
        module = importlib.import_module(f"bench.{name}")
        sensitive = getattr(module, "WORKER_SENSITIVE", True)
        for count in counts if sensitive else counts[:1]:
            print(f"== {name} ({count} worker(s))", flush=True)
            try:
                with bench_database() as url:
                    figures.extend(module.run(url, smoke, count))
            except Exception:  # one broken suite should not cost a long run the others
                traceback.print_exc()
                failed.append(f"{name} ({count} worker(s))")
    table = markdown(figures)
    header = (
        f"{_machine()}; {'smoke run' if smoke else 'full run'} in "
        f"{time.perf_counter() - started:.0f} s\n\n"
    )
    print("\n" + header + table)
    if output is not None:
        output.write_text(header + table + "\n")
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
