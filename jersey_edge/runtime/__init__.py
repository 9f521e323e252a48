"""Torch-free inference runtime: what the edge device embeds.

Imports only `jersey_edge.core`, numpy and Pillow here; onnxruntime / tensorrt / pycuda
are imported by the backend that needs them, when it is opened.
"""

from ..core.errors import (
    ArtifactError,
    BackendUnavailableError,
    DegradedPrecisionWarning,
    InputError,
    JerseyEdgeError,
)
from ..core.preprocess import PreprocessConfig
from .prediction import Prediction
from .recognizer import Recognizer
from .stream import TrackStream

__all__ = [
    "ArtifactError",
    "BackendUnavailableError",
    "DegradedPrecisionWarning",
    "InputError",
    "JerseyEdgeError",
    "Prediction",
    "PreprocessConfig",
    "Recognizer",
    "TrackStream",
]
