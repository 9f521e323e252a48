"""The golden data again, in Polygraphy's JSON format: NVIDIA's own tool then checks an
engine on the device against the exported PyTorch outputs, without this package:

    polygraphy run encoder.fp16.engine --trt \\
        --load-inputs encoder.golden_inputs.json --load-outputs encoder.golden_outputs.json

Per part, the inputs file is a JSON list of feed dicts, one iteration per golden sequence
of the first POLYGRAPHY_SEQUENCES (the encoder: that sequence's real frames; the head: its
padded embeddings and mask, batch 1), so every iteration fits the engines' profiles. The
outputs file is a RunResults of one runner holding PyTorch FP32's outputs for each
iteration; the head's inputs are PyTorch's embeddings, so each part is judged on its own.

Written without Polygraphy, in the encoding its `polygraphy.json` reads (json/serde.py and
comparator/struct.py): an array is `{"array": <base64 of np.save bytes>, "polygraphy_class":
"ndarray"}`, an iteration `{"outputs", "runtime", "runner_name", "polygraphy_class":
"IterationResult"}`, the results `{"lst": [[runner, iterations]], "polygraphy_class":
"RunResults"}`. Same golden data, same bytes.
"""

import base64
import io
import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np

from ..core.fileio import atomic_write_text
from ..runtime.artifacts import (
    ATTENTION,
    EMBEDDINGS,
    FRAMES,
    MASK,
    ONES,
    PARTS,
    TENS,
    polygraphy_inputs_name,
    polygraphy_outputs_name,
)
from .golden import Golden

# Enough to check an engine; base64 JSON of frames is large (about 4 MB a sequence at
# 160x96 and 16 frames), and the folder is copied to the device.
POLYGRAPHY_SEQUENCES = 4
RUNNER = "pytorch-fp32"  # the runner name Polygraphy shows for the stored outputs
FILE_NAMES = tuple(name(part) for part in PARTS
                   for name in (polygraphy_inputs_name, polygraphy_outputs_name))

Feed = Dict[str, np.ndarray]


def part_iterations(golden: Golden, part: str) -> List[Tuple[Feed, Feed]]:
    """(inputs, PyTorch outputs) of `part` per golden sequence (the first
    POLYGRAPHY_SEQUENCES), in graph input/output order."""
    lengths = golden.lengths.tolist()[:POLYGRAPHY_SEQUENCES]
    if part == "encoder":
        return [({FRAMES: golden.frames[i, :n]}, {EMBEDDINGS: golden.embeddings[i, :n]})
                for i, n in enumerate(lengths)]
    batches_of_one = [slice(i, i + 1) for i in range(len(lengths))]
    return [({EMBEDDINGS: golden.embeddings[b], MASK: golden.mask[b]},
             {TENS: golden.tens_logits[b], ONES: golden.ones_logits[b],
              ATTENTION: golden.attention[b]})
            for b in batches_of_one]


def write_polygraphy_golden(golden: Golden, folder: Path) -> None:
    """Both parts' inputs and outputs files (FILE_NAMES) in `folder`, each atomically."""
    for part in PARTS:
        iterations = part_iterations(golden, part)
        inputs = [_feed(feed) for feed, _ in iterations]
        results = {"lst": [[RUNNER, [_iteration(outputs) for _, outputs in iterations]]],
                   "polygraphy_class": "RunResults"}
        for name, value in ((polygraphy_inputs_name(part), inputs),
                            (polygraphy_outputs_name(part), results)):
            atomic_write_text(Path(folder) / name, json.dumps(value) + "\n")


def _array(array: np.ndarray) -> Dict[str, str]:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return {"array": base64.b64encode(buffer.getvalue()).decode("ascii"),
            "polygraphy_class": "ndarray"}


def _feed(feed: Feed) -> Dict[str, Any]:
    return {name: _array(value) for name, value in feed.items()}


def _iteration(outputs: Feed) -> Dict[str, Any]:
    # runtime: Polygraphy's seconds per iteration, which stored outputs do not have.
    return {"outputs": _feed(outputs), "runtime": None, "runner_name": RUNNER,
            "polygraphy_class": "IterationResult"}
