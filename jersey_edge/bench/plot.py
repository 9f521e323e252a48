"""PNG of latency and throughput against batch size, one line per backend/precision.

The shape matters more than any one point: where throughput stops growing with batch size
is where the device is saturated, and that differs between CPU, GPU and precisions.
"""

from pathlib import Path

from ..core.fileio import atomic_path
from .report import BenchReport


def plot(report: BenchReport, path: Path) -> Path:
    """Left: p50 batch latency (ms, p95 as a band's upper edge); right: sequences/s."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and Jetsons
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda value, _: f"{value:g}")

    fig, (latency, throughput) = plt.subplots(1, 2, figsize=(11, 4.2))
    batches = sorted({row.batch for row in report.rows})
    for config in report.configs():
        rows = sorted((r for r in report.rows if r.config == config), key=lambda r: r.batch)
        x = [r.batch for r in rows]
        (line,) = latency.plot(x, [r.p50_ms for r in rows], marker="o", label=config)
        latency.fill_between(x, [r.p50_ms for r in rows], [r.p95_ms for r in rows],
                             color=line.get_color(), alpha=0.15)
        throughput.plot(x, [r.seq_per_s for r in rows], marker="o", label=config)
    frames = report.rows[0].frames if report.rows else 0
    for axis, ylabel in ((latency, "batch latency p50 (ms), band to p95"),
                         (throughput, "sequences / s")):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.yaxis.set_major_formatter(plain)
        axis.yaxis.set_minor_formatter(plain)
        axis.set_xticks(batches, [str(b) for b in batches])
        axis.set_xlabel(f"batch (sequences of {frames} frames)")
        axis.set_ylabel(ylabel)
        axis.grid(True, which="both", alpha=0.3)
    throughput.legend(fontsize=8, loc="best")
    fig.suptitle(f"jersey-edge: encoder + head on {report.system.get('cpu')}"
                 f"{' / ' + report.system['gpu'] if report.system.get('gpu') else ''}",
                 fontsize=10)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path
