"""What a benchmark run produced, the ratios a reader wants from it, and every view of it.

The JSON is the contract (`{"system", "engines", "rows", "streaming", "decode_path",
"ratios", ...}`, one row object per backend x precision x batch; "engines" the manifest's
records of the TensorRT engines, how and where they were built); the table, Markdown and
plot are views of it, so they never disagree. matplotlib is imported only inside `plot`.

"Best runtime config" only counts rows that still read the same numbers as PyTorch (agreement
at least AGREEMENT_FLOOR): a faster row that reads different numbers is not a speed-up.
Row-vs-row ratios are taken per interleaved round and reported as their median and IQR.
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from rich.table import Table

from ..core.fileio import atomic_path, atomic_write_text
from ..runtime.backends import BACKENDS
from ..runtime.manifest import Manifest

if TYPE_CHECKING:  # they build their ratios from `Ratio`: importing them here would cycle
    from .decode_path import DecodePathResult
    from .harness import StreamingResult
    from .system import SgemmPeak

AGREEMENT_FLOOR = 0.99
# A ratio whose per-round IQR is wider than this share of its median is flagged as noisy.
NOISY_SPREAD = 0.15


@dataclass(frozen=True)
class Row:
    """One backend x precision at one batch size. Times in ms, per batch unless named."""

    backend: str
    precision: str
    device: str
    batch: int  # sequences per call
    frames: int  # frames per sequence
    reps: int
    p50_ms: float  # encoder + head
    p95_ms: float
    p99_ms: float
    seq_per_s: float  # from p50
    frames_per_s: float
    encoder_ms: float  # p50 of the encoder stage
    head_ms: float  # p50 of the head stage
    encoder_gflops: Optional[float]  # 2 x encoder MACs / encoder_ms
    number_acc: Optional[float]
    agreement: Optional[float]  # predicted number equal to PyTorch FP32's
    max_abs_logit_diff: Optional[float]
    parity_n: int  # sequences the parity columns are computed on
    # p50 per interleaved round (all rows' rounds alternate): what ratios are computed from
    round_p50_ms: List[float] = field(default_factory=list)
    round_encoder_ms: List[float] = field(default_factory=list)

    @property
    def config(self) -> str:
        return f"{self.backend} {self.precision}"


@dataclass(frozen=True)
class Ratio:
    """`value` = numerator / denominator, each a labelled measurement.

    For row-vs-row ratios `value` is the median of the per-round ratios and `low`/`high`
    their interquartile range: the two rows were measured in the same rounds, so load that
    drifts during a run moves both sides of each round's ratio alike.
    """

    value: float
    what: str
    low: Optional[float] = None
    high: Optional[float] = None

    @classmethod
    def from_rounds(cls, per_round: Sequence[float], what: str) -> "Ratio":
        """Median and IQR of one ratio taken in each interleaved round."""
        low, median, high = np.percentile(per_round, [25, 50, 75])
        return cls(float(median), f"{what} (median of {len(per_round)} rounds)", float(low),
                   float(high))

    @property
    def spread(self) -> Optional[float]:
        """IQR relative to the median (0.1 = the middle half lies within a 10% band)."""
        if self.low is None or self.high is None or not self.value:
            return None
        return (self.high - self.low) / self.value


@dataclass
class BenchReport:
    system: Dict[str, Any]
    rows: List[Row]
    streaming: Optional[Dict[str, Any]] = None
    decode_path: Optional[Dict[str, Any]] = None
    ratios: Dict[str, Ratio] = field(default_factory=dict)
    inputs: Dict[str, Any] = field(default_factory=dict)  # where inputs and parity come from
    settings: Dict[str, Any] = field(default_factory=dict)  # warm-up, duration, batches, ...
    notes: List[str] = field(default_factory=list)  # skipped rows and why, caveats
    # engine file -> its manifest record (artifacts.EngineRecord as JSON); empty: none built
    engines: Dict[str, Dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "system": self.system,
            "engines": self.engines,
            "settings": self.settings,
            "inputs": self.inputs,
            "rows": [asdict(row) for row in self.rows],
            "streaming": self.streaming,
            "decode_path": self.decode_path,
            "ratios": {name: asdict(ratio) for name, ratio in self.ratios.items()},
            "notes": list(self.notes),
        }

    def configs(self) -> List[str]:
        """Backend/precision labels in row order, each once."""
        return list(dict.fromkeys(row.config for row in self.rows))


def engine_records(manifest: Manifest) -> Dict[str, Dict[str, Any]]:
    """The manifest's engine records, as the report keeps them."""
    return {name: asdict(record) for name, record in manifest.engines.items()}


def write_json(report: BenchReport, path: Path) -> Path:
    path = Path(path)
    atomic_write_text(path, json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n")
    return path


def _p50(row: Row) -> float:
    return row.p50_ms


def _fastest(rows: Iterable[Row], key: Callable[[Row], float] = _p50) -> Optional[Row]:
    return min(rows, key=key, default=None)


def best_runtime(rows: Iterable[Row]) -> Optional[Row]:
    """The fastest runtime row (p50) among those that read the same numbers as PyTorch."""
    candidates = [r for r in rows if r.backend in BACKENDS]
    faithful = [r for r in candidates if r.agreement is None or r.agreement >= AGREEMENT_FLOOR]
    return _fastest(faithful or candidates)


def _round_total(row: Row) -> List[float]:
    return row.round_p50_ms


def _round_encoder(row: Row) -> List[float]:
    return row.round_encoder_ms


def _speedup(fast: Optional[Row], slow: Optional[Row], what: str,
             stage: Callable[[Row], float] = _p50,
             rounds: Callable[[Row], List[float]] = _round_total) -> Optional[Ratio]:
    if fast is None or slow is None:
        return None
    text = (f"{what}: {fast.config} {stage(fast):.2f} ms vs {slow.config} "
            f"{stage(slow):.2f} ms, batch {fast.batch}")
    per_round = [s / f for f, s in zip(rounds(fast), rounds(slow))]
    if not per_round or len(rounds(fast)) != len(rounds(slow)):
        return Ratio(stage(slow) / stage(fast), text)
    return Ratio.from_rounds(per_round, text)


def noisy(ratios: Dict[str, Ratio]) -> List[str]:
    """Notes for ratios whose rounds disagree by more than NOISY_SPREAD."""
    return [f"{name}: rounds spread {ratio.spread:.0%} of the median (IQR "
            f"{ratio.low:.2f}-{ratio.high:.2f}x): the machine was busy, compare with care"
            for name, ratio in ratios.items()
            if ratio.spread is not None and ratio.spread > NOISY_SPREAD]


def compute_ratios(rows: Iterable[Row], *, streaming: Optional["StreamingResult"] = None,
                   decode_path: Optional["DecodePathResult"] = None,
                   sgemm: Optional["SgemmPeak"] = None) -> Dict[str, Ratio]:
    """Ratios at the smallest and the largest batch measured (1 and 16 by default)."""
    rows = list(rows)
    found: Dict[str, Optional[Ratio]] = {}
    for batch in sorted({min(r.batch for r in rows), max(r.batch for r in rows)} if rows else []):
        at = [r for r in rows if r.batch == batch]
        best = best_runtime(at)
        eager = _fastest(r for r in at if r.backend == "pytorch")
        script = _fastest(r for r in at if r.backend == "torchscript")
        ort = {r.precision: r for r in at if r.backend == "onnxruntime"}
        found[f"best_runtime_vs_pytorch_eager_b{batch}"] = _speedup(
            best, eager, "best runtime vs PyTorch eager FP32 (p50)")
        found[f"best_runtime_vs_torchscript_b{batch}"] = _speedup(
            best, script, "best runtime vs best TorchScript (p50)")
        found[f"ort_int8_vs_pytorch_eager_b{batch}"] = _speedup(
            ort.get("int8"), eager, "ONNX Runtime INT8 vs PyTorch eager FP32 (p50)")
        found[f"ort_int8_vs_torchscript_b{batch}"] = _speedup(
            ort.get("int8"), script, "ONNX Runtime INT8 vs best TorchScript (p50)")
        found[f"ort_int8_vs_fp32_encoder_b{batch}"] = _speedup(
            ort.get("int8"), ort.get("fp32"), "ONNX Runtime INT8 vs FP32 encoder",
            stage=lambda r: r.encoder_ms, rounds=_round_encoder)
        openvino = {r.precision: r for r in at if r.backend == "openvino"}
        found[f"openvino_int8_vs_ort_fp32_b{batch}"] = _speedup(
            openvino.get("int8"), ort.get("fp32"), "OpenVINO INT8 vs ONNX Runtime FP32 (p50)")
        found[f"openvino_int8_vs_torchscript_b{batch}"] = _speedup(
            openvino.get("int8"), script, "OpenVINO INT8 vs best TorchScript (p50)")
        found[f"openvino_bf16_vs_ort_fp32_b{batch}"] = _speedup(
            openvino.get("bf16"), ort.get("fp32"), "OpenVINO bf16 vs ONNX Runtime FP32 (p50)")
    if streaming is not None:
        found["streaming_update_vs_full_window"] = streaming.speedup
    if decode_path is not None:
        found["end_to_end_vs_model_only"] = decode_path.share
    found["encoder_gflops_vs_sgemm_peak"] = _efficiency(rows, sgemm)
    return {name: ratio for name, ratio in found.items() if ratio is not None}


def _efficiency(rows: Iterable[Row], sgemm: Optional["SgemmPeak"]) -> Optional[Ratio]:
    """The best encoder GFLOP/s of any FP32 runtime row against the sgemm peak, per round:
    each round's encoder time over the sgemm slice measured at that round's start."""
    measured = [r for r in rows if r.backend in BACKENDS and r.precision == "fp32"
                and r.encoder_gflops is not None]
    best = _fastest(measured, key=lambda r: -(r.encoder_gflops or 0.0))
    if best is None or sgemm is None or best.encoder_gflops is None:
        return None
    what = (f"encoder achieved GFLOP/s ({best.config}, batch {best.batch}: "
            f"{best.encoder_gflops:.1f}) / numpy sgemm FP32 peak ({sgemm.peak:.1f})")
    work = best.encoder_gflops * best.encoder_ms  # GFLOP/s x ms: the same in every round
    slices = sgemm.slices.get(best.batch, [])
    per_round = [work / ms / peak for ms, peak in zip(best.round_encoder_ms, slices)]
    if not per_round or len(slices) != len(best.round_encoder_ms):
        return Ratio(best.encoder_gflops / sgemm.peak, what)
    return Ratio.from_rounds(per_round, what)


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


def plot(report: BenchReport, path: Path) -> Path:
    """Left: p50 batch latency (ms, p95 as a band's upper edge); right: sequences/s.

    The shape matters more than any one point: where throughput stops growing with batch
    size is where the device is saturated, and that differs between CPU, GPU and precisions.
    """
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
