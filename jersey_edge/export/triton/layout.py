"""Names in a Triton model repository: models, files, platforms, and the tensors that exist
only there. One place, so the repository writer, its helper graphs and the tests agree."""

from ...runtime.artifacts import PARTS

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
