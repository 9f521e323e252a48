"""The report header: which machine, which threads, which library versions.

A latency number without its machine and thread count cannot be compared with anything;
this is read without importing torch or TensorRT (versions come from package metadata).
"""

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Dict, List, Optional

import numpy as np

from ..checks import installed_versions

PACKAGES = ("jersey-edge", "numpy", "pillow", "onnxruntime", "onnxruntime-gpu", "openvino",
            "onnx", "torch", "tensorrt", "pycuda")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith(("model name", "hardware")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_name() -> Optional[str]:
    """The GPU from nvidia-smi, or the Jetson module name (Jetsons have no nvidia-smi)."""
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20, check=True).stdout
            return ", ".join(line.strip() for line in out.splitlines() if line.strip()) or None
        except (OSError, subprocess.SubprocessError):
            return None
    model = Path("/proc/device-tree/model")
    if model.is_file():
        name = model.read_bytes().decode("utf-8", "replace").strip("\x00 \n")
        return name if "jetson" in name.lower() else None
    return None


def versions() -> Dict[str, str]:
    """Installed versions of the libraries that decide the numbers (absent ones left out)."""
    found = {"python": platform.python_version()}
    found.update({name: v for name, v in installed_versions(PACKAGES).items() if v is not None})
    return found


def blas() -> str:
    """numpy's BLAS, which the sgemm peak probe measures (numpy >= 1.25 reports it)."""
    import numpy as np

    try:
        return str(np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"])
    except (TypeError, KeyError):
        return "unknown"


def thread_settings(threads: int) -> Dict[str, Any]:
    """What each library was told; torch only if the torch rows imported it."""
    default = "library default"
    settings: Dict[str, Any] = {
        "requested": threads,
        "onnxruntime_intra_op": threads or f"{default} (one per physical core)",
        "onnxruntime_inter_op": 1,
        "sgemm_probe": threads or default,
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        settings["torch"] = torch.get_num_threads()
    return settings


def describe(threads: int, sgemm_gflops: Optional[float]) -> Dict[str, Any]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "machine": platform.machine(),
        "os": platform.platform(),
        "gpu": gpu_name(),
        "threads": thread_settings(threads),
        "blas": blas(),
        "sgemm_fp32_gflops": sgemm_gflops,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "cpu_governor": cpu_governor(),
        "versions": versions(),
    }


def cpu_governor() -> Optional[str]:
    """cpufreq's scaling governor ("performance", "powersave", ...); None where not exposed
    (VMs, containers): a powersave governor makes every latency number drift."""
    path = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    try:
        return path.read_text(encoding="ascii").strip()
    except OSError:
        return None


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
                [sys.executable, "-m", "jersey_edge.bench.system"], env=env, text=True,
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
