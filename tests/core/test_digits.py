"""Label folders are ASCII digits only: '²', '①', '٤' pass str.isdigit() but are no labels."""

import numpy as np
import pytest

from jersey_edge.core.digits import (
    BLANK,
    accuracy,
    digits_to_number,
    number_to_digits,
    parse_label,
    wilson_interval,
)
from jersey_edge.core.errors import InputError


@pytest.mark.parametrize("number,digits", [(0, (BLANK, 0)), (7, (BLANK, 7)), (48, (4, 8)),
                                           (99, (9, 9)), (10, (1, 0))])
def test_number_digit_round_trip(number, digits):
    assert number_to_digits(number) == digits
    assert digits_to_number(*digits) == number


@pytest.mark.parametrize("name", ["07", "100", "abc", "-1", "", "4a"])
def test_non_labels_are_refused(name):
    with pytest.raises(InputError):
        parse_label(name)


def test_out_of_range_number():
    with pytest.raises(InputError, match="0-99"):
        number_to_digits(100)


@pytest.mark.parametrize("name", ["²", "①", "4²", "¹⁰", "٤", "٤٨", "４", "७", " 4", "4 ", "+4"])
def test_non_ascii_digits_are_not_labels(name):
    with pytest.raises(InputError, match="not a jersey-number label"):
        parse_label(name)


@pytest.mark.parametrize("name,number", [("0", 0), ("7", 7), ("10", 10), ("48", 48),
                                         ("99", 99)])
def test_canonical_labels(name, number):
    assert parse_label(name) == number


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
