"""Synthetic jersey-number benchmark: tracker-like crops of players in broadcast video.

Layout written by `synthesize` (the real datasets' track layout)::

    OUT/<label>/<track>/<seq>/frame_000.jpg ... anchor.jpg
    OUT/heldout/<label>/<track>/<seq>/...       two-digit combinations never in the main pool
    OUT/synth.json                              generator version, seed, config, labels, counts

Modules, one job each: `config` (knobs, label sets), `fonts` (DejaVu, STIX and Computer
Modern faces from matplotlib), `style` (kit per track), `printing` (number/name texture),
`motion` (per-frame turn, zoom, blur, light, occlusion), `background`, `canvas` + `body` +
`render` (drawing a frame), `degrade` (camera and JPEG), `track` (sequences and anchors), `plan`
(which tracks exist), `writer` (disk layout, workers, synth.json).
"""

from .config import DEFAULT_HELDOUT, DEFAULT_SEQUENCES, SynthConfig
from .writer import SynthSummary, synthesize

__all__ = ["DEFAULT_HELDOUT", "DEFAULT_SEQUENCES", "SynthConfig", "SynthSummary", "synthesize"]
