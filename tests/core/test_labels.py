import pytest

from jersey_edge.core.errors import InputError
from jersey_edge.core.labels import BLANK, digits_to_number, number_to_digits, parse_label


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
