import numpy as np
import pytest

from jersey_edge.core.metrics import accuracy, wilson_interval


@pytest.mark.parametrize("successes, n, expected", [
    (50, 100, (0.4038, 0.5962)),  # textbook values (Wilson 1927; Newcombe 1998)
    (0, 10, (0.0, 0.2775)),
    (10, 10, (0.7225, 1.0)),
])
def test_wilson_interval_matches_published_values(successes, n, expected) -> None:
    assert wilson_interval(successes, n) == pytest.approx(expected, abs=5e-4)


def test_wilson_interval_of_nothing_is_everything() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_accuracy_reports_its_interval_and_n() -> None:
    tens = np.eye(11)[[1, 2, 3, 10]]
    ones = np.eye(10)[[4, 5, 6, 7]]
    acc = accuracy(tens, ones, np.array([1, 2, 3, 3]), np.array([4, 5, 6, 7]))
    report = acc.to_dict()
    assert report["n"] == 4 and report["number_acc"] == 0.75
    low, high = report["number_ci95"]
    assert low < 0.75 < high and (low, high) == pytest.approx(wilson_interval(3, 4))
