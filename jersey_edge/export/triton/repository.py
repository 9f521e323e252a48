"""`write_repository`: an export folder -> a Triton model repository (see the package
docstring for what it serves)."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

import onnx

from ...core.errors import ArtifactError, InputError
from ...core.fileio import atomic_write_bytes, atomic_write_text
from ...runtime.artifacts import EMBEDDINGS, FRAMES, MASK, PARTS, graphs_for
from ...runtime.manifest import DEFAULT_MAX_SEQUENCES, Manifest, load_manifest
from ..folder import destination, publish, staging_folder
from .config import (
    CONFIG,
    DEVICES,
    ENCODER,
    ENSEMBLE_PLATFORM,
    FRAME_EMBEDDINGS,
    HEAD,
    INSTANCE_KIND,
    ONNX_PLATFORM,
    PAD_MODEL,
    PLAN_PLATFORM,
    SEQUENCE_ENSEMBLE,
    SERVING_TARGET,
    STREAM_ENSEMBLE,
    VERSION,
    WINDOW_IN,
    WINDOW_MASK_IN,
    WINDOW_MASK_OUT,
    WINDOW_MODEL,
    WINDOW_OUT,
    Enum,
    GraphIO,
    Message,
    TensorSpec,
    graph_io,
    render,
)
from .helper_graphs import HelperShape, pad_embeddings_graph, track_window_graph


@dataclass(frozen=True)
class TritonRepositoryConfig:
    """What `write_repository` writes.

    max_sequences: the head's max_batch_size, in sequences; the encoder's batch is frames,
    max_sequences * max_frames of them, which is what engines built with
    `build-engine --max-sequences` (same number) accept. force: replace a non-empty `out`.
    max_queue_delay_us: how long the dynamic batchers wait to fill a batch.
    max_tracks: tracks `track_window` holds at once (TrackStream's max_tracks); a new track
    beyond them waits for a slot. track_idle_s: a track without a request for this long is
    dropped (its next request must start a new sequence). device: where every model's
    instances run, "auto" (Triton's KIND_AUTO: a GPU where the server has one), "cpu" (the
    CPU graphs, for Triton's CPU container or an x86 edge box) or "gpu".
    """

    artifacts: Path
    out: Path
    precision: str = "fp32"
    max_sequences: int = DEFAULT_MAX_SEQUENCES
    force: bool = False
    max_queue_delay_us: int = 500
    max_tracks: int = 256
    track_idle_s: float = 60.0
    device: str = "auto"

    def check(self) -> None:
        if self.device not in DEVICES:
            raise InputError(f"device {self.device!r}: use {', '.join(DEVICES)}")
        for name, least in (("max_sequences", 1), ("max_queue_delay_us", 0), ("max_tracks", 1)):
            value = getattr(self, name)
            if type(value) is not int or value < least:
                shown = "max_sequences (--max-batch)" if name == "max_sequences" else name
                raise InputError(f"{shown} must be a whole number >= {least}, got {value!r}")
        if not self.track_idle_s > 0:
            raise InputError(f"track_idle_s must be > 0 seconds, got {self.track_idle_s!r}")


@dataclass(frozen=True)
class WrittenModel:
    """One model of the repository: its platform and the export file it serves ("" for the
    models written here)."""

    name: str
    platform: str
    source: str = ""


@dataclass(frozen=True)
class TritonRepository:
    out: Path
    precision: str
    models: List[WrittenModel]


@dataclass(frozen=True)
class _Served:
    """One part as Triton will run it: its model file and the graph that tells its I/O."""

    part: str
    platform: str
    source: str
    payload: bytes
    io: GraphIO
    graph: onnx.ModelProto = field(repr=False)

    @property
    def file_name(self) -> str:
        return "model.plan" if self.platform == PLAN_PLATFORM else "model.onnx"


def write_repository(config: TritonRepositoryConfig) -> TritonRepository:
    """Write the model repository `config.out` for `config.precision` of the export in
    `config.artifacts` (see the module docstring); refuses a non-empty `out` unless force."""
    config.check()
    manifest = load_manifest(config.artifacts)
    out = _check_out(config, manifest.root)
    served = {part: _serve(manifest, config.precision, part, config.device) for part in PARTS}
    files = _model_files(served, _shape(served[ENCODER], served[HEAD]), config)
    with staging_folder(out) as stage:
        for relative, data in files.items():
            target = stage / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                atomic_write_bytes(target, data)
            else:
                atomic_write_text(target, data)
        for name in (SEQUENCE_ENSEMBLE, STREAM_ENSEMBLE):
            (stage / name / VERSION).mkdir(parents=True, exist_ok=True)  # Triton needs it
        publish(stage, out)
    models = [WrittenModel(p, served[p].platform, served[p].source) for p in PARTS] + [
        WrittenModel(PAD_MODEL, ONNX_PLATFORM), WrittenModel(SEQUENCE_ENSEMBLE, ENSEMBLE_PLATFORM),
        WrittenModel(WINDOW_MODEL, ONNX_PLATFORM), WrittenModel(STREAM_ENSEMBLE, ENSEMBLE_PLATFORM),
    ]
    return TritonRepository(out=out, precision=config.precision, models=models)


def _check_out(config: TritonRepositoryConfig, artifacts: Path) -> Path:
    """The folder to replace; refused when it is not empty (unless force) or would swallow
    the export itself."""
    out = destination(Path(config.out).expanduser())
    if out.exists() and not out.is_dir():
        raise InputError(f"repository folder {out} exists and is not a folder; choose another "
                         "path")
    if out.resolve() in (artifacts.resolve(), *artifacts.resolve().parents):
        raise InputError(f"repository folder {out} holds the export folder {artifacts}: "
                         "choose a folder outside it")
    if out.is_dir() and any(out.iterdir()) and not config.force:
        raise InputError(f"repository folder {out} is not empty: choose a new one, or pass "
                         "--force (force=True) to replace everything in it")
    return out


def _serve(manifest: Manifest, precision: str, part: str, device: str) -> _Served:
    """The part's engine when the manifest lists one for `precision` (not on a CPU server),
    else its ONNX graph; the I/O always comes from the graph the serving table names
    (engines keep its I/O)."""
    serving = graphs_for(precision, SERVING_TARGET[device])
    graph_name = serving.graph(part)
    if not manifest.has(graph_name):
        exported = ", ".join(manifest.available_precisions()) or "none"
        flag = {"fp16": " with --fp16", "int8": " with --int8"}.get(precision, "")
        raise ArtifactError(f"{manifest.root} has no {precision} export ({graph_name} is not in "
                            f"its manifest; exported: {exported}): re-export{flag} or choose "
                            "another --precision")
    graph_bytes = manifest.read(graph_name)
    graph = onnx.load_model_from_string(graph_bytes)
    io = graph_io(graph, graph_name)
    engine = serving.engine(part)
    if device != "cpu" and manifest.has(engine):
        return _Served(part, PLAN_PLATFORM, engine, manifest.read(engine), io, graph)
    return _Served(part, ONNX_PLATFORM, graph_name, graph_bytes, io, graph)


def _shape(encoder: _Served, head: _Served) -> HelperShape:
    """Read from the graphs, which must agree: the encoder's embeddings are the head's."""
    try:
        encoder.io.input(FRAMES)
        frame_embeddings = encoder.io.output(EMBEDDINGS)
        embeddings, mask = head.io.input(EMBEDDINGS), head.io.input(MASK)
    except KeyError as exc:
        raise ArtifactError(f"the served graphs lack the tensor {exc}; re-export") from None
    if len(frame_embeddings.dims) != 1 or len(embeddings.dims) != 2 or \
            frame_embeddings.dims[0] != embeddings.dims[1] or min(embeddings.dims) < 1 or \
            mask.dims != embeddings.dims[:1]:
        raise ArtifactError(f"the encoder's embeddings {frame_embeddings.dims} do not fit the "
                            f"head's {embeddings.dims} and mask {mask.dims}; re-export")
    opset = next(o.version for o in head.graph.opset_import if o.domain in ("", "ai.onnx"))
    return HelperShape(embeddings.dims[0], embeddings.dims[1], frame_embeddings, embeddings, mask,
                  ir_version=head.graph.ir_version, opset=opset)


def _model_files(served: Dict[str, _Served], shape: HelperShape,
                 config: TritonRepositoryConfig) -> Dict[str, Union[bytes, str]]:
    """Relative path -> content of every file of the repository."""
    units = {ENCODER: shape.max_frames, HEAD: 1}
    files: Dict[str, Union[bytes, str]] = {}
    for part, model in served.items():
        files[f"{part}/{VERSION}/{model.file_name}"] = model.payload
        files[f"{part}/{CONFIG}"] = render(_batched_config(model, units[part], config))
    files[f"{PAD_MODEL}/{VERSION}/model.onnx"] = pad_embeddings_graph(shape).SerializeToString()
    files[f"{PAD_MODEL}/{CONFIG}"] = render(_pad_config(shape, config))
    files[f"{SEQUENCE_ENSEMBLE}/{CONFIG}"] = render(_sequence_ensemble(served))
    files[f"{WINDOW_MODEL}/{VERSION}/model.onnx"] = track_window_graph(shape).SerializeToString()
    files[f"{WINDOW_MODEL}/{CONFIG}"] = render(_window_config(shape, config))
    files[f"{STREAM_ENSEMBLE}/{CONFIG}"] = render(_stream_ensemble(served, shape))
    return files


def _tensors(specs: Sequence[TensorSpec], lead: Tuple[int, ...] = ()) -> List[Message]:
    return [{"name": s.name, "data_type": Enum(s.data_type), "dims": [*lead, *s.dims]}
            for s in specs]


def _instances(config: TritonRepositoryConfig) -> List[Message]:
    return [{"kind": Enum(INSTANCE_KIND[config.device]), "count": 1}]


def _preferred(unit: int, max_sequences: int) -> List[int]:
    """Preferred batch sizes: half and all of the largest batch, in `unit`s (frames of a
    sequence for the encoder, sequences for the head)."""
    return sorted({unit * max(1, max_sequences // 2), unit * max_sequences})


def _batched_config(model: _Served, unit: int, config: TritonRepositoryConfig) -> Message:
    return {
        "name": model.part,
        "platform": model.platform,
        "max_batch_size": unit * config.max_sequences,
        "input": _tensors(model.io.inputs),
        "output": _tensors(model.io.outputs),
        "instance_group": _instances(config),
        "dynamic_batching": {
            "preferred_batch_size": _preferred(unit, config.max_sequences),
            "max_queue_delay_microseconds": config.max_queue_delay_us,
        },
    }


def _pad_config(shape: HelperShape, config: TritonRepositoryConfig) -> Message:
    return {
        "name": PAD_MODEL,
        "platform": ONNX_PLATFORM,
        "max_batch_size": 0,
        "input": _tensors([_renamed(shape.frame_embeddings, FRAME_EMBEDDINGS)], (-1,)),
        "output": _tensors([shape.embeddings, shape.mask], (1,)),
        "instance_group": _instances(config),
    }


def _window_config(shape: HelperShape, config: TritonRepositoryConfig) -> Message:
    def state(name_in: str, name_out: str, spec: TensorSpec, label: str) -> Message:
        dims = list(spec.dims)
        return {"input_name": name_in, "output_name": name_out,
                "data_type": Enum(spec.data_type), "dims": dims,
                "initial_state": [{"data_type": Enum(spec.data_type), "dims": dims,
                                   "zero_data": True, "name": label}]}

    return {
        "name": WINDOW_MODEL,
        "platform": ONNX_PLATFORM,
        "max_batch_size": config.max_sequences,
        "input": _tensors([_renamed(shape.frame_embeddings, FRAME_EMBEDDINGS)]),
        "output": _tensors([shape.embeddings, shape.mask]),
        "instance_group": _instances(config),
        "sequence_batching": {
            "max_sequence_idle_microseconds": round(config.track_idle_s * 1e6),
            "oldest": {
                "max_candidate_sequences": config.max_tracks,
                "preferred_batch_size": _preferred(1, config.max_sequences),
                "max_queue_delay_microseconds": config.max_queue_delay_us,
            },
            "state": [state(WINDOW_IN, WINDOW_OUT, shape.embeddings, "empty window"),
                      state(WINDOW_MASK_IN, WINDOW_MASK_OUT, shape.mask, "empty window mask")],
        },
    }


def _renamed(spec: TensorSpec, name: str) -> TensorSpec:
    return TensorSpec(name, spec.data_type, spec.dims, spec.elem_type)


def _step(model: str, inputs: Dict[str, str], outputs: Dict[str, str]) -> Message:
    """An ensemble step: model tensor name -> ensemble tensor name, both ways."""
    return {
        "model_name": model,
        "model_version": -1,
        "input_map": [{"key": k, "value": v} for k, v in inputs.items()],
        "output_map": [{"key": k, "value": v} for k, v in outputs.items()],
    }


def _head_step(served: Dict[str, _Served]) -> Message:
    outputs = {spec.name: spec.name for spec in served[HEAD].io.outputs}
    return _step(HEAD, {EMBEDDINGS: EMBEDDINGS, MASK: MASK}, outputs)


def _encoder_step() -> Message:
    return _step(ENCODER, {FRAMES: FRAMES}, {EMBEDDINGS: FRAME_EMBEDDINGS})


def _sequence_ensemble(served: Dict[str, _Served]) -> Message:
    """frames [n,3,H,W] of one sequence -> the head's outputs [1,...]."""
    frames = served[ENCODER].io.input(FRAMES)
    return {
        "name": SEQUENCE_ENSEMBLE,
        "platform": ENSEMBLE_PLATFORM,
        "max_batch_size": 0,
        "input": _tensors([frames], (-1,)),
        "output": _tensors(served[HEAD].io.outputs, (1,)),
        "ensemble_scheduling": {"step": [
            _encoder_step(),
            _step(PAD_MODEL, {FRAME_EMBEDDINGS: FRAME_EMBEDDINGS},
                  {EMBEDDINGS: EMBEDDINGS, MASK: MASK}),
            _head_step(served),
        ]},
    }


def _stream_ensemble(served: Dict[str, _Served], shape: HelperShape) -> Message:
    """One new crop [1,3,H,W] of a track (a Triton sequence) -> the head's outputs over the
    track's window [1,...] and the window's mask [1,T]."""
    frames = served[ENCODER].io.input(FRAMES)
    return {
        "name": STREAM_ENSEMBLE,
        "platform": ENSEMBLE_PLATFORM,
        "max_batch_size": 0,
        "input": _tensors([frames], (1,)),
        "output": _tensors([*served[HEAD].io.outputs, shape.mask], (1,)),
        "ensemble_scheduling": {"step": [
            _encoder_step(),
            _step(WINDOW_MODEL, {FRAME_EMBEDDINGS: FRAME_EMBEDDINGS},
                  {EMBEDDINGS: EMBEDDINGS, MASK: MASK}),
            _head_step(served),
        ]},
    }
