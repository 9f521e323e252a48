"""Build TensorRT engines from an artifacts folder, on the device that will run them.

Engines are specific to a GPU and a TensorRT version, so they are built where they run:
on a Jetson, `python -m jersey_edge.runtime.build artifacts/ --precision int8` needs only this
torch-free runtime, the ONNX graphs and manifest.json. Supported: TensorRT 8.5 (JetPack
5.1) through 11.x; the version differences live in `trt_compat`.

Which graph serves which engine (see `plan_engine`):

- fp32: `encoder.onnx`, `head.onnx`, no precision flags;
- fp16: the FP16 graphs, plus `BuilderFlag.FP16` on TensorRT <= 10;
- int8: the encoder from its symmetric per-channel QDQ graph (explicit quantization, no
  calibrator), the GRU head from its FP16 graph (it is never quantized). On TensorRT <= 10
  the INT8 (encoder) and FP16 (head) flags are set; on 11 the graphs carry the precision.
  `use_calibration_cache=True` instead builds the encoder from the FP32 graph with implicit
  INT8 scales from `calibration.cache`, only on TensorRT <= 10 and only when asked.

Each engine is built from graph bytes checked against manifest.json, written atomically
and then hashed into it, so the runtime verifies engines exactly like the ONNX graphs.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from ..core.errors import ArtifactError, InputError, JerseyEdgeError
from ..core.fileio import PathLike, atomic_path
from . import trt_compat
from .artifacts import (
    CALIBRATION_CACHE,
    EMBEDDINGS,
    FRAMES,
    MASK,
    PRECISIONS,
    TIMING_CACHE,
    Manifest,
    add_files,
    graphs_for,
    load_manifest,
    onnx_name,
)

if TYPE_CHECKING:
    import tensorrt as trt

PARTS = ("encoder", "head")

Shape = Tuple[int, ...]
ShapeRange = Tuple[Shape, Shape, Shape]  # min, opt, max

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnginePlan:
    """What one engine is built from and with which weak-typing flags (TensorRT <= 10)."""

    part: str
    precision: str
    graph: str
    engine: str
    fp16: bool
    int8: bool
    calibrate: bool = False


def plan_engine(part: str, precision: str, *, use_calibration_cache: bool = False) -> EnginePlan:
    """The graph and builder flags for `part` at `precision` (see the module docstring)."""
    if part not in PARTS:
        raise InputError(f"unknown part {part!r}: use {' or '.join(PARTS)}")
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    if use_calibration_cache and precision != "int8":
        raise InputError("the calibration cache only applies to --precision int8")
    calibrate = use_calibration_cache and part == "encoder"
    serving = graphs_for(precision, "tensorrt")
    return EnginePlan(
        part=part,
        precision=precision,
        graph=onnx_name(part, "fp32") if calibrate else serving.graph(part),
        engine=serving.engine(part),
        # INT8 engines also get FP16, so the nodes export left in float (mixed precision)
        # and everything outside Q/DQ pairs run FP16, not FP32.
        fp16=precision in ("fp16", "int8"),
        int8=precision == "int8" and part == "encoder",
        calibrate=calibrate,
    )


def profile_shapes(manifest: Manifest, part: str, max_sequences: int) -> Dict[str, ShapeRange]:
    """Optimisation-profile (min, opt, max) shapes per input, from the manifest.

    The batch dimension is the only dynamic one. The optimum is one sequence (`max_frames`
    frames for the encoder, one sequence for the head: the streaming and single-prediction
    case); the maximum is `max_sequences` sequences. The time axis T is fixed to max_frames.
    """
    if max_sequences < 1:
        raise InputError(f"max_sequences must be at least 1, got {max_sequences}")
    frames = manifest.max_frames
    if part == "encoder":
        image = (3, manifest.preprocess.height, manifest.preprocess.width)
        return {FRAMES: ((1, *image), (frames, *image), (max_sequences * frames, *image))}
    if part == "head":
        embed = (frames, manifest.embed_dim)
        return {
            EMBEDDINGS: ((1, *embed), (1, *embed), (max_sequences, *embed)),
            MASK: ((1, frames), (1, frames), (max_sequences, frames)),
        }
    raise InputError(f"unknown part {part!r}: use {' or '.join(PARTS)}")


@dataclass(frozen=True)
class BuildOptions:
    workspace_mb: int = 1024
    dla_core: Optional[int] = None
    timing_cache: Optional[Path] = None


def build_engines(
    artifacts: PathLike,
    *,
    precision: str,
    max_sequences: int = 16,
    workspace_mb: int = 1024,
    dla_core: Optional[int] = None,
    timing_cache: bool = True,
    parts: Sequence[str] = PARTS,
    use_calibration_cache: bool = False,
) -> List[Path]:
    """Build `parts` at `precision` into `artifacts/<part>.<precision>.engine`; return paths.

    max_sequences: largest batch of sequences one call may run (the encoder's profile allows
    max_sequences * max_frames frames). workspace_mb: TensorRT's scratch-memory limit.
    dla_core: run on that DLA core (Jetson AGX/NX), falling back to the GPU for layers the
    DLA cannot run; fp16/int8 only. timing_cache: reuse and update artifacts/timing.cache,
    which makes rebuilds on the same device much faster.
    Raises BackendUnavailableError without TensorRT or a CUDA GPU, ArtifactError for bad
    graphs or failed builds, InputError for bad options.
    """
    plans = [plan_engine(p, precision, use_calibration_cache=use_calibration_cache) for p in parts]
    if not plans:
        raise InputError("no parts to build: choose encoder and/or head")
    if workspace_mb < 1:
        raise InputError(f"workspace_mb must be positive, got {workspace_mb}")
    if dla_core is not None and dla_core < 0:
        raise InputError(f"dla_core must be 0 or more, got {dla_core}")
    if dla_core is not None and precision == "fp32":
        raise InputError("the DLA runs fp16 and int8 only: build with --precision fp16 or int8")
    manifest = load_manifest(artifacts)
    shapes = {plan.part: profile_shapes(manifest, plan.part, max_sequences) for plan in plans}
    sources = _verify_sources(manifest, plans)
    trt_compat.require_tensorrt()
    options = BuildOptions(
        workspace_mb=workspace_mb,
        dla_core=dla_core,
        timing_cache=manifest.path(TIMING_CACHE) if timing_cache else None,
    )
    written = []
    for plan in plans:
        written.append(_build_and_write(manifest, plan, shapes[plan.part], options, sources))
        add_files(manifest.root, [plan.engine])
    return written


def _verify_sources(manifest: Manifest, plans: Sequence[EnginePlan]) -> Dict[str, bytes]:
    """Check every listed file but the engines being rebuilt before the (long) build, so a
    damaged folder fails fast; return the verified bytes of the graphs and cache it uses.

    The builder parses these bytes, never the files again, so a graph swapped during the
    build cannot end up in an engine; `add_files` checks the rest once more afterwards.
    """
    rebuilt = {plan.engine for plan in plans}
    for name in sorted(manifest.files):
        if name not in rebuilt:
            manifest.read(name)
    needed = {plan.graph for plan in plans}
    needed |= {CALIBRATION_CACHE for plan in plans if plan.calibrate}
    return {name: manifest.read(name) for name in sorted(needed)}


def _build_and_write(
    manifest: Manifest, plan: EnginePlan, shapes: Dict[str, ShapeRange], options: BuildOptions,
    sources: Dict[str, bytes],
) -> Path:
    target = manifest.path(plan.engine)
    started = time.monotonic()
    _log.info("building %s from %s ...", plan.engine, plan.graph)
    engine = _build(manifest, plan, shapes, options, sources)
    with atomic_path(target) as tmp:
        tmp.write_bytes(engine)
    _log.info("wrote %s (%.1f MB) in %.0f s", target, len(engine) / 1e6, time.monotonic() - started)
    return target


def _build(
    manifest: Manifest, plan: EnginePlan, shapes: Dict[str, ShapeRange], options: BuildOptions,
    sources: Dict[str, bytes],
) -> bytes:
    import tensorrt as trt

    errors: List[str] = []
    logger = trt_compat.make_logger(errors)
    builder = trt.Builder(logger)
    network = builder.create_network(trt_compat.network_flags())
    # The parser owns the network's weights: it must outlive build_serialized_network.
    parser = trt.OnnxParser(network, logger)
    graph = manifest.path(plan.graph)
    if not parser.parse(sources[plan.graph], str(graph)):
        found = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise ArtifactError(f"{graph}: TensorRT cannot parse this graph: {'; '.join(found)}")
    _check_inputs(network, shapes, graph)

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, options.workspace_mb << 20)
    profile = builder.create_optimization_profile()
    for name, (low, opt, high) in shapes.items():
        profile.set_shape(name, trt.Dims(list(low)), trt.Dims(list(opt)), trt.Dims(list(high)))
    config.add_optimization_profile(profile)
    trt_compat.set_precision_flags(config, fp16=plan.fp16, int8=plan.int8)
    # Kept referenced until the build returns: TensorRT calls back into the calibrator.
    calibrator = (
        trt_compat.attach_calibration_cache(config, profile, sources[CALIBRATION_CACHE])
        if plan.calibrate
        else None
    )
    if options.dla_core is not None:
        _use_dla(builder, config, options.dla_core)
    if options.timing_cache is not None:
        _load_timing_cache(config, options.timing_cache)

    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        detail = "; ".join(errors[-5:]) or "no error reported"
        raise ArtifactError(f"TensorRT could not build {plan.engine} from {graph}: {detail}")
    if options.timing_cache is not None:
        _save_timing_cache(config, options.timing_cache)
    del parser, calibrator  # only now may they go
    return bytes(memoryview(serialized))


def _check_inputs(network: trt.INetworkDefinition, shapes: Dict[str, ShapeRange], graph: Path
                  ) -> None:
    """The graph's inputs must be the profile's, with the manifest's fixed dimensions."""
    found: Dict[str, Shape] = {}
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        found[tensor.name] = trt_compat.dims_tuple(tensor.shape)
    if sorted(found) != sorted(shapes):
        raise ArtifactError(
            f"{graph} has inputs {sorted(found)}, expected {sorted(shapes)}: re-export"
        )
    for name, (_, _, high) in shapes.items():
        shape = found[name]
        if len(shape) != len(high) or any(d not in (-1, h) for d, h in zip(shape, high)):
            raise ArtifactError(
                f"{graph}: input {name!r} has shape {shape}, but manifest.json implies "
                f"{('N',) + high[1:]}: the graph and manifest disagree, re-export"
            )


def _use_dla(builder: trt.Builder, config: trt.IBuilderConfig, core: int) -> None:
    """Put layers on DLA `core`; the GPU takes what the DLA cannot run (e.g. the GRU).

    The DLA runs static shapes only, so with a dynamic batch TensorRT keeps the affected
    layers on the GPU; profile max == opt would be needed to move them all.
    """
    import tensorrt as trt

    available = builder.num_DLA_cores
    if core >= available:
        raise InputError(f"DLA core {core} requested, this device has {available} DLA core(s)")
    config.default_device_type = trt.DeviceType.DLA
    config.DLA_core = core
    config.set_flag(trt.BuilderFlag.GPU_FALLBACK)


def _load_timing_cache(config: trt.IBuilderConfig, path: Path) -> None:
    """Reuse tactic timings from earlier builds; a cache from another device starts fresh."""
    data = path.read_bytes() if path.is_file() else b""
    cache = config.create_timing_cache(data)
    if cache is not None and config.set_timing_cache(cache, False):
        return
    _log.warning("%s does not match this device or TensorRT version: starting afresh", path)
    config.set_timing_cache(config.create_timing_cache(b""), False)


def _save_timing_cache(config: trt.IBuilderConfig, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(bytes(memoryview(config.get_timing_cache().serialize())))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """`python -m jersey_edge.runtime.build`: argparse only, so it runs on a bare Jetson."""
    parser = argparse.ArgumentParser(
        prog="python -m jersey_edge.runtime.build",
        description="Build TensorRT engines for an artifacts folder on this device.",
    )
    parser.add_argument("artifacts", type=Path, help="folder written by `jersey-edge export`")
    parser.add_argument("--precision", required=True, choices=PRECISIONS)
    parser.add_argument("--max-sequences", type=int, default=16,
                        help="largest batch of sequences per call (default 16)")
    parser.add_argument("--workspace-mb", type=int, default=1024,
                        help="TensorRT workspace limit in MiB (default 1024)")
    parser.add_argument("--dla-core", type=int, default=None,
                        help="build for this DLA core, GPU fallback (Jetson; fp16/int8)")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help="comma-separated parts to build (default encoder,head)")
    parser.add_argument("--no-timing-cache", action="store_true",
                        help="neither read nor write artifacts/timing.cache")
    parser.add_argument("--calibration-cache", action="store_true",
                        help="int8 encoder from calibration.cache (TensorRT <= 10) "
                             "instead of the QDQ graph")
    parser.add_argument("--verbose", action="store_true", help="show TensorRT's messages")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(message)s")
    logging.getLogger("jersey_edge.tensorrt").setLevel(
        logging.INFO if args.verbose else logging.WARNING
    )
    try:
        paths = build_engines(
            args.artifacts,
            precision=args.precision,
            max_sequences=args.max_sequences,
            workspace_mb=args.workspace_mb,
            dla_core=args.dla_core,
            timing_cache=not args.no_timing_cache,
            parts=[p.strip() for p in args.parts.split(",") if p.strip()],
            use_calibration_cache=args.calibration_cache,
        )
    except JerseyEdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
