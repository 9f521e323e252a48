"""The machine's FP32 matrix-multiply rate (numpy sgemm): the roofline the encoder is held to.

Measured in a child process because BLAS reads its thread count from the environment once,
at load time; a child started with OPENBLAS/OMP/MKL_NUM_THREADS set is the only portable way
to probe with the same thread count as the benchmarked rows. The child stays up for the
whole run and times one short slice whenever asked: the bench asks at the start of every
timing round, so each round's encoder time has a peak measured under the same load (the
peak drifted from 162 to 215 GFLOP/s between two back-to-back runs here).
"""

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Dict, List, Optional

import numpy as np

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
SLICE_S = 0.2
MATRIX = 1024


@dataclass
class SgemmPeak:
    """Best-of GFLOP/s of each slice (the fastest repetition, not the median), per batch
    size whose rounds it was measured with."""

    slices: Dict[int, List[float]] = field(default_factory=dict)

    @property
    def peak(self) -> float:
        return float(np.median([v for values in self.slices.values() for v in values]))


class SgemmProbe:
    """The child process; `slice()` returns one slice's GFLOP/s, None once it failed (the
    benchmark reports the peak as unknown rather than stopping)."""

    def __init__(self, threads: int) -> None:
        env = dict(os.environ)
        if threads > 0:
            env.update({name: str(threads) for name in THREAD_VARIABLES})
        self._child: Optional[subprocess.Popen] = None
        try:
            self._child = subprocess.Popen(
                [sys.executable, "-m", "jersey_edge.bench.sgemm"], env=env, text=True,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError:
            self._child = None

    def slice(self) -> Optional[float]:
        if self._child is None:
            return None
        try:
            assert self._child.stdin is not None and self._child.stdout is not None
            self._child.stdin.write("slice\n")
            self._child.stdin.flush()
            return float(json.loads(self._child.stdout.readline())["gflops"])
        except (OSError, ValueError, KeyError, TypeError):
            self.close()
            return None

    def close(self) -> None:
        if self._child is not None:
            child, self._child = self._child, None
            child.kill()
            child.wait()


def best_gflops(a: np.ndarray, b: np.ndarray, duration_s: float) -> float:
    """Fastest a @ b within `duration_s` (at least one), as GFLOP/s."""
    best = float("inf")
    start = time.perf_counter()
    while time.perf_counter() - start < duration_s or best == float("inf"):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2.0 * a.shape[0] * a.shape[1] * b.shape[1] / best / 1e9


def serve(requests: IO[str], replies: IO[str], n: int = MATRIX,
          slice_s: float = SLICE_S) -> None:
    """One JSON line {"gflops": ...} per request line, until the requests end."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    a @ b  # warm-up: thread pool start, page faults
    for _ in requests:
        replies.write(json.dumps({"gflops": best_gflops(a, b, slice_s)}) + "\n")
        replies.flush()


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
