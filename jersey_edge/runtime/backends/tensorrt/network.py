"""The TensorRT calls of one engine build: parse the graph's verified bytes, check its
inputs against the profile, set the profile, workspace, typing or precision flags, the
calibration cache and the timing cache, and serialize the engine.

`build.build_engines` decides what to build (`build.plan_engine`), from which bytes, and
writes and records the result; this module is the only part of the build that calls
TensorRT's builder.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from ....core.errors import ArtifactError
from ....core.fileio import atomic_path
from ...artifacts import CALIBRATION_CACHE
from ...manifest import Manifest, ShapeRange
from . import calibration_cache, compat

if TYPE_CHECKING:
    import tensorrt as trt

    from .build import BuildOptions, EnginePlan

Shape = Tuple[int, ...]

_log = logging.getLogger(__name__)


def serialize_engine(
    manifest: Manifest, plan: EnginePlan, shapes: Dict[str, ShapeRange], options: BuildOptions,
    timing_cache: Optional[Path], sources: Dict[str, bytes],
) -> bytes:
    """The serialized engine `plan` describes, built from the verified graph bytes in
    `sources` (names as in the manifest) with the profile `shapes`; `timing_cache`: the file
    to reuse and update (None: none). ArtifactError when TensorRT refuses the graph, the
    profile or the build."""
    import tensorrt as trt

    recorder = compat.make_error_recorder()
    builder = trt.Builder(compat.process_logger())
    builder.error_recorder = recorder  # its network, config and layers inherit it
    network = builder.create_network(compat.network_flags(strongly_typed=plan.strongly_typed))
    # The parser owns the network's weights: it must outlive build_serialized_network.
    parser = trt.OnnxParser(network, compat.process_logger())
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
    if config.add_optimization_profile(profile) < 0:  # -1: the profile is not valid
        raise ArtifactError(f"{graph}: TensorRT refused the optimisation profile {shapes} "
                            f"({'; '.join(recorder.messages()[-3:]) or 'no detail'})")
    if not plan.strongly_typed:
        compat.set_precision_flags(config, fp16=plan.fp16, int8=plan.int8)
    # Kept referenced until the build returns: TensorRT calls back into the calibrator.
    calibrator = None
    if plan.calibrate:
        table, coverage = calibration_cache.fill_gaps(sources[CALIBRATION_CACHE],
                                                      _layers(network))
        _log.info("%s", coverage.describe())
        calibrator = compat.attach_calibration_cache(config, profile, table)
    if timing_cache is not None:
        _load_timing_cache(config, timing_cache)

    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        detail = "; ".join(recorder.messages()[-5:]) or "no error reported"
        raise ArtifactError(f"TensorRT could not build {plan.engine} from {graph}: {detail}")
    if timing_cache is not None:
        _save_timing_cache(config, timing_cache)
    del parser, calibrator  # only now may they go
    return bytes(memoryview(serialized))


def _layers(network: trt.INetworkDefinition) -> List[calibration_cache.Layer]:
    """The parsed network's layers, in order, as the cache-coverage check reads them."""
    layers = []
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        inputs = [layer.get_input(j) for j in range(layer.num_inputs)]
        layers.append(calibration_cache.Layer(
            kind=str(layer.type).rpartition(".")[2],
            inputs=tuple(t.name for t in inputs if t is not None),
            outputs=tuple(layer.get_output(j).name for j in range(layer.num_outputs))))
    return layers


def _check_inputs(network: trt.INetworkDefinition, shapes: Dict[str, ShapeRange], graph: Path
                  ) -> None:
    """The graph's inputs must be the profile's, with the manifest's fixed dimensions."""
    found: Dict[str, Shape] = {}
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        found[tensor.name] = compat.dims_tuple(tensor.shape)
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
