"""Benchmarks are not tests, but their smoke mode runs here so they cannot rot."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_publish_benchmark_smoke_prints_both_figures_beside_their_ceilings(
    server_url: str,
) -> None:
    env = {**os.environ, "CHRONICLE_BENCH_DATABASE_URL": server_url}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.publish_http",
            "--seconds",
            "0.3",
            "--clients",
            "2",
            "--rounds",
            "1",
            "--workers",
            "2",
            "--batch",
            "5",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = re.findall(r"^\| (\d\. [^|]+) \| ([\d,]+) \| ([\d,]+) \|", done.stdout, re.M)
    assert [name.split(",")[0] for name, _, _ in rows] == [
        "1. single-event publish",
        "3. 5-event publish",
    ], done.stdout
    for _, ceiling, rate in rows:
        assert int(ceiling.replace(",", "")) > 0 and int(rate.replace(",", "")) > 0
    assert "2 worker(s)" in done.stdout
