"""Only training writes a run's splits.json. export, evaluate and bench read it: if the
dataset changed since training, re-splitting could put training tracks into "test", so that
is a DatasetError, and the run folder is left exactly as it was."""

from pathlib import Path
from typing import Callable, NamedTuple

import pytest

from jersey_edge.bench import runners as sources
from jersey_edge.core.errors import DatasetError
from jersey_edge.data.discovery import discover
from jersey_edge.data.splits import SPLITS, load_splits, split_records, training_splits
from jersey_edge.export.pipeline import ExportOptions, export_model
from jersey_edge.model.net import load_checkpoint
from jersey_edge.train.evaluate import evaluate

SEED = 3  # what tests/conftest.py's checkpoints record as their training seed


class ChangedRun(NamedTuple):
    checkpoint: Path
    data_root: Path
    splits_json: bytes  # as training wrote it

    @property
    def run_dir(self) -> Path:
        return self.checkpoint.parent


def make_changed_run(fake_dataset: Callable[..., Path], tiny_checkpoint: Callable[..., Path],
                     run_dir: Path) -> ChangedRun:
    """A run trained on a dataset that has since gained a label (6 sequences)."""
    data = fake_dataset()
    checkpoint = tiny_checkpoint(run_dir, data)
    training_splits(discover(data).records, run_dir, seed=SEED)
    written = (run_dir / SPLITS).read_bytes()
    fake_dataset(root=data, labels=(9,))
    return ChangedRun(checkpoint, data, written)


@pytest.fixture
def changed_run(fake_dataset, tiny_checkpoint, tmp_path) -> ChangedRun:
    return make_changed_run(fake_dataset, tiny_checkpoint, tmp_path / "run")


def assert_run_untouched(run: ChangedRun) -> None:
    assert (run.run_dir / SPLITS).read_bytes() == run.splits_json
    assert sorted(p.name for p in run.run_dir.iterdir()) == ["best.pt", SPLITS]


def assert_clear_mismatch(error: pytest.ExceptionInfo) -> None:
    message = str(error.value)
    assert "6 sequence(s) added, 0 removed" in message and SPLITS in message
    assert "dataset the run was trained on" in message
    assert "--" not in message  # library messages name no CLI flags


def test_load_splits_refuses_a_changed_dataset(changed_run):
    with pytest.raises(DatasetError) as caught:
        load_splits(discover(changed_run.data_root).records, changed_run.run_dir, seed=SEED)
    assert_clear_mismatch(caught)
    assert_run_untouched(changed_run)


def test_load_splits_refuses_another_seed(changed_run):
    with pytest.raises(DatasetError, match="seed 3 there, 4 now"):
        load_splits(discover(changed_run.data_root).records, changed_run.run_dir, seed=4)
    assert_run_untouched(changed_run)


def test_load_splits_without_a_cache_splits_in_memory(fake_dataset, tmp_path):
    data = fake_dataset()
    splits = load_splits(discover(data).records, tmp_path / "run", seed=SEED)
    assert splits == split_records(discover(data).records, seed=SEED)
    assert not (tmp_path / "run").exists()


def test_training_splits_follow_the_dataset(changed_run):
    """`train` alone re-splits a changed dataset (loudly) and records the new split."""
    records = discover(changed_run.data_root).records
    splits = training_splits(records, changed_run.run_dir, seed=SEED)
    assert 9 in {r.label for r in splits.train}
    assert (changed_run.run_dir / SPLITS).read_bytes() != changed_run.splits_json
    assert load_splits(records, changed_run.run_dir, seed=SEED) == splits


def test_evaluate_refuses_a_changed_dataset(changed_run):
    with pytest.raises(DatasetError) as caught:
        evaluate(changed_run.checkpoint, progress=False)
    assert_clear_mismatch(caught)
    assert_run_untouched(changed_run)


def test_export_refuses_a_changed_dataset(changed_run, tmp_path):
    with pytest.raises(DatasetError) as caught:
        export_model(changed_run.checkpoint, tmp_path / "artifacts", options=ExportOptions(
            progress=False))
    assert_clear_mismatch(caught)
    assert_run_untouched(changed_run)
    assert not (tmp_path / "artifacts").exists()


def test_bench_refuses_a_changed_dataset(changed_run):
    reference = sources.Reference(checkpoint=changed_run.checkpoint,
                          loaded=load_checkpoint(changed_run.checkpoint))
    with pytest.raises(DatasetError) as caught:
        sources.test_records(reference, None, [])
    assert_clear_mismatch(caught)
    assert_run_untouched(changed_run)
