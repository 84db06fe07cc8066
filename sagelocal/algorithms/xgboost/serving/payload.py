"""Request bodies of ``POST /invocations`` into an ``xgb.DMatrix``, with the image's 415 messages.

Sources (aws/sagemaker-xgboost-container, ``src/sagemaker_xgboost_container/``):
- ``data_utils.py`` ``get_content_type``: a missing Content-Type means LIBSVM; ``text/csv`` may carry
  ``label_size=1`` only; anything else is "not an accepted ContentType" (the training channel rule, shared with
  :func:`sagelocal.algorithms.xgboost.channels.data_format`).
- ``algorithm_mode/serve_utils.py`` ``parse_content_data``: each format's failure message; Parquet is accepted
  by ``get_content_type`` but then "Content-type … is not supported."; ``_get_sparse_matrix_from_libsvm``:
  ``idx:val`` tokens, ``idx`` a 0-based column, tokens without ``:`` (labels) ignored.
- ``encoder.py`` ``csv_to_dmatrix``: the body is stripped, the delimiter sniffed from the first 512 characters
  of line 1 (an alphanumeric guess becomes ``,``), empty fields become NaN; no header, no label column.
- ``encoder.py`` ``recordio_protobuf_to_dmatrix``: the ``values`` tensor of each record, labels ignored, dense or
  sparse after the first record.
- 0.72 (closed source): ``text/csv`` (the default) or ``text/libsvm``; other types are refused with the text
  quoted in GH aws/amazon-sagemaker-examples#729 (status 415 as the open-source images; inferred).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any, Literal

from sagelocal.algorithms.xgboost.channels import data_format
from sagelocal.algorithms.xgboost.errors import UserError
from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.serving.fastcsv import rectangular_matrix
from sagelocal.algorithms.xgboost.serving.rules import ServingRules

Kind = Literal["csv", "libsvm", "recordio-protobuf"]


class PayloadError(Exception):
    """The body cannot be read: 415 with ``message`` as the body."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Parsed:
    dmatrix: Any  # xgb.DMatrix
    kind: Kind


def content_kind(content_type: str | None, rules: ServingRules) -> Kind:
    """The parser for a Content-Type header value (``None`` = no header)."""
    if rules.legacy_content_types:
        media = (content_type or "text/csv").split(";")[0].strip().lower()
        if media in ("text/csv", "csv"):
            return "csv"
        if media in ("text/libsvm", "libsvm"):
            return "libsvm"
        raise PayloadError(
            f"Content-type {content_type} not supported. Supported content-type is text/csv, text/libsvm"
        )
    try:
        fmt = data_format({} if content_type is None else {"ContentType": content_type}, rules.version)
    except UserError as e:
        raise PayloadError(e.message) from None
    if fmt == "parquet":
        raise PayloadError(f"Content-type {content_type} is not supported.")
    return fmt


def parse(body: bytes, content_type: str | None, rules: ServingRules, log: Log) -> Parsed:
    kind = content_kind(content_type, rules)
    if kind == "csv":
        try:
            return Parsed(_dmatrix(csv_matrix(body, log)), kind)
        except Exception as e:
            raise PayloadError(
                "Loading csv data failed with Exception, please ensure data is in csv format:\n"
                f" {type(e)}\n {_numpy_text(str(e), rules)}"
            ) from None
    if kind == "libsvm":
        try:
            return Parsed(_dmatrix(libsvm_matrix(body)), kind)
        except Exception as e:
            raise PayloadError(
                "Loading libsvm data failed with Exception, please ensure data is in libsvm format:\n"
                f" {type(e)}\n {_numpy_text(str(e), rules)}"
            ) from None
    try:
        return Parsed(_dmatrix(recordio_matrix(body)), kind)
    except Exception as e:
        raise PayloadError(
            "Loading recordio-protobuf data failed with Exception, please ensure data is in recordio-protobuf "
            f"format: {type(e)} {e}"
        ) from None


def _dmatrix(matrix: Any) -> Any:
    import xgboost as xgb

    return xgb.DMatrix(matrix)


#: Characters of a line of plain numbers (``repr`` of floats, ints, exponents) and commas.
_NUMERIC = frozenset("0123456789.,-+eE")


def sniff_delimiter(first_line: str) -> str:
    """``csv.Sniffer().sniff(first_line).delimiter``, as the image calls it, without the Sniffer's cost where its
    answer is known: on a single line every character it holds counts as consistently frequent, so a line that
    holds a comma gets the comma (first of the Sniffer's ``preferred`` list) — for a line of numbers and commas,
    the ordinary payload, that is the answer (tests/algorithms check it against the Sniffer)."""
    if "," in first_line and _NUMERIC.issuperset(first_line):
        return ","
    return csv.Sniffer().sniff(first_line).delimiter


def csv_matrix(body: bytes, log: Log) -> Any:
    import numpy as np

    text = body.strip().decode("utf-8")
    sniffed = sniff_delimiter(text.split("\n")[0][:512])
    delimiter = "," if sniffed.isalnum() else sniffed
    log.info(f"Determined delimiter of CSV input is '{delimiter}'")
    fast = rectangular_matrix(text, delimiter)
    if fast is not None:
        return fast
    rows = [["nan" if x == "" else x for x in line.split(delimiter)] for line in text.split("\n")]
    return np.array(rows).astype(float)


def libsvm_matrix(body: bytes) -> Any:
    import numpy as np
    from scipy.sparse import csr_matrix

    rows: list[int] = []
    cols: list[str] = []
    values: list[str] = []
    for index, line in enumerate(body.strip().decode("utf-8").split("\n")):
        for item in line.split(" "):
            if ":" in item:
                parts = item.split(":")
                rows.append(index)
                cols.append(parts[0])
                values.append(parts[1])
    return csr_matrix((np.array(values).astype(float), (np.array(rows), np.array(cols).astype(int))))


def recordio_matrix(body: bytes) -> Any:
    """The ``values`` tensors of the records (the SageMaker SDK's ``Record`` protobuf stands in for mlio)."""
    import numpy as np
    import scipy.sparse as sp

    from sagelocal.algorithms.xgboost.data import _record_module, _tensor

    records = _record_module().read_records(io.BytesIO(body))
    if not records:
        raise ValueError("No examples in the payload")
    dense = not _tensor(records[0].features, "values").keys
    rows: list[Any] = []
    for record in records:
        tensor = _tensor(record.features, "values")
        values = np.array(tensor.values, dtype=np.float32)
        if dense:
            rows.append(values.reshape(1, -1))
        else:
            width = int(tensor.shape[0]) if len(tensor.shape) else int(max(tensor.keys, default=-1)) + 1
            keys = np.array(tensor.keys, dtype=np.int64)
            rows.append(sp.csr_matrix((values, (np.zeros(len(keys), dtype=int), keys)), shape=(1, width)))
    return np.vstack(rows) if dense else sp.vstack(rows).tocsr()


_NP_STR = re.compile(r"np\.str_\(('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\)")


def _numpy_text(message: str, rules: ServingRules) -> str:
    """numpy 2 quotes a string scalar as ``np.str_('age')``; the numpy 1.x of images before 3.0-5 as ``'age'``."""
    return message if rules.numpy2 else _NP_STR.sub(r"\1", message)
