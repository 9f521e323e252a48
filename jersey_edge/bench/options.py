"""Checks of benchmark options, each failing with one line that says what to type instead."""

from typing import List, Optional, Sequence

from ..core.errors import InputError
from ..runtime.artifacts import PRECISIONS
from ..runtime.backends import BACKENDS

MAX_BATCH = 4096


def parse_batches(text: str) -> List[int]:
    """"1,4,8,16" -> [1, 4, 8, 16] (sorted, duplicates dropped)."""
    parts = [part.strip() for part in str(text).split(",")]
    try:
        values = [int(part) for part in parts]
    except ValueError:
        values = []
    if not values or any(not 1 <= v <= MAX_BATCH for v in values):
        raise InputError(f"batch sizes {text!r}: give comma-separated sizes 1-{MAX_BATCH}, "
                         "e.g. 1,4,8,16")
    return sorted(set(values))


def check_names(option: str, given: Optional[Sequence[str]], known: Sequence[str]) -> None:
    """A typo must not turn into a silently skipped row."""
    unknown = [name for name in given or () if name not in known]
    if unknown:
        raise InputError(f"{option}: unknown {', '.join(map(repr, unknown))}; "
                         f"use {', '.join(known)}")


def check_options(*, batches: Sequence[int], frames: int, max_frames: int, warmup_s: float,
                  duration_s: float, threads: int, parity_limit: object,
                  backends: Optional[Sequence[str]] = None,
                  precisions: Optional[Sequence[str]] = None) -> List[int]:
    """Validated batch sizes; InputError for anything a run could not honour."""
    check_names("backends", backends, BACKENDS)
    check_names("precisions", precisions, PRECISIONS)
    batches = parse_batches(",".join(str(b) for b in batches)) if batches else []
    if not batches:
        raise InputError("give at least one batch size, e.g. 1,4,8,16")
    if not 1 <= frames <= max_frames:
        raise InputError(f"frames per sequence must be 1-{max_frames} for these artifacts, "
                         f"got {frames}")
    if warmup_s < 0 or duration_s <= 0:
        raise InputError("warm-up must be >= 0 s and duration > 0 s")
    if threads < 0:
        raise InputError(f"threads must be >= 0 (0 = library default), got {threads}")
    if parity_limit is not None and (not isinstance(parity_limit, int) or parity_limit < 1):
        raise InputError(f"parity limit must be a positive number, got {parity_limit!r}")
    return batches
