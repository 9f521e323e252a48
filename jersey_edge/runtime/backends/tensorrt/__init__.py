"""The TensorRT wing: engines built on the device (`build`), run by `session`, across the
TensorRT versions `compat` absorbs, with the INT8 `calibration_cache` export writes.

Importing this package loads neither TensorRT nor pycuda; a session or a build does.
"""

from dataclasses import dataclass

from ...artifacts import PARTS, graphs_for
from ...manifest import Manifest
from ..base import Backend, Session
from . import compat


@dataclass(frozen=True)
class TensorRTOptions:
    device_id: int = 0  # CUDA device the engines run on (Recognizer.load's `device`)


class TensorRTBackend(Backend):
    """Opens the engines of an artifacts folder (`graphs_for(precision, "tensorrt")`)."""

    name = "tensorrt"

    def __init__(self, options: TensorRTOptions = TensorRTOptions()) -> None:
        compat.require_runtime()
        self.device_id = options.device_id

    def can_serve(self, manifest: Manifest, precision: str) -> bool:
        serving = graphs_for(precision, "tensorrt")
        return all(manifest.has(serving.engine(part)) for part in PARTS)

    def _open(self, manifest: Manifest, part: str, precision: str) -> Session:
        from .session import TensorRTSession

        name = graphs_for(precision, "tensorrt").engine(part)
        return TensorRTSession(manifest.read(name), name=str(manifest.path(name)),
                               device_id=self.device_id)
