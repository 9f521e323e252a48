"""Bad inputs of training resume, the read-only commands and `predict` on many folders,
through the real CLI: one `error: ...` line and exit 2, or a correct answer."""

import shutil
from pathlib import Path

import pytest
import torch

from jersey_edge.model.net import build_model, save_checkpoint
from jersey_edge.runtime import InputError, Recognizer
from jersey_edge.train.config import TrainConfig
from tests.test_bad_inputs import assert_one_line_error, cli
from tests.test_readonly_splits import assert_run_untouched, make_changed_run
from tests.train.conftest import TINY_MODEL, TINY_PREPROCESS


def resumable_run(run_dir: Path, data_root: Path, *, epochs_done: int) -> Path:
    """A last.pt holding everything resuming reads, after `epochs_done` of that many epochs."""
    state = build_model(TINY_MODEL).state_dict()
    history = [{"epoch": e, "val_number_acc": 0.0} for e in range(epochs_done)]
    extra = {"model_state": state, "ema_state": state, "frame_head_state": {},
             "optimizer": {}, "scheduler": {}, "torch_rng": torch.get_rng_state(),
             "history": history, "train_config": TrainConfig(epochs=epochs_done).to_dict(),
             "model_config": TINY_MODEL.to_dict(), "data_root": str(data_root)}
    return save_checkpoint(run_dir / "last.pt", model_state=state, model_cfg=TINY_MODEL,
                           preprocess=TINY_PREPROCESS, max_frames=4, extra=extra)


def train_resume(capsys, data_root: Path, run_dir: Path, *extra: str) -> tuple:
    return cli(capsys, "train", "--data-root", str(data_root), "--save-dir", str(run_dir),
               "--resume", "--device", "cpu", *extra)


def test_resume_with_fewer_epochs_than_already_run(tiny_dataset, tmp_path, capsys):
    last = resumable_run(tmp_path / "run", tiny_dataset, epochs_done=2)
    before = last.read_bytes()
    code, _, err = train_resume(capsys, tiny_dataset, tmp_path / "run", "--epochs", "1")
    assert_one_line_error(code, err)
    assert "already trained 2 epochs" in err
    assert last.read_bytes() == before


def test_resume_from_best_pt_copied_to_last_pt(tiny_dataset, tiny_checkpoint, tmp_path, capsys):
    best = tiny_checkpoint(tmp_path / "run", tiny_dataset)
    shutil.copy(best, tmp_path / "run" / "last.pt")
    code, _, err = train_resume(capsys, tiny_dataset, tmp_path / "run", "--epochs", "5")
    assert_one_line_error(code, err)
    assert "no optimizer state" in err


@pytest.mark.parametrize("command", ["evaluate", "export"])
def test_read_only_commands_on_a_changed_dataset(fake_dataset, tiny_checkpoint, tmp_path, capsys,
                                                 command):
    run = make_changed_run(fake_dataset, tiny_checkpoint, tmp_path / "run")
    code, _, err = cli(capsys, command, "--checkpoint", str(run.checkpoint),
                       *(["--out", str(tmp_path / "artifacts")] if command == "export" else []))
    assert_one_line_error(code, err)
    assert "6 sequence(s) added" in err
    assert_run_untouched(run)


def sequence_folders(exported, count: int) -> list:
    """Sequence folders of the exported dataset (read directly: no discovery logging)."""
    return sorted(p.parent for p in exported.data_root.glob("*/*/*/frame_000.jpg"))[:count]


def test_predict_reports_a_bad_folder_and_goes_on(exported, tmp_path, capsys):
    good = sequence_folders(exported, 2)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "f.jpg").write_text("this is not a JPEG")
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = cli(capsys, "predict", str(good[0]), str(broken), str(empty), str(good[1]),
                         "--artifacts", str(exported.out))
    assert code == 2
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 2 and all(line.startswith("error: ") for line in lines), err
    assert str(broken) in lines[0] and str(empty) in lines[1]
    assert [line.split("\t")[0] for line in out.splitlines()] == [str(g) for g in good]


def test_predict_retries_a_failed_chunk_folder_by_folder(exported, tmp_path, capsys,
                                                         monkeypatch):
    """When the encoder pass of a chunk fails (as the runtime does on non-finite logits),
    only the folder that causes it fails."""
    good = sequence_folders(exported, 2)
    short = tmp_path / "short"
    short.mkdir()
    shutil.copy(good[0] / "frame_000.jpg", short / "only.jpg")
    real_predict = Recognizer.predict_preprocessed

    def refuse_one_frame(self, sequences):
        if any(len(s) == 1 for s in sequences):
            raise InputError("the model produced non-finite logits for a sequence")
        return real_predict(self, sequences)

    monkeypatch.setattr(Recognizer, "predict_preprocessed", refuse_one_frame)
    code, out, err = cli(capsys, "predict", str(good[0]), str(short), str(good[1]),
                         "--artifacts", str(exported.out))
    assert_one_line_error(code, err)
    assert err.startswith(f"error: {short}: ") and "non-finite" in err
    assert [line.split("\t")[0] for line in out.splitlines()] == [str(g) for g in good]
