"""Benchmarks are not tests, but their smoke mode runs here so they cannot rot."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Every figure row the suites print, by the start of its name, in order.
EXPECTED_ROWS = [
    "1. single-event publish",  # vs R
    "1. single-event publish",  # vs the no-op route
    "1c. single-event publish with auth on",
    "3. 5-event publish",
    "2. one hot stream",
    "2b. one hot stream",
    "4a. WebSocket publish",
    "4b. WebSocket append",
    "peer: Message DB",
    "peer: eventsourcing",
    "Chronicle HTTP single-event publish vs Message DB",
    "Chronicle HTTP single-event publish vs eventsourcing",
    "gap-free order",
    "5. catch-up subscription",
    "6. deliveries, 1 subscriber(s)",
    "6. commit-to-delivery p50, 1 subscriber(s)",
    "6. commit-to-delivery p99, 1 subscriber(s)",
    "6. deliveries, 5 subscriber(s)",
    "6. commit-to-delivery p50, 5 subscriber(s)",
    "6. commit-to-delivery p99, 5 subscriber(s)",
    "6. appends with 10 live subscriptions attached",
    "7. server RSS, 50 idle",
    "7. server RSS, + 10 active",
    "8. latest query p50",
    "8. latest query p99",
    "8. timeseries query p50",
    "8. timeseries query p99",
]


def test_bench_smoke_prints_every_figure_beside_its_ceiling(
    server_url: str, tmp_path: Path
) -> None:
    """`python -m bench --smoke`: the one command runs every suite, write and read side."""
    env = {**os.environ, "CHRONICLE_BENCH_DATABASE_URL": server_url}
    table = tmp_path / "bench.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--workers", "2", "--output", str(table)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = table.read_text().splitlines()
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| figure")]
    names = [row.split(" | ")[0].removeprefix("| ") for row in rows]
    assert len(names) == len(EXPECTED_ROWS), names
    for name, expected in zip(names, EXPECTED_ROWS, strict=True):
        assert name.startswith(expected), (name, expected)
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        value, ceiling, ratio = cells[1].split()[0], cells[3], cells[4]
        assert float(value.replace(",", "")) > 0, row
        assert float(ceiling.replace(",", "")) > 0, row
        assert float(ratio) > 0, row
    assert "2 workers" in rows[0]
