"""Latency, throughput and parity of every backend and precision of an artifacts folder.

Importing this package imports neither torch nor matplotlib: the PyTorch rows and the plot
load them when they run, so the benchmark works on a runtime-only device.
"""

from .harness import run_bench
from .options import parse_batches
from .plot import plot
from .render import render_table, write_markdown
from .report import BenchReport, Row, write_json

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
