"""The handful of ratios a reader wants from the table, each stated with its two numbers.

"Best runtime config" only counts rows that still read the same numbers as PyTorch (agreement
at least AGREEMENT_FLOOR): a faster row that reads different numbers is not a speed-up.
Row-vs-row ratios are taken per interleaved round and reported as their median and IQR.
"""

from typing import Callable, Dict, Iterable, List, Optional

from ..runtime.backends import BACKENDS
from .decode_path import DecodePathResult
from .report import Ratio, Row
from .sgemm import SgemmPeak
from .streaming import StreamingResult

AGREEMENT_FLOOR = 0.99
# A ratio whose per-round IQR is wider than this share of its median is flagged as noisy.
NOISY_SPREAD = 0.15


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


def compute_ratios(rows: Iterable[Row], *, streaming: Optional[StreamingResult] = None,
                   decode_path: Optional[DecodePathResult] = None,
                   sgemm: Optional[SgemmPeak] = None) -> Dict[str, Ratio]:
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
    if streaming is not None:
        found["streaming_update_vs_full_window"] = streaming.speedup
    if decode_path is not None:
        found["end_to_end_vs_model_only"] = decode_path.share
    found["encoder_gflops_vs_sgemm_peak"] = _efficiency(rows, sgemm)
    return {name: ratio for name, ratio in found.items() if ratio is not None}


def _efficiency(rows: Iterable[Row], sgemm: Optional[SgemmPeak]) -> Optional[Ratio]:
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
