"""What the generator is asked to make: the config dataclass and the label sets.

Held-out numbers are two-digit combinations never rendered into the main pool; because the
model reads tens and ones separately, reading them at test time measures whether it learned
digits rather than memorised 92 pictures of numbers.
"""

import operator
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

from jersey_edge.core.digits import MAX_NUMBER
from jersey_edge.core.errors import InputError

# Eight different tens digits and eight different ones digits; every digit still appears in
# both positions in the main pool, as do the reversals (71, 82, 35, 97 ...).
DEFAULT_HELDOUT: Tuple[int, ...] = (17, 28, 30, 46, 53, 65, 79, 92)
# Main-pool sequences of `data synth` and the demo, sized for the demo's ~20 CPU-minutes.
# Data limits the model more than epochs do (generator v3, demo recipe, 12 epochs): 2000 ->
# 29-35% test, 6000 -> 66.0%; 4000 in 6 epochs (the same compute) stayed at 34% val.
DEFAULT_SEQUENCES = 2000
SHARES = ("block_digits", "drop_shadow", "two_tone", "distractors", "interlace", "stadium_light")


@dataclass(frozen=True)
class SynthConfig:
    """Knobs of the generator; the whole object is written to synth.json.

    `difficulty` (0-1) moves every per-sequence degradation at once: smaller crops, more
    turning away, blur, occlusion, noise, low resolution and lower JPEG quality. The default
    0.55 aims at the benchmark's intended balance: nearly every sequence shows each digit
    clearly in *some* frame, while a good share of single frames (and some anchors) do not,
    so temporal fusion should beat the best single view by several points.

    The shares below set how often each kind of variety appears (0 turns it off): they add
    looks real footage has, each one no easier to read than the plain case.
    """

    difficulty: float = 0.55
    frames: Tuple[int, int] = (4, 24)
    width: Tuple[int, int] = (40, 140)
    aspect: Tuple[float, float] = (1.6, 2.2)
    jpeg_quality: Tuple[int, int] = (30, 90)
    sequences_per_track: Tuple[int, int] = (1, 3)
    block_digits: float = 0.4  # kits with procedural block numerals instead of a font
    drop_shadow: float = 0.2  # numbers with an offset shadow in a trim colour
    two_tone: float = 0.15  # numbers whose lower part is filled in a second colour
    distractors: float = 0.6  # passing players who show a number of their own
    interlace: float = 0.12  # sequences from interlaced sources (combing on motion)
    stadium_light: float = 0.3  # clips under tinted floodlights (sodium, LED, fluorescent)
    box_jitter: float = 1.0  # scale of the tracker's frame-to-frame box jitter and slips

    def validate(self) -> None:
        if not 0.0 <= self.difficulty <= 1.0:
            raise InputError(f"difficulty must be within 0-1, got {self.difficulty}")
        for name in SHARES:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InputError(f"{name} must be a share within 0-1, got {getattr(self, name)}")
        if not 0.0 <= self.box_jitter <= 3.0:
            raise InputError(f"box_jitter must be within 0-3, got {self.box_jitter}")
        for name in ("frames", "width", "aspect", "jpeg_quality", "sequences_per_track"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise InputError(f"config {name} must be a (low, high) range with 0 < low <= high")
        if self.frames[0] < 2 or self.jpeg_quality[1] > 95:
            raise InputError("config needs at least 2 frames a sequence and JPEG quality <= 95")


def resolve_labels(
    labels: Optional[Sequence[int]], heldout: Optional[Sequence[int]]
) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    """Return sorted (main labels, held-out labels) after checking they are usable.

    Without `labels`, the main pool is every number 0-99 not held out. Without `heldout`,
    the defaults are used, minus any the main labels already contain or cannot support.
    """
    if heldout is None:
        held = DEFAULT_HELDOUT if labels is None else _supported(DEFAULT_HELDOUT, labels)
    else:
        held = tuple(heldout)
    held = _checked_numbers(held, "held-out")
    main = tuple(n for n in range(MAX_NUMBER + 1) if n not in held) if labels is None else labels
    main = _checked_numbers(main, "label")
    if not main:
        raise InputError("no labels left to generate; give at least one label 0-99")
    clash = sorted(set(main) & set(held))
    if clash:
        raise InputError(f"labels {clash} are both in the main labels and held out; pick one")
    for number in held:
        if number < 10:
            raise InputError(f"held-out label {number} must be two-digit (10-99)")
    unsupported = [n for n in held if n not in _supported((n,), main)]
    if unsupported:
        raise InputError(
            f"held-out labels {unsupported} need their tens digit seen as a tens digit and "
            "their ones digit seen as a ones digit among the main labels; add labels or "
            "drop them from the held-out set"
        )
    return main, held


def _supported(candidates: Sequence[int], main: Sequence[int]) -> Tuple[int, ...]:
    tens = {n // 10 for n in main if n >= 10}
    ones = {n % 10 for n in main}
    return tuple(n for n in candidates if n not in main and n // 10 in tens and n % 10 in ones)


def _checked_numbers(numbers: Sequence[int], what: str) -> Tuple[int, ...]:
    out = []
    for number in numbers:
        try:
            value = operator.index(number)
        except TypeError:
            value = -1
        if isinstance(number, bool) or not 0 <= value <= MAX_NUMBER:
            raise InputError(f"{what} {number!r} is not a jersey number (expected 0-{MAX_NUMBER})")
        out.append(value)
    if len(set(out)) != len(out):
        raise InputError(f"{what}s contain duplicates: {sorted(out)}")
    return tuple(sorted(out))
