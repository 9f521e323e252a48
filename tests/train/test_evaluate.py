import json

from jersey_edge.core.metrics import wilson_interval
from jersey_edge.train.evaluate import evaluate


def test_evaluate_reports_accuracy_with_its_interval_and_n(tiny_dataset, tiny_checkpoint,
                                                            tmp_path):
    checkpoint = tiny_checkpoint(tmp_path / "run", tiny_dataset)
    result = evaluate(checkpoint, split="val", out_dir=tmp_path / "plots",
                      json_out=tmp_path / "eval.json", progress=False)
    assert result.n > 0
    assert result.number_ci95 == wilson_interval(round(result.number_acc * result.n), result.n)
    written = json.loads((tmp_path / "eval.json").read_text())
    assert written["n"] == result.n and written["number_ci95"] == list(result.number_ci95)
