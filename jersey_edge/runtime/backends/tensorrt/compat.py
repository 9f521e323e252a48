"""Everything that differs between TensorRT versions, and the checks TensorRT needs first.

Supported: TensorRT 8.5 (JetPack 5.1) through 11.x. What moved in that range, and where
this module absorbs it:

- 8.5 added the tensor-name API (`num_io_tensors`, `set_input_shape`, `set_tensor_address`,
  `execute_async_v3`) and 8.4 `set_memory_pool_limit`. Both are the floor of the range, so
  there is no fallback to the binding-index API or `max_workspace_size`.
- 8.x networks default to implicit batch, which ONNX cannot use: `EXPLICIT_BATCH` is
  required there; 10.0 made explicit batch the only mode (flag deprecated, ignored).
- 10.0 added `STRONGLY_TYPED` networks; 10.12 deprecated weak typing; 11 removed
  `BuilderFlag.FP16/INT8` and the implicit INT8 calibrators (deprecated since 10.1): every
  network is strongly typed and precision lives in the graph (FP16 tensors, Q/DQ nodes).
  So every build is strongly typed where the flag exists (NVIDIA: "use explicit quantization
  with strong typing"), weakly typed with precision flags on 8.x and for the implicit INT8
  calibration path only.

Capabilities are detected from attribute presence rather than version numbers wherever
possible, so point releases that move an API need no change here. `tensorrt` is imported
inside functions only: importing this module never loads TensorRT.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import re
import threading
from collections import deque
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from ....core.errors import BackendUnavailableError
from . import calibration_cache, cuda_driver

if TYPE_CHECKING:
    import tensorrt as trt

MIN_VERSION = (8, 5)

TENSORRT_MISSING = (
    "TensorRT is not installed: on a Jetson install it from JetPack "
    "(sudo apt install python3-libnvinfer), elsewhere pip install tensorrt"
)
PYCUDA_MISSING = (
    "pycuda is not installed: pip install pycuda (on a Jetson, with the CUDA toolkit on PATH)"
)
NO_GPU = (
    "no CUDA GPU found: TensorRT needs an NVIDIA GPU and its driver "
    "(on this machine use the onnxruntime backend)"
)

_log = logging.getLogger("jersey_edge.tensorrt")


def tensorrt_installed() -> bool:
    """A real TensorRT install, not just a folder of type stubs.

    The `tensorrt-stubs` distribution installs a bare `tensorrt/` folder of .pyi files, which
    Python imports as an empty namespace package; a real install has an `__init__.py`.
    """
    spec = importlib.util.find_spec("tensorrt")
    return spec is not None and spec.origin not in (None, "namespace")


def cuda_device_count() -> int:
    """CUDA devices the driver reports; 0 without a driver or GPU.

    Asks the driver API through ctypes, so the answer needs neither TensorRT nor pycuda and
    creates no CUDA context.
    """
    driver = cuda_driver.load_driver()
    count = ctypes.c_int(0)
    if driver is None or driver.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return 0
    return count.value


def version_tuple(text: str) -> Tuple[int, ...]:
    """'10.3.0.30' -> (10, 3, 0, 30); stops at the first part that is not a number."""
    parts: List[int] = []
    for piece in text.split("."):
        match = re.match(r"\d+", piece)
        if match is None:
            break
        parts.append(int(match.group()))
    return tuple(parts)


def tensorrt_version() -> Tuple[int, ...]:
    import tensorrt as trt

    return version_tuple(trt.__version__)


def runtime_available() -> bool:
    """TensorRT and pycuda importable and a CUDA GPU present (nothing is imported here)."""
    return (
        tensorrt_installed()
        and importlib.util.find_spec("pycuda") is not None
        and cuda_device_count() > 0
    )


def require_runtime() -> None:
    """What running engines needs (TensorRT, a GPU, pycuda), or one line saying what is missing."""
    require_tensorrt()
    if importlib.util.find_spec("pycuda") is None:
        raise BackendUnavailableError(PYCUDA_MISSING)


def require_tensorrt() -> None:
    """Raise BackendUnavailableError (one line, what to do) unless TensorRT can run here."""
    if not tensorrt_installed():
        raise BackendUnavailableError(TENSORRT_MISSING)
    try:
        version = tensorrt_version()
    except (ImportError, OSError) as exc:  # e.g. libnvinfer missing or for another CUDA
        raise BackendUnavailableError(
            f"TensorRT is installed but does not load ({exc}): reinstall it for this CUDA"
        ) from None
    if version[:2] < MIN_VERSION:
        raise BackendUnavailableError(
            f"TensorRT {'.'.join(map(str, version))} is too old: jersey-edge needs 8.5 or "
            "newer (JetPack 5.1+)"
        )
    if cuda_device_count() == 0:
        raise BackendUnavailableError(NO_GPU)


def weak_typing_available() -> bool:
    """True where builder flags can pick precision (TensorRT <= 10); 11 only builds strongly."""
    import tensorrt as trt

    return hasattr(trt.BuilderFlag, "FP16") and hasattr(trt.BuilderFlag, "INT8")


def strongly_typed_available() -> bool:
    """True where a network can be built strongly typed (TensorRT >= 10; 11 has no other kind,
    and may drop the then-redundant flag)."""
    import tensorrt as trt

    return (hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED")
            or not weak_typing_available())


def implicit_calibration_available() -> bool:
    """True where an INT8 calibrator (and its cache) can still drive an INT8 build."""
    import tensorrt as trt

    return weak_typing_available() and hasattr(trt, "IInt8EntropyCalibrator2")


def network_flags(*, strongly_typed: bool) -> int:
    """`create_network` flags: explicit batch on 8.x, the STRONGLY_TYPED flag where it exists."""
    import tensorrt as trt

    flags = 0
    if tensorrt_version()[0] < 10:
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    if strongly_typed and hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"):
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    return flags


def set_precision_flags(config: trt.IBuilderConfig, *, fp16: bool, int8: bool) -> None:
    """Enable FP16/INT8 kernels on a weakly typed build (never called for a strongly typed one,
    where the graph itself carries the precision: FP16 tensors, Q/DQ nodes)."""
    import tensorrt as trt

    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    if int8:
        config.set_flag(trt.BuilderFlag.INT8)


def attach_calibration_cache(
    config: trt.IBuilderConfig, profile: trt.IOptimizationProfile, table: bytes
) -> trt.IInt8Calibrator:
    """Implicit INT8 from a calibration cache alone: a calibrator that only replays the cache.

    Only on TensorRT <= 10 (the calibrator API was deprecated in 10.1, removed in 11). The
    calibrator has no data, so the cache must be one TensorRT accepts as is: see
    `calibration_cache.localize`. Returns the calibrator: the caller keeps it alive until the
    build is done.
    """
    import tensorrt as trt

    if not implicit_calibration_available():
        raise BackendUnavailableError(
            f"TensorRT {trt.__version__} has no implicit INT8 calibration (removed in 11): "
            "build int8 from the QDQ graph instead (without the calibration cache)"
        )
    table = calibration_cache.localize(table, tensorrt_version())

    class CacheCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)  # pybind11 needs the explicit call

        def get_batch_size(self) -> int:
            return 1

        def get_batch(self, names: List[str]) -> List[int]:
            return []  # no data: every scale comes from the cache

        def read_calibration_cache(self) -> bytes:
            return table

        def write_calibration_cache(self, cache: object) -> None:
            pass  # the export's cache stays as exported

    calibrator = CacheCalibrator()
    config.int8_calibrator = calibrator
    config.set_calibration_profile(profile)
    return calibrator


# TensorRT keeps one logger per process: the first one handed to a Builder or Runtime
# receives every later object's messages too, and the C++ side keeps calling it after the
# Python object that created it is gone. So the process has exactly one, never freed, and
# each builder or session collects its own errors through an IErrorRecorder instead.
_LOGGER: Optional[Any] = None
_LOGGER_LOCK = threading.Lock()
# Errors kept per recorder: enough for a message, bounded for a session that runs for days.
MAX_RECORDED_ERRORS = 32


def process_logger() -> trt.ILogger:
    """The one TensorRT logger of this process, forwarding to python logging."""
    global _LOGGER
    import tensorrt as trt

    with _LOGGER_LOCK:
        if _LOGGER is None:
            levels = {
                trt.ILogger.INTERNAL_ERROR: logging.CRITICAL,
                trt.ILogger.ERROR: logging.ERROR,
                trt.ILogger.WARNING: logging.WARNING,
                trt.ILogger.INFO: logging.INFO,
                trt.ILogger.VERBOSE: logging.DEBUG,
            }

            class Logger(trt.ILogger):
                def __init__(self) -> None:
                    trt.ILogger.__init__(self)  # pybind11 needs the explicit call

                def log(self, severity: trt.ILogger.Severity, msg: str) -> None:
                    level = levels.get(severity, logging.INFO)
                    if _log.isEnabledFor(level):
                        _log.log(level, "TensorRT: %s", msg)

            _LOGGER = Logger()
        return _LOGGER


def make_error_recorder() -> Any:
    """A fresh IErrorRecorder for one builder or runtime (objects made from it inherit it).

    Thread-safe (TensorRT may report from any thread), keeps the last MAX_RECORDED_ERRORS,
    and `messages()` gives them as text for error messages.
    """
    import tensorrt as trt

    class Recorder(trt.IErrorRecorder):
        def __init__(self) -> None:
            trt.IErrorRecorder.__init__(self)  # pybind11 needs the explicit call
            self._lock = threading.Lock()
            self._errors: deque[Tuple[trt.ErrorCodeTRT, str]] = deque(maxlen=MAX_RECORDED_ERRORS)
            self._dropped = False

        def clear(self) -> None:
            with self._lock:
                self._errors.clear()
                self._dropped = False

        def num_errors(self) -> int:
            with self._lock:
                return len(self._errors)

        def get_error_code(self, index: int) -> trt.ErrorCodeTRT:
            with self._lock:
                return self._errors[index][0]

        def get_error_desc(self, index: int) -> str:
            with self._lock:
                return str(self._errors[index][1])

        def has_overflowed(self) -> bool:
            with self._lock:
                return self._dropped

        def report_error(self, code: trt.ErrorCodeTRT, desc: str) -> bool:
            with self._lock:
                self._dropped = self._dropped or len(self._errors) == MAX_RECORDED_ERRORS
                self._errors.append((code, desc))
            _log.error("TensorRT: %s", desc)
            return False  # let TensorRT decide whether the call can go on

        def messages(self) -> List[str]:
            with self._lock:
                return [str(desc) for _, desc in self._errors]

    return Recorder()


def dims_tuple(dims: trt.Dims) -> Tuple[int, ...]:
    """A TensorRT Dims as a plain tuple (-1 marks a dynamic dimension)."""
    return tuple(int(dims[i]) for i in range(len(dims)))
