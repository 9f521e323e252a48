"""JSON the commands write is strict JSON: a NaN or inf is refused (ValueError) instead of
being written as the `NaN` token other parsers reject, and no file is left behind."""

import math

import pytest

from jersey_edge.bench.report import BenchReport, write_json
from jersey_edge.train import evaluate as evaluate_mod
from jersey_edge.train.plots import HISTORY, write_history

NOT_JSON = "not JSON compliant"


def test_evaluate_json_refuses_non_finite_numbers(tiny_dataset, tiny_checkpoint, tmp_path,
                                                  monkeypatch):
    checkpoint = tiny_checkpoint(tmp_path / "run", tiny_dataset)
    monkeypatch.setattr(evaluate_mod, "_per_label", lambda logits: {4: math.nan})
    out = tmp_path / "evaluation.json"
    with pytest.raises(ValueError, match=NOT_JSON):
        evaluate_mod.evaluate(checkpoint, split="val", json_out=out, progress=False)
    assert not out.exists()


def test_history_json_refuses_non_finite_numbers(tmp_path):
    row = {"epoch": 0, "train_loss": math.inf, "train_number_acc": 0.0, "val_number_acc": 0.0}
    with pytest.raises(ValueError, match=NOT_JSON):
        write_history(tmp_path, [row])
    assert not (tmp_path / HISTORY).exists()


def test_bench_json_refuses_non_finite_numbers(tmp_path):
    report = BenchReport(system={"cpu": "test"}, rows=[], settings={"warmup_s": math.nan})
    with pytest.raises(ValueError, match=NOT_JSON):
        write_json(report, tmp_path / "bench.json")
    assert not (tmp_path / "bench.json").exists()
