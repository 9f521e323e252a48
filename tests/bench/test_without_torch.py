"""On a device without torch the benchmark still runs: runtime rows, parity on golden.npz;
and importing it loads neither torch nor matplotlib, only the rows and the plot that use them do."""

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import json, sys
    sys.modules["torch"] = None  # import torch now raises ImportError, as on a bare device
    from jersey_edge.bench import run_bench, write_json
    report = run_bench(sys.argv[1], batches=(1,), frames=4, warmup_s=0.02, duration_s=0.05,
                       backends=["onnxruntime"], precisions=["fp32", "int8"], progress=False)
    write_json(report, sys.argv[2])
    print(json.dumps({"torch": sys.modules.get("torch", "absent")}))
""")
# Every bench module, imported in a fresh interpreter.
IMPORT_ALL = textwrap.dedent("""
    import importlib, pkgutil, sys
    import jersey_edge.bench as bench
    for module in pkgutil.iter_modules(bench.__path__):
        importlib.import_module(f"jersey_edge.bench.{module.name}")
    print(sorted(name for name in ("torch", "matplotlib") if name in sys.modules))
""")


def test_importing_every_bench_module_loads_neither_torch_nor_matplotlib():
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_runtime_rows_and_golden_parity_without_torch(artifacts, tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(artifacts), str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"torch": None}
    report = json.loads(out.read_text())
    assert [(r["backend"], r["precision"]) for r in report["rows"]] == [
        ("onnxruntime", "fp32"), ("onnxruntime", "int8")]
    for row in report["rows"]:
        assert row["agreement"] is not None and row["max_abs_logit_diff"] is not None
        assert row["number_acc"] is not None
    assert "golden.npz" in report["inputs"]["parity reference"]
    assert any("torch not installed" in note for note in report["notes"])
    assert "torch" not in report["system"]["threads"]
    assert report["streaming"] is not None
