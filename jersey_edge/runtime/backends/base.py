"""The backend interface: load a graph once, run named numpy inputs -> named numpy outputs.

One small class per backend (ONNX Runtime, TensorRT) implements it; nothing else in the
package branches on which backend it is.
"""

import abc
from typing import Dict, List, Tuple

import numpy as np

Feed = Dict[str, np.ndarray]


class Session(abc.ABC):
    """One loaded graph (encoder or head) on one backend."""

    #: name of the backend, e.g. "onnxruntime" or "tensorrt"
    backend: str = ""
    #: provider/device details for reports, e.g. "CPUExecutionProvider"
    device: str = ""

    @property
    @abc.abstractmethod
    def input_names(self) -> List[str]:
        """Names of the graph inputs, in graph order."""

    @abc.abstractmethod
    def run(self, feed: Feed) -> Dict[str, np.ndarray]:
        """Run the graph on float32 inputs; return float32 outputs by name."""

    def max_batch(self) -> int:
        """Largest leading dimension one call accepts (engines have profile limits)."""
        return 1 << 30

    def close(self) -> None:  # noqa: B027 - optional hook, most sessions free on GC
        """Release device memory and handles. Idempotent."""

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_feed(feed: Feed, expected: Dict[str, Tuple[int, ...]]) -> None:
    """Refuse inputs of wrong name, rank, trailing shape, dtype or with NaN/Inf.

    `expected` maps input name -> shape with -1 for dynamic dimensions.
    """
    from ...core.errors import InputError

    if sorted(feed) != sorted(expected):
        raise InputError(f"expected inputs {sorted(expected)}, got {sorted(feed)}")
    for name, shape in expected.items():
        arr = feed[name]
        if not isinstance(arr, np.ndarray) or arr.dtype != np.float32:
            raise InputError(f"input {name!r} must be a float32 numpy array")
        if arr.ndim != len(shape) or any(
            want not in (-1, got) for want, got in zip(shape, arr.shape)
        ):
            raise InputError(f"input {name!r} has shape {arr.shape}, expected {shape}")
        if not np.isfinite(arr).all():
            raise InputError(f"input {name!r} contains NaN or Inf")
