"""Build TensorRT engines from an artifacts folder, on the device that will run them.

Engines are specific to a GPU and a TensorRT version, so they are built where they run:
on a Jetson, `jersey-edge build-engine --artifacts artifacts/ --precision int8` (the CLI
over `build_engines`) needs only this torch-free runtime, the ONNX graphs and
manifest.json. Supported: TensorRT 8.5 (JetPack 5.1) through 11.x; the version differences
live in `compat`, TensorRT's builder calls in `network`.

Every build is a strongly typed network where TensorRT has them (10.0 and newer): the
graph's tensor types are the precision, so the engine computes what export's parity
measured on the same graph. TensorRT 8.x builds weakly typed, with precision flags.
Which graph serves which engine (see `plan_engine`):

- fp32: `encoder.onnx`, `head.onnx`;
- fp16: the FP16 graphs (FP32 islands kept: softmax, masking); weakly typed, `BuilderFlag.FP16`;
- int8: the encoder from its symmetric per-channel QDQ graph (explicit quantization, no
  calibrator): strongly typed its opset-19 form with FP16 between the Q/DQ pairs
  (`encoder.int8.typed.onnx`), weakly typed the opset-17 one with the INT8 and FP16 flags.
  The GRU head comes from its FP16 graph (it is never quantized).
  `use_calibration_cache=True` instead builds the encoder from the FP32 graph with implicit
  INT8 scales from `calibration.cache`: weakly typed, so TensorRT <= 10 only, and only when
  asked.

Each engine is built from graph bytes checked against manifest.json, written atomically
and then hashed into it, so the runtime verifies engines exactly like the ONNX graphs. The
manifest's "engines" section records how (`engine_record`: TensorRT version, GPU, profile,
typing, workspace), and every build logs the `trtexec` command that builds the same engine
(`trtexec_command`, from the same plan and profile; `trtexec_lines` lists them only).
"""

from __future__ import annotations

import logging
import shlex
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

from ....core.errors import InputError
from ....core.fileio import PathLike, atomic_path, remove_stale_temporaries
from ...artifacts import CALIBRATION_CACHE, PARTS, PRECISIONS, TIMING_CACHE, graphs_for, onnx_name
from ...manifest import (
    DEFAULT_MAX_SEQUENCES,
    EngineRecord,
    Manifest,
    ShapeRange,
    add_files,
    load_manifest,
)
from . import compat, cuda_driver
from .network import serialize_engine as _build  # by this name: tests stand in for it

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnginePlan:
    """What one engine is built from: the graph, the typing, and for a weakly typed build
    the precision flags."""

    part: str
    precision: str
    graph: str
    engine: str
    strongly_typed: bool
    fp16: bool
    int8: bool
    calibrate: bool = False


def plan_engine(part: str, precision: str, *, strongly_typed: bool,
                use_calibration_cache: bool = False) -> EnginePlan:
    """The graph and typing for `part` at `precision` (see the module docstring).

    `strongly_typed`: whether this TensorRT can build strongly typed networks; the
    calibration-cache path builds weakly typed regardless.
    """
    if part not in PARTS:
        raise InputError(f"unknown part {part!r}: use {' or '.join(PARTS)}")
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    if use_calibration_cache and precision != "int8":
        raise InputError("the calibration cache only applies to int8 engines")
    calibrate = use_calibration_cache and part == "encoder"
    typed = strongly_typed and not use_calibration_cache
    serving = graphs_for(precision, "tensorrt-typed" if typed else "tensorrt")
    flags = serving.builder_flags(part)
    return EnginePlan(
        part=part,
        precision=precision,
        graph=onnx_name(part, "fp32") if calibrate else serving.graph(part),
        engine=serving.engine(part),
        strongly_typed=typed,
        fp16="fp16" in flags,
        int8="int8" in flags,
        calibrate=calibrate,
    )


def precision_flags(plan: EnginePlan) -> List[str]:
    """The builder flags a weakly typed plan sets ("fp16", "int8"); none when strongly typed."""
    return [name for name, wanted in (("fp16", plan.fp16), ("int8", plan.int8)) if wanted]


@dataclass(frozen=True)
class BuildOptions:
    """How engines are built; every surface (CLI, `build_engines` callers) fills this one.

    max_sequences: largest batch of sequences one call may run (the encoder's profile allows
    max_sequences * max_frames frames). workspace_mb: TensorRT's scratch-memory limit.
    timing_cache: reuse and update artifacts/timing.cache,
    which makes rebuilds on the same device much faster. use_calibration_cache: the INT8
    encoder from calibration.cache (implicit INT8, TensorRT <= 10) instead of its QDQ graph.
    """

    max_sequences: int = DEFAULT_MAX_SEQUENCES
    workspace_mb: int = 1024
    timing_cache: bool = True
    parts: Tuple[str, ...] = PARTS
    use_calibration_cache: bool = False

    def check(self, precision: str) -> None:
        """InputError for values no build could use, before anything is read or built."""
        if not self.parts:
            raise InputError("no parts to build: choose encoder and/or head")
        if self.max_sequences < 1:
            raise InputError(f"max sequences must be at least 1, got {self.max_sequences}")
        if self.workspace_mb < 1:
            raise InputError(f"the workspace must be at least 1 MiB, got {self.workspace_mb}")


def build_engines(artifacts: PathLike, *, precision: str,
                  options: BuildOptions = BuildOptions()) -> List[Path]:
    """Build `options.parts` at `precision` into `artifacts/<part>.<precision>.engine`.

    Raises BackendUnavailableError without TensorRT or a CUDA GPU, ArtifactError for bad
    graphs or failed builds, InputError for bad options.
    """
    options.check(precision)
    for part in options.parts:  # bad options fail before anything is read
        plan_engine(part, precision, strongly_typed=False,
                    use_calibration_cache=options.use_calibration_cache)
    manifest = load_manifest(artifacts)
    for stale in remove_stale_temporaries(manifest.root):  # of a build that was killed
        _log.info("removed %s, left by an interrupted write", stale.name)
    shapes = {part: manifest.profile_shapes(part, options.max_sequences)
              for part in options.parts}
    _verify_listed(manifest, {graphs_for(precision, "tensorrt").engine(p) for p in options.parts})
    compat.require_tensorrt()
    typed = compat.strongly_typed_available()
    plans = [plan_engine(p, precision, strongly_typed=typed,
                         use_calibration_cache=options.use_calibration_cache)
             for p in options.parts]
    sources = _sources(manifest, plans)
    timing_cache = manifest.path(TIMING_CACHE) if options.timing_cache else None
    tensorrt_version, gpu = _build_device()
    written = []
    for plan in plans:
        _log.info("the same engine with trtexec: %s",
                  trtexec_command(plan, shapes[plan.part], options, manifest.root))
        started = time.monotonic()
        written.append(_build_and_write(manifest, plan, shapes[plan.part], options,
                                        timing_cache, sources))
        record = engine_record(plan, shapes[plan.part], options,
                               tensorrt_version=tensorrt_version, gpu=gpu,
                               built=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                               seconds=time.monotonic() - started)
        add_files(manifest.root, engines={plan.engine: record})
    return written


def trtexec_command(plan: EnginePlan, shapes: Dict[str, ShapeRange], options: BuildOptions,
                    artifacts: PathLike) -> str:
    """The `trtexec` command line that builds the engine `plan` describes, with the profile
    `shapes`, as a shell line (paths in `artifacts`).

    For a tool NVIDIA's forums and bug reports speak, and a check of the builder against it.
    trtexec reads the graph without checking its sha256; with the calibration cache it reads
    the cache as exported, where the builder relabels it for the local TensorRT and fills the
    scales of reshaped tensors (see `calibration_cache`).
    """
    root = Path(artifacts)
    args = ["trtexec", f"--onnx={root / plan.graph}", f"--saveEngine={root / plan.engine}"]
    for option, which in (("--minShapes", 0), ("--optShapes", 1), ("--maxShapes", 2)):
        ranges = ",".join(f"{name}:{'x'.join(map(str, shape_range[which]))}"
                          for name, shape_range in shapes.items())
        args.append(f"{option}={ranges}")
    args.append(f"--memPoolSize=workspace:{options.workspace_mb}M")
    if plan.strongly_typed:
        args.append("--stronglyTyped")
    args += [f"--{flag}" for flag in precision_flags(plan)]
    if plan.calibrate:
        args.append(f"--calib={root / CALIBRATION_CACHE}")
    if options.timing_cache:
        args.append(f"--timingCacheFile={root / TIMING_CACHE}")
    return " ".join(shlex.quote(arg) for arg in args)


def engine_record(plan: EnginePlan, shapes: Dict[str, ShapeRange], options: BuildOptions, *,
                  tensorrt_version: str, gpu: Optional[cuda_driver.CudaDevice], built: str,
                  seconds: float) -> EngineRecord:
    """The manifest's record of an engine built from `plan` with `shapes` and `options` by
    this TensorRT version on `gpu` (None: the driver did not say)."""
    return EngineRecord(
        part=plan.part, precision=plan.precision, graph=plan.graph, tensorrt=tensorrt_version,
        gpu=gpu.name if gpu is not None else "unknown",
        compute_capability=gpu.compute_capability if gpu is not None else "unknown",
        strongly_typed=plan.strongly_typed, flags=precision_flags(plan),
        calibration_cache=plan.calibrate,
        profile={name: {"min": list(low), "opt": list(opt), "max": list(high)}
                 for name, (low, opt, high) in shapes.items()},
        workspace_mb=options.workspace_mb, timing_cache=options.timing_cache, built=built,
        seconds=round(seconds, 1))


def _build_device() -> Tuple[str, Optional[cuda_driver.CudaDevice]]:
    """This TensorRT's version and the GPU it builds for (the first the driver lists, as
    CUDA_VISIBLE_DEVICES leaves them)."""
    import tensorrt as trt

    devices = cuda_driver.cuda_devices()
    # "unknown" only for a stand-in module without a version (the type stubs, in tests)
    version = str(getattr(trt, "__version__", "unknown"))
    return version, devices[0] if devices else None


def trtexec_commands(artifacts: PathLike, precision: str, options: BuildOptions, *,
                     strongly_typed: bool) -> List[str]:
    """The trtexec line of every engine `build_engines` would build; needs no TensorRT."""
    options.check(precision)
    manifest = load_manifest(artifacts)
    return [trtexec_command(plan_engine(part, precision, strongly_typed=strongly_typed,
                                        use_calibration_cache=options.use_calibration_cache),
                            manifest.profile_shapes(part, options.max_sequences), options,
                            manifest.root)
            for part in options.parts]


def trtexec_lines(artifacts: PathLike, precisions: Sequence[str],
                  options: BuildOptions = BuildOptions()) -> Iterator[str]:
    """The trtexec line of every engine of `precisions`, in order, typed as this machine's
    TensorRT builds (where none loads: as 10 and newer, with a warning); builds nothing and
    needs no TensorRT or GPU."""
    typed = _strongly_typed_here()
    for precision in precisions:
        yield from trtexec_commands(artifacts, precision, options, strongly_typed=typed)


def set_build_verbosity(verbose: bool) -> None:
    """What a build logs: jersey_edge's messages from INFO on (DEBUG with `verbose`);
    TensorRT's own (the jersey_edge.tensorrt logger) from WARNING on, or INFO with it."""
    logging.getLogger("jersey_edge").setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("jersey_edge.tensorrt").setLevel(
        logging.INFO if verbose else logging.WARNING)


def _strongly_typed_here() -> bool:
    """Whether this machine's TensorRT builds strongly typed; with none that loads, the
    answer for TensorRT 10 and newer (JetPack 6.1+), said in a warning."""
    if compat.tensorrt_installed():
        try:
            return compat.strongly_typed_available()
        except (ImportError, OSError):
            pass
    _log.warning("no TensorRT loads here: trtexec lines for TensorRT 10 and newer "
                 "(strongly typed)")
    return True


def _verify_listed(manifest: Manifest, rebuilt: Set[str]) -> None:
    """Check every listed file but the engines being rebuilt, before TensorRT is even
    looked for: a damaged folder fails fast."""
    for name in sorted(manifest.files):
        if name not in rebuilt:
            manifest.read(name)


def _sources(manifest: Manifest, plans: Sequence[EnginePlan]) -> Dict[str, bytes]:
    """The verified bytes of the graphs and cache the plans build from.

    The builder parses these bytes, never the files again, so a graph swapped during the
    build cannot end up in an engine; `add_files` checks the rest once more afterwards.
    """
    needed = {plan.graph for plan in plans}
    needed |= {CALIBRATION_CACHE for plan in plans if plan.calibrate}
    return {name: manifest.read(name) for name in sorted(needed)}


def _build_and_write(
    manifest: Manifest, plan: EnginePlan, shapes: Dict[str, ShapeRange], options: BuildOptions,
    timing_cache: Optional[Path], sources: Dict[str, bytes],
) -> Path:
    target = manifest.path(plan.engine)
    started = time.monotonic()
    _log.info("building %s from %s (%s) ...", plan.engine, plan.graph,
              "strongly typed" if plan.strongly_typed else "weakly typed")
    engine = _build(manifest, plan, shapes, options, timing_cache, sources)
    with atomic_path(target) as tmp:
        tmp.write_bytes(engine)
    _log.info("wrote %s (%.1f MB) in %.0f s", target, len(engine) / 1e6, time.monotonic() - started)
    return target


if __name__ == "__main__":  # the command line this module had: say where it went, build nothing
    import sys

    print("error: the engine build's command line is `jersey-edge build-engine` (the same "
          "options; also `python -m jersey_edge build-engine`)", file=sys.stderr)
    sys.exit(2)
