"""Run an encoder graph on frames and compare what it computes with the FP32 graph.

Every INT8 decision (bias correction, sensitivity, mixed precision) and the report are
measured here, on ONNX Runtime's CPU provider with its graph optimizations on, as parity is
(the same ones: `DISABLED_OPTIMIZERS` is off in both).
"""

from dataclasses import asdict, dataclass
from typing import Any, Dict, Iterator, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper

from ..runtime.artifacts import FRAMES
from ..runtime.backends.onnxruntime import DISABLED_OPTIMIZERS

BATCH = 16


def session(model: onnx.ModelProto) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    # Probes alternate between many short-lived sessions: idle spinning threads of one would
    # only slow the next.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"],
                                disabled_optimizers=list(DISABLED_OPTIMIZERS))


def with_outputs(model: onnx.ModelProto, names: Sequence[str]) -> onnx.ModelProto:
    """A copy of `model` that also returns the named float tensors."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    have = {o.name for o in out.graph.output}
    out.graph.output.extend(helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
                            for n in names if n not in have)
    return out


def run(model: onnx.ModelProto, frames: np.ndarray,
        names: Sequence[str]) -> Iterator[Dict[str, np.ndarray]]:
    """The named tensors (graph outputs or not), batch by batch."""
    sess = session(with_outputs(model, names))
    for start in range(0, len(frames), BATCH):
        values = sess.run(list(names), {FRAMES: frames[start:start + BATCH]})
        yield dict(zip(names, values))


def embeddings(model: onnx.ModelProto, frames: np.ndarray) -> np.ndarray:
    output = model.graph.output[0].name
    return np.concatenate([batch[output] for batch in run(model, frames, [output])])


def sqnr_db(signal_power: float, noise_power: float) -> float:
    """10·log10(signal/noise), capped at 200 dB for an exact match."""
    return float(10.0 * np.log10(max(signal_power, 1e-30) / max(noise_power, 1e-20)))


@dataclass(frozen=True)
class Fidelity:
    """How close a graph's embeddings are to the FP32 graph's, frame by frame."""

    frames: int
    cosine_mean: float
    cosine_min: float
    sqnr_db: float

    @classmethod
    def of(cls, reference: np.ndarray, test: np.ndarray) -> "Fidelity":
        ref, got = reference.astype(np.float64), test.astype(np.float64)
        norms = np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1)
        cos = (ref * got).sum(axis=1) / np.maximum(norms, 1e-12)
        return cls(frames=len(ref), cosine_mean=float(cos.mean()), cosine_min=float(cos.min()),
                   sqnr_db=sqnr_db(float((ref ** 2).sum()), float(((ref - got) ** 2).sum())))

    def meets(self, cosine_mean: float, cosine_min: float) -> bool:
        return self.cosine_mean >= cosine_mean and self.cosine_min >= cosine_min

    def to_dict(self) -> Dict[str, float]:
        return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in asdict(self).items()}
