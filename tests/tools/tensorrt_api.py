"""Which TensorRT names this package reaches, and whether a TensorRT release binds them.

The real Python bindings of each release are small wheels on PyPI (`tensorrt-bindings`,
`tensorrt-cu12-bindings`) that cannot be imported without NVIDIA's multi-GB libraries, but
their `tensorrt.so` holds every bound class, method, property and enum name as a string
(some only as the tail of a longer one: the linker merges string suffixes), and their
`__init__.py` the Python helpers (`nptype`, `volume`, `__version__`).

Used names are read from the TensorRT modules' source: every attribute name, minus the
names this package defines itself, the standard library's and numpy's, and pycuda's and
the CUDA driver's (listed below). A name this package also defines (say `shape`) is not
checked here; mypy against the 10.13 stubs covers those.
"""

import argparse
import ast
import builtins
import collections
import ctypes
import dataclasses
import datetime
import importlib.machinery
import importlib.util
import logging
import pathlib
import re
import shlex
import struct
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple

import numpy as np

PACKAGE = Path(__file__).resolve().parents[2] / "jersey_edge"
TENSORRT_MODULES = sorted((PACKAGE / "runtime" / "backends" / "tensorrt").glob("*.py"))

# The releases checked: JetPack 6.0 (8.6), JetPack 6.1/6.2 (10.3), the stubs' 10.13, and 11.
RELEASES = {
    (8, 6, 1): "tensorrt-bindings==8.6.1",
    (10, 3, 0): "tensorrt-cu12-bindings==10.3.0",
    (10, 13, 0): "tensorrt-cu12-bindings==10.13.0.35",
    (11, 4, 0): "tensorrt-cu12-bindings==11.4.0.106",
}

# pycuda and the CUDA driver API (through ctypes), the other libraries the modules call.
CUDA_NAMES = {
    "init", "Device", "retain_primary_context", "push", "pop", "detach", "Context", "Stream",
    "mem_alloc", "pagelocked_empty", "memcpy_htod_async", "memcpy_dtoh_async",
    "synchronize", "handle", "free", "Error", "cuInit", "cuDeviceGetCount",
    "cuDeviceGet", "cuDeviceGetAttribute", "cuDeviceGetName", "cuDriverGetVersion",
}

Version = Tuple[int, ...]
# Names the code reaches only on some releases, and on which: each mirrors a guard in
# runtime/backends/tensorrt/compat.py.
GUARDED: Dict[str, Callable[[Version], bool]] = {
    # network_flags: EXPLICIT_BATCH below 10 only; STRONGLY_TYPED only where
    # strongly_typed_available() found it (hasattr), so from 10 on
    "EXPLICIT_BATCH": lambda v: v < (10,),
    "STRONGLY_TYPED": lambda v: v >= (10,),
    # attach_calibration_cache: only where implicit_calibration_available() (below 11)
    "IInt8Calibrator": lambda v: v < (11,),
    "IInt8EntropyCalibrator2": lambda v: v < (11,),
    "int8_calibrator": lambda v: v < (11,),
    "set_calibration_profile": lambda v: v < (11,),
}


def used_names(modules: Iterable[Path]) -> Dict[str, List[str]]:
    """Attribute names the modules use that only TensorRT can provide -> where."""
    found: Dict[str, List[str]] = {}
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Attribute):
                found.setdefault(node.attr, []).append(f"{module.name}:{node.lineno}")
    others = _package_names() | _library_names() | CUDA_NAMES
    return {name: where for name, where in found.items() if name not in others}


def bound_names(wheel: Path) -> Callable[[str], bool]:
    """Whether the release in `wheel` binds a name."""
    with zipfile.ZipFile(wheel) as archive:
        binary = archive.read("tensorrt_bindings/tensorrt.so")
        helpers = ast.parse(archive.read("tensorrt_bindings/__init__.py").decode())
    defined = {n.name for n in ast.walk(helpers) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    defined |= {t.id for n in ast.walk(helpers) if isinstance(n, ast.Assign)
                for t in n.targets if isinstance(t, ast.Name)}

    def binds(name: str) -> bool:
        raw = name.encode()
        return (name in defined or raw + b"\x00" in binary
                or re.search(rb"(?<![A-Za-z0-9_])" + raw + rb"(?![A-Za-z0-9_])", binary)
                is not None)

    return binds


def missing(release: Version, binds: Callable[[str], bool],
            used: Dict[str, List[str]]) -> Dict[str, List[str]]:
    """Used names the release lacks, where the code can reach them on that release."""
    return {name: where for name, where in sorted(used.items())
            if GUARDED.get(name, lambda _: True)(release) and not binds(name)}


def download(spec: str, cache: Path) -> Optional[Path]:
    """The wheel for `spec` (cached), or None when PyPI cannot be reached."""
    name, _, version = spec.partition("==")
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    cached = sorted(cache.glob(pattern))
    if cached:
        return cached[0]
    cache.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
               "--only-binary=:all:", "--timeout", "20", "--retries", "1", spec, "-d",
               str(cache)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        return None
    found = sorted(cache.glob(pattern))
    return found[0] if done.returncode == 0 and found else None


def _package_names() -> Set[str]:
    """Every name this package defines: functions, classes, arguments, assigned names,
    `self.` attributes, dataclass fields, argparse destinations."""
    names: Set[str] = set()
    for module in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for sub in ast.walk(target):
                        if isinstance(sub, ast.Name):
                            names.add(sub.id)
                        elif isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) \
                                and sub.value.id == "self":  # not `config.x = ...`: TensorRT's
                            names.add(sub.attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value.startswith("--"):
                names.add(node.value[2:].replace("-", "_"))
    return names


def _library_names() -> Set[str]:
    objects = (builtins, str, bytes, list, dict, set, tuple, int, float, np, np.ndarray,
               np.dtype, logging, logging.Logger, threading, type(threading.Lock()), argparse,
               argparse.ArgumentParser, argparse.Namespace, pathlib.Path, time, sys, ctypes,
               ctypes.c_int, importlib.util, importlib.machinery.ModuleSpec, collections.deque,
               importlib, re, re.Match, struct, dataclasses, subprocess, logging.getLogger(),
               datetime, datetime.datetime, datetime.timezone, shlex)
    return {name for obj in objects for name in dir(obj)}
