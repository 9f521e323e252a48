"""Input shape ranges for the backends that compile engines (TensorRT, ONNX Runtime's
TensorRT provider): one place, so an engine built by `build-engine` and one built by ONNX
Runtime cover the same batches."""

from typing import Dict, Tuple

from ...core.errors import InputError
from ..artifacts import EMBEDDINGS, FRAMES, MASK, PARTS, Manifest

Shape = Tuple[int, ...]
ShapeRange = Tuple[Shape, Shape, Shape]  # min, opt, max
# Largest batch of sequences one call may run unless told otherwise.
DEFAULT_MAX_SEQUENCES = 16


def profile_shapes(manifest: Manifest, part: str, max_sequences: int) -> Dict[str, ShapeRange]:
    """Optimisation-profile (min, opt, max) shapes per input, from the manifest.

    The batch dimension is the only dynamic one. The optimum is one sequence (`max_frames`
    frames for the encoder, one sequence for the head: the streaming and single-prediction
    case); the maximum is `max_sequences` sequences. The time axis T is fixed to max_frames.
    """
    if max_sequences < 1:
        raise InputError(f"max_sequences must be at least 1, got {max_sequences}")
    frames = manifest.max_frames
    if part == "encoder":
        image = (3, manifest.preprocess.height, manifest.preprocess.width)
        return {FRAMES: ((1, *image), (frames, *image), (max_sequences * frames, *image))}
    if part == "head":
        embed = (frames, manifest.embed_dim)
        return {
            EMBEDDINGS: ((1, *embed), (1, *embed), (max_sequences, *embed)),
            MASK: ((1, frames), (1, frames), (max_sequences, frames)),
        }
    raise InputError(f"unknown part {part!r}: use {' or '.join(PARTS)}")
