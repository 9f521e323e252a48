import json

from jersey_edge.demo import DemoPaths, DemoSummary, _evaluate, _synthesize


def test_demo_evaluation_reports_each_accuracy_with_its_interval(tiny_dataset, tiny_checkpoint,
                                                                 tmp_path):
    tiny_checkpoint(tmp_path / "run", tiny_dataset)
    paths = DemoPaths(data=tiny_dataset, run=tmp_path / "run", reports=tmp_path / "reports")
    summary = DemoSummary()
    _evaluate(paths, summary)
    assert set(summary.accuracy_ci95) == set(summary.accuracy)
    for name, (low, high) in summary.accuracy_ci95.items():
        assert 0.0 <= low <= summary.accuracy[name] <= high <= 1.0, name


def test_demo_warns_when_reusing_data_of_an_older_generator(tmp_path, capsys):
    from jersey_edge.data.synth.writer import GENERATOR_VERSION

    paths = DemoPaths(data=tmp_path / "synth", run=tmp_path / "run")
    paths.data.mkdir()
    (paths.data / "synth.json").write_text(json.dumps({"version": GENERATOR_VERSION - 1}))
    _synthesize(paths, sequences=4, seed=0)
    out = capsys.readouterr().out
    assert "reusing" in out and f"generator version {GENERATOR_VERSION - 1}" in out
    assert not any(p.name != "synth.json" for p in paths.data.iterdir())  # nothing rewritten
    (paths.data / "synth.json").write_text(json.dumps({"version": GENERATOR_VERSION}))
    _synthesize(paths, sequences=4, seed=0)
    assert "warning" not in capsys.readouterr().out
