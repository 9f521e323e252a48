"""Per-frame legibility scores: a sidecar the synthetic generator writes beside each sequence.

`legibility.json` holds {"frames": [score per frame file, in frame order]}, each 0-1 (how
much of the least-shown digit is visible, times camera quality). With `legibility_weight`
above 0, training weights each frame's digit loss by it and shows the attention which frames
to prefer (train/legibility_loss.py). Real datasets have no sidecar; their frames all count
fully. A sidecar that does not fit its folder (wrong count, values outside 0-1) is ignored,
never fatal. Torch-free: discovery reads it, and discovery serves the bench without torch.
"""

import json
import math
from pathlib import Path
from typing import Dict, Optional, Sequence

LEGIBILITY = "legibility.json"


def read_legibility(folder: Path, frame_names: Sequence[str]) -> Optional[Dict[str, float]]:
    """Frame file name -> score from `folder`'s sidecar, None where there is none or it does
    not fit: one score per name of `frame_names` (every frame file of the folder, in order)."""
    path = folder / LEGIBILITY
    try:
        scores = json.loads(path.read_text(encoding="utf-8"))["frames"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(scores, list) or len(scores) != len(frame_names):
        return None
    if not all(isinstance(s, (int, float)) and not isinstance(s, bool) and math.isfinite(s)
               and 0.0 <= s <= 1.0 for s in scores):
        return None
    return dict(zip(frame_names, (float(s) for s in scores)))
