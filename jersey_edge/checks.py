"""`jersey-edge checks`: what this machine offers the model, the first thing a bug report needs
(as `yolo checks` is for Ultralytics).

Library versions, the CPU features INT8 inference depends on, the GPU and its driver. Never
raises and imports nothing that is absent: versions come from package metadata (torch is
never imported, its version is all this needs); ONNX Runtime and TensorRT are imported only
when installed, for their providers and version, and one that does not load says why.
"""

import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

from . import __version__

if TYPE_CHECKING:  # imported when probed: the runtime package loads numpy
    from .runtime.backends.tensorrt.cuda_driver import CudaDevice

# Library name -> the distributions that install it (the first one found is reported).
DISTRIBUTIONS: Sequence[Tuple[str, Sequence[str]]] = (
    ("numpy", ("numpy",)),
    ("torch", ("torch",)),
    ("torchvision", ("torchvision",)),
    ("onnx", ("onnx",)),
    ("onnxruntime", ("onnxruntime", "onnxruntime-gpu", "onnxruntime-openvino",
                     "onnxruntime-directml")),
    ("openvino", ("openvino",)),
    ("TensorRT", ("tensorrt",)),  # asked of the module itself: see `_tensorrt`
    ("pycuda", ("pycuda",)),
    ("PyAV", ("av",)),
)
# /proc/cpuinfo flags that decide which INT8 kernels ONNX Runtime runs (x86, then Arm).
CPU_FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_tile", "amx_int8",
             "asimddp", "i8mm")
NOT_INSTALLED = "not installed"

T = TypeVar("T")


@dataclass(frozen=True)
class Library:
    name: str
    version: Optional[str]  # None: not installed
    detail: str = ""  # the distribution, ONNX Runtime's providers, or why it does not load

    def describe(self) -> str:
        text = self.version or NOT_INSTALLED
        return f"{text} ({self.detail})" if self.detail else text


@dataclass(frozen=True)
class Cpu:
    model: str
    machine: str
    flags: Optional[Dict[str, bool]]  # CPU_FLAGS present; None where not readable (not Linux)
    int8_kernels: str  # which INT8 kernels ONNX Runtime's CPU provider runs here

    @property
    def vnni(self) -> Optional[bool]:
        """Whether ONNX Runtime's INT8 runs VNNI (or AMX) dot products here."""
        if self.flags is None:
            return None
        return any(self.flags[f] for f in ("avx512_vnni", "avx_vnni", "amx_int8"))


@dataclass(frozen=True)
class Checks:
    jersey_edge: str
    python: str
    os: str
    libraries: List[Library]
    cpu: Cpu
    cuda_driver: Optional[str]  # the CUDA version the driver supports; None: no driver
    gpus: List["CudaDevice"] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data["cpu"]["vnni"] = self.cpu.vnni
        return data

    def lines(self) -> List[str]:
        """The report as `name: value` lines, for people."""
        cpu = self.cpu
        if cpu.flags is None:
            flags = "unknown (no /proc/cpuinfo)"
        else:
            flags = " ".join(f for f, present in cpu.flags.items() if present) or "none of these"
            flags += f" (of {', '.join(CPU_FLAGS)})"
        lines = [f"jersey-edge: {self.jersey_edge}", f"python: {self.python}", f"os: {self.os}"]
        lines += [f"{lib.name}: {lib.describe()}" for lib in self.libraries]
        lines += [f"cpu: {cpu.model} ({cpu.machine})", f"cpu flags: {flags}",
                  f"onnxruntime int8 kernels: {cpu.int8_kernels}",
                  f"cuda driver: {self.cuda_driver or 'none'}"]
        lines += [f"gpu {gpu.index}: {gpu.name}, compute capability {gpu.compute_capability}, "
                  f"{gpu.memory_mib} MiB" for gpu in self.gpus] or ["gpu: none"]
        return lines


def package_version() -> str:
    """This package's version from its metadata (the source tree's when not installed)."""
    return installed_versions(["jersey-edge"])["jersey-edge"] or __version__


def run_checks() -> Checks:
    return Checks(
        jersey_edge=package_version(),
        python=f"{platform.python_version()} ({sys.executable})",
        os=platform.platform(),
        libraries=[_guarded(partial(_library, name, dists),
                            Library(name, None, "its metadata cannot be read"))
                   for name, dists in DISTRIBUTIONS],
        cpu=read_cpu(),
        cuda_driver=_guarded(_cuda_driver, None),
        gpus=_guarded(_gpus, []),
    )


def _library(name: str, distributions: Sequence[str]) -> Library:
    if name == "TensorRT":
        return _tensorrt()
    for dist in distributions:
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
        detail = dist if dist != distributions[0] else ""
        if name == "onnxruntime":
            detail = ", ".join(filter(None, [detail, _onnxruntime_providers()]))
        if name == "openvino":
            detail = _openvino_cpu()
        return Library(name, version, detail)
    return Library(name, None)


def _onnxruntime_providers() -> str:
    try:
        import onnxruntime

        return "providers: " + ", ".join(onnxruntime.get_available_providers())
    except Exception as exc:  # a broken install is what this report is for
        return f"does not load: {_one_line(exc)}"


def _openvino_cpu() -> str:
    """The CPU plugin's capabilities (BF16 there: bf16 inference runs natively), asked in a
    child process: OpenVINO's thread pool does not survive fork, so it stays out of the
    process that asks (the test suite's, a training script's)."""
    script = ("from jersey_edge.runtime.backends.openvino import cpu_capabilities; "
              "print(', '.join(cpu_capabilities()))")
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"does not load: {_one_line(exc)}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["exit status " + str(done.returncode)])[-1]
        return f"does not load: {' '.join(last.split())}"
    return "CPU plugin: " + done.stdout.strip()


def _tensorrt() -> Library:
    """TensorRT's own version: JetPack installs its bindings without package metadata."""
    from .runtime.backends.tensorrt import compat

    if not compat.tensorrt_installed():  # type stubs alone are not TensorRT
        return Library("TensorRT", None)
    try:
        import tensorrt

        return Library("TensorRT", str(tensorrt.__version__))
    except Exception as exc:
        return Library("TensorRT", "installed", f"does not load: {_one_line(exc)}")


def read_cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> Cpu:
    """The CPU's model and INT8-relevant flags from /proc/cpuinfo (Linux); elsewhere what
    `platform` knows, flags unknown."""
    try:
        fields = _first_processor(cpuinfo.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return Cpu(platform.processor() or platform.machine(), platform.machine(), None,
                   "unknown (no /proc/cpuinfo)")
    present = set((fields.get("flags") or fields.get("features") or "").split())
    flags = {flag: flag in present for flag in CPU_FLAGS}
    model = (fields.get("model name") or fields.get("hardware") or fields.get("cpu model")
             or platform.processor() or platform.machine())
    return Cpu(model, platform.machine(), flags, int8_kernels(flags))


def _first_processor(text: str) -> Dict[str, str]:
    """`key: value` fields of /proc/cpuinfo, the first value of each key (lower-case keys)."""
    fields: Dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip().lower(), value.strip())
    return fields


def int8_kernels(flags: Dict[str, bool]) -> str:
    """Which INT8 GEMM kernels ONNX Runtime's CPU provider (MLAS) picks with these flags."""
    if flags.get("amx_int8") and flags.get("amx_tile"):
        return "AMX (fastest)"
    if flags.get("avx512_vnni"):
        return "AVX512-VNNI"
    if flags.get("avx_vnni"):
        return "AVX-VNNI"
    if flags.get("avx512bw"):
        return "AVX512BW, no VNNI (vpmaddubsw: export's 7-bit weights avoid its saturation)"
    if flags.get("avx2"):
        return "AVX2, no VNNI (vpmaddubsw: export's 7-bit weights avoid its saturation)"
    if flags.get("i8mm"):
        return "Arm I8MM (smmla)"
    if flags.get("asimddp"):
        return "Arm dot product (sdot)"
    return "generic (no INT8 dot-product instructions found: INT8 may not beat FP32)"


def _cuda_driver() -> Optional[str]:
    from .runtime.backends.tensorrt import cuda_driver

    return cuda_driver.driver_version()


def _gpus() -> List["CudaDevice"]:
    from .runtime.backends.tensorrt import cuda_driver

    return cuda_driver.cuda_devices()


def _guarded(probe: Callable[[], T], fallback: T) -> T:
    """The probe's answer, or `fallback` if it fails in any way: checks never fail."""
    try:
        return probe()
    except Exception:
        return fallback


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def installed_versions(names: Sequence[str]) -> Dict[str, Optional[str]]:
    """Distribution name -> its version, None where it is not installed."""
    found: Dict[str, Optional[str]] = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found
