"""Which CUDA GPUs and driver this machine has, asked of the driver API through ctypes.

Like `compat.cuda_device_count`, this needs neither TensorRT, pycuda nor torch: `jersey-edge
checks` reports the GPU with it, and the engine builder records which GPU an engine was
built for. Every failure (no driver, no GPU, an old driver without a call) reads as "none".
"""

import ctypes
import sys
from dataclasses import dataclass
from typing import Any, List, Optional

# CUdevice_attribute values (cuda.h); stable since CUDA 6.5.
_COMPUTE_CAPABILITY_MAJOR = 75
_COMPUTE_CAPABILITY_MINOR = 76


@dataclass(frozen=True)
class CudaDevice:
    """One GPU as the driver numbers it (CUDA_VISIBLE_DEVICES applies, as for TensorRT)."""

    index: int
    name: str
    compute_capability: str  # "8.7"
    memory_mib: int


def load_driver() -> Optional[Any]:
    """The CUDA driver library, initialised; None without a driver (no context is made)."""
    names = ("nvcuda.dll",) if sys.platform == "win32" else ("libcuda.so.1", "libcuda.so")
    for name in names:
        try:
            driver = ctypes.CDLL(name)
        except OSError:
            continue
        return driver if driver.cuInit(0) == 0 else None
    return None


def driver_version() -> Optional[str]:
    """The CUDA version the driver supports ("12.4"), None without a driver."""
    driver = load_driver()
    version = ctypes.c_int(0)
    if driver is None or driver.cuDriverGetVersion(ctypes.byref(version)) != 0:
        return None
    return f"{version.value // 1000}.{version.value % 1000 // 10}"


def cuda_devices() -> List[CudaDevice]:
    """Every GPU the driver reports, in its order; empty without a driver or GPU."""
    driver = load_driver()
    count = ctypes.c_int(0)
    if driver is None or driver.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return []
    devices = []
    for index in range(count.value):
        device = _device(driver, index)
        if device is not None:
            devices.append(device)
    return devices


def _device(driver: Any, index: int) -> Optional[CudaDevice]:
    handle = ctypes.c_int(0)
    name = ctypes.create_string_buffer(256)
    major, minor = ctypes.c_int(0), ctypes.c_int(0)
    memory = ctypes.c_size_t(0)
    try:
        found = (driver.cuDeviceGet(ctypes.byref(handle), index) == 0
                 and driver.cuDeviceGetName(name, len(name), handle) == 0
                 and driver.cuDeviceGetAttribute(ctypes.byref(major), _COMPUTE_CAPABILITY_MAJOR,
                                                 handle) == 0
                 and driver.cuDeviceGetAttribute(ctypes.byref(minor), _COMPUTE_CAPABILITY_MINOR,
                                                 handle) == 0)
    except AttributeError:  # a driver without one of these calls
        return None
    if not found:
        return None
    total_memory = getattr(driver, "cuDeviceTotalMem_v2", None)
    if total_memory is None or total_memory(ctypes.byref(memory), handle) != 0:
        memory.value = 0
    return CudaDevice(index=index, name=name.value.decode("utf-8", "replace"),
                      compute_capability=f"{major.value}.{minor.value}",
                      memory_mib=memory.value >> 20)
