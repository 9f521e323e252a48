"""Label folders are ASCII digits only: '²', '①', '٤' pass str.isdigit() but are no labels."""

import pytest

from jersey_edge.core.errors import InputError
from jersey_edge.core.labels import parse_label


@pytest.mark.parametrize("name", ["²", "①", "4²", "¹⁰", "٤", "٤٨", "４", "७", " 4", "4 ", "+4"])
def test_non_ascii_digits_are_not_labels(name):
    with pytest.raises(InputError, match="not a jersey-number label"):
        parse_label(name)


@pytest.mark.parametrize("name,number", [("0", 0), ("7", 7), ("10", 10), ("48", 48),
                                         ("99", 99)])
def test_canonical_labels(name, number):
    assert parse_label(name) == number
