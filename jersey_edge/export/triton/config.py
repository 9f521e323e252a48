"""What a Triton model config (`config.pbtxt`) is made of: the repository's names, the graphs'
inputs and outputs as Triton declares them, and protobuf text format. One place, so the
repository writer, its helper graphs and the tests agree."""

from dataclasses import dataclass
from typing import Dict, List, Tuple

import onnx
from onnx import TensorProto

from ...core.errors import ArtifactError
from ...runtime.artifacts import PARTS

# Where the models' instances run, and the serving-table target whose graphs they run. On a
# GPU (or "auto", which Triton places on one when it has one) ONNX Runtime runs the CUDA
# provider, which `graphs_for` counts as a TensorRT-compiled path, and engines are served
# where built; a CPU-only server runs ONNX Runtime's CPU graphs and never a TensorRT plan.
DEVICES = ("auto", "cpu", "gpu")
INSTANCE_KIND = {"auto": "KIND_AUTO", "cpu": "KIND_CPU", "gpu": "KIND_GPU"}
SERVING_TARGET = {"auto": "tensorrt", "cpu": "cpu", "gpu": "tensorrt"}
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


class Enum(str):
    """A protobuf enum value: written bare in text format, not quoted."""


Message = Dict[str, object]


def render(message: Message, indent: int = 0) -> str:
    """`message` in protobuf text format, as Triton reads `config.pbtxt`: dicts are messages,
    lists of dicts repeated messages (and map entries), lists of scalars repeated scalars."""
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
