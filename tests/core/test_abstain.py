"""Choosing the "no legible number" threshold from confidences and correctness, by hand."""

import numpy as np
import pytest

from jersey_edge.core.abstain import (
    choose_threshold,
    coverage_curve,
    number_correct,
    operating_point,
)
from jersey_edge.core.digits import BLANK, number_confidence
from jersey_edge.core.errors import InputError


def test_curve_has_one_point_per_distinct_confidence_plus_zero():
    confidence = np.array([0.9, 0.5, 0.5, 0.2])
    correct = np.array([True, True, False, False])
    thresholds, coverage, accuracy = coverage_curve(confidence, correct)
    np.testing.assert_allclose(thresholds, [0.0, 0.2, 0.5, 0.9])
    np.testing.assert_allclose(coverage, [1.0, 1.0, 0.75, 0.25])
    np.testing.assert_allclose(accuracy, [0.5, 0.5, 2 / 3, 1.0])


def test_tied_confidences_are_accepted_together():
    confidence = np.array([0.9, 0.5, 0.5, 0.2])
    correct = np.array([True, True, False, False])
    # accepting one of the two 0.5s would give 100%; a threshold cannot split them
    assert choose_threshold(confidence, correct, 0.66) == 0.5
    assert choose_threshold(confidence, correct, 0.7) == 0.9


def test_lowest_threshold_that_meets_the_target_wins():
    confidence = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.3])
    correct = np.array([True, True, True, False, True, False])
    assert choose_threshold(confidence, correct, 0.8) == 0.6  # 4/5 accepted right
    assert choose_threshold(confidence, correct, 1.0) == 0.8
    assert choose_threshold(confidence, correct, 0.5) == 0.0  # 4/6: never abstain


def test_all_correct_means_threshold_zero_and_full_coverage():
    confidence = np.array([0.1, 0.4, 0.99])
    correct = np.ones(3, dtype=bool)
    threshold = choose_threshold(confidence, correct, 1.0)
    assert threshold == 0.0
    point = operating_point(confidence, correct, threshold)
    assert (point.accepted, point.coverage, point.accuracy) == (3, 1.0, 1.0)


def test_unreachable_target_is_none():
    confidence = np.array([0.9, 0.8, 0.4])
    assert choose_threshold(confidence, np.zeros(3, dtype=bool), 0.5) is None
    assert choose_threshold(np.zeros(0), np.zeros(0, dtype=bool), 0.5) is None


def test_too_few_accepted_sequences_do_not_count():
    confidence = np.array([0.9, 0.8, 0.7, 0.6])
    correct = np.array([True, False, True, False])
    assert choose_threshold(confidence, correct, 1.0) == 0.9
    assert choose_threshold(confidence, correct, 1.0, min_accepted=2) is None
    assert choose_threshold(confidence, correct, 0.5, min_accepted=4) == 0.0


def test_illegible_sequences_count_as_wrong_and_fall_below_the_threshold():
    """Illegible crops (no true number, -1) read with low confidence: the chosen threshold
    refuses them, so the runtime answers "no legible number" for them."""
    tens_logits = np.full((6, 11), -4.0)
    ones_logits = np.full((6, 10), -4.0)
    tens_true = np.array([4, BLANK, 4, BLANK, -1, -1])
    ones_true = np.array([8, 7, 8, 7, -1, -1])
    for i, (tens, ones) in enumerate(zip(tens_true[:4], ones_true[:4])):  # legible: sure, right
        tens_logits[i, tens], ones_logits[i, ones] = 6.0, 6.0
    tens_logits[4:, 4], ones_logits[4:, 8] = 0.5, 0.5  # illegible: an unsure 48
    confidence = number_confidence(tens_logits, ones_logits)
    correct = number_correct(tens_logits, ones_logits, tens_true, ones_true)
    assert correct.tolist() == [True, True, True, True, False, False]
    threshold = choose_threshold(confidence, correct, 0.95)
    assert threshold is not None
    assert (confidence[4:] < threshold).all() and (confidence[:4] >= threshold).all()
    assert operating_point(confidence, correct, threshold).coverage == pytest.approx(4 / 6)


def test_confidence_is_the_product_of_the_argmax_digit_probabilities():
    tens = np.log(np.array([[0.1] * 10 + [0.0001]]))
    ones = np.log(np.array([[0.5, 0.25, 0.25] + [1e-9] * 7]))
    tens_p = np.exp(tens) / np.exp(tens).sum()
    ones_p = np.exp(ones) / np.exp(ones).sum()
    assert number_confidence(tens, ones)[0] == pytest.approx(tens_p.max() * ones_p.max(),
                                                             rel=1e-6)


def test_nothing_accepted_has_no_accuracy():
    point = operating_point(np.array([0.2, 0.3]), np.array([True, False]), 0.5)
    assert (point.accepted, point.coverage, point.accuracy) == (0, 0.0, None)
    assert point.to_dict() == {"threshold": 0.5, "coverage": 0.0, "accuracy": None}


@pytest.mark.parametrize("confidence,correct", [
    (np.array([0.5, 1.5]), np.array([True, False])),
    (np.array([0.5, np.nan]), np.array([True, False])),
    (np.array([0.5]), np.array([True, False])),
])
def test_bad_inputs_are_input_errors(confidence, correct):
    with pytest.raises(InputError):
        coverage_curve(confidence, correct)


def test_target_outside_zero_one_is_an_input_error():
    with pytest.raises(InputError, match="target precision"):
        choose_threshold(np.array([0.5]), np.array([True]), 1.5)
