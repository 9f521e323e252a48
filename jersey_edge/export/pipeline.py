"""`export_model`: checkpoint -> a complete, verified artifacts folder, swapped in atomically.

Order matters: graphs, golden outputs, FP16, INT8, a first manifest (so the runtime can open
the folder exactly as users will), parity through that runtime, then the final manifest with
the parity in it, written last. Everything happens in a staging folder beside `out`; only a
complete folder replaces the previous export (see `folder`). An FP16 or INT8 pair that misses
its parity target fails the export (the previous folder stays) unless `accept_degraded`, in
which case the manifest lists the precision under "degraded" and the runtime warns on load.
"""

import json
import shutil
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import onnx

from ..core.errors import ArtifactError, DatasetError, DegradedExportError, InputError
from ..data.splits import SPLIT_NAMES, Splits, load_splits, resolve_data_root
from ..model.net import load_checkpoint
from ..model.reference import TorchTwoStage
from ..runtime.artifacts import CALIBRATION_CACHE, GOLDEN, INT8_REPORT, onnx_name, write_manifest
from .calibration import CalibrationConfig, select_frames
from .folder import publish, staging_folder
from .fp16 import FP32_OPS, masking_nodes, to_fp16
from .golden import Golden, build_golden, write_golden
from .int8 import build_int8
from .manifest_body import manifest_body
from .onnx_graphs import check_graph, export_encoder, export_head, graph_report, save_graph
from .report import ExportReport
from .sensitivity import MixedPrecisionConfig
from .verify import verify_export

PARTS = ("encoder", "head")
SCRATCH = ".scratch"
PROBE_FRAMES = 48


def export_model(checkpoint: Path, out: Path, *, data_root: Optional[Path] = None,
                 fp16: bool = False, int8: bool = False, calib_size: int = 256,
                 calib_method: str = "percentile", golden_size: int = 24,
                 parity_split: str = "test", accept_degraded: bool = False,
                 mixed_precision: Optional[MixedPrecisionConfig] = None,
                 progress: bool = True) -> ExportReport:
    """Export `checkpoint` to `out` (replaced atomically); see the module docstring."""
    started = time.perf_counter()
    checkpoint, out = Path(checkpoint), Path(out)
    if parity_split not in SPLIT_NAMES:
        raise InputError(f"parity split must be one of {', '.join(SPLIT_NAMES)}, "
                         f"got {parity_split!r}")
    if golden_size < 1:
        raise InputError(f"golden size must be at least 1, got {golden_size}")
    loaded = load_checkpoint(checkpoint)
    seed = loaded.record.seed
    calibration = CalibrationConfig(method=calib_method, size=calib_size, seed=seed)
    root = resolve_data_root(data_root, loaded.record.data_root)
    splits = load_splits(root, checkpoint.parent, seed=seed)
    # Chosen before any work, so a --calib-size the training split cannot fill fails fast.
    calib_frames = select_frames(splits.train, calibration.size, seed) if int8 else []
    probe_frames = _probe_frames(splits, seed) if int8 else []
    reference = TorchTwoStage(loaded.model.encoder, loaded.model.head)

    with staging_folder(out) as stage:
        golden = _golden(splits, reference, loaded, golden_size, seed, stage)
        # Throwaway files live inside the staging folder, so a killed export leaves them
        # only where the next export cleans up anyway.
        scratch = stage / SCRATCH
        scratch.mkdir()
        body = dict(loaded=loaded, checkpoint=checkpoint,
                    checkpoint_sha256=loaded.sha256, data_root=root,
                    golden=_golden_summary(golden),
                    **_build_graphs(loaded, stage, scratch, fp16=fp16, int8=int8,
                                    calib_frames=calib_frames, probe_frames=probe_frames,
                                    calibration=calibration, mixed=mixed_precision,
                                    progress=progress))
        shutil.rmtree(scratch)
        files = sorted(body["graphs"]) + [GOLDEN]
        files += [CALIBRATION_CACHE, INT8_REPORT] if int8 else []
        # A first manifest lets parity open the folder through the runtime, as users will.
        write_manifest(stage, manifest_body(**body, parity=None,
                                            seconds=time.perf_counter() - started), files)
        parity = verify_export(stage, golden, getattr(splits, parity_split), reference,
                                preprocess=loaded.preprocess, max_frames=loaded.max_frames,
                                split=parity_split, progress=progress)
        _refuse_broken_fp32(parity.rows)
        degraded = parity.degraded()
        if degraded and not accept_degraded:
            raise DegradedExportError(_degraded_message(parity, out), details=ExportReport(
                out=out, files={}, parity=parity.rows, seconds=time.perf_counter() - started,
                padding_invariance=parity.padding_invariance, warnings=parity.failures(),
                int8_report=_read_json(stage / INT8_REPORT) if int8 else None))
        write_manifest(stage, manifest_body(**body, parity=parity.to_dict(parity_split),
                                            degraded=degraded,
                                            seconds=time.perf_counter() - started), files)
        publish(stage, out)
    return ExportReport(
        out=out, files={p.name: p.stat().st_size for p in sorted(out.iterdir())},
        parity=parity.rows, seconds=time.perf_counter() - started,
        padding_invariance=parity.padding_invariance, warnings=parity.failures(),
        int8_report=_read_json(out / INT8_REPORT) if int8 else None,
    )


def _build_graphs(loaded: Any, stage: Path, scratch: Path, *, fp16: bool, int8: bool,
                  calib_frames: List[Path], probe_frames: List[Path],
                  calibration: CalibrationConfig, mixed: Optional[MixedPrecisionConfig],
                  progress: bool) -> Dict[str, Any]:
    """Every ONNX graph (and the TensorRT cache) into `stage`; their manifest sections."""
    graphs = _export_graphs(loaded, stage)
    fp16_section = _export_fp16(stage, graphs) if fp16 else None
    int8_section = None
    if int8:
        int8_section = build_int8(stage / onnx_name("encoder", "fp32"), stage, scratch,
                                  frames=calib_frames, probe_frames=probe_frames,
                                  preprocess=loaded.preprocess, config=calibration,
                                  mixed=mixed, progress=progress)
        for flavour in int8_section["encoder"].values():
            graphs[flavour["file"]] = graph_report(onnx.load(str(stage / flavour["file"])))
    return {"graphs": graphs, "fp16": fp16_section, "int8": int8_section}


def _export_graphs(loaded: Any, stage: Path) -> Dict[str, Dict[str, Any]]:
    model = loaded.model
    encoder = export_encoder(model.encoder, stage / onnx_name("encoder", "fp32"),
                             loaded.preprocess)
    head = export_head(model.head, stage / onnx_name("head", "fp32"),
                       max_frames=loaded.max_frames, embed_dim=loaded.model_cfg.embed_dim)
    reports = {}
    for part, graph in (("encoder", encoder), ("head", head)):
        check_graph(graph)
        reports[onnx_name(part, "fp32")] = graph_report(graph)
    return reports


def _export_fp16(stage: Path, graphs: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    kept: Dict[str, List[str]] = {}
    for part in PARTS:
        fp32 = onnx.load(str(stage / onnx_name(part, "fp32")))
        half = to_fp16(fp32)
        check_graph(half)
        name = onnx_name(part, "fp16")
        save_graph(half, stage / name)
        graphs[name] = graph_report(half)
        kept[name] = masking_nodes(fp32)
    return {"io": "float32 (casts inside the graph)", "fp32_ops": list(FP32_OPS),
            "fp32_nodes": kept,
            "why": "Softmax and the mask arithmetic stay FP32 so padded slots stay exact"}


def _golden(splits: Splits, reference: TorchTwoStage, loaded: Any, size: int, seed: int,
            stage: Path) -> Golden:
    if not splits.test:
        raise DatasetError("the test split is empty, so there are no golden sequences: use a "
                           "dataset with at least 3 tracks per label")
    golden = build_golden(splits.test, reference, preprocess=loaded.preprocess,
                          max_frames=loaded.max_frames, size=size, seed=seed)
    write_golden(golden, stage / GOLDEN)
    return golden


def _golden_summary(golden: Golden) -> Dict[str, Any]:
    return {"file": GOLDEN, "source_split": "test", "sequences": int(len(golden.labels)),
            "lengths": golden.lengths.tolist(),
            "arrays": sorted(golden.arrays()), "logits": "PyTorch FP32"}


def _probe_frames(splits: Splits, seed: int) -> List[Path]:
    """Frames that judge each INT8 recipe step: the validation split (never the test split
    parity reports on); the training split only when a tiny dataset has no validation."""
    records = splits.val or splits.train
    available = sum(len(r.frames) for r in records)
    return select_frames(records, min(PROBE_FRAMES, available), seed + 1)


def _degraded_message(parity: Any, out: Path) -> str:
    missed = "; ".join(parity.failures())
    return (f"{missed}; {out} was left as it was. The tables above show where accuracy is "
            "lost; pass --accept-degraded to publish anyway (marked degraded in the manifest)")


def _read_json(path: Path) -> Dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _refuse_broken_fp32(rows: List[Dict[str, Any]]) -> None:
    """FP32 graphs that disagree with PyTorch are a broken export: keep the old folder."""
    for row in rows:
        if row["precision"] == "fp32" and row["ok"] is False:
            raise ArtifactError(
                f"the exported FP32 graphs differ from PyTorch on golden inputs (max |Δlogit| "
                f"{row['golden_max_abs_diff']:.2e}, agreement {row['golden_agreement']:.1%}); "
                "the output folder was left as it was: report this with the checkpoint"
            )
