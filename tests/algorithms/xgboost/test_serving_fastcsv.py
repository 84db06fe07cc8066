"""Large CSV bodies (batch transform's mini-batches) take pandas' C parser when, and only when, it gives the image's
matrix; every other body takes the image's own parser and fails with its own message."""

from __future__ import annotations

import numpy as np
import pytest

from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.serving import fastcsv, payload
from sagelocal.algorithms.xgboost.serving.rules import serving_rules
from sagelocal.algorithms.xgboost.versions import get_version


def image_matrix(text: str, delimiter: str = ",") -> np.ndarray:
    """``payload.csv_matrix``'s own path (the image's code)."""
    rows = [["nan" if x == "" else x for x in line.split(delimiter)] for line in text.split("\n")]
    return np.array(rows).astype(float)


def test_large_numeric_bodies_parse_to_the_images_matrix() -> None:
    rng = np.random.default_rng(0)
    values = rng.standard_normal((20_000, 7)) * 10.0 ** rng.integers(-8, 8, (20_000, 7))
    lines = [",".join(repr(float(v)) for v in row) for row in values]
    lines[3] = "," + lines[3].split(",", 1)[1]  # an empty field is a missing value
    text = "\n".join(lines)
    assert len(text) >= fastcsv.MIN_BYTES
    fast = fastcsv.rectangular_matrix(text, ",")
    assert fast is not None
    assert np.array_equal(fast, image_matrix(text), equal_nan=True)
    assert np.isnan(fast[3, 0])
    assert np.array_equal(payload.csv_matrix(text.encode(), Log()), fast, equal_nan=True)


@pytest.mark.parametrize(
    "bad",
    ["1,2\n\n3,4", "1,2\n3", "1,2,3\n4,5", "1_0,2\n3,4", '"1",2\n3,4', "a,b\n1,2", "nan,NaN\n1,2"],
)
def test_anything_else_is_left_to_the_image(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastcsv, "MIN_BYTES", 0)
    assert fastcsv.rectangular_matrix(bad, ",") is None


def test_a_large_body_with_a_header_fails_with_the_images_message() -> None:
    text = "age,job\n" + "1,2\n" * 20_000
    with pytest.raises(payload.PayloadError) as error:
        payload.parse(text.encode(), "text/csv", serving_rules(get_version("1.7-1")), Log())
    assert error.value.message == (
        "Loading csv data failed with Exception, please ensure data is in csv format:\n"
        " <class 'ValueError'>\n could not convert string to float: 'age'"
    )
