#!/usr/bin/env bash
# The device check for a lent GPU machine (issue 17), one script, under 5 minutes:
#   bash tests/device/check.sh        (from the repository root, with .venv or python3)
# It writes its log to $OUT/device-check.log (the device tool's folder) or ./. Nothing is
# downloaded. Sections that need what the machine lacks (TensorRT, pycuda, torch) say so
# and go on: every line of the log is a real result.
set -u
OUT="${OUT:-.}"
PY="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
WORK="$OUT/device-check"
mkdir -p "$WORK"
section() { echo; echo "== $1 ($(date +%T))"; }
{
section "inventory"
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 | head -3
"$PY" - <<'PYEOF'
import importlib, importlib.util, sys
print("python", sys.version.split()[0])
for name in ("torch", "tensorrt", "pycuda", "onnxruntime", "onnx", "numpy", "PIL"):
    if importlib.util.find_spec(name) is None:
        print(f"{name}: absent")
        continue
    try:
        module = importlib.import_module(name)
        print(f"{name}: {getattr(module, '__version__', '?')}")
    except Exception as exc:  # a broken install is a finding too
        print(f"{name}: does not import ({exc})")
try:
    import onnxruntime as ort
    print("onnxruntime providers:", ort.get_available_providers())
except ImportError:
    pass
PYEOF

section "tiny export (needs torch)"
timeout 120 "$PY" -m tests.tools.tiny_export "$WORK/tiny" > "$WORK/tiny-export.log" 2>&1 \
    && echo "written: $WORK/tiny" || { echo "failed:"; tail -3 "$WORK/tiny-export.log"; }
ART="$WORK/tiny/run/artifacts"

section "engines (needs TensorRT + pycuda)"
timeout 120 "$PY" -m jersey_edge build-engine --artifacts "$ART" \
    --precision fp32 --precision fp16 --precision int8 2>&1 | tail -5

section "gpu- and trt-marked tests"
JERSEY_EDGE_TINY_EXPORT="$WORK/tiny" timeout 150 "$PY" -m pytest -q -m "trt or gpu" -ra \
    tests/runtime tests/bench 2>&1 | tail -15

section "probes: one logger, threads, close from another thread, ORT TensorRT provider"
ART="$ART" timeout 120 "$PY" - <<'PYEOF'
import os, threading
from concurrent.futures import ThreadPoolExecutor
import numpy as np
from jersey_edge.runtime import Recognizer
from jersey_edge.runtime.artifacts import GOLDEN

art = os.environ["ART"]
with np.load(os.path.join(art, GOLDEN)) as golden:
    sequences = [f[:n] for f, n in zip(golden["frames"], golden["lengths"])]
    reference = list(zip(golden["tens_logits"].argmax(1), golden["ones_logits"].argmax(1)))

def agreement(rec):
    """Share of golden sequences read with PyTorch FP32's tens and ones digits."""
    found = rec.predict_preprocessed(sequences)
    return float(np.mean([(p.tens_probs.argmax(), p.ones_probs.argmax()) == r
                          for p, r in zip(found, reference)]))

for backend, providers in (("tensorrt", None),
                           ("onnxruntime", ["TensorrtExecutionProvider",
                                            "CUDAExecutionProvider", "CPUExecutionProvider"]),
                           ("onnxruntime", ["CUDAExecutionProvider", "CPUExecutionProvider"])):
    for precision in ("fp32", "fp16", "int8"):
        label = f"{backend} {providers[0] if providers else ''} {precision}"
        try:
            rec = Recognizer.load(art, backend=backend, precision=precision,
                                  providers=providers)
        except Exception as exc:
            print(f"{label}: not loaded: {exc}")
            continue
        try:
            print(f"{label}: device {rec.device}, digits as PyTorch on golden {agreement(rec):.3f}")
            with ThreadPoolExecutor(4) as pool:
                runs = list(pool.map(lambda _: agreement(rec), range(8)))
            print(f"{label}: 8 calls from 4 threads agree {min(runs):.3f}-{max(runs):.3f}")
        except Exception as exc:
            print(f"{label}: failed: {exc}")
        closer = threading.Thread(target=rec.close)
        closer.start()
        closer.join()
        print(f"{label}: closed from another thread")
from jersey_edge.runtime.backends.tensorrt import compat
try:
    print("one process logger:", compat.process_logger() is compat.process_logger())
except ImportError as exc:
    print("logger probe skipped:", exc)
PYEOF
section "done"
} 2>&1 | tee "$OUT/device-check.log"
