"""The CSV delimiter of an invocation is what ``csv.Sniffer`` finds on the first line, as in the image
(aws/sagemaker-xgboost-container ``encoder.py`` ``csv_to_dmatrix``); the shortcut for lines of numbers must agree
with the Sniffer on every such line, and leave every other line to it."""

from __future__ import annotations

import csv

from hypothesis import given, settings
from hypothesis import strategies as st

from sagelocal.algorithms.xgboost.serving.payload import sniff_delimiter

numeric_lines = st.text(alphabet="0123456789.,-+eE", min_size=1, max_size=512)
number_rows = st.lists(
    st.one_of(st.floats(allow_nan=False, allow_infinity=False).map(repr), st.integers().map(str)),
    min_size=2,
    max_size=80,
).map(",".join)


def sniffer(line: str) -> str:
    try:
        return csv.Sniffer().sniff(line).delimiter
    except csv.Error as error:
        return f"error: {error}"


def ours(line: str) -> str:
    try:
        return sniff_delimiter(line)
    except csv.Error as error:
        return f"error: {error}"


@settings(max_examples=2000, deadline=None)
@given(numeric_lines)
def test_lines_of_numbers_and_commas_get_the_sniffers_delimiter(line: str) -> None:
    assert ours(line) == sniffer(line)


@settings(max_examples=500, deadline=None)
@given(number_rows)
def test_rows_of_numbers_get_the_comma(line: str) -> None:
    assert ours(line) == sniffer(line) == ","


def test_other_lines_are_the_sniffers() -> None:
    for line in ("1;2;3", "1\t2\t3", "1 2 3", "a,b,c", "age,job", "1|2|3", "1", "'1','2'", "1:2:3"):
        assert ours(line) == sniffer(line), line
