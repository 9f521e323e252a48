"""`jersey-edge demo`: the whole main job on built-in synthetic data, resumable step by step.

synthesize → train (demo preset) → export --int8 --fp16 → evaluate → bench → predict →
track (a synthetic broadcast clip with its true tracks, as a tracker would hand them over).
Each step reuses what a previous (possibly interrupted) run left complete: the dataset
when synth.json exists, training through --resume, so re-running after a crash goes on.
"""

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .core.fileio import atomic_write_text
from .data.synth.config import DEFAULT_SEQUENCES
from .model.net import SYNTH_WEIGHTS

SYNTH_MANIFEST = "synth.json"
BENCH_BATCHES = (1, 4, 8, 16)
# Export has already measured every precision's accuracy on the whole test split; the bench
# only checks agreement with PyTorch, on fewer sequences, to keep the demo short.
BENCH_PARITY_SEQUENCES = 48


@dataclass(frozen=True)
class DemoPaths:
    data: Path = Path("data/synth")
    run: Path = Path("runs/demo")
    artifacts: Path = Path("artifacts")
    reports: Path = Path("reports")


@dataclass
class DemoSummary:
    seconds: Dict[str, float] = field(default_factory=dict)
    accuracy: Dict[str, float] = field(default_factory=dict)
    # 95% Wilson intervals of the PyTorch accuracies: a gap inside them is not a result.
    accuracy_ci95: Dict[str, Tuple[float, float]] = field(default_factory=dict)
    latency_ms: Dict[str, float] = field(default_factory=dict)
    predictions: List[Tuple[str, int, Optional[int], float]] = field(default_factory=list)
    tracking: Dict[str, Any] = field(default_factory=dict)
    files: Dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        return self.__dict__

    def table(self) -> Any:
        """The summary as a rich Table: what a user reads at the end of `make demo`."""
        from rich.table import Table

        table = Table(title="jersey-edge demo", show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column()
        for name, value in self.accuracy.items():
            interval = self.accuracy_ci95.get(name)
            shown = f"{100 * value:.1f}%" + (
                f"  (95% CI {100 * interval[0]:.1f}-{100 * interval[1]:.1f})" if interval else "")
            table.add_row(name, shown)
        if self.tracking:
            table.add_row("clip tracks read", f"{self.tracking['correct']} of "
                          f"{self.tracking['tracks']} ({self.tracking['abstained']} abstained)")
        for name, ms in self.latency_ms.items():
            table.add_row(f"latency, 1 sequence: {name}", f"{ms:.1f} ms")
        table.add_row("time", ", ".join(f"{k} {v:.0f} s" for k, v in self.seconds.items()))
        for name, path in self.files.items():
            table.add_row(name, path)
        return table


def run_demo(paths: DemoPaths = DemoPaths(), *, sequences: int = DEFAULT_SEQUENCES, seed: int = 0,
             init: str = SYNTH_WEIGHTS, bench_seconds: float = 1.5) -> DemoSummary:
    """`init`: the shipped weights (fine-tuned on the demo data, the `finetune` preset) or
    "imagenet" (trained from ImageNet weights, the `demo` preset)."""
    summary = DemoSummary()
    steps = (
        ("synthesize", lambda: _synthesize(paths, sequences, seed)),
        ("train", lambda: _train(paths, init)),
        ("export", lambda: _export(paths, summary)),
        ("evaluate", lambda: _evaluate(paths, summary)),
        ("bench", lambda: _bench(paths, summary, bench_seconds)),
        ("predict", lambda: _predict(paths, summary)),
        ("track", lambda: _track(paths, summary)),
    )
    for number, (name, step) in enumerate(steps, 1):
        print(f"\n== [{number}/{len(steps)}] {name} ==", flush=True)
        started = time.perf_counter()
        step()
        summary.seconds[name] = round(time.perf_counter() - started, 1)
    summary.seconds["total"] = round(sum(summary.seconds.values()), 1)
    summary.files["summary"] = str(paths.reports / "demo_summary.json")
    atomic_write_text(paths.reports / "demo_summary.json",
                      json.dumps(summary.to_dict(), indent=2, allow_nan=False) + "\n")
    return summary


def _synthesize(paths: DemoPaths, sequences: int, seed: int) -> None:
    from .data.synth import synthesize
    from .data.synth.writer import GENERATOR_VERSION

    manifest = paths.data / SYNTH_MANIFEST
    if manifest.is_file():
        try:
            version = json.loads(manifest.read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError, AttributeError):
            version = None
        print(f"reusing {paths.data} (delete it to regenerate)")
        if version != GENERATOR_VERSION:
            print(f"warning: {paths.data} was written by generator version {version}, this one "
                  f"is {GENERATOR_VERSION}: its numbers are not comparable with the README's; "
                  f"delete {paths.data} and {paths.run} to regenerate and retrain")
        return

    synthesize(paths.data, sequences=sequences, seed=seed)


def _train(paths: DemoPaths, init: str) -> None:
    from .train.config import preset
    from .train.loop import IMAGENET, train
    from .train.state import LAST

    resume = (paths.run / LAST).is_file()
    recipe = preset("demo" if init == IMAGENET else "finetune")
    train(paths.data, paths.run, config=recipe, init=init, resume=resume,
          on_epoch=lambda line: print(line, flush=True))


def _export(paths: DemoPaths, summary: DemoSummary) -> None:
    from rich.console import Console

    from .export.abstain import WARNING_PREFIX as ABSTAIN_WARNING
    from .export.int8.build import markdown_table
    from .export.pipeline import ExportOptions, export_model
    from .export.verify import render_parity

    # The demo shows every precision, also one that misses its target: it is published
    # marked "degraded" (warned about below and on load), where `jersey-edge export` refuses.
    report = export_model(paths.run / "best.pt", paths.artifacts, options=ExportOptions(
        fp16=True, int8=True, accept_degraded=True))
    if report.int8_report is not None:
        print(markdown_table(report.int8_report))
    Console().print(render_parity(report.parity))
    for warning in report.warnings:
        degraded = not warning.startswith(ABSTAIN_WARNING)
        print(f"warning: {warning}" + (" (published as degraded)" if degraded else ""))
    for row in report.parity:  # the graphs through the runtime on ONNX Runtime (CPU)
        if row.encoder and row.number_acc is not None:
            summary.accuracy[f"test number ({row.name} graphs)"] = row.number_acc
    summary.files["artifacts"] = str(paths.artifacts)


def _evaluate(paths: DemoPaths, summary: DemoSummary) -> None:
    from .train.evaluate import evaluate

    temporal = evaluate(paths.run / "best.pt", data_root=paths.data, out_dir=paths.reports)
    single = evaluate(paths.run / "best.pt", data_root=paths.data, max_frames=1,
                      out_dir=paths.reports)
    results = {"test number (16 frames, PyTorch)": (temporal.number_acc, temporal.number_ci95),
               "test number (anchor only, PyTorch)": (single.number_acc, single.number_ci95)}
    if temporal.heldout is not None:
        results["held-out combinations (16 frames)"] = (
            temporal.heldout["number_acc"], tuple(temporal.heldout["number_ci95"]))
    for name, (value, interval) in results.items():
        summary.accuracy[name] = value
        summary.accuracy_ci95[name] = (round(interval[0], 4), round(interval[1], 4))


def _bench(paths: DemoPaths, summary: DemoSummary, seconds: float) -> None:
    from rich.console import Console

    from .bench import plot, render_table, run_bench, write_json, write_markdown

    report = run_bench(paths.artifacts, batches=BENCH_BATCHES, warmup_s=seconds / 3,
                       duration_s=seconds, parity_limit=BENCH_PARITY_SEQUENCES)
    Console().print(render_table(report))
    for suffix, write in ((".json", write_json), (".md", write_markdown), (".png", plot)):
        target = paths.reports / f"bench{suffix}"
        write(report, target)
        summary.files[f"bench{suffix}"] = str(target)
    for row in report.rows:
        if row.batch == 1:
            summary.latency_ms[f"{row.backend} {row.precision}"] = row.p50_ms


def _predict(paths: DemoPaths, summary: DemoSummary, count: int = 5) -> None:
    from .data.discovery import discover
    from .runtime import Recognizer

    records = discover(paths.data / "heldout").records[:: 7][:count]
    with Recognizer.load(paths.artifacts, precision="int8") as rec:
        for record in records:
            prediction = rec.predict(list(record.frames))
            summary.predictions.append(
                (record.sequence, record.label, prediction.number, prediction.confidence))
            shown = "illegible" if prediction.number is None else prediction.number
            print(f"heldout/{record.sequence}: true {record.label}, predicted "
                  f"{shown} ({prediction.confidence:.2f})")


def _track(paths: DemoPaths, summary: DemoSummary) -> None:
    """Render the clip (once), then read every track from the true boxes, streaming."""
    from .core.fileio import atomic_write_text as write
    from .data.synth.clip import MANIFEST, TRACKS, VIDEO, synthesize_clip
    from .runtime import Recognizer
    from .video.mot import check_mot, iter_mot
    from .video.tracking import read_truth, score, track_video

    clip = paths.data.parent / "clip"
    if not (clip / VIDEO).is_file():
        synthesize_clip(clip)
    truth = read_truth(clip / MANIFEST)
    with Recognizer.load(paths.artifacts, precision="int8", warmup=True) as rec:
        check_mot(clip / TRACKS)
        run = track_video(rec, clip / VIDEO, iter_mot(clip / TRACKS),
                          annotate=paths.reports / "clip_tracked.mp4")
    run.accuracy = score(run, truth)
    write(paths.reports / "tracks.json", json.dumps(run.to_dict(), indent=1) + "\n")
    for track_id, result in sorted(run.tracks.items()):
        print(f"track {track_id}: true {truth.get(track_id)}, read {result.label}")
    accuracy = run.accuracy
    print(f"per-track accuracy {accuracy['correct']}/{accuracy['tracks']} "
          f"({accuracy['abstained']} without a legible number), "
          f"{run.frames_per_second:.1f} video frames/s")
    summary.tracking = {"tracks": accuracy["tracks"], "correct": accuracy["correct"],
                        "abstained": accuracy["abstained"],
                        "video_frames_per_s": round(run.frames_per_second, 1)}
    summary.files["tracks"] = str(paths.reports / "tracks.json")
    summary.files["clip_tracked"] = str(paths.reports / "clip_tracked.mp4")
