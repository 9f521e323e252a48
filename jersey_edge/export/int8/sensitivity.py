"""Where INT8 hurts, node by node, and which nodes to leave in float (mixed precision).

For each quantized node of a QDQ encoder:
  * input SQNR: its quantized activation inputs against their own float values in the same
    graph (the noise this node's quantizers add, on calibration frames);
  * gain when float: how many dB the encoder's output SQNR against FP32 rises when only this
    node is left in float (`qdq_graph.leave_float`), on probe frames.
Mixed precision then leaves nodes in float greedily, largest gain first, keeping a node only
if it raises the output SQNR, until the fidelity target holds or `max_float_nodes` is spent.
"""

from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import onnx

from ..probe import Fidelity, embeddings, run, sqnr_db
from .qdq_graph import leave_float, op_types, quantized_nodes

Progress = Optional[Callable[[int], None]]


@dataclass(frozen=True)
class MixedPrecisionConfig:
    """Fidelity the INT8 encoder must reach on probe frames before nodes stop being freed.

    Stricter than export's acceptance on golden frames (0.99 / 0.95) so that an unseen split
    still meets it; at most `max_float_nodes` are left in float to keep INT8's speed.
    Per-target defaults: `build.DEFAULT_MIXED`.
    """

    cosine_mean: float = 0.995
    cosine_min: float = 0.97
    max_float_nodes: int = 6
    min_gain_db: float = 0.05  # a node whose freeing gains less is noise, not sensitivity


@dataclass
class NodeSensitivity:
    node: str
    op_type: str
    input_sqnr_db: Optional[float]
    gain_when_float_db: float
    left_float: bool = False

    def to_dict(self) -> Dict[str, object]:
        return asdict(self)


def input_sqnr(qdq: onnx.ModelProto, frames: np.ndarray) -> Dict[str, float]:
    """Node -> SQNR (dB) of its worst quantized activation input, within the QDQ graph."""
    producer = {o: n for n in qdq.graph.node for o in n.output}
    weights = {i.name for i in qdq.graph.initializer}
    probes: Dict[str, List[Tuple[str, str]]] = {}
    for name in quantized_nodes(qdq):
        node = next(n for n in qdq.graph.node if n.name == name)
        for value in node.input:
            dq = producer.get(value)
            if dq is None or dq.op_type != "DequantizeLinear":
                continue
            q = producer.get(dq.input[0])
            if q is None or q.input[0] in weights:
                continue  # a weight's Q/DQ pair, not an activation
            probes.setdefault(name, []).append((q.input[0], value))
    pairs = sorted({pair for plist in probes.values() for pair in plist})
    names = sorted({n for pair in pairs for n in pair})
    power = {pair: [0.0, 0.0] for pair in pairs}
    for batch in run(qdq, frames, names):
        for source, dequantized in pairs:
            ref = batch[source].astype(np.float64)
            power[(source, dequantized)][0] += float((ref ** 2).sum())
            power[(source, dequantized)][1] += float(((ref - batch[dequantized]) ** 2).sum())
    return {node: min(sqnr_db(*power[pair]) for pair in plist) for node, plist in probes.items()}


def measure(qdq: onnx.ModelProto, fp32: onnx.ModelProto, reference: np.ndarray,
            probe_frames: np.ndarray, calib_frames: np.ndarray,
            progress: Progress = None) -> List[NodeSensitivity]:
    """Every quantized node's sensitivity, most sensitive first."""
    base = Fidelity.of(reference, embeddings(qdq, probe_frames)).sqnr_db
    local = input_sqnr(qdq, calib_frames)
    kinds = op_types(qdq)
    rows = []
    for name in quantized_nodes(qdq):
        freed = Fidelity.of(reference, embeddings(leave_float(qdq, fp32, [name]), probe_frames))
        rows.append(NodeSensitivity(node=name, op_type=kinds[name],
                                    input_sqnr_db=_rounded(local.get(name)),
                                    gain_when_float_db=round(freed.sqnr_db - base, 3)))
        if progress is not None:
            progress(1)
    return sorted(rows, key=lambda r: -r.gain_when_float_db)


def choose_float_nodes(qdq: onnx.ModelProto, fp32: onnx.ModelProto, reference: np.ndarray,
                       probe_frames: np.ndarray, ranking: Sequence[NodeSensitivity],
                       config: MixedPrecisionConfig) -> Tuple[List[str], List[Dict[str, object]]]:
    """Greedy mixed precision; returns the float nodes and the fidelity after each step."""
    chosen: List[str] = []
    current = Fidelity.of(reference, embeddings(qdq, probe_frames))
    steps: List[Dict[str, object]] = [{"float_nodes": [], **current.to_dict()}]
    for row in ranking:
        if current.meets(config.cosine_mean, config.cosine_min):
            break
        if len(chosen) == config.max_float_nodes or row.gain_when_float_db < config.min_gain_db:
            break
        trial = Fidelity.of(reference,
                            embeddings(leave_float(qdq, fp32, chosen + [row.node]), probe_frames))
        if trial.sqnr_db <= current.sqnr_db:
            continue
        chosen.append(row.node)
        current = trial
        steps.append({"float_nodes": list(chosen), **current.to_dict()})
    for row in ranking:
        row.left_float = row.node in chosen
    return chosen, steps


def _rounded(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 2)
