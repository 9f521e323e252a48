"""`export_model`: checkpoint -> a complete, verified artifacts folder, swapped in atomically.

Four named steps, each writing into a staging folder beside `out`:
  1. graphs — FP32 encoder and head, golden outputs from PyTorch, FP16 graphs if asked;
  2. int8 — calibration, both INT8 encoder layouts, the TensorRT cache, the INT8 report;
  3. verify — a first manifest, so the runtime opens the folder exactly as users will, then
     every graph pair against PyTorch through it (`verify.verify_export`), then the
     confidence below which the runtime abstains, on the validation split (`abstain`);
  4. publish — the final manifest with the parity in it, written last, then the folder
     replaces the previous export (see `folder`).
An FP16 or INT8 pair that misses its parity target fails the export (the previous folder
stays) unless `accept_degraded`: then the manifest lists the precision under "degraded" and
the runtime warns on load.
"""

import dataclasses
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import onnx

from ..checks import installed_versions
from ..core.abstain import DEFAULT_TARGET_PRECISION
from ..core.digits import label_layout
from ..core.errors import ArtifactError, DatasetError, DegradedExportError, InputError
from ..core.parity import ParityRow
from ..data.discovery import discover
from ..data.splits import SPLIT_NAMES, Splits, load_splits, resolve_data_root
from ..model.net import LoadedCheckpoint, load_checkpoint
from ..model.reference import TorchTwoStage
from ..runtime.artifacts import (
    CALIBRATION_CACHE,
    GOLDEN,
    INT8_REPORT,
    PARTS,
    TARGETS,
    graphs_for,
    onnx_name,
)
from ..runtime.manifest import Manifest, write_manifest
from ..runtime.manifest_sections import ExportRun, Fp16Section, GoldenSection, Int8Section
from .abstain import DISABLED, AbstainChoice, calibrate_abstain
from .folder import check_destination, publish, staging_folder
from .golden import FILE_NAMES as POLYGRAPHY_FILES
from .golden import Golden, build_golden, write_golden, write_polygraphy_golden
from .int8.build import build_int8
from .int8.calibration import CalibrationConfig, folder_frames, folder_source, select_frames
from .int8.sensitivity import MixedPrecisionConfig
from .onnx_graphs import (
    FP32_OPS,
    OPSET,
    check_graph,
    export_encoder,
    export_head,
    graph_report,
    masking_nodes,
    save_graph,
    to_fp16,
)
from .verify import Verification, verify_export

SCRATCH = ".scratch"
# The packages whose versions the manifest records.
TOOLS = ("torch", "onnx", "onnxruntime", "onnxconverter-common", "onnxscript", "timm",
         "jersey-edge")
PROBE_FRAMES = 48
# INT8 ranges from fewer calibration frames than this move with the frames drawn.
MIN_CALIB_FRAMES = 300

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportOptions:
    fp16: bool = False
    int8: bool = False
    calib_size: int = 500  # frames; below MIN_CALIB_FRAMES export warns
    calib_method: str = "percentile"
    calib_data: Optional[Path] = None  # a folder of deployment crops; None: the training split
    golden_size: int = 24
    parity_split: str = "test"
    accept_degraded: bool = False
    mixed_precision: Optional[MixedPrecisionConfig] = None
    abstain_precision: float = DEFAULT_TARGET_PRECISION  # 0: no abstain threshold
    progress: bool = True

    def check(self) -> None:
        if self.parity_split not in SPLIT_NAMES:
            raise InputError(f"parity split must be one of {', '.join(SPLIT_NAMES)}, "
                             f"got {self.parity_split!r}")
        if self.golden_size < 1:
            raise InputError(f"golden size must be at least 1, got {self.golden_size}")
        if self.calib_data is not None and not self.int8:
            raise InputError("calibration data (--calib-data) is for INT8 only: add --int8")
        if not 0.0 <= self.abstain_precision <= 1.0:
            raise InputError(f"abstain precision must be in [0, 1] (0 disables), "
                             f"got {self.abstain_precision}")


@dataclass
class _Plan:
    """Everything decided before a file is written, so bad inputs fail fast."""

    checkpoint: Path
    loaded: LoadedCheckpoint
    data_root: Path
    splits: Splits
    calibration: CalibrationConfig
    calib_frames: List[Path]
    probe_frames: List[Path]
    reference: TorchTwoStage
    options: ExportOptions
    started: float
    warnings: List[str]


@dataclass
class _Graphs:
    reports: Dict[str, Dict[str, Any]]  # ONNX file -> its summary
    golden: Golden
    fp16: Optional[Fp16Section]


@dataclass
class ExportReport:
    """What `export_model` returns: the folder, its files and what verification measured."""

    out: Path
    files: Dict[str, int]  # file name -> size in bytes, manifest.json included
    parity: List[ParityRow]
    seconds: float
    padding_invariance: Dict[str, float] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)
    int8_report: Optional[Dict[str, Any]] = None  # int8_report.json, when --int8


def export_model(checkpoint: Path, out: Path, *, data_root: Optional[Path] = None,
                 options: ExportOptions = ExportOptions()) -> ExportReport:
    """Export `checkpoint` to `out` (replaced atomically); see the module docstring."""
    check_destination(Path(out))
    plan = _plan(Path(checkpoint), data_root, options)
    out = Path(out)
    with staging_folder(out) as stage:
        graphs = _graphs_step(plan, stage)
        int8 = _int8_step(plan, stage, graphs) if options.int8 else None
        manifest, verification = _verify_step(plan, stage, graphs, int8)
        abstain = _abstain_step(plan, stage)
        _publish_step(plan, stage, out, manifest, verification, abstain)
    return _report(plan, out, verification, {p.name: p.stat().st_size
                                             for p in sorted(out.iterdir())}, abstain=abstain)


def _plan(checkpoint: Path, data_root: Optional[Path], options: ExportOptions) -> _Plan:
    started = time.perf_counter()
    options.check()
    loaded = load_checkpoint(checkpoint)
    record = loaded.record
    calibration = CalibrationConfig(method=options.calib_method, size=options.calib_size,
                                    seed=record.seed)
    root = resolve_data_root(data_root, record.data_root)
    splits = load_splits(discover(root).records, checkpoint.parent, seed=record.seed)
    if not splits.test:
        raise DatasetError("the test split is empty, so there are no golden sequences: use a "
                           "dataset with at least 3 tracks per label")
    # Chosen before any work, so a calibration size the source cannot fill fails fast.
    calib_frames = _calibration_frames(splits, calibration, options.calib_data) \
        if options.int8 else []
    probe_frames = _probe_frames(splits, record.seed) if options.int8 else []
    warnings = _calibration_warnings(options)
    for warning in warnings:
        _log.warning("%s", warning)
    return _Plan(checkpoint=checkpoint, loaded=loaded, data_root=root, splits=splits,
                 calibration=calibration, calib_frames=calib_frames, probe_frames=probe_frames,
                 reference=TorchTwoStage(loaded.model.encoder, loaded.model.head),
                 options=options, started=started, warnings=warnings)


def _calibration_warnings(options: ExportOptions) -> List[str]:
    if not options.int8 or options.calib_size >= MIN_CALIB_FRAMES:
        return []
    return [f"calibration: {options.calib_size} frames (--calib-size) is below "
            f"{MIN_CALIB_FRAMES}; INT8 ranges from so few frames depend on which ones were "
            f"drawn: calibrate on {ExportOptions.calib_size} or more"]


def _graphs_step(plan: _Plan, stage: Path) -> _Graphs:
    """FP32 encoder and head, golden.npz (and as Polygraphy's JSON), and the FP16 graphs
    when asked."""
    loaded = plan.loaded
    golden = build_golden(plan.splits.test, plan.reference, preprocess=loaded.preprocess,
                          max_frames=loaded.max_frames, size=plan.options.golden_size,
                          seed=plan.loaded.record.seed)
    write_golden(golden, stage / GOLDEN)
    write_polygraphy_golden(golden, stage)
    encoder = export_encoder(loaded.model.encoder, stage / onnx_name("encoder", "fp32"),
                             loaded.preprocess)
    head = export_head(loaded.model.head, stage / onnx_name("head", "fp32"),
                       max_frames=loaded.max_frames, embed_dim=loaded.model_cfg.embed_dim)
    reports = {}
    for part, graph in (("encoder", encoder), ("head", head)):
        check_graph(graph)
        reports[onnx_name(part, "fp32")] = graph_report(graph)
    parts = _fp16_parts(plan.options)
    fp16 = _fp16_graphs(stage, reports, parts) if parts else None
    return _Graphs(reports=reports, golden=golden, fp16=fp16)


def _fp16_parts(options: ExportOptions) -> List[str]:
    """The parts whose FP16 graph some requested precision serves with, on any target: both
    for --fp16, and the head for --int8 alone (TensorRT pairs the INT8 encoder with it)."""
    precisions = [p for p, wanted in (("fp16", options.fp16), ("int8", options.int8)) if wanted]
    served = {graphs_for(p, target).graph(part) for p in precisions for target in TARGETS
              for part in PARTS}
    return [part for part in PARTS if onnx_name(part, "fp16") in served]


def _fp16_graphs(stage: Path, reports: Dict[str, Dict[str, Any]],
                 parts: List[str]) -> Fp16Section:
    kept: Dict[str, List[str]] = {}
    for part in parts:
        fp32 = onnx.load(str(stage / onnx_name(part, "fp32")))
        half = to_fp16(fp32)
        check_graph(half)
        name = onnx_name(part, "fp16")
        save_graph(half, stage / name)
        reports[name] = graph_report(half)
        kept[name] = masking_nodes(fp32)
    return Fp16Section(io="float32 (casts inside the graph)", fp32_ops=list(FP32_OPS),
                       fp32_nodes=kept,
                       why="Softmax and the mask arithmetic stay FP32 so padded slots stay exact")


def _int8_step(plan: _Plan, stage: Path, graphs: _Graphs) -> Int8Section:
    """Both INT8 encoder layouts, calibration.cache and int8_report.json. Throwaway files
    live inside the staging folder, so a killed export leaves them only where the next
    export cleans up anyway."""
    scratch = stage / SCRATCH
    scratch.mkdir()
    section = build_int8(stage / onnx_name("encoder", "fp32"), stage, scratch,
                         frames=plan.calib_frames, probe_frames=plan.probe_frames,
                         preprocess=plan.loaded.preprocess, config=plan.calibration,
                         mixed=plan.options.mixed_precision, progress=plan.options.progress)
    shutil.rmtree(scratch)
    for encoder in section.encoder.values():
        graphs.reports[encoder["file"]] = graph_report(onnx.load(str(stage / encoder["file"])))
    if plan.options.calib_data is not None:
        section = dataclasses.replace(
            section, calibration=folder_source(section.calibration, plan.options.calib_data))
    return section


def _verify_step(plan: _Plan, stage: Path, graphs: _Graphs, int8: Optional[Int8Section]
                 ) -> Tuple[Manifest, Verification]:
    """A first manifest, then every graph pair against PyTorch through the runtime."""
    loaded = plan.loaded
    manifest = Manifest(
        root=stage, model=loaded.model_cfg.to_dict(), preprocess=loaded.preprocess,
        labels=label_layout(), max_frames=int(loaded.max_frames), opset=OPSET,
        graphs=graphs.reports, golden=_golden_section(graphs.golden), fp16=graphs.fp16,
        int8=int8, checkpoint=str(plan.checkpoint.resolve()), checkpoint_sha256=loaded.sha256,
        data_root=str(plan.data_root.resolve()),
        tools={name: version or "not installed"
               for name, version in installed_versions(TOOLS).items()},
        export=_export_run(plan))
    write_manifest(manifest, _files(manifest))
    options = plan.options
    verification = verify_export(
        stage, graphs.golden, getattr(plan.splits, options.parity_split), plan.reference,
        preprocess=plan.loaded.preprocess, max_frames=plan.loaded.max_frames,
        split=options.parity_split, progress=options.progress)
    _refuse_broken_fp32(verification.rows)
    return manifest, verification


def _abstain_step(plan: _Plan, stage: Path) -> AbstainChoice:
    """The "no legible number" threshold, chosen on the validation split (none if disabled)."""
    options = plan.options
    if not options.abstain_precision:
        return DISABLED
    return calibrate_abstain(stage, plan.splits, target_precision=options.abstain_precision,
                             preprocess=plan.loaded.preprocess,
                             max_frames=plan.loaded.max_frames, progress=options.progress)


def _publish_step(plan: _Plan, stage: Path, out: Path, manifest: Manifest,
                  verification: Verification, abstain: AbstainChoice) -> None:
    """The final manifest, then the folder replaces `out` — unless a pair missed its target."""
    degraded = verification.degraded()
    if degraded and not plan.options.accept_degraded:
        raise DegradedExportError(_degraded_message(verification, out),
                                  details=_report(plan, out, verification, {}, stage))
    final = dataclasses.replace(manifest, parity=verification.section(plan.options.parity_split),
                                abstain=abstain.section, degraded=degraded,
                                export=_export_run(plan))
    write_manifest(final, _files(final))
    publish(stage, out)


def _files(manifest: Manifest) -> List[str]:
    files = sorted(manifest.graphs) + [GOLDEN, *POLYGRAPHY_FILES]
    return files + ([CALIBRATION_CACHE, INT8_REPORT] if manifest.int8 is not None else [])


def _export_run(plan: _Plan) -> ExportRun:
    return ExportRun(created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                     seconds=round(time.perf_counter() - plan.started, 1))


def _golden_section(golden: Golden) -> GoldenSection:
    return GoldenSection(file=GOLDEN, source_split="test", sequences=int(len(golden.labels)),
                         lengths=golden.lengths.tolist(), arrays=sorted(golden.arrays()))


def _report(plan: _Plan, out: Path, verification: Verification, files: Dict[str, int],
            folder: Optional[Path] = None,
            abstain: AbstainChoice = DISABLED) -> ExportReport:
    """What the export measured; the INT8 report is read from `folder` (default `out`)."""
    int8_report = None
    if plan.options.int8:
        int8_report = json.loads(((folder or out) / INT8_REPORT).read_text(encoding="utf-8"))
    return ExportReport(out=out, files=files, parity=verification.rows,
                        seconds=time.perf_counter() - plan.started,
                        padding_invariance=verification.padding_invariance,
                        warnings=plan.warnings + verification.failures() + abstain.warnings(),
                        int8_report=int8_report)


def _calibration_frames(splits: Splits, config: CalibrationConfig,
                        folder: Optional[Path]) -> List[Path]:
    """The training split's frames, or a folder of deployment crops' (--calib-data)."""
    if folder is not None:
        return folder_frames(folder, config.size, config.seed)
    return select_frames(splits.train, config.size, config.seed)


def _probe_frames(splits: Splits, seed: int) -> List[Path]:
    """Frames that judge each INT8 recipe step: the validation split (never the test split
    parity reports on); the training split only when a tiny dataset has no validation."""
    records = splits.val or splits.train
    available = sum(len(r.frames) for r in records)
    return select_frames(records, min(PROBE_FRAMES, available), seed + 1)


def _degraded_message(verification: Verification, out: Path) -> str:
    missed = "; ".join(verification.failures())
    return (f"{missed}; {out} was left as it was. The tables above show where accuracy is "
            "lost; pass --accept-degraded to publish anyway (marked degraded in the manifest)")


def _refuse_broken_fp32(rows: List[ParityRow]) -> None:
    """FP32 graphs that disagree with PyTorch are a broken export: keep the old folder."""
    for row in rows:
        if row.precision == "fp32" and row.ok is False:
            raise ArtifactError(
                f"the exported FP32 graphs differ from PyTorch on golden inputs (max |Δlogit| "
                f"{row.golden_max_abs_diff or 0.0:.2e}, "
                f"agreement {row.golden_agreement or 0.0:.1%}); "
                "the output folder was left as it was: report this with the checkpoint"
            )
