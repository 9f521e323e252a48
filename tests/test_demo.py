from jersey_edge.demo import DemoPaths, DemoSummary, _evaluate


def test_demo_evaluation_reports_each_accuracy_with_its_interval(tiny_dataset, tiny_checkpoint,
                                                                 tmp_path):
    tiny_checkpoint(tmp_path / "run", tiny_dataset)
    paths = DemoPaths(data=tiny_dataset, run=tmp_path / "run", reports=tmp_path / "reports")
    summary = DemoSummary()
    _evaluate(paths, summary)
    assert set(summary.accuracy_ci95) == set(summary.accuracy)
    for name, (low, high) in summary.accuracy_ci95.items():
        assert 0.0 <= low <= summary.accuracy[name] <= high <= 1.0, name
