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

Where the models run is `device`: "auto" (Triton's KIND_AUTO, the default), "cpu" or "gpu".
Which graph or engine serves each part comes from the serving table: `graphs_for` with
target "tensorrt" on a GPU or auto (Triton runs ONNX Runtime's CUDA provider, and TensorRT
plans where the export folder lists engines for the precision), target "cpu" on a CPU-only
server (ONNX Runtime's CPU graphs; never a plan). Every config's names, dims and dtypes are
read from the ONNX graphs themselves; the repository is built beside `out` and swapped in
whole.
"""

from .config import PAD_MODEL, SEQUENCE_ENSEMBLE, STREAM_ENSEMBLE, WINDOW_MODEL
from .repository import TritonRepository, TritonRepositoryConfig, WrittenModel, write_repository

__all__ = [
    "PAD_MODEL",
    "SEQUENCE_ENSEMBLE",
    "STREAM_ENSEMBLE",
    "WINDOW_MODEL",
    "TritonRepository",
    "TritonRepositoryConfig",
    "WrittenModel",
    "write_repository",
]
