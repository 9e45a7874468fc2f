"""The read benchmarks (figures 5-8) in smoke mode, so they cannot rot: every figure row
is printed beside a positive ceiling."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

EXPECTED = {
    "bench.catchup": ["5. catch-up subscription"],
    "bench.fanout": [
        "6. deliveries, 1 subscriber(s)",
        "6. commit-to-delivery p50, 1 subscriber(s)",
        "6. commit-to-delivery p99, 1 subscriber(s)",
        "6. deliveries, 5 subscriber(s)",
        "6. commit-to-delivery p50, 5 subscriber(s)",
        "6. commit-to-delivery p99, 5 subscriber(s)",
        "6. appends with 10 live subscriptions attached",
    ],
    "bench.connections": ["7. server RSS, 50 idle", "7. server RSS, + 10 active"],
    "bench.queries": [
        "8. latest query p50",
        "8. latest query p99",
        "8. timeseries query p50",
        "8. timeseries query p99",
    ],
}

# | figure | value unit | ceiling name | ceiling value | ratio | ...
_ROW = re.compile(
    r"^\| (\d\. [^|]+?) \| ([\d,.]+) [^|]+ \| [^|]+ \| ([\d,.]+) \| ([\d.]+) \|", re.M
)


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_read_benchmark_smoke(server_url: str, module: str) -> None:
    env = {**os.environ, "CHRONICLE_BENCH_DATABASE_URL": server_url}
    done = subprocess.run(
        [sys.executable, "-m", module, "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = _ROW.findall(done.stdout)
    names = [name for name, *_ in rows]
    for expected in EXPECTED[module]:
        assert any(name.startswith(expected) for name in names), (expected, done.stdout)
    assert len(rows) == len(EXPECTED[module]), done.stdout
    for name, value, ceiling, ratio in rows:
        assert float(value.replace(",", "")) > 0, name
        assert float(ceiling.replace(",", "")) > 0, name
        assert float(ratio) > 0, name
