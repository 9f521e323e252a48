"""--int8: one calibration pass -> the INT8 encoders (recipe below) + a TensorRT cache + report.

The recipe, per target's QDQ scheme (`quantize.SCHEMES`: TensorRT S8/S8, CPU U8/S8), each
step kept only when it measures better on probe frames (validation split, never the test split):
  1. quantize from the calibrated ranges (`quantize.py`), embeddings left unrounded, the
     nodes the target runs faster in float left in float (`QdqScheme.float_for_speed`);
  2. bias correction (`bias_correction.py`), then quantize again with the same ranges;
  3. sensitivity of every quantized node (`sensitivity.py`): the report users read;
  4. mixed precision: the most sensitive nodes left in float until the fidelity target holds.
The TensorRT encoder is then also written strongly typed (`qdq_graph.to_strongly_typed`), for
TensorRT >= 10.
Export's parity then judges every result on the test split against the INT8 targets.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import onnx
from tqdm import tqdm

from ...core.fileio import atomic_write_text
from ...core.preprocess import PreprocessConfig, preprocess_frames
from ...runtime.artifacts import CALIBRATION_CACHE, INT8_REPORT, graphs_for
from ...runtime.backends.tensorrt import calibration_cache
from ...runtime.manifest_sections import Int8Section
from ..onnx_graphs import check_graph, save_graph
from ..probe import Fidelity, embeddings
from .bias_correction import bias_shifts, corrected
from .calibration import CalibrationConfig, amax_by_tensor, calibrate, save_ranges
from .qdq_graph import float_outputs, leave_float, quantized_nodes, to_strongly_typed
from .quantize import SCHEMES, TENSORRT, QdqScheme, quantize_encoder
from .sensitivity import MixedPrecisionConfig, NodeSensitivity, choose_float_nodes, measure

TYPED_TARGET = "tensorrt-typed"
CALIBRATION_SPLIT = "train"
PROBE_SPLIT = "val"
# Local input SQNR is measured on this many calibration frames (plenty for a mean power).
SQNR_FRAMES = 64
# Per target: under TensorRT a freed node runs FP16 on the GPU at little cost, so that target
# is held to a stricter fidelity and may free more nodes; on CPU each freed node costs speed.
INT8_HEAD = "not quantized: fp16 under TensorRT, fp32 on CPU"
DEFAULT_MIXED: Dict[str, MixedPrecisionConfig] = {
    "tensorrt": MixedPrecisionConfig(cosine_mean=0.997, cosine_min=0.985, max_float_nodes=8),
    "cpu": MixedPrecisionConfig(),
}
# int8_report.json's key for the per-target sections: an artifact key, kept as it was written.
REPORT_ENCODERS = "flavours"


@dataclass
class RecipeResult:
    """One INT8 encoder as built, with what each recipe step measured on probe frames."""

    scheme: QdqScheme
    model: onnx.ModelProto
    fidelity: Dict[str, Dict[str, Any]]
    bias_correction: bool
    float_nodes: List[str]
    steps: List[Dict[str, Any]]
    float_for_speed: List[str] = field(default_factory=list)
    nodes: List[NodeSensitivity] = field(default_factory=list)

    def manifest_section(self) -> Dict[str, Any]:
        return {**self.scheme.describe(),
                "recipe": {"bias_correction": self.bias_correction,
                           "float_nodes": self.float_nodes,
                           "float_for_speed": self.float_for_speed,
                           "float_nodes_run": "FP16 under TensorRT, FP32 on ONNX Runtime CPU",
                           "probe_fidelity": self.fidelity}}

    def report(self) -> Dict[str, Any]:
        return {"file": self.scheme.file, "probe_fidelity": self.fidelity,
                "bias_correction": self.bias_correction, "float_nodes": self.float_nodes,
                "float_for_speed": self.float_for_speed,
                "mixed_precision_steps": self.steps, "nodes": [n.to_dict() for n in self.nodes]}


def build_int8(fp32_encoder: Path, stage: Path, scratch: Path, *, frames: Sequence[Path],
               probe_frames: Sequence[Path], preprocess: PreprocessConfig,
               config: CalibrationConfig, mixed: Optional[MixedPrecisionConfig] = None,
               progress: bool = True) -> Int8Section:
    """Write both INT8 encoders, calibration.cache and int8_report.json into `stage`; return
    the manifest's "int8" section. `frames` (training split) calibrate, `probe_frames`
    (validation split) judge each recipe step; `scratch` holds throwaway files. `mixed`
    overrides the per-target mixed-precision configs (`DEFAULT_MIXED`)."""
    mixed_by_target = {s.target: mixed or DEFAULT_MIXED[s.target] for s in SCHEMES}
    ranges = calibrate(fp32_encoder, frames, preprocess, config, scratch, progress=progress)
    ranges_file = scratch / "ranges.json"
    save_ranges(ranges, ranges_file)
    calib = preprocess_frames(frames, preprocess)
    probe = preprocess_frames(probe_frames, preprocess)
    fp32 = onnx.load(str(fp32_encoder))
    reference = embeddings(fp32, probe)
    results = []
    for scheme in SCHEMES:
        result = _recipe(scheme, fp32, fp32_encoder, scratch, ranges_file, config.method,
                         calib, probe, reference, mixed_by_target[scheme.target], progress)
        check_graph(result.model)
        save_graph(result.model, stage / scheme.file)
        results.append(result)
    typed = _typed_encoder(results, stage, probe, reference)
    report = _report(results, mixed_by_target)
    atomic_write_text(stage / INT8_REPORT, json.dumps(report, indent=1) + "\n")
    entries = calibration_cache.write_cache(stage / CALIBRATION_CACHE, _tensor_order(fp32),
                                            amax_by_tensor(ranges))
    return Int8Section(
        head=INT8_HEAD,
        encoder={**{r.scheme.target: r.manifest_section() for r in results}, **typed},
        report=INT8_REPORT,
        mixed_precision=_config_dict(mixed_by_target),
        calibration={
            **config.to_dict(),
            "source_split": CALIBRATION_SPLIT,
            "frames": len(frames),
            "sequences": len({p.parent for p in frames}),
            "probe_split": PROBE_SPLIT,
            "probe_frames": len(probe_frames),
            "preprocessing": "runtime eval preprocessing (numpy), as at inference",
            # a manifest value, kept byte for byte as exports have written it
            "note": "one pass; both flavours quantize from the same ranges",
        },
        tensorrt_cache={
            "file": CALIBRATION_CACHE,
            "header": calibration_cache.HEADER,
            "calibrator": "IInt8EntropyCalibrator2 (replays the cache)",
            "entries": entries,
            "scale": "amax / 127 per tensor of encoder.onnx, amax = max(|min|, |max|)",
            "note": "TensorRT ignores a cache whose header names another TensorRT version; "
                    "rewrite the version field to the local one; no bias correction or "
                    "mixed precision on this implicit path",
        },
    )


def _typed_encoder(results: List[RecipeResult], stage: Path, probe: np.ndarray,
                   reference: np.ndarray) -> Dict[str, Dict[str, Any]]:
    """The TensorRT encoder as built, rewritten for strongly typed builds."""
    tensorrt = next(r for r in results if r.scheme is TENSORRT)
    typed = to_strongly_typed(tensorrt.model)
    check_graph(typed.model)
    serving = graphs_for("int8", TYPED_TARGET)
    save_graph(typed.model, stage / serving.encoder)
    fidelity = Fidelity.of(reference, embeddings(typed.model, probe))
    return {TYPED_TARGET: {"file": serving.encoder, "from": TENSORRT.file, **typed.describe(),
                           "probe_fidelity": fidelity.to_dict()}}


def _tensor_order(model: onnx.ModelProto) -> List[str]:
    """Graph inputs, then every node output in node order: the cache's stable, readable order."""
    names = [i.name for i in model.graph.input]
    names += [out for node in model.graph.node for out in node.output if out]
    return names


def _recipe(scheme: QdqScheme, fp32: onnx.ModelProto, fp32_path: Path, scratch: Path,
            ranges_file: Path, method: str, calib: np.ndarray, probe: np.ndarray,
            reference: np.ndarray, mixed: MixedPrecisionConfig, progress: bool) -> RecipeResult:
    for_speed = scheme.float_for_speed(fp32)

    def quantized(source: Path) -> onnx.ModelProto:
        out = scratch / f"{scheme.target}.{source.stem}.onnx"
        qdq = float_outputs(onnx.load(str(quantize_encoder(
            source, out, scheme, ranges_file=ranges_file, method=method))))
        return leave_float(qdq, fp32, for_speed) if for_speed else qdq

    def fidelity(model: onnx.ModelProto) -> Fidelity:
        return Fidelity.of(reference, embeddings(model, probe))

    plain = quantized(fp32_path)
    corrected_path = scratch / "corrected.onnx"
    onnx.save(corrected(fp32, bias_shifts(plain, fp32, calib)), str(corrected_path))
    with_correction = quantized(corrected_path)
    scores = {"quantized": fidelity(plain), "bias_corrected": fidelity(with_correction)}
    use_correction = scores["bias_corrected"].sqnr_db > scores["quantized"].sqnr_db
    base = with_correction if use_correction else plain
    nodes = _sensitivity(scheme, base, fp32, reference, probe, calib, progress)
    float_nodes, steps = choose_float_nodes(base, fp32, reference, probe, nodes, mixed)
    final = leave_float(base, fp32, float_nodes)
    scores["final"] = fidelity(final)
    return RecipeResult(scheme=scheme, model=final,
                        fidelity={k: v.to_dict() for k, v in scores.items()},
                        bias_correction=use_correction, float_nodes=float_nodes, steps=steps,
                        float_for_speed=for_speed, nodes=nodes)


def _sensitivity(scheme: QdqScheme, qdq: onnx.ModelProto, fp32: onnx.ModelProto,
                 reference: np.ndarray, probe: np.ndarray, calib: np.ndarray,
                 progress: bool) -> List[NodeSensitivity]:
    with tqdm(total=len(quantized_nodes(qdq)), desc=f"int8 sensitivity ({scheme.target})",
              unit="node", disable=not progress, leave=False) as bar:
        return measure(qdq, fp32, reference, probe, calib[:SQNR_FRAMES], progress=bar.update)


def _report(results: List[RecipeResult],
            mixed_by_target: Dict[str, MixedPrecisionConfig]) -> Dict[str, Any]:
    return {
        "what": "per quantized node: input_sqnr_db = its quantized activation inputs vs their "
                "float values (calibration frames); gain_when_float_db = rise of the encoder's "
                "output SQNR vs FP32 when only this node is left in float (probe frames)",
        "mixed_precision": _config_dict(mixed_by_target),
        REPORT_ENCODERS: {r.scheme.target: r.report() for r in results},
    }


def _config_dict(mixed_by_target: Dict[str, MixedPrecisionConfig]) -> Dict[str, Any]:
    return {name: dict(config.__dict__) for name, config in mixed_by_target.items()}


def markdown_table(report: Dict[str, Any], top: int = 8) -> str:
    """The most sensitive nodes of each target's encoder, as the export prints them."""
    lines = []
    for target, section in report[REPORT_ENCODERS].items():
        fid = section["probe_fidelity"]
        lines.append(f"INT8 {target} ({section['file']}): embedding cosine mean/min "
                     f"{_fid(fid['quantized'])} quantized -> {_fid(fid['bias_corrected'])} "
                     f"bias-corrected -> {_fid(fid['final'])} final; float nodes: "
                     f"{', '.join(section['float_for_speed'] + section['float_nodes']) or 'none'}")
        lines.append("| node | op | input SQNR dB | gain if float dB | float |")
        lines.append("|---|---|---|---|---|")
        for row in section["nodes"][:top]:
            sqnr = "-" if row["input_sqnr_db"] is None else f"{row['input_sqnr_db']:.1f}"
            freed = "yes" if row["left_float"] else ""
            lines.append(f"| {row['node']} | {row['op_type']} | {sqnr} | "
                         f"{row['gain_when_float_db']:+.2f} | {freed} |")
        lines.append("")
    return "\n".join(lines)


def _fid(values: Dict[str, Any]) -> str:
    return f"{values['cosine_mean']:.4f}/{values['cosine_min']:.3f}"
