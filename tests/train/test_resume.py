"""`train --resume`: a larger epoch total continues on a schedule rebuilt for it; fewer epochs
than already run, or a model-only last.pt (a best.pt copy), are refused before any file moves."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from jersey_edge.core.errors import CheckpointError, InputError
from jersey_edge.model.net import load_checkpoint
from jersey_edge.train.config import preset
from jersey_edge.train.loop import train

from ..test_bad_inputs import cli
from .conftest import TINY_MODEL, TINY_PREPROCESS

ONE_EPOCH = replace(preset("demo"), epochs=1, batch_size=4, max_frames=4, train_frames=4,
                    warmup_epochs=1, workers=0, amp=False)


def resume(data: Path, save_dir: Path, **kwargs):
    """As `train --resume` calls it: the preset's recipe, the tiny one is in last.pt."""
    return train(data, save_dir, config=preset("demo"), resume=True, device="cpu",
                 progress=False, **kwargs)


@pytest.fixture(scope="module")
def resumed_run(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory):
    """One epoch, then resumed with a total of three: (run folder, resume result)."""
    save_dir = tmp_path_factory.mktemp("resumed")
    train(tiny_dataset, save_dir, config=ONE_EPOCH, model_config=TINY_MODEL,
          preprocess=TINY_PREPROCESS, device="cpu", progress=False)
    return save_dir, resume(tiny_dataset, save_dir, epochs=3)


def copy_run(run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    return copy


def snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_resume_with_more_epochs_continues_to_the_new_total(resumed_run):
    save_dir, result = resumed_run
    history = json.loads((save_dir / "history.json").read_text())
    assert [h["epoch"] for h in history] == [0, 1, 2]
    assert result.epochs_run == 3
    last = load_checkpoint(save_dir / "last.pt")
    assert last.extra["train_config"]["epochs"] == 3
    # The saved run's recipe and preprocessing carry on, not the preset's.
    assert last.extra["train_config"]["batch_size"] == ONE_EPOCH.batch_size
    assert load_checkpoint(save_dir / "best.pt").preprocess == TINY_PREPROCESS


def test_resumed_schedule_is_the_cosine_of_the_new_total(resumed_run):
    """Warm-up 1 epoch, total 3: epoch 2 ends halfway down the cosine (lr x 0.5). The
    schedule of the original 1-epoch total would have reached 0 there."""
    save_dir, _ = resumed_run
    history = json.loads((save_dir / "history.json").read_text())
    assert history[0]["lr"] == pytest.approx(ONE_EPOCH.lr)
    assert history[1]["lr"] == pytest.approx(0.5 * ONE_EPOCH.lr)
    assert history[2]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_resume_with_fewer_epochs_than_run_is_refused(resumed_run, tiny_dataset, tmp_path):
    run = copy_run(resumed_run[0], tmp_path)
    before = snapshot(run)
    with pytest.raises(InputError, match="already trained 3 epochs") as caught:
        resume(tiny_dataset, run, epochs=2)
    assert "--" not in str(caught.value)
    assert snapshot(run) == before


def test_resume_from_a_model_only_checkpoint_is_refused(resumed_run, tiny_dataset, tmp_path):
    run = copy_run(resumed_run[0], tmp_path)
    shutil.copy(run / "best.pt", run / "last.pt")
    before = snapshot(run)
    with pytest.raises(CheckpointError, match="no optimizer state") as caught:
        resume(tiny_dataset, run)
    assert "--" not in str(caught.value)
    assert snapshot(run) == before


def test_resume_warns_of_the_recipe_flags_it_ignores(resumed_run, tiny_dataset, tmp_path,
                                                      capsys):
    """last.pt's recipe wins on --resume; the flags that would change it are named, not
    dropped in silence. --workers is the machine's, so it is honoured and not named."""
    run = copy_run(resumed_run[0], tmp_path)
    code, _, err = cli(capsys, "train", "--data-root", str(tiny_dataset), "--save-dir",
                       str(run), "--resume", "--epochs", "3", "--batch-size", "8",
                       "--seed", "4", "--workers", "0", "--device", "cpu")
    assert code == 0
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: --resume continues last.pt's recipe; ignoring "
                        "--batch-size, --seed"]
    assert load_checkpoint(run / "last.pt").extra["train_config"]["batch_size"] == 4
