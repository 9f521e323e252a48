"""`jersey-edge checks` and `--version`: what the machine offers, never failing, importing
nothing absent or heavy."""

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from jersey_edge.checks import (
    DISTRIBUTIONS,
    NOT_INSTALLED,
    Checks,
    int8_kernels,
    read_cpu,
    run_checks,
)
from jersey_edge.runtime.backends.tensorrt import compat
from tests.test_bad_inputs import cli

EPYC = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9654 96-Core Processor
flags\t\t: fpu sse sse2 avx avx2 fma avx512f avx512bw avx512_vnni avx512_bf16
processor\t: 1
model name\t: another core, ignored
"""
SAPPHIRE_RAPIDS = ("model name\t: Intel(R) Xeon(R) Platinum 8480+\n"
                   "flags\t\t: avx2 avx512f avx512bw avx512_vnni avx_vnni amx_tile amx_int8\n")
ORIN = """processor\t: 0
BogoMIPS\t: 62.50
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimddp uscat
CPU implementer\t: 0x41
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    return path


def test_cpu_flags_and_int8_kernels_from_cpuinfo(tmp_path):
    cpu = read_cpu(write(tmp_path, EPYC))
    assert cpu.model == "AMD EPYC 9654 96-Core Processor"
    assert cpu.flags is not None and cpu.flags["avx512_vnni"] and not cpu.flags["amx_int8"]
    assert cpu.vnni is True and cpu.int8_kernels == "AVX512-VNNI"
    assert read_cpu(write(tmp_path, SAPPHIRE_RAPIDS)).int8_kernels.startswith("AMX")
    jetson = read_cpu(write(tmp_path, ORIN))
    assert jetson.vnni is False and jetson.int8_kernels == "Arm dot product (sdot)"


def test_a_cpu_without_vnni_says_so(tmp_path):
    cpu = read_cpu(write(tmp_path, "model name\t: Old Xeon\nflags\t\t: sse avx avx2\n"))
    assert cpu.vnni is False and cpu.int8_kernels.startswith("AVX2, no VNNI")
    assert int8_kernels({}).startswith("generic")


def test_without_cpuinfo_the_flags_are_unknown(tmp_path):
    cpu = read_cpu(tmp_path / "missing")
    assert cpu.flags is None and cpu.vnni is None and cpu.int8_kernels.startswith("unknown")
    report = Checks(jersey_edge="0", python="3", os="os", libraries=[], cpu=cpu, cuda_driver=None)
    assert "cpu flags: unknown (no /proc/cpuinfo)" in report.lines()
    assert report.lines()[-1] == "gpu: none"


def test_versions_are_the_installed_ones():
    checks = run_checks()
    libraries = {lib.name: lib for lib in checks.libraries}
    assert list(libraries) == [name for name, _ in DISTRIBUTIONS]
    assert libraries["numpy"].version == metadata.version("numpy")
    assert "CPUExecutionProvider" in libraries["onnxruntime"].detail
    if not compat.tensorrt_installed():  # the type stubs installed here are not TensorRT
        assert libraries["TensorRT"].version is None
        assert f"TensorRT: {NOT_INSTALLED}" in checks.lines()
    assert checks.jersey_edge == metadata.version("jersey-edge")


def test_absent_libraries_are_not_installed_and_nothing_heavy_is_imported():
    """torch and TensorRT made unimportable, pycuda's metadata gone: still a full report."""
    code = ("import sys, json; sys.modules['torch'] = None; sys.modules['tensorrt'] = None\n"
            "from importlib import metadata\n"
            "real = metadata.version\n"
            "def version(name):\n"
            "    if name in ('pycuda', 'av'):\n"
            "        raise metadata.PackageNotFoundError(name)\n"
            "    return real(name)\n"
            "metadata.version = version\n"
            "from jersey_edge.checks import run_checks\n"
            "report = run_checks().to_dict()\n"
            "loaded = [m for m in ('torch', 'torchvision', 'onnx', 'av') if sys.modules.get(m)]\n"
            "print(json.dumps({'report': report, 'loaded': loaded}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["loaded"] == []
    versions = {lib["name"]: lib["version"] for lib in result["report"]["libraries"]}
    assert versions["pycuda"] is None and versions["PyAV"] is None
    assert versions["torch"] == metadata.version("torch")  # from metadata, never imported


def test_checks_command_prints_lines_or_json(capsys):
    code, out, err = cli(capsys, "checks")
    assert code == 0, err
    assert out.splitlines()[0] == f"jersey-edge: {metadata.version('jersey-edge')}"
    assert any(line.startswith("onnxruntime int8 kernels: ") for line in out.splitlines())
    code, out, err = cli(capsys, "checks", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert {"python", "libraries", "cpu", "cuda_driver", "gpus"} <= set(report)
    assert "vnni" in report["cpu"]


def test_version_option(capsys):
    code, out, err = cli(capsys, "--version")
    assert (code, out, err) == (0, f"jersey-edge {metadata.version('jersey-edge')}\n", "")
