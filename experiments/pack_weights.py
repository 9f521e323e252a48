"""Pack a training checkpoint as shipped weights: FP16, no machine paths; prints its sha256.

    python experiments/pack_weights.py runs/pretrain/best.pt \
        jersey_edge/weights/jersey-lite0-synth.pt

Record the printed sha256 in jersey_edge/model/shipped.py (SHIPPED) and write the model
card beside the file.
"""

import sys
from pathlib import Path

from jersey_edge.model.net import pack_weights

if __name__ == "__main__":
    source, target = map(Path, sys.argv[1:3])
    print(pack_weights(source, target))
