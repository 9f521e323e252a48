import numpy as np

from jersey_edge.core.parity import Parity, compare


def _logits(ones_index):
    tens = np.zeros((len(ones_index), 11), np.float32)
    tens[:, 10] = 5  # blank: single-digit numbers
    return tens, np.eye(10, dtype=np.float32)[ones_index] * 5


def test_compare_accuracy_agreement_and_drift():
    logits = _logits([0, 3])  # predicts 0 and 3
    targets = (np.array([10, 10]), np.array([0, 1]))
    parity = compare(logits, _logits([0, 1]), targets)
    assert parity == Parity(n=2, number_acc=0.5, agreement=0.5, max_abs_logit_diff=5.0)
    no_reference = compare(logits, None, targets)
    assert no_reference.agreement is None and no_reference.number_acc == 0.5
    assert compare(logits, None).number_acc is None


def test_compare_on_an_empty_set_agrees_vacuously():
    empty = (np.zeros((0, 11), np.float32), np.zeros((0, 10), np.float32))
    assert compare(empty, empty, (np.zeros(0), np.zeros(0))) == Parity(0, None, 1.0, 0.0)
