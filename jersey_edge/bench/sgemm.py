"""The machine's FP32 matrix-multiply rate (numpy sgemm): the roofline the encoder is held to.

Measured in a child process because BLAS reads its thread count from the environment once,
at load time; a child started with OPENBLAS/OMP/MKL_NUM_THREADS set is the only portable way
to probe with the same thread count as the benchmarked rows.
"""

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from .timing import ROUNDS

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class SgemmPeak:
    """Best-of GFLOP/s in each of several time slices (the peak: the fastest repetition of
    a slice, not its median); their spread says how steady the machine was."""

    slices: List[float]

    @property
    def peak(self) -> float:
        return float(np.median(self.slices))


def measure(n: int = 1024, duration_s: float = 0.5, slices: int = ROUNDS) -> List[float]:
    """Best-of GFLOP/s of an n x n x n float32 matmul in this process, per slice of
    duration_s / slices."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    a @ b  # warm-up: thread pool start, page faults
    found = []
    for _ in range(slices):
        best = float("inf")
        start = time.perf_counter()
        while time.perf_counter() - start < duration_s / slices or best == float("inf"):
            t0 = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t0)
        found.append(2.0 * n**3 / best / 1e9)
    return found


def peak_gflops(threads: int, n: int = 1024, duration_s: float = 1.0) -> Optional[SgemmPeak]:
    """`measure` in a child process with `threads` BLAS threads (0 = BLAS default).
    None if the child fails (reported as unknown rather than stopping the benchmark)."""
    env = dict(os.environ)
    if threads > 0:
        env.update({name: str(threads) for name in THREAD_VARIABLES})
    command = [sys.executable, "-m", "jersey_edge.bench.sgemm", str(n), str(duration_s)]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120,
                              check=True)
        return SgemmPeak([float(v) for v in json.loads(done.stdout)["gflops"]])
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError):
        return None


if __name__ == "__main__":
    print(json.dumps({"gflops": measure(int(sys.argv[1]), float(sys.argv[2]))}))
