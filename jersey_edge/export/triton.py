"""Write a Triton Inference Server model repository from an export folder.

The repository serves the export's two graphs as Triton models, `encoder` (batch = frames)
and `head` (batch = sequences), both with dynamic batching, and two ensembles over them:

- `ensemble`: one whole sequence per request, frames [n,3,H,W] with 1 <= n <= max_frames
  -> the head's outputs. Ensembles cannot reshape or pad, so a third model,
  `pad_embeddings` (a tiny ONNX graph written here), turns the encoder's [n,E] into the
  head's [1,T,E] right-padded with zeros plus its [1,T] mask, exactly as
  `core.two_stage.pad_sequences` does for the runtime.
- `track_stream`: one crop per request in a Triton sequence (sequence id = track id), the
  server-side twin of `runtime.stream.TrackStream`. `track_window` (a tiny ONNX graph
  written here) keeps each track's last max_frames embeddings as Triton implicit state and
  returns the window the head reads; the sequence batcher routes each track's requests to
  its state.

Which graph or engine serves each part comes from the serving table (`graphs_for` with
target "tensorrt": Triton runs ONNX Runtime on the GPU, and TensorRT plans where the export
folder lists engines for the precision). Every config's names, dims and dtypes are read from
the ONNX graphs themselves; the repository is built beside `out` and swapped in whole.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..core.errors import ArtifactError, InputError
from ..core.fileio import atomic_write_bytes, atomic_write_text
from ..runtime.artifacts import (
    EMBEDDINGS,
    FRAMES,
    MASK,
    PARTS,
    Manifest,
    graphs_for,
    load_manifest,
)
from ..runtime.backends.profiles import DEFAULT_MAX_SEQUENCES
from .folder import destination, publish, staging_folder

# The serving-table target of a GPU Triton: its ONNX Runtime runs the CUDA provider, which
# `graphs_for` counts as a TensorRT-compiled path; engines are the same target's.
SERVING_TARGET = "tensorrt"
ONNX_PLATFORM = "onnxruntime_onnx"
PLAN_PLATFORM = "tensorrt_plan"
ENSEMBLE_PLATFORM = "ensemble"

# Model names of the repository: the two parts by their own names, then the helpers.
ENCODER, HEAD = PARTS
PAD_MODEL = "pad_embeddings"
SEQUENCE_ENSEMBLE = "ensemble"
WINDOW_MODEL = "track_window"
STREAM_ENSEMBLE = "track_stream"
VERSION = "1"
CONFIG = "config.pbtxt"

# Tensor names that exist only in this repository: the encoder's output on its way to the
# helper models, and the window state Triton keeps per track.
FRAME_EMBEDDINGS = "frame_embeddings"
WINDOW_IN, WINDOW_OUT = "window_in", "window_out"
WINDOW_MASK_IN, WINDOW_MASK_OUT = "window_mask_in", "window_mask_out"

_TRITON_TYPES: Dict[int, str] = {
    TensorProto.FLOAT: "TYPE_FP32", TensorProto.FLOAT16: "TYPE_FP16",
    TensorProto.BFLOAT16: "TYPE_BF16", TensorProto.DOUBLE: "TYPE_FP64",
    TensorProto.INT8: "TYPE_INT8", TensorProto.INT16: "TYPE_INT16",
    TensorProto.INT32: "TYPE_INT32", TensorProto.INT64: "TYPE_INT64",
    TensorProto.UINT8: "TYPE_UINT8", TensorProto.UINT16: "TYPE_UINT16",
    TensorProto.UINT32: "TYPE_UINT32", TensorProto.UINT64: "TYPE_UINT64",
    TensorProto.BOOL: "TYPE_BOOL", TensorProto.STRING: "TYPE_STRING",
}


@dataclass(frozen=True)
class TritonRepositoryConfig:
    """What `write_repository` writes.

    max_sequences: the head's max_batch_size, in sequences; the encoder's batch is frames,
    max_sequences * max_frames of them, which is what engines built with
    `build-engine --max-sequences` (same number) accept. force: replace a non-empty `out`.
    max_queue_delay_us: how long the dynamic batchers wait to fill a batch.
    max_tracks: tracks `track_window` holds at once (TrackStream's max_tracks); a new track
    beyond them waits for a slot. track_idle_s: a track without a request for this long is
    dropped (its next request must start a new sequence).
    """

    artifacts: Path
    out: Path
    precision: str = "fp32"
    max_sequences: int = DEFAULT_MAX_SEQUENCES
    force: bool = False
    max_queue_delay_us: int = 500
    max_tracks: int = 256
    track_idle_s: float = 60.0

    def check(self) -> None:
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
class TensorSpec:
    """A graph input or output as Triton declares it: dims without the batch axis."""

    name: str
    data_type: str
    dims: Tuple[int, ...]
    elem_type: int  # the ONNX element type, for the graphs written here


@dataclass(frozen=True)
class GraphIO:
    inputs: List[TensorSpec]
    outputs: List[TensorSpec]

    def input(self, name: str) -> TensorSpec:
        return _named(self.inputs, name)

    def output(self, name: str) -> TensorSpec:
        return _named(self.outputs, name)


def _named(specs: List[TensorSpec], name: str) -> TensorSpec:
    for spec in specs:
        if spec.name == name:
            return spec
    raise KeyError(name)


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
    served = {part: _serve(manifest, config.precision, part) for part in PARTS}
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


def _serve(manifest: Manifest, precision: str, part: str) -> _Served:
    """The part's engine when the manifest lists one for `precision`, else its ONNX graph;
    the I/O always comes from the graph the serving table names (engines keep its I/O)."""
    serving = graphs_for(precision, SERVING_TARGET)
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
    if manifest.has(engine):
        return _Served(part, PLAN_PLATFORM, engine, manifest.read(engine), io, graph)
    return _Served(part, ONNX_PLATFORM, graph_name, graph_bytes, io, graph)


def graph_io(graph: onnx.ModelProto, source: str) -> GraphIO:
    """The graph's inputs and outputs as Triton sees them: the leading (dynamic) batch axis
    becomes Triton's implicit batch, other dynamic axes -1."""
    initializers = {t.name for t in graph.graph.initializer}
    inputs = [v for v in graph.graph.input if v.name not in initializers]
    outputs = graph.graph.output
    return GraphIO([_spec(v, source) for v in inputs], [_spec(v, source) for v in outputs])


def _spec(value: onnx.ValueInfoProto, source: str) -> TensorSpec:
    tensor = value.type.tensor_type
    if tensor.elem_type not in _TRITON_TYPES:
        raise ArtifactError(f"{source}: {value.name!r} has ONNX element type "
                            f"{TensorProto.DataType.Name(tensor.elem_type)}, which Triton "
                            "cannot serve; re-export")
    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
    if not dims or dims[0] != -1:
        raise ArtifactError(f"{source}: {value.name!r} has shape {dims}, without the dynamic "
                            "batch axis Triton batches on; re-export")
    return TensorSpec(value.name, _TRITON_TYPES[tensor.elem_type], tuple(dims[1:]),
                      tensor.elem_type)


@dataclass(frozen=True)
class _Shape:
    """What the helper graphs need: frames per sequence, embedding width, tensor types."""

    max_frames: int
    embed_dim: int
    frame_embeddings: TensorSpec  # the encoder's output
    embeddings: TensorSpec  # the head's inputs
    mask: TensorSpec
    ir_version: int
    opset: int


def _shape(encoder: _Served, head: _Served) -> _Shape:
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
    return _Shape(embeddings.dims[0], embeddings.dims[1], frame_embeddings, embeddings, mask,
                  ir_version=head.graph.ir_version, opset=opset)


def _model_files(served: Dict[str, _Served], shape: _Shape,
                 config: TritonRepositoryConfig) -> Dict[str, Union[bytes, str]]:
    """Relative path -> content of every file of the repository."""
    units = {ENCODER: shape.max_frames, HEAD: 1}
    files: Dict[str, Union[bytes, str]] = {}
    for part, model in served.items():
        files[f"{part}/{VERSION}/{model.file_name}"] = model.payload
        files[f"{part}/{CONFIG}"] = render(_batched_config(model, units[part], config))
    files[f"{PAD_MODEL}/{VERSION}/model.onnx"] = pad_embeddings_graph(shape).SerializeToString()
    files[f"{PAD_MODEL}/{CONFIG}"] = render(_pad_config(shape))
    files[f"{SEQUENCE_ENSEMBLE}/{CONFIG}"] = render(_sequence_ensemble(served))
    files[f"{WINDOW_MODEL}/{VERSION}/model.onnx"] = track_window_graph(shape).SerializeToString()
    files[f"{WINDOW_MODEL}/{CONFIG}"] = render(_window_config(shape, config))
    files[f"{STREAM_ENSEMBLE}/{CONFIG}"] = render(_stream_ensemble(served, shape))
    return files


# --- config.pbtxt ------------------------------------------------------------------------

class Enum(str):
    """A protobuf enum value: written bare in text format, not quoted."""


Message = Dict[str, object]


def render(message: Message, indent: int = 0) -> str:
    """`message` in protobuf text format: dicts are messages, lists of dicts repeated
    messages (and map entries), lists of scalars repeated scalars."""
    pad = "  " * indent
    lines = []
    for name, value in message.items():
        if isinstance(value, dict):
            lines += [f"{pad}{name} {{", render(value, indent + 1), f"{pad}}}"]
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            items = [f"{pad}  {{\n{render(item, indent + 2)}\n{pad}  }}" for item in value]
            lines += [f"{pad}{name} [", ",\n".join(items), f"{pad}]"]
        elif isinstance(value, list):
            lines.append(f"{pad}{name}: [{', '.join(_scalar(v) for v in value)}]")
        else:
            lines.append(f"{pad}{name}: {_scalar(value)}")
    return "\n".join(lines) + ("\n" if indent == 0 else "")


def _scalar(value: object) -> str:
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def _tensors(specs: Sequence[TensorSpec], lead: Tuple[int, ...] = ()) -> List[Message]:
    return [{"name": s.name, "data_type": Enum(s.data_type), "dims": [*lead, *s.dims]}
            for s in specs]


_ON_GPU = [{"kind": Enum("KIND_GPU"), "count": 1}]


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
        "instance_group": _ON_GPU,
        "dynamic_batching": {
            "preferred_batch_size": _preferred(unit, config.max_sequences),
            "max_queue_delay_microseconds": config.max_queue_delay_us,
        },
    }


def _pad_config(shape: _Shape) -> Message:
    return {
        "name": PAD_MODEL,
        "platform": ONNX_PLATFORM,
        "max_batch_size": 0,
        "input": _tensors([_renamed(shape.frame_embeddings, FRAME_EMBEDDINGS)], (-1,)),
        "output": _tensors([shape.embeddings, shape.mask], (1,)),
        "instance_group": _ON_GPU,
    }


def _window_config(shape: _Shape, config: TritonRepositoryConfig) -> Message:
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
        "instance_group": _ON_GPU,
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


def _stream_ensemble(served: Dict[str, _Served], shape: _Shape) -> Message:
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


# --- the helper graphs -------------------------------------------------------------------

def _constant(name: str, values: object, elem_type: int) -> TensorProto:
    dtype = helper.tensor_dtype_to_np_dtype(elem_type)
    return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)


def _cast(source: str, target: str, from_type: int, to_type: int) -> List[onnx.NodeProto]:
    if from_type == to_type:
        return [helper.make_node("Identity", [source], [target])]
    return [helper.make_node("Cast", [source], [target], to=to_type)]


def _model(graph: onnx.GraphProto, shape: _Shape) -> onnx.ModelProto:
    """Stamped with the head graph's IR version and opset: whatever ONNX Runtime serves the
    head serves these."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", shape.opset)],
                              producer_name="jersey-edge")
    model.ir_version = shape.ir_version
    onnx.checker.check_model(model)
    return model


def pad_embeddings_graph(shape: _Shape) -> onnx.ModelProto:
    """frame_embeddings [n,E] (1 <= n <= T) -> embeddings [1,T,E] right-padded with zeros and
    mask [1,T] (1 = real frame). More than T frames fail in the node named for it."""
    t, e = shape.max_frames, shape.embed_dim
    emb, mask = shape.embeddings.elem_type, shape.mask.elem_type
    nodes = [
        *_cast(FRAME_EMBEDDINGS, "rows", shape.frame_embeddings.elem_type, emb),
        helper.make_node("Shape", ["rows"], ["n"], start=0, end=1),
        helper.make_node("Sub", ["max_frames", "n"], ["missing"]),
        helper.make_node("Concat", ["missing", "embed_dim"], ["padding_shape"], axis=0),
        helper.make_node("ConstantOfShape", ["padding_shape"], ["padding"],
                         name=f"padding_fails_for_more_than_{t}_frames",
                         value=_constant("zero", [0], emb)),
        helper.make_node("Concat", ["rows", "padding"], ["padded"], axis=0),
        helper.make_node("Unsqueeze", ["padded", "axis0"], [EMBEDDINGS]),
        helper.make_node("Less", ["slots", "n"], ["real"]),
        helper.make_node("Cast", ["real"], ["real_slots"], to=mask),
        helper.make_node("Unsqueeze", ["real_slots", "axis0"], [MASK]),
    ]
    constants = [
        _constant("max_frames", [t], TensorProto.INT64),
        _constant("embed_dim", [e], TensorProto.INT64),
        _constant("axis0", [0], TensorProto.INT64),
        _constant("slots", np.arange(t), TensorProto.INT64),
    ]
    graph = helper.make_graph(
        nodes, PAD_MODEL,
        [helper.make_tensor_value_info(FRAME_EMBEDDINGS, shape.frame_embeddings.elem_type,
                                       ["frames", e])],
        [helper.make_tensor_value_info(EMBEDDINGS, emb, [1, t, e]),
         helper.make_tensor_value_info(MASK, mask, [1, t])],
        constants)
    return _model(graph, shape)


def track_window_graph(shape: _Shape) -> onnx.ModelProto:
    """One step of a track's window, batched over tracks: the new frame's embedding [b,E]
    and the window state [b,T,E] + mask [b,T] -> the next window and mask, given both as
    the head's inputs and as the next state.

    As `TrackStream._window_with`: the real frames come first; while fewer than T, the new
    one fills the next slot, then the oldest drops out. Zero state is an empty window.
    """
    t, e = shape.max_frames, shape.embed_dim
    emb, mask = shape.embeddings.elem_type, shape.mask.elem_type
    nodes = [
        *_cast(FRAME_EMBEDDINGS, "new_row", shape.frame_embeddings.elem_type, emb),
        helper.make_node("Unsqueeze", ["new_row", "axis1"], ["new_rows"]),
        helper.make_node("Concat", [WINDOW_IN, "new_rows"], ["extended"], axis=1),
        # count: real frames held; shift: 1 when the window is full and the oldest drops out
        helper.make_node("ReduceSum", [WINDOW_MASK_IN, "axis1"], ["count"], keepdims=1),
        helper.make_node("Add", ["count", "one"], ["grown"]),
        helper.make_node("Sub", ["grown", "max_frames"], ["overflow"]),
        helper.make_node("Max", ["overflow", "zero"], ["shift"]),
        helper.make_node("Sub", ["grown", "shift"], ["new_count"]),
        helper.make_node("Sub", ["new_count", "one"], ["new_slot"]),
        # slot s of the next window reads slot s + shift of the old one, the new frame
        # (extended slot T) at new_slot, and anything past new_count is zeroed below
        helper.make_node("Less", ["slots", "new_slot"], ["kept"]),
        helper.make_node("Add", ["slots", "shift"], ["moved"]),
        helper.make_node("Where", ["kept", "moved", "max_frames"], ["source_slot"]),
        helper.make_node("Cast", ["source_slot"], ["source_index"], to=TensorProto.INT64),
        helper.make_node("Unsqueeze", ["source_index", "axis2"], ["source_column"]),
        helper.make_node("Shape", [WINDOW_IN], ["window_shape"]),
        helper.make_node("Expand", ["source_column", "window_shape"], ["gather_index"]),
        helper.make_node("GatherElements", ["extended", "gather_index"], ["gathered"], axis=1),
        helper.make_node("Less", ["slots", "new_count"], ["real"]),
        helper.make_node("Cast", ["real"], ["next_mask"], to=mask),
        helper.make_node("Unsqueeze", ["next_mask", "axis2"], ["next_mask_column"]),
        *_cast("next_mask_column", "keep", mask, emb),
        helper.make_node("Mul", ["gathered", "keep"], ["next_window"]),
        helper.make_node("Identity", ["next_window"], [EMBEDDINGS]),
        helper.make_node("Identity", ["next_window"], [WINDOW_OUT]),
        helper.make_node("Identity", ["next_mask"], [MASK]),
        helper.make_node("Identity", ["next_mask"], [WINDOW_MASK_OUT]),
    ]
    constants = [
        _constant("axis1", [1], TensorProto.INT64),
        _constant("axis2", [2], TensorProto.INT64),
        _constant("one", [1], mask),
        _constant("zero", [0], mask),
        _constant("max_frames", [t], mask),
        _constant("slots", np.arange(t), mask),
    ]
    window: List[Union[str, int]] = ["tracks", t, e]
    graph = helper.make_graph(
        nodes, WINDOW_MODEL,
        [helper.make_tensor_value_info(FRAME_EMBEDDINGS, shape.frame_embeddings.elem_type,
                                       ["tracks", e]),
         helper.make_tensor_value_info(WINDOW_IN, emb, window),
         helper.make_tensor_value_info(WINDOW_MASK_IN, mask, ["tracks", t])],
        [helper.make_tensor_value_info(EMBEDDINGS, emb, window),
         helper.make_tensor_value_info(MASK, mask, ["tracks", t]),
         helper.make_tensor_value_info(WINDOW_OUT, emb, window),
         helper.make_tensor_value_info(WINDOW_MASK_OUT, mask, ["tracks", t])],
        constants)
    return _model(graph, shape)
