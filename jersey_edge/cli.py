"""The `jersey-edge` command line: declarations over keyword-only library functions.

Each command parses its options, calls the library and prints what comes back. How errors,
Ctrl-C and warnings reach the terminal (one line; exit codes 2, 3 and 130) is
`cli_support`'s. Heavy modules are imported inside commands so `jersey-edge --help` and
`predict` stay fast and torch-free.
"""

import json
import sys
from enum import Enum
from pathlib import Path
from typing import List, Literal, Optional

import typer
from typing_extensions import Annotated

from . import cli_support, cli_train
from .cli_support import names
from .cli_train import DEFAULT_RUN, Seed
from .core.errors import DegradedExportError
from .data.synth.config import DEFAULT_SEQUENCES

app = typer.Typer(
    cls=cli_support.Commands,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    help="Train, export, run and benchmark a temporal jersey-number recognizer.",
)
# The commands that make a checkpoint (cli_train.py): train first in --help, as before; the
# `data` group, like every group, after the commands.
app.command()(cli_train.train)
app.add_typer(cli_train.data_app, name="data")

DEFAULT_ARTIFACTS = Path("artifacts")
DEFAULT_REPORTS = Path("reports")
Checkpoint = Annotated[Path, typer.Option("--checkpoint", help="Checkpoint to use.")]
CheckpointData = Annotated[Optional[Path], typer.Option(
    "--data-root", help="Dataset (default: the checkpoint's).")]
Artifacts = Annotated[Path, typer.Option("--artifacts", help="Export folder.")]
# The choices of each choice option, as --help lists them and parsing checks them (the
# commands receive the plain strings); tests/test_cli_choices.py holds each to the library's
# own list, which the CLI does not import: --help stays fast.
BackendName = Literal["auto", "tensorrt", "onnxruntime", "openvino"]
InferencePrecisionName = Literal["f32", "bf16"]
TritonDevice = Literal["auto", "cpu", "gpu"]
PrecisionName = Literal["fp32", "fp16", "int8"]
SplitName = Literal["train", "val", "test", "all"]
CalibMethod = Literal["percentile", "minmax", "entropy"]


class EnginePrecision(str, Enum):  # PrecisionName for a repeatable option: typer takes no
    fp32 = "fp32"                  # list of a Literal
    fp16 = "fp16"
    int8 = "int8"


Backend = Annotated[BackendName, typer.Option(
    "--backend", help="auto: TensorRT engines where built, else ONNX Runtime or OpenVINO, "
    "whichever is faster at the precision.")]
InferencePrecision = Annotated[InferencePrecisionName, typer.Option(
    "--inference-precision", help="OpenVINO's arithmetic: bf16 on CPUs with native BF16 "
    "(with --backend openvino).")]
Precision = Annotated[PrecisionName, typer.Option("--precision", help="Graphs to run.")]
Threads = Annotated[int, typer.Option("--threads", help="Intra-op threads (0 = default).")]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=cli_support.show_version, is_eager=True,
        help="Print the version and exit.")] = False,
) -> None:
    cli_support.setup_logging(debug)


@app.command()
def evaluate(
    checkpoint: Checkpoint = DEFAULT_RUN / "best.pt",
    data_root: CheckpointData = None,
    split: Annotated[SplitName, typer.Option(
        "--split", help="Split to evaluate; all: every sequence of the folder (e.g. your own "
        "labelled crops, scored with the shipped jersey-lite0-synth.pt).")] = "test",
    max_frames: Annotated[Optional[int], typer.Option(
        "--max-frames", help="1 = single-frame (anchor) baseline.")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write results here.")] = None,
    plots: Annotated[Path, typer.Option(
        "--plots", help="Folder for the confusion and coverage PNGs.")] = DEFAULT_REPORTS,
    artifacts: Annotated[Optional[Path], typer.Option(
        "--artifacts", help="Report accuracy at the abstain threshold this export stored "
                            "(default: one chosen on the split for 95% precision).")] = None,
) -> None:
    """Accuracy of a checkpoint on a split (temporal or single-frame)."""
    from .core.fileio import check_outputs
    from .train.evaluate import abstain_summary, stored_abstain_threshold
    from .train.evaluate import evaluate as run_evaluation

    check_outputs({"--json": json_out}, [checkpoint, data_root, artifacts])
    threshold = stored_abstain_threshold(artifacts) if artifacts is not None else None
    result = run_evaluation(checkpoint, data_root=data_root, split=split, max_frames=max_frames,
                            out_dir=plots, json_out=json_out, abstain_threshold=threshold)
    low, high = result.number_ci95
    typer.echo(f"{split} (max_frames={result.max_frames}, n={result.n}): number "
               f"{result.number_acc:.4f} (95% CI {low:.3f}-{high:.3f})  "
               f"tens {result.tens_acc:.4f}  ones {result.ones_acc:.4f}")
    if result.heldout is not None:
        low, high = result.heldout["number_ci95"]
        typer.echo(f"held-out combinations (n={result.heldout['n']}): number "
                   f"{result.heldout['number_acc']:.4f} (95% CI {low:.3f}-{high:.3f})")
    typer.echo(abstain_summary(result))


@app.command()
def export(
    checkpoint: Checkpoint = DEFAULT_RUN / "best.pt",
    out: Annotated[Path, typer.Option(
        "--out", help="Artifacts folder to (re)write.")] = DEFAULT_ARTIFACTS,
    data_root: CheckpointData = None,
    fp16: Annotated[bool, typer.Option("--fp16", help="Also write FP16 graphs.")] = False,
    int8: Annotated[bool, typer.Option(
        "--int8", help="Also write calibrated INT8 encoders.")] = False,
    calib_size: Annotated[int, typer.Option(
        "--calib-size", help="INT8 calibration frames (a warning below 300).")] = 500,
    calib_method: Annotated[CalibMethod, typer.Option(
        "--calib-method", help="How INT8 ranges are measured.")] = "percentile",
    calib_data: Annotated[Optional[Path], typer.Option(
        "--calib-data", help="Calibrate INT8 on the images in this folder of deployment crops "
        "(any depth, no labels) instead of the training split.")] = None,
    engine: Annotated[bool, typer.Option(
        "--engine", help="Also build TensorRT engines (needs a GPU).")] = False,
    accept_degraded: Annotated[bool, typer.Option(
        "--accept-degraded", help="Publish FP16/INT8 graphs that miss their parity target "
        "(marked degraded in the manifest).")] = False,
    abstain_precision: Annotated[float, typer.Option(
        "--abstain-precision", help="Abstain (\"no legible number\") below the confidence "
        "whose val predictions reach this precision; 0: never abstain.")] = 0.95,
) -> None:
    """Export encoder + head to ONNX (FP32/FP16/INT8) with golden outputs and a manifest."""
    from rich.console import Console

    from .export.abstain import describe as describe_abstain
    from .export.int8.build import markdown_table
    from .export.pipeline import ExportOptions, ExportReport, export_model
    from .export.verify import render_parity
    from .runtime.manifest import load_manifest

    def show(report: ExportReport) -> None:
        if report.int8_report is not None:
            typer.echo(markdown_table(report.int8_report))
        Console().print(render_parity(report.parity))

    try:
        report = export_model(checkpoint, out, data_root=data_root, options=ExportOptions(
            fp16=fp16, int8=int8, calib_size=calib_size, calib_method=calib_method,
            calib_data=calib_data, accept_degraded=accept_degraded,
            abstain_precision=abstain_precision))
    except DegradedExportError as exc:
        if isinstance(exc.details, ExportReport):
            show(exc.details)
        raise
    show(report)
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"wrote {len(report.files)} files to {report.out} in {report.seconds:.0f}s")
    section = load_manifest(report.out).abstain
    if section is not None:
        typer.echo(describe_abstain(section))
    if engine:
        from .runtime.backends.tensorrt.build import build_engines, set_build_verbosity

        set_build_verbosity(False)
        written = [path for precision in ["fp32"] + ["fp16"] * fp16 + ["int8"] * int8
                   for path in build_engines(out, precision=precision)]
        for path in written:
            typer.echo(f"wrote {path}")


@app.command("build-engine")
def build_engine(
    artifacts: Annotated[Path, typer.Option(
        "--artifacts", help="folder written by `jersey-edge export` (default artifacts)",
        show_default=False)] = DEFAULT_ARTIFACTS,
    precision: Annotated[Optional[List[EnginePrecision]], typer.Option(
        "--precision", help="fp32, fp16 and/or int8; repeatable (default fp16)")] = None,
    max_sequences: Annotated[int, typer.Option(
        "--max-sequences", help="largest batch of sequences per call (default 16)",
        show_default=False)] = 16,
    workspace_mb: Annotated[int, typer.Option(
        "--workspace-mb", help="TensorRT workspace limit in MiB (default 1024)",
        show_default=False)] = 1024,
    parts: Annotated[str, typer.Option(
        "--parts", help="comma-separated parts to build (default encoder,head)",
        show_default=False)] = "encoder,head",
    no_timing_cache: Annotated[bool, typer.Option(
        "--no-timing-cache", help="neither read nor write artifacts/timing.cache")] = False,
    calibration_cache: Annotated[bool, typer.Option(
        "--calibration-cache", help="int8 encoder from calibration.cache (TensorRT <= 10) "
        "instead of the QDQ graph")] = False,
    print_trtexec: Annotated[bool, typer.Option(
        "--print-trtexec", help="print the trtexec command of each engine and build nothing "
        "(needs no TensorRT or GPU)")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="show TensorRT's messages")] = False,
) -> None:
    """Build TensorRT engines from an artifacts folder, on the device that will run them."""
    from .runtime.backends.tensorrt.build import (
        BuildOptions,
        build_engines,
        set_build_verbosity,
        trtexec_lines,
    )

    options = BuildOptions(max_sequences=max_sequences, workspace_mb=workspace_mb,
                           timing_cache=not no_timing_cache, parts=tuple(names(parts) or ()),
                           use_calibration_cache=calibration_cache)
    precisions = [p.value for p in precision] if precision else ["fp16"]
    if print_trtexec:
        for line in trtexec_lines(artifacts, precisions, options):
            typer.echo(line)
        return
    set_build_verbosity(verbose)
    written = [path for precision in precisions
               for path in build_engines(artifacts, precision=precision, options=options)]
    for path in written:
        typer.echo(f"wrote {path}")


@app.command()
def bench(
    artifacts: Artifacts = DEFAULT_ARTIFACTS,
    batch: Annotated[str, typer.Option(
        "--batch", help="Sequences per call, e.g. 1,4,8,16.")] = "1,4,8,16",
    backends: Annotated[Optional[str], typer.Option(
        "--backends", help="Comma list of tensorrt, onnxruntime, openvino; default: all "
        "available.")] = None,
    precisions: Annotated[Optional[str], typer.Option(
        "--precisions", help="Comma list of fp32, fp16, int8; default: all exported. Add "
        "bf16 for OpenVINO's FP32 graphs in bf16 (CPUs with native BF16).")] = None,
    frames: Annotated[Optional[int], typer.Option(
        "--frames", help="Frames per sequence (default: the model's max_frames).")] = None,
    warmup: Annotated[float, typer.Option("--warmup", help="Warm-up seconds per row.")] = 1.0,
    duration: Annotated[float, typer.Option("--duration", help="Seconds timed per row.")] = 3.0,
    threads: Threads = 0,
    checkpoint: Annotated[Optional[Path], typer.Option(
        "--checkpoint", help="PyTorch reference (default: export's).")] = None,
    data_root: CheckpointData = None,
    parity_limit: Annotated[Optional[int], typer.Option(
        "--parity-limit", help="At most N test sequences for parity.")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write rows as JSON.")] = None,
    markdown: Annotated[Optional[Path], typer.Option("--markdown", help="Write Markdown.")] = None,
    plot_out: Annotated[Optional[Path], typer.Option("--plot", help="Write a PNG plot.")] = None,
) -> None:
    """Latency, throughput and accuracy parity of every backend and precision."""
    from rich.console import Console

    from .bench import parse_batches, plot, render_table, run_bench, write_json, write_markdown
    from .core.fileio import check_outputs

    check_outputs({"--json": json_out, "--markdown": markdown, "--plot": plot_out},
                  [artifacts, checkpoint, data_root])
    report = run_bench(artifacts, batches=parse_batches(batch), backends=names(backends),
                       precisions=names(precisions), frames=frames, warmup_s=warmup,
                       duration_s=duration, threads=threads, checkpoint=checkpoint,
                       data_root=data_root, parity_limit=parity_limit)
    Console().print(render_table(report))
    for target, write in ((json_out, write_json), (markdown, write_markdown), (plot_out, plot)):
        if target is not None:
            write(report, target)
            typer.echo(f"wrote {target}")


@app.command()
def triton(
    out: Annotated[Path, typer.Option("--out", help="Model repository folder to write.")],
    artifacts: Artifacts = DEFAULT_ARTIFACTS,
    precision: Precision = "fp32",
    max_batch: Annotated[int, typer.Option(
        "--max-batch", help="Sequences per head batch; the encoder batches max-batch x "
        "max_frames frames (engines: build with --max-sequences >= it).")] = 16,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty --out.")] = False,
    device: Annotated[TritonDevice, typer.Option(
        "--device", help="Where the models run: auto (a GPU where the server has one), cpu "
        "(the CPU graphs; Triton's CPU container) or gpu.")] = "auto",
) -> None:
    """Write a Triton Inference Server model repository (encoder, head, ensembles)."""
    from .export.triton import TritonRepositoryConfig, write_repository

    repository = write_repository(TritonRepositoryConfig(
        artifacts=artifacts, out=out, precision=precision, max_sequences=max_batch, force=force,
        device=device))
    for model in repository.models:
        typer.echo(f"{model.name}\t{model.platform}\t{model.source or 'written by jersey-edge'}")
    typer.echo(f"wrote {len(repository.models)} models ({repository.precision}) to "
               f"{repository.out}")


@app.command()
def demo(
    sequences: Annotated[int, typer.Option(
        "--sequences", help="Synthetic sequences.")] = DEFAULT_SEQUENCES,
    seed: Seed = 0,
    init: Annotated[str, typer.Option(
        "--init", help="Fine-tune the shipped jersey-lite0-synth.pt (the default), or "
        "imagenet: train from ImageNet weights (the demo preset, ~20 min).")
    ] = "jersey-lite0-synth.pt",
) -> None:
    """The main job on synthetic data: synth → train → export → evaluate → bench → predict."""
    from rich.console import Console

    from .demo import run_demo

    Console().print(run_demo(sequences=sequences, seed=seed, init=init).table())


@app.command()
def track(
    video: Annotated[Path, typer.Argument(help="Video file (anything FFmpeg decodes).")],
    boxes: Annotated[Path, typer.Option(
        "--boxes", help="Tracks in MOTChallenge format: frame,id,x,y,w,h,... (1-based frames).")],
    artifacts: Artifacts = DEFAULT_ARTIFACTS,
    backend: Backend = "auto",
    precision: Precision = "fp32",
    threads: Threads = 0,
    inference_precision: InferencePrecision = "f32",
    out: Annotated[Path, typer.Option(
        "--out", help="Per-track results (JSON).")] = Path("tracks.json"),
    annotate: Annotated[Optional[Path], typer.Option(
        "--annotate", help="Also write the video with boxes and numbers drawn (.mp4).")] = None,
    truth: Annotated[Optional[Path], typer.Option(
        "--truth", help="JSON of true numbers per track id (e.g. synth-video's clip.json): "
        "report per-track accuracy.")] = None,
    window: Annotated[Optional[int], typer.Option(
        "--window", help="Frames per answer (default: the model's max_frames).")] = None,
) -> None:
    """Read the jersey number of every track of a video, from a tracker's boxes."""
    from .runtime import Recognizer
    from .video.tracking import check_track_files, summary_lines, track_to_file

    expected = check_track_files(video, boxes, out, annotate=annotate, truth=truth,
                                 artifacts=artifacts)
    with cli_support.sigterm_as_interrupt(), Recognizer.load(
            artifacts, backend, precision, threads=threads, warmup=True,
            inference_precision=inference_precision) as rec:
        run = track_to_file(rec, video, boxes, out, annotate=annotate, truth=expected,
                            window=window)
    for line in summary_lines(run, out, annotate):
        typer.echo(line)


@app.command()
def predict(
    sequence_dirs: Annotated[List[Path], typer.Argument(
        help="Folders of frames, one per sequence.")],
    artifacts: Artifacts = DEFAULT_ARTIFACTS,
    backend: Backend = "auto",
    precision: Precision = "fp32",
    threads: Threads = 0,
    inference_precision: InferencePrecision = "f32",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Read the jersey number of each sequence folder with the exported model.

    A folder that cannot be read gets an `error:` line and the others go on; the exit code
    is then 2."""
    from .runtime import Recognizer
    from .runtime.folders import predict_folders

    failed = 0
    with Recognizer.load(artifacts, backend, precision, threads=threads,
                         inference_precision=inference_precision) as rec:
        for result in predict_folders(rec, sequence_dirs, as_json=as_json):
            if result.error is None:
                typer.echo(result.line(as_json))
            else:
                failed += 1
                typer.echo(f"error: {result.error}", err=True)
    if failed:
        raise typer.Exit(code=2)


@app.command("checks")
def checks_command(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object instead.")] = False,
) -> None:
    """Library versions, CPU features for INT8 and the GPU: what this machine offers."""
    from .checks import run_checks

    report = run_checks()
    typer.echo(json.dumps(report.to_dict(), indent=1) if as_json else "\n".join(report.lines()))


def main(argv: Optional[List[str]] = None) -> None:
    cli_support.run(app, sys.argv[1:] if argv is None else argv)
