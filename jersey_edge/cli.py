"""The `jersey-edge` command line: thin wrappers over keyword-only library functions.

Every library error is a `JerseyEdgeError`; `main` turns it into one line on stderr and
exit code 2 (a traceback only with --debug). Heavy modules are imported inside commands so
`jersey-edge --help` and `predict` stay fast and torch-free.
"""

import json
import logging
import sys
from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from .runtime.errors import InputError, JerseyEdgeError, NotBuiltError

DEFAULT_DATA = Path("data/synth")
DEFAULT_RUN = Path("runs/demo")
DEFAULT_ARTIFACTS = Path("artifacts")
DEFAULT_REPORTS = Path("reports")

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    help="Train, export, run and benchmark a temporal jersey-number recognizer.",
)
data_app = typer.Typer(no_args_is_help=True, help="Synthesize and inspect datasets.")
app.add_typer(data_app, name="data")

DataRoot = Annotated[Path, typer.Option("--data-root", help="Dataset folder.")]
RunDir = Annotated[Path, typer.Option("--save-dir", help="Training run folder.")]
Checkpoint = Annotated[Path, typer.Option("--checkpoint", help="Checkpoint to use.")]
Artifacts = Annotated[Path, typer.Option("--artifacts", help="Export folder.")]
Backend = Annotated[str, typer.Option("--backend", help="auto, onnxruntime or tensorrt.")]
Precision = Annotated[str, typer.Option("--precision", help="fp32, fp16 or int8.")]
Threads = Annotated[int, typer.Option("--threads", help="Intra-op threads (0 = default).")]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )


@data_app.command("synth")
def data_synth(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = DEFAULT_DATA,
    sequences: Annotated[int, typer.Option("--sequences", help="Training sequences.")] = 2000,
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


@data_app.command("preview")
def data_preview(
    data_root: DataRoot = DEFAULT_DATA,
    out: Annotated[Path, typer.Option("--out", help="PNG to write.")] = Path("preview.png"),
    rows: Annotated[int, typer.Option("--rows", help="Sequences to show.")] = 8,
) -> None:
    """Draw a contact sheet of a few sequences, one row each."""
    from .data.preview import contact_sheet

    typer.echo(f"wrote {contact_sheet(data_root, out, rows=rows)}")


@app.command()
def train(
    data_root: DataRoot = DEFAULT_DATA,
    save_dir: RunDir = DEFAULT_RUN,
    preset: Annotated[str, typer.Option("--preset", help="demo (15 min on CPU) or full.")] = "demo",
    epochs: Annotated[Optional[int], typer.Option("--epochs", help="Override the preset.")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Loader processes.")] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
    resume: Annotated[bool, typer.Option("--resume", help="Continue from last.pt.")] = False,
) -> None:
    """Train the recognizer (EfficientNet-Lite0 + bi-GRU) on a dataset folder."""
    from .train.config import preset as make_preset
    from .train.loop import train as run_training

    config = make_preset(preset, epochs=epochs, batch_size=batch_size, seed=seed,
                         workers=workers)
    result = run_training(data_root, save_dir, config=config, resume=resume, device=device)
    typer.echo(f"best val number accuracy {result.best_val_acc:.4f} at epoch "
               f"{result.best_epoch + 1}; {result.epochs_run} epochs in {result.seconds:.0f}s; "
               f"checkpoint {save_dir / 'best.pt'}")


@app.command()
def evaluate(
    checkpoint: Checkpoint = DEFAULT_RUN / "best.pt",
    data_root: DataRoot = DEFAULT_DATA,
    split: Annotated[str, typer.Option("--split", help="train, val or test.")] = "test",
    max_frames: Annotated[
        Optional[int], typer.Option("--max-frames", help="1 = single-frame (anchor) baseline.")
    ] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write results here.")] = None,
    plots: Annotated[Path, typer.Option("--plots", help="Folder for confusion PNGs.")] = (
        DEFAULT_REPORTS
    ),
) -> None:
    """Accuracy of a checkpoint on a split (temporal or single-frame)."""
    from .train.evaluate import evaluate as run_evaluation

    result = run_evaluation(checkpoint, data_root=data_root, split=split, max_frames=max_frames,
                            out_dir=plots, json_out=json_out)
    typer.echo(f"{split} (max_frames={result.max_frames}, n={result.n}): number "
               f"{result.number_acc:.4f}  tens {result.tens_acc:.4f}  ones {result.ones_acc:.4f}")
    if result.heldout is not None:
        typer.echo(f"held-out combinations (n={result.heldout['n']}): number "
                   f"{result.heldout['number_acc']:.4f}")


@app.command()
def export() -> None:
    """Export encoder + head to ONNX (FP32/FP16/INT8) with golden outputs and a manifest."""
    raise NotBuiltError("`export` is not built yet")


@app.command()
def bench() -> None:
    """Latency, throughput and accuracy parity of every backend and precision."""
    raise NotBuiltError("`bench` is not built yet")


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
    """Read the jersey number of each sequence folder with the exported model."""
    from .runtime import Recognizer
    from .runtime.discovery import sequence_frames

    sequences = [sequence_frames(d) for d in sequence_dirs]
    with Recognizer.load(artifacts, backend, precision, threads=threads) as rec:
        for folder, prediction in zip(sequence_dirs, rec.predict_batch(sequences)):
            if as_json:
                typer.echo(json.dumps({"sequence": str(folder), **prediction.to_dict()}))
            else:
                typer.echo(f"{folder}\t{prediction.number}\t{prediction.confidence:.3f}")


def _int_list(text: Optional[str], option: str) -> Optional[List[int]]:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"{option} takes comma-separated integers, got {text!r}") from None


def main(argv: Optional[List[str]] = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, standalone_mode=True)
    except JerseyEdgeError as exc:
        if "--debug" in args:
            raise
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise SystemExit(130) from None
