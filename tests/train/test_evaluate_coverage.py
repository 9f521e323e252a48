"""evaluate's coverage vs accuracy: the curve in the JSON, the threshold's point, the PNG."""

import json
from pathlib import Path

import pytest

from jersey_edge.core.errors import InputError
from jersey_edge.train.evaluate import CURVE_THRESHOLDS, abstain_summary, evaluate
from tests.conftest import write_jpeg


def _soccernet(root: Path) -> Path:
    """SoccerNet layout: 3 tracklets each of 4 and 7 in train; in test one each and two
    illegible (-1)."""
    for split, numbers in (("train", [4, 4, 4, 7, 7, 7]), ("test", [4, 7, -1, -1])):
        for tracklet, number in enumerate(numbers):
            for i in range(2):
                write_jpeg(root / split / "images" / str(tracklet) / f"{tracklet}_{i}.jpg",
                           text="?" if number < 0 else str(number))
        gt = {str(t): n for t, n in enumerate(numbers)}
        (root / split / f"{split}_gt.json").write_text(json.dumps(gt))
    return root


def test_curve_and_abstain_point_join_the_existing_output(tiny_dataset, tiny_checkpoint,
                                                          tmp_path):
    checkpoint = tiny_checkpoint(tmp_path / "run", tiny_dataset)
    result = evaluate(checkpoint, split="val", out_dir=tmp_path / "plots",
                      json_out=tmp_path / "eval.json", progress=False)
    written = json.loads((tmp_path / "eval.json").read_text())
    assert {"number_acc", "number_ci95", "tens_acc", "ones_acc", "n", "per_label"} <= set(written)
    curve = written["coverage_curve"]
    assert [p["threshold"] for p in curve] == list(CURVE_THRESHOLDS)
    assert curve[0]["coverage"] == 1.0 and curve[0]["accuracy"] == result.number_acc
    coverages = [p["coverage"] for p in curve]
    assert coverages == sorted(coverages, reverse=True)
    # the untrained model reads nothing right: no threshold reaches 95%, chosen on val
    assert written["abstain"] == {"threshold": None, "source": "chosen on val",
                                  "target_precision": 0.95, "accepted": 0, "coverage": None,
                                  "accuracy": None, "illegible": 0}
    assert abstain_summary(result).startswith("abstain: no confidence threshold reaches 95%")
    assert set(result.plots) == {"tens", "ones", "coverage"}
    png = tmp_path / "plots" / "val_t4_coverage.png"
    assert result.plots["coverage"] == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_given_threshold_is_reported_as_given(tiny_dataset, tiny_checkpoint, tmp_path):
    checkpoint = tiny_checkpoint(tmp_path / "run", tiny_dataset)
    result = evaluate(checkpoint, split="val", abstain_threshold=0.0, progress=False)
    assert result.abstain == {"threshold": 0.0, "source": "given", "target_precision": None,
                              "accepted": result.n, "coverage": 1.0,
                              "accuracy": result.number_acc, "illegible": 0}
    assert abstain_summary(result) == (
        f"abstain below confidence 0.000 (given): val coverage 100.0%, accuracy "
        f"{100 * result.number_acc:.1f}% (n={result.n})")


def test_a_threshold_outside_zero_one_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="abstain threshold"):
        evaluate(tmp_path / "missing.pt", abstain_threshold=1.5, progress=False)


def test_illegible_sequences_are_answered_wrong_and_kept_out_of_accuracy(tiny_checkpoint,
                                                                        tmp_path):
    data = _soccernet(tmp_path / "soccernet")
    checkpoint = tiny_checkpoint(tmp_path / "run", data)
    result = evaluate(checkpoint, split="test", abstain_threshold=0.0, progress=False)
    assert result.n == 2  # legible only, as before
    assert result.abstain["illegible"] == 2
    assert result.abstain["accepted"] == 4  # threshold 0 answers all four
    assert result.abstain["accuracy"] == pytest.approx(result.number_acc * 2 / 4)
    assert result.coverage_curve[0]["accuracy"] == result.abstain["accuracy"]
