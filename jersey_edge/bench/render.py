"""Human views of a BenchReport: a rich table for the terminal and a Markdown page.

Both draw from the same column list and summary lines, so they never disagree.
"""

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from rich.table import Table

from ..core.fileio import atomic_write_text
from .report import BenchReport, Row


def _num(spec: str) -> Callable[[Optional[float]], str]:
    return lambda value: "-" if value is None else format(value, spec)


# header, Row attribute, formatter
COLUMNS: Sequence[Tuple[str, str, Callable[[Any], str]]] = (
    ("backend", "backend", str),
    ("prec.", "precision", str),
    ("batch", "batch", str),
    ("p50 ms", "p50_ms", _num(".2f")),
    ("p95 ms", "p95_ms", _num(".2f")),
    ("p99 ms", "p99_ms", _num(".2f")),
    ("seq/s", "seq_per_s", _num(".1f")),
    ("frames/s", "frames_per_s", _num(".0f")),
    ("encoder ms", "encoder_ms", _num(".2f")),
    ("head ms", "head_ms", _num(".2f")),
    ("enc GFLOP/s", "encoder_gflops", _num(".1f")),
    ("number acc", "number_acc", _num(".4f")),
    ("agree", "agreement", _num(".4f")),
    ("max|Δlogit|", "max_abs_logit_diff", _num(".2e")),
)


def cells(row: Row) -> List[str]:
    return [fmt(getattr(row, attribute)) for _, attribute, fmt in COLUMNS]


def engine_lines(report: BenchReport) -> List[str]:
    """One line per TensorRT engine the manifest describes: where and how it was built,
    which the engine rows' numbers hold only for."""
    return [f"{name}: {describe_engine(record)}" for name, record in report.engines.items()]


def describe_engine(record: Dict[str, Any]) -> str:
    typing = "strongly typed" if record["strongly_typed"] else (
        "weakly typed (" + (", ".join(record["flags"]) or "fp32") + ")")
    if record["calibration_cache"]:
        typing += " from calibration.cache"
    batches = ", ".join(f"{name} {ranges['min'][0]}-{ranges['max'][0]} (opt {ranges['opt'][0]})"
                        for name, ranges in record["profile"].items())
    return (f"TensorRT {record['tensorrt']} on {record['gpu']} (compute "
            f"{record['compute_capability']}), {typing}, batch {batches}, workspace "
            f"{record['workspace_mb']} MiB, built {record['built']}")


def summary_lines(report: BenchReport) -> List[str]:
    """Everything that is not a row: inputs, streaming, ratios, notes. One fact per line."""
    lines = [f"{key}: {value}" for key, value in report.inputs.items()]
    stream = report.streaming
    if stream is not None:
        lines.append(
            f"streaming ({stream['config']}, window {stream['window']}): update p50 "
            f"{stream['update_p50_ms']:.2f} ms vs full-window re-run p50 "
            f"{stream['full_window_p50_ms']:.2f} ms ({stream['speedup']:.1f}x)"
        )
    decode = report.decode_path
    if decode is not None:
        lines.append(
            f"decode path ({decode['config']}, batch {decode['batch']}), ms per frame: decode "
            f"{decode['decode_ms_per_frame']:.2f}, preprocess "
            f"{decode['preprocess_ms_per_frame']:.2f} (one thread each), model "
            f"{decode['model_ms_per_frame']:.2f}, end to end from files "
            f"{decode['end_to_end_ms_per_frame']:.2f} (decoding in parallel)"
        )
    lines += [f"{ratio.what}: {ratio.value:.2f}x" + (
        f" (IQR {ratio.low:.2f}-{ratio.high:.2f}x)" if ratio.low is not None else "")
        for ratio in report.ratios.values()]
    lines += [f"note: {note}" for note in report.notes]
    return lines


def render_table(report: BenchReport) -> Table:
    """The rows as a rich table; inputs, streaming, ratios and notes in its caption."""
    system = report.system
    title = "\n".join([f"jersey-edge bench - {system.get('cpu')} ({system.get('usable_cores')} "
                       f"cores{', GPU ' + system['gpu'] if system.get('gpu') else ''})",
                       *engine_lines(report)])
    table = Table(title=title, caption="\n".join(summary_lines(report)), caption_justify="left")
    for header, attribute, _ in COLUMNS:
        numeric = attribute not in ("backend", "precision")
        table.add_column(header, justify="right" if numeric else "left", no_wrap=True)
    for row, following in zip(report.rows, [*report.rows[1:], None]):
        last_of_config = following is not None and following.config != row.config
        table.add_row(*cells(row), end_section=last_of_config)
    return table


def _md(value: Any) -> str:
    """A header value for Markdown: nested dicts inline, floats short, pipes escaped."""
    if isinstance(value, dict):
        text = ", ".join(f"{k}={_md(v)}" for k, v in value.items())
    elif isinstance(value, float):
        text = f"{value:.4g}"
    else:
        text = str(value)
    return text.replace("|", "\\|")


def write_markdown(report: BenchReport, path: Path) -> Path:
    lines = ["# jersey-edge benchmark", "", "## System", ""]
    lines += [f"- **{key}**: {_md(value)}" for key, value in report.system.items()]
    if report.engines:
        lines += ["", "## TensorRT engines", ""]
        lines += [f"- {_md(line)}" for line in engine_lines(report)]
    lines += ["", "## Settings", ""]
    lines += [f"- **{key}**: {_md(value)}" for key, value in report.settings.items()]
    lines += ["", "## Results", "", "Times per batch (encoder + head), p50 unless named; "
              "the decode path (files to numbers) is in the summary.", ""]
    lines.append("| " + " | ".join(_md(header) for header, _, _ in COLUMNS) + " |")
    lines.append("|" + "|".join("---" for _ in COLUMNS) + "|")
    lines += ["| " + " | ".join(cells(row)) + " |" for row in report.rows]
    lines += ["", "## Summary", ""]
    lines += [f"- {_md(line)}" for line in summary_lines(report)]
    path = Path(path)
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
