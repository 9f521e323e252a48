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


def test_demo_ends_by_tracking_the_synthetic_clip(exported, tmp_path, capsys):
    from jersey_edge.data.synth.clip import ClipConfig, synthesize_clip
    from jersey_edge.demo import _track

    paths = DemoPaths(data=tmp_path / "data" / "synth", artifacts=exported.out,
                      reports=tmp_path / "reports")
    synthesize_clip(tmp_path / "data" / "clip", ClipConfig(players=3, frames=12, width=160,
                                                           height=96), progress=False)
    summary = DemoSummary()
    _track(paths, summary)
    out = capsys.readouterr().out
    assert "per-track accuracy" in out and out.count("track ") >= 3
    assert summary.tracking["tracks"] == 3
    assert 0 <= summary.tracking["correct"] <= 3
    tracks = json.loads((paths.reports / "tracks.json").read_text())
    assert len(tracks["tracks"]) == 3 and tracks["accuracy"]["tracks"] == 3
    assert (paths.reports / "clip_tracked.mp4").stat().st_size > 0


def test_demo_ends_with_a_readable_summary_table():
    from rich.console import Console

    summary = DemoSummary(seconds={"train": 600.0, "total": 900.0},
                          accuracy={"test number (16 frames, PyTorch)": 0.925},
                          accuracy_ci95={"test number (16 frames, PyTorch)": (0.9, 0.95)},
                          latency_ms={"onnxruntime int8": 18.04},
                          tracking={"tracks": 6, "correct": 5, "abstained": 1})
    console = Console(record=True, width=120)
    console.print(summary.table())
    text = console.export_text()
    assert "test number (16 frames, PyTorch)" in text and "92.5%  (95% CI 90.0-95.0)" in text
    assert "5 of 6 (1 abstained)" in text and "18.0 ms" in text and "train 600 s" in text
    assert "{" not in text  # a table, not a Python dict
