"""Which INT8 encoder graph OpenVINO's CPU plugin runs best, beside ONNX Runtime.

Times the encoder alone on real golden frames (16 per call, one sequence), interleaved
round-robin, and reports the median [IQR] of per-round ratios to ORT FP32 plus each graph's
embedding cosine to the FP32 graph's. Usage:
    python experiments/openvino_int8_graph.py ARTIFACTS [--rounds 7] [--threads 2]
"""

import argparse
import time
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np
import onnxruntime as ort
import openvino as ov

from jersey_edge.runtime.manifest import load_manifest


def ort_call(data: bytes, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    return lambda frames: session.run(None, {"frames": frames})[0]


def ov_call(core: ov.Core, data: bytes, threads: int,
            hint: str) -> Callable[[np.ndarray], np.ndarray]:
    compiled = core.compile_model(core.read_model(data), "CPU", {
        "INFERENCE_PRECISION_HINT": hint, "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_NUM_THREADS": threads})
    request = compiled.create_infer_request()
    return lambda frames: request.infer({0: frames})[0].copy()


def time_ms(call: Callable[[np.ndarray], np.ndarray], frames: np.ndarray, seconds: float) -> float:
    laps: List[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(laps) < 5:
        start = time.perf_counter()
        call(frames)
        laps.append((time.perf_counter() - start) * 1e3)
    return float(np.median(laps))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return float(np.mean((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("artifacts", type=Path)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    manifest = load_manifest(args.artifacts)
    golden = np.load(args.artifacts / "golden.npz")
    real = golden["frames"][golden["mask"] > 0.5]
    frames = np.ascontiguousarray(real[:manifest.max_frames], dtype=np.float32)
    core = ov.Core()
    calls: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "ORT encoder.onnx": ort_call(manifest.read("encoder.onnx"), args.threads),
        "ORT encoder.int8.cpu.onnx": ort_call(manifest.read("encoder.int8.cpu.onnx"), args.threads),
        "OV f32 encoder.onnx": ov_call(core, manifest.read("encoder.onnx"), args.threads, "f32"),
        "OV bf16 encoder.onnx": ov_call(core, manifest.read("encoder.onnx"), args.threads, "bf16"),
        "OV f32 encoder.int8.cpu.onnx": ov_call(core, manifest.read("encoder.int8.cpu.onnx"),
                                                args.threads, "f32"),
        "OV f32 encoder.int8.onnx": ov_call(core, manifest.read("encoder.int8.onnx"),
                                            args.threads, "f32"),
    }
    reference = calls["ORT encoder.onnx"](real)
    fidelity = {name: cosine(reference, call(real)) for name, call in calls.items()}
    rounds: Dict[str, List[float]] = {name: [] for name in calls}
    for _ in range(args.rounds):
        for name, call in calls.items():
            rounds[name].append(time_ms(call, frames, args.seconds))
    base = np.array(rounds["ORT encoder.onnx"])
    print(f"{'graph':32} {'ms p50':>8} {'vs ORT FP32 [IQR]':>22} {'cosine':>8}")
    for name, times in rounds.items():
        ratios = base / np.array(times)
        q1, med, q3 = np.percentile(ratios, [25, 50, 75])
        print(f"{name:32} {np.median(times):8.1f} {med:9.2f}x [{q1:.2f}-{q3:.2f}] "
              f"{fidelity[name]:8.4f}")


if __name__ == "__main__":
    main()
