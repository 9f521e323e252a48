"""Latency, throughput and parity of every backend and precision of an artifacts folder.

Importing this package imports neither torch nor matplotlib: the PyTorch rows and the plot
load them when they run, so the benchmark works on a runtime-only device.
"""

from .harness import parse_batches, run_bench
from .report import BenchReport, Row, plot, render_table, write_json, write_markdown

__all__ = [
    "BenchReport",
    "Row",
    "parse_batches",
    "plot",
    "render_table",
    "run_bench",
    "write_json",
    "write_markdown",
]
