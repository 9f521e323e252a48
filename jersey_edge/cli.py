"""The `jersey-edge` command line: thin wrappers over keyword-only library functions.

Every library error is a `JerseyEdgeError`; `main` turns it into one line on stderr and
exit code 2, and so does `_Commands` with usage errors (an unknown option, a value outside
an option's choices). Anything else is a bug: one line and exit code 3. Ctrl-C: one line
and 130.
--debug shows the traceback instead of the one line. Heavy modules are imported inside
commands so `jersey-edge --help` and `predict` stay fast and torch-free.
"""

import contextlib
import json
import logging
import signal
import sys
import threading
import warnings
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Iterator,
    List,
    Literal,
    NoReturn,
    Optional,
    Tuple,
    Union,
)

import typer
from PIL import Image
from typer.core import TyperGroup
from typing_extensions import Annotated

from .core.errors import DegradedExportError, InputError, JerseyEdgeError
from .data.synth.config import DEFAULT_SEQUENCES

try:  # typer vendors click from 0.26 on
    from typer._click.exceptions import UsageError
except ImportError:  # older typer runs on click itself
    from click.exceptions import UsageError  # type: ignore[assignment, no-redef]

if TYPE_CHECKING:
    from .runtime.prediction import Prediction

DEFAULT_DATA = Path("data/synth")
DEFAULT_RUN = Path("runs/demo")
DEFAULT_ARTIFACTS = Path("artifacts")
DEFAULT_REPORTS = Path("reports")
PREDICT_CHUNK = 32  # sequence folders decoded and encoded together: bounds predict's memory


class _Commands(TyperGroup):
    """The root command group: Ctrl-C inside a command ends in one line and exit 130
    (typer would exit 130 without a word); a usage error, the root's or a command's, in one
    line and exit 2 (typer would draw a box around it, under the usage)."""

    def parse_args(self, ctx: Any, args: List[str]) -> List[str]:
        try:
            return super().parse_args(ctx, args)
        except UsageError as exc:
            _usage_error(exc)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except UsageError as exc:
            _usage_error(exc)


def _usage_error(exc: Any) -> NoReturn:
    if type(exc).__name__ == "NoArgsIsHelpError":  # no arguments: typer shows the help
        raise exc
    where = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
    _fail(f"{exc.format_message().rstrip('.')}{where}", exc.exit_code)


app = typer.Typer(
    cls=_Commands,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    help="Train, export, run and benchmark a temporal jersey-number recognizer.",
)
data_app = typer.Typer(no_args_is_help=True, help="Synthesize and inspect datasets.")
app.add_typer(data_app, name="data")

DataRoot = Annotated[Path, typer.Option("--data-root", help="Dataset folder.")]
RunDir = Annotated[Path, typer.Option("--save-dir", help="Training run folder.")]
Checkpoint = Annotated[Path, typer.Option("--checkpoint", help="Checkpoint to use.")]
Artifacts = Annotated[Path, typer.Option("--artifacts", help="Export folder.")]
# The choices of each choice option, as --help lists them and parsing checks them (the
# commands receive the plain strings); tests/test_cli_choices.py holds each to the library's
# own list, which the CLI does not import: --help stays fast.
BackendName = Literal["auto", "tensorrt", "onnxruntime"]
PrecisionName = Literal["fp32", "fp16", "int8"]
PresetName = Literal["demo", "finetune", "pretrain", "full"]
DeviceName = Literal["auto", "cpu", "cuda"]
SplitName = Literal["train", "val", "test", "all"]
CalibMethod = Literal["percentile", "minmax", "entropy"]

Backend = Annotated[BackendName, typer.Option(
    "--backend", help="auto: TensorRT engines where built, else ONNX Runtime.")]
Precision = Annotated[PrecisionName, typer.Option("--precision", help="Graphs to run.")]
Threads = Annotated[int, typer.Option("--threads", help="Intra-op threads (0 = default).")]


def _show_version(show: bool) -> None:
    if show:
        from .checks import package_version

        typer.echo(f"jersey-edge {package_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_show_version, is_eager=True,
        help="Print the version and exit.")] = False,
) -> None:
    # Only our own logger speaks at INFO: libraries (onnxscript, ORT quantization) stay at
    # their WARNING default instead of flooding the terminal.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    log = logging.getLogger("jersey_edge")
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if debug else logging.INFO)


@data_app.command("synth")
def data_synth(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = DEFAULT_DATA,
    sequences: Annotated[
        int, typer.Option("--sequences", help="Main-pool (training) sequences.")
    ] = DEFAULT_SEQUENCES,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    labels: Annotated[
        Optional[str], typer.Option("--labels", help="Comma-separated numbers, e.g. 4,48,49.")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", help="Processes (0 = all cores).")] = 0,
) -> None:
    """Render synthetic player-crop sequences in the real dataset layout."""
    from .data.synth import synthesize

    summary = synthesize(
        out, sequences=sequences, seed=seed, labels=_int_list(labels, "--labels"), workers=workers
    )
    typer.echo(
        f"wrote {summary.n_sequences} sequences ({summary.n_heldout_sequences} held-out) "
        f"in {summary.n_tracks} tracks to {summary.out} in {summary.seconds:.1f}s"
    )


@data_app.command("synth-video")
def data_synth_video(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    players: Annotated[int, typer.Option("--players", help="Players (tracks), 1-99.")] = 6,
    frames: Annotated[int, typer.Option("--frames", help="Video frames.")] = 150,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    size: Annotated[str, typer.Option("--size", help="WIDTHxHEIGHT, even sides.")] = "640x360",
    fps: Annotated[int, typer.Option("--fps", help="Frames per second.")] = 25,
) -> None:
    """Render a synthetic broadcast clip: clip.mp4, MOT ground truth gt.txt, clip.json."""
    from .video.synth_clip import ClipConfig, parse_size, synthesize_clip

    width, height = parse_size(size)
    summary = synthesize_clip(out, ClipConfig(players=players, frames=frames, width=width,
                                              height=height, fps=fps, seed=seed))
    typer.echo(f"wrote {summary.frames} frames, {summary.boxes} boxes of {summary.tracks} "
               f"tracks to {summary.out} in {summary.seconds:.1f}s")


@data_app.command("preview")
def data_preview(
    data_root: DataRoot = DEFAULT_DATA,
    out: Annotated[Path, typer.Option("--out", help="PNG to write.")] = Path("preview.png"),
    rows: Annotated[int, typer.Option("--rows", help="Sequences to show.")] = 8,
) -> None:
    """Draw a contact sheet of a few sequences, one row each."""
    from .core.fileio import check_outputs
    from .data.preview import contact_sheet

    check_outputs({"--out": out}, [data_root])
    typer.echo(f"wrote {contact_sheet(data_root, out, rows=rows)}")


@app.command()
def train(
    data_root: DataRoot = DEFAULT_DATA,
    save_dir: RunDir = DEFAULT_RUN,
    preset: Annotated[Optional[PresetName], typer.Option(
        "--preset", help="demo (the default from --init imagenet): ~20 min on a 2-core CPU; "
        "finetune (the default from a checkpoint): fewer epochs, a lower learning rate; "
        "pretrain: the shipped weights' recipe, for a large folder; full: the full recipe.",
        show_default=False)] = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", help="Override the preset.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(
        "--batch-size", help="The global batch: under torchrun each process takes batch "
        "size / processes (it must divide evenly).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed")] = None,
    workers: Annotated[Optional[int], typer.Option(
        "--workers", help="Loader processes (also on --resume).")] = None,
    device: Annotated[DeviceName, typer.Option(
        "--device", help="auto: cuda where torch sees a GPU; under torchrun cuda is "
        "cuda:LOCAL_RANK.")] = "auto",
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue from last.pt with its recipe; --epochs then sets a new "
        "total (not fewer than already run).")] = False,
    online_synth: Annotated[bool, typer.Option(
        "--online-synth", help="Render fresh training sequences every epoch (the folder's "
        "labels and generator settings; validation stays the folder's). Turns the trunk "
        "cache off; best with several --workers or a GPU.")] = False,
    online_sequences: Annotated[Optional[int], typer.Option(
        "--online-sequences", help="Sequences rendered per epoch (default: as many as the "
        "training split).")] = None,
    init: Annotated[str, typer.Option(
        "--init", help="imagenet: the backbone's ImageNet weights, the rest fresh; or a "
        "checkpoint to fine-tune (a path, or the shipped jersey-lite0-synth.pt).")] = "imagenet",
) -> None:
    """Train the recognizer (EfficientNet-Lite0 + bi-GRU) on a dataset folder; on several
    GPUs: torchrun --nproc_per_node N -m jersey_edge train ..."""
    from .train.config import preset as make_preset
    from .train.loop import IMAGENET
    from .train.loop import train as run_training

    recipe_flags = {"--preset": preset, "--batch-size": batch_size, "--seed": seed,
                    "--init": None if init == IMAGENET else init,
                    "--online-synth": online_synth or None,
                    "--online-sequences": online_sequences}
    ignored = [flag for flag, value in recipe_flags.items() if value is not None]
    if resume and ignored:
        typer.echo(f"warning: --resume continues last.pt's recipe; ignoring "
                   f"{', '.join(ignored)}", err=True)
    online = {"online_synth": True, "cache_trunk": False} if online_synth else {}
    default_preset = "demo" if init == IMAGENET else "finetune"
    config = make_preset(preset or default_preset, epochs=epochs, batch_size=batch_size,
                         seed=seed, online_sequences=online_sequences, **online)
    result = run_training(data_root, save_dir, config=config, init=init, resume=resume,
                          epochs=epochs, workers=workers, device=device, on_epoch=typer.echo)
    if not result.main_process:  # torchrun's other ranks: rank 0 reports
        return
    typer.echo(f"best val number accuracy {result.best_val_acc:.4f} at epoch "
               f"{result.best_epoch + 1}; {result.epochs_run} epochs in {result.seconds:.0f}s; "
               f"checkpoint {save_dir / 'best.pt'}")


@app.command()
def evaluate(
    checkpoint: Checkpoint = DEFAULT_RUN / "best.pt",
    data_root: Annotated[
        Optional[Path], typer.Option("--data-root", help="Dataset (default: the checkpoint's).")
    ] = None,
    split: Annotated[SplitName, typer.Option(
        "--split", help="Split to evaluate; all: every sequence of the folder (e.g. your own "
        "labelled crops, scored with the shipped jersey-lite0-synth.pt).")] = "test",
    max_frames: Annotated[
        Optional[int], typer.Option("--max-frames", help="1 = single-frame (anchor) baseline.")
    ] = None,
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
    out: Annotated[Path, typer.Option("--out", help="Artifacts folder to (re)write.")] = (
        DEFAULT_ARTIFACTS
    ),
    data_root: Annotated[
        Optional[Path], typer.Option("--data-root", help="Dataset (default: the checkpoint's).")
    ] = None,
    fp16: Annotated[bool, typer.Option("--fp16", help="Also write FP16 graphs.")] = False,
    int8: Annotated[bool, typer.Option("--int8", help="Also write calibrated INT8 encoders.")] = (
        False
    ),
    calib_size: Annotated[int, typer.Option(
        "--calib-size", help="INT8 calibration frames (a warning below 300).")] = 500,
    calib_method: Annotated[
        CalibMethod, typer.Option("--calib-method", help="How INT8 ranges are measured.")
    ] = "percentile",
    calib_data: Annotated[
        Optional[Path], typer.Option("--calib-data",
                                     help="Calibrate INT8 on the images in this folder of "
                                          "deployment crops (any depth, no labels) instead of "
                                          "the training split.")
    ] = None,
    engine: Annotated[
        bool, typer.Option("--engine", help="Also build TensorRT engines (needs a GPU).")
    ] = False,
    accept_degraded: Annotated[
        bool, typer.Option("--accept-degraded",
                           help="Publish FP16/INT8 graphs that miss their parity target "
                                "(marked degraded in the manifest).")
    ] = False,
    abstain_precision: Annotated[
        float, typer.Option("--abstain-precision",
                            help="Abstain (\"no legible number\") below the confidence whose "
                                 "val predictions reach this precision; 0: never abstain.")
    ] = 0.95,
) -> None:
    """Export encoder + head to ONNX (FP32/FP16/INT8) with golden outputs and a manifest."""
    from rich.console import Console

    from .export.abstain import describe as describe_abstain
    from .export.int8 import markdown_table
    from .export.pipeline import ExportOptions, export_model
    from .export.report import ExportReport, render_parity
    from .runtime.artifacts import load_manifest

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
        precisions = ["fp32"] + ["fp16"] * fp16 + ["int8"] * int8
        _build_engines(["--artifacts", str(out)] + [f"--precision={p}" for p in precisions])


@app.command("build-engine", add_help_option=False,
             context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def build_engine(ctx: typer.Context) -> None:
    """Build TensorRT engines from an artifacts folder, on the device that will run them.

    The options are those of `python -m jersey_edge.runtime.backends.tensorrt.build` (one
    parser serves both): see `jersey-edge build-engine --help`.
    """
    _build_engines(ctx.args)


def _build_engines(argv: List[str]) -> None:
    from .runtime.backends.tensorrt.build import parse_build_args, run_build

    for path in run_build(parse_build_args(argv, "jersey-edge build-engine")):
        typer.echo(f"wrote {path}")


@app.command()
def bench(
    artifacts: Artifacts = DEFAULT_ARTIFACTS,
    batch: Annotated[str, typer.Option("--batch", help="Sequences per call, e.g. 1,4,8,16.")] = (
        "1,4,8,16"
    ),
    backends: Annotated[
        Optional[str], typer.Option(
            "--backends", help="Comma list of tensorrt, onnxruntime; default: all available.")
    ] = None,
    precisions: Annotated[
        Optional[str], typer.Option(
            "--precisions", help="Comma list of fp32, fp16, int8; default: all exported.")
    ] = None,
    frames: Annotated[Optional[int], typer.Option(
        "--frames", help="Frames per sequence (default: the model's max_frames).")] = None,
    warmup: Annotated[float, typer.Option("--warmup", help="Warm-up seconds per row.")] = 1.0,
    duration: Annotated[float, typer.Option("--duration", help="Seconds timed per row.")] = 3.0,
    threads: Threads = 0,
    checkpoint: Annotated[
        Optional[Path], typer.Option("--checkpoint", help="PyTorch reference (default: export's).")
    ] = None,
    data_root: Annotated[
        Optional[Path], typer.Option("--data-root", help="Dataset (default: the checkpoint's).")
    ] = None,
    parity_limit: Annotated[
        Optional[int], typer.Option("--parity-limit", help="At most N test sequences for parity.")
    ] = None,
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
    report = run_bench(artifacts, batches=parse_batches(batch), backends=_names(backends),
                       precisions=_names(precisions), frames=frames, warmup_s=warmup,
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
) -> None:
    """Write a Triton Inference Server model repository (encoder, head, ensembles)."""
    from .export.triton import TritonRepositoryConfig, write_repository

    repository = write_repository(TritonRepositoryConfig(
        artifacts=artifacts, out=out, precision=precision, max_sequences=max_batch,
        force=force))
    for model in repository.models:
        typer.echo(f"{model.name}\t{model.platform}\t{model.source or 'written by jersey-edge'}")
    typer.echo(f"wrote {len(repository.models)} models ({repository.precision}) to "
               f"{repository.out}")


@app.command()
def demo(
    sequences: Annotated[
        int, typer.Option("--sequences", help="Synthetic sequences.")
    ] = DEFAULT_SEQUENCES,
    seed: Annotated[int, typer.Option("--seed")] = 0,
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
    out: Annotated[Path, typer.Option("--out", help="Per-track results (JSON).")] = Path(
        "tracks.json"),
    annotate: Annotated[Optional[Path], typer.Option(
        "--annotate", help="Also write the video with boxes and numbers drawn (.mp4).")] = None,
    truth: Annotated[Optional[Path], typer.Option(
        "--truth", help="JSON of true numbers per track id (e.g. synth-video's clip.json): "
                        "report per-track accuracy.")] = None,
    window: Annotated[Optional[int], typer.Option(
        "--window", help="Frames per answer (default: the model's max_frames).")] = None,
) -> None:
    """Read the jersey number of every track of a video, from a tracker's boxes."""
    from .core.fileio import atomic_write_text, check_outputs
    from .runtime import Recognizer
    from .video.mot import check_mot, iter_mot
    from .video.tracking import read_truth, score, track_video

    check_outputs({"--out": out, "--annotate": annotate}, [video, boxes, truth, artifacts])
    if annotate is not None and Path(annotate).resolve() == Path(out).resolve():
        raise InputError(f"--out and --annotate are both {out}; give two different files")
    check_mot(boxes)  # the whole file, a line at a time: a bad line stops it before the run
    expected = read_truth(truth) if truth is not None else None
    stopped: List[Any] = []
    try:
        with _sigterm_as_interrupt(), Recognizer.load(artifacts, backend, precision,
                                                      threads=threads, warmup=True) as rec:
            run = track_video(rec, video, iter_mot(boxes), window=window, annotate=annotate,
                              on_stop=stopped.append)
    except (KeyboardInterrupt, JerseyEdgeError) as exc:
        if not stopped:
            raise
        atomic_write_text(out, json.dumps(stopped[0].to_dict(), indent=1) + "\n")
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        _fail(f"{reason}; partial results ({len(stopped[0].tracks)} tracks, video frames "
              f"1-{stopped[0].video_frames}) written to {out}",
              130 if isinstance(exc, KeyboardInterrupt) else 2)
    if expected is not None:
        run.accuracy = score(run, expected)
    atomic_write_text(out, json.dumps(run.to_dict(), indent=1) + "\n")
    for _, result in sorted(run.tracks.items()):
        typer.echo(f"track {result.track_id}\t{result.label}\t"
                   f"frames {result.first_frame}-{result.last_frame} ({result.frames_seen} seen)")
    written = f"{out} and {annotate}" if annotate else str(out)
    typer.echo(f"{len(run.tracks)} tracks, {run.video_frames} frames in {run.seconds:.1f} s "
               f"({run.frames_per_second:.1f} frames/s), {run.boxes_used} boxes read, "
               f"{run.boxes_skipped} skipped"
               + (f" ({', '.join(f'{n} {why}' for why, n in run.skipped.items())})"
                  if run.skipped else "") + f"; wrote {written}")
    if run.accuracy is not None:
        acc = run.accuracy
        typer.echo(f"per-track accuracy {acc['correct']}/{acc['tracks']}"
                   + (f" = {acc['accuracy']:.1%}" if acc["accuracy"] is not None else "")
                   + f" ({acc['abstained']} without a legible number)")


@app.command()
def predict(
    sequence_dirs: Annotated[
        List[Path], typer.Argument(help="Folders of frames, one per sequence.")
    ],
    artifacts: Artifacts = DEFAULT_ARTIFACTS,
    backend: Backend = "auto",
    precision: Precision = "fp32",
    threads: Threads = 0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Read the jersey number of each sequence folder with the exported model.

    A folder that cannot be read gets an `error:` line and the others go on; the exit code
    is then 2."""
    from .runtime import Recognizer

    failed = 0
    with Recognizer.load(artifacts, backend, precision, threads=threads) as rec:
        for start in range(0, len(sequence_dirs), PREDICT_CHUNK):
            failed += _predict_chunk(rec, sequence_dirs[start:start + PREDICT_CHUNK], as_json)
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


# A folder's prediction, or the message saying why it has none.
Outcome = Union["Prediction", str]


def _predict_chunk(rec: Any, folders: List[Path], as_json: bool) -> int:
    """Read, predict and print one chunk of folders; returns how many of them failed."""
    from .core.sequence_folders import sequence_frames

    outcomes: Dict[Path, Outcome] = {}
    ready: List[Tuple[Path, Any]] = []
    for folder in folders:
        try:
            ready.append((folder, rec.preprocess(sequence_frames(folder))))
        except JerseyEdgeError as exc:
            outcomes[folder] = str(exc)
    outcomes.update(_predict_ready(rec, ready))
    return sum(not _print_outcome(folder, outcomes[folder], as_json) for folder in folders)


def _predict_ready(rec: Any, ready: List[Tuple[Path, Any]]) -> List[Tuple[Path, Outcome]]:
    """One encoder pass for the whole chunk; if that fails, one pass per folder, so only the
    folder that causes the failure fails."""
    if not ready:
        return []
    try:
        predictions = rec.predict_preprocessed([frames for _, frames in ready])
    except JerseyEdgeError as exc:
        if len(ready) == 1:
            return [(ready[0][0], str(exc))]
        return [outcome for item in ready for outcome in _predict_ready(rec, [item])]
    return [(folder, prediction) for (folder, _), prediction in zip(ready, predictions)]


def _print_outcome(folder: Path, outcome: Outcome, as_json: bool) -> bool:
    """The result line on stdout, or an error line on stderr; False for an error."""
    if isinstance(outcome, str):
        return _folder_error(folder, outcome)
    if not as_json:
        shown = "illegible" if outcome.number is None else outcome.number
        typer.echo(f"{folder}\t{shown}\t{outcome.confidence:.3f}")
        return True
    try:
        # allow_nan=False: a NaN token would make the line unreadable to strict JSON parsers.
        line = json.dumps({"sequence": str(folder), **outcome.to_dict()}, allow_nan=False)
    except ValueError:
        return _folder_error(folder, "the model's scores for it are not finite (NaN or inf)")
    typer.echo(line)
    return True


def _folder_error(folder: Path, message: str) -> bool:
    """One stderr line per failed folder, naming the folder once; always False."""
    named = message if message.startswith(str(folder)) else f"{folder}: {message}"
    typer.echo(f"error: {_one_line(named)}", err=True)
    return False


def _names(text: Optional[str]) -> Optional[List[str]]:
    return None if text is None else [part.strip() for part in text.split(",") if part.strip()]


def _int_list(text: Optional[str], option: str) -> Optional[List[int]]:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"{option} takes comma-separated integers, got {text!r}") from None


def _one_line_warning(message: Any, category: Any, *_: Any, **__: Any) -> str:
    return f"warning: {_one_line(str(message))}\n"


def main(argv: Optional[List[str]] = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    # Our own pixel limit refuses such frames with one line; Pillow's warning would be a second.
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    # A library warning (e.g. loading a degraded export) is one line, like errors are.
    warnings.formatwarning = _one_line_warning
    try:
        app(args=args, standalone_mode=True)
    except JerseyEdgeError as exc:
        if debug:
            raise
        _fail(str(exc), 2)
    except KeyboardInterrupt:  # outside a command, e.g. while typer parses the arguments
        _fail("interrupted", 130)
    except Exception as exc:  # a bug: still one line, the traceback is a --debug away
        if debug:
            raise
        _fail(f"internal error ({type(exc).__name__}): {exc}; re-run with --debug", 3)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a service stop, `kill`) ends a long command as Ctrl-C does, so that it can
    still write what it has; the previous handler comes back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {_one_line(message)}", err=True)
    raise SystemExit(code) from None
