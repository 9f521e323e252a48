import json

from jersey_edge.core.digits import wilson_interval
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


def test_split_all_scores_every_sequence_without_a_split(fake_dataset, tiny_checkpoint,
                                                          tmp_path, capsys):
    """A pretrained model on a user's own labelled crops: no splits.json, held-out apart."""
    from jersey_edge.data.discovery import discover
    from tests.test_bad_inputs import cli

    data = fake_dataset(labels=(4, 7, 48), tracks=2, sequences=1)
    fake_dataset(root=data / "heldout", labels=(74,), tracks=1, sequences=2)
    checkpoint = tiny_checkpoint(tmp_path / "run", data, record_data_root=False)
    result = evaluate(checkpoint, data_root=data, split="all", progress=False)
    assert result.n == len(discover(data).records) == 6
    assert result.heldout is not None and result.heldout["n"] == 2
    assert not (tmp_path / "run" / "splits.json").exists()
    code, out, err = cli(capsys, "evaluate", "--checkpoint", str(checkpoint), "--data-root",
                         str(data), "--split", "all", "--plots", str(tmp_path / "plots"))
    assert code == 0, err
    assert "all (max_frames=4, n=6)" in out and "held-out combinations (n=2)" in out
