"""Torch-free inference runtime: embed this on the edge device.

Imports only numpy and Pillow here; onnxruntime / tensorrt / pycuda are imported by the
backend that needs them, when it is opened.
"""

from .errors import (
    ArtifactError,
    BackendUnavailableError,
    CheckpointError,
    DatasetError,
    InputError,
    JerseyEdgeError,
)
from .prediction import Prediction
from .preprocess import PreprocessConfig
from .recognizer import Recognizer
from .stream import TrackStream

__all__ = [
    "ArtifactError",
    "BackendUnavailableError",
    "CheckpointError",
    "DatasetError",
    "InputError",
    "JerseyEdgeError",
    "Prediction",
    "PreprocessConfig",
    "Recognizer",
    "TrackStream",
]
