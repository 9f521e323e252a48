"""Label layout: a number 0-99 is read as two digits, tens (0-9 or blank) and ones (0-9).

Predicting digits separately lets the model read two-digit combinations it never saw.
"""

import re
from typing import Tuple

from .errors import InputError

BLANK = 10
NUM_TENS = 11
NUM_ONES = 10
MAX_NUMBER = 99


def number_to_digits(number: int) -> Tuple[int, int]:
    """7 -> (BLANK, 7); 48 -> (4, 8)."""
    if not 0 <= number <= MAX_NUMBER:
        raise InputError(f"jersey number must be 0-{MAX_NUMBER}, got {number}")
    return (BLANK if number < 10 else number // 10), number % 10


def digits_to_number(tens: int, ones: int) -> int:
    """(BLANK, 7) -> 7; (4, 8) -> 48; (0, 5) -> 5, since '05' is read as the number 5."""
    return ones if tens == BLANK else tens * 10 + ones


# ASCII digits only: '²' and '①' pass str.isdigit() but int() refuses them.
_CANONICAL_LABEL = re.compile(r"0|[1-9][0-9]?")


def parse_label(name: str) -> int:
    """Folder name -> number. Only canonical '0'..'99' are labels ('07' and '100' are not)."""
    if not _CANONICAL_LABEL.fullmatch(name):
        raise InputError(f"{name!r} is not a jersey-number label (expected 0-{MAX_NUMBER})")
    return int(name)


def label_layout() -> dict:
    """What travels in checkpoints and manifests so no one re-guesses the heads."""
    return {"tens_classes": NUM_TENS, "ones_classes": NUM_ONES, "blank_index": BLANK}
