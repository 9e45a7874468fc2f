"""One row of the benchmark table: a Chronicle figure beside the ceiling measured in the same run.

Every suite module in ``bench/`` exposes ``run(url: str, smoke: bool, workers: int) ->
list[Figure]``; ``python -m bench`` runs them all and prints ``markdown(figures)``.
"""

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """``value`` of Chronicle and ``ceiling`` of the matching raw baseline, same time window.

    ``higher_is_better`` is False for latencies and memory, where the ratio reads
    ceiling/value so that a ratio of 1.0 or more always means "as good as the ceiling".
    """

    figure: str
    value: float
    unit: str
    ceiling_name: str
    ceiling: float
    target: str
    notes: str = ""
    higher_is_better: bool = True

    @property
    def ratio(self) -> float:
        if self.higher_is_better:
            return self.value / self.ceiling if self.ceiling else 0.0
        return self.ceiling / self.value if self.value else 0.0


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def markdown(figures: Iterable[Figure]) -> str:
    """The figures as one Markdown table, in the order given."""
    lines = [
        "| figure | Chronicle | ceiling | ceiling value | ratio | target | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        lines.append(
            f"| {f.figure} | {_number(f.value)} {f.unit} | {f.ceiling_name} "
            f"| {_number(f.ceiling)} | {f.ratio:.2f} | {f.target} | {f.notes} |"
        )
    return "\n".join(lines)
