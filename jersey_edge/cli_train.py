"""The commands that make a checkpoint: the `data` group (synthesize and preview datasets)
and `train`, declared as cli.py declares the rest; cli.py registers them on its one app, in
--help's order. Heavy modules are imported inside the commands."""

from pathlib import Path
from typing import Literal, Optional

import typer
from typing_extensions import Annotated

from . import cli_support
from .data.synth.config import DEFAULT_SEQUENCES

DEFAULT_DATA = Path("data/synth")
DEFAULT_RUN = Path("runs/demo")

data_app = typer.Typer(no_args_is_help=True, help="Synthesize and inspect datasets.")

DataRoot = Annotated[Path, typer.Option("--data-root", help="Dataset folder.")]
RunDir = Annotated[Path, typer.Option("--save-dir", help="Training run folder.")]
Seed = Annotated[int, typer.Option("--seed")]
# Choices as in cli.py (tests/test_cli_choices.py holds each to the library's own list).
PresetName = Literal["demo", "finetune", "pretrain", "full"]
DeviceName = Literal["auto", "cpu", "cuda"]


@data_app.command("synth")
def data_synth(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = DEFAULT_DATA,
    sequences: Annotated[int, typer.Option(
        "--sequences", help="Main-pool (training) sequences.")] = DEFAULT_SEQUENCES,
    seed: Seed = 0,
    labels: Annotated[Optional[str], typer.Option(
        "--labels", help="Comma-separated numbers, e.g. 4,48,49.")] = None,
    workers: Annotated[int, typer.Option("--workers", help="Processes (0 = all cores).")] = 0,
) -> None:
    """Render synthetic player-crop sequences in the real dataset layout."""
    from .data.synth import synthesize

    summary = synthesize(out, sequences=sequences, seed=seed, workers=workers,
                         labels=cli_support.integers(labels, "--labels"))
    typer.echo(f"wrote {summary.n_sequences} sequences ({summary.n_heldout_sequences} held-out) "
               f"in {summary.n_tracks} tracks to {summary.out} in {summary.seconds:.1f}s")


@data_app.command("synth-video")
def data_synth_video(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    players: Annotated[int, typer.Option("--players", help="Players (tracks), 1-99.")] = 6,
    frames: Annotated[int, typer.Option("--frames", help="Video frames.")] = 150,
    seed: Seed = 0,
    size: Annotated[str, typer.Option("--size", help="WIDTHxHEIGHT, even sides.")] = "640x360",
    fps: Annotated[int, typer.Option("--fps", help="Frames per second.")] = 25,
) -> None:
    """Render a synthetic broadcast clip: clip.mp4, MOT ground truth gt.txt, clip.json."""
    from .data.synth.clip import ClipConfig, parse_size, synthesize_clip

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
