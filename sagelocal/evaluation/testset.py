"""A labelled test CSV (the tutorial's ``test.csv``: label first, no header) and the request bodies it is sent
in.

The tutorial sends the feature columns as ``text/csv`` with the SDK's ``CSVSerializer`` (rows joined by
``\\n``); sagelocal sends the file's own text of those columns, so the model sees exactly what is in the file,
cut into bodies no larger than InvokeEndpoint's 6 MB limit (6291456 bytes, botocore
``sagemaker-runtime`` ``InvokeEndpointInput.Body``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: InvokeEndpoint's request body limit in bytes (botocore ``sagemaker-runtime`` service model).
MAX_BODY_BYTES = 6291456


class EvaluationError(ValueError):
    """A test set or an answer that cannot be evaluated; ``str()`` is one line for the user."""


@dataclass
class TestSet:
    """The labels (floats) and, per row, the text of its feature columns."""

    __test__ = False  # not a pytest class

    labels: Any  # numpy float array, one per row
    rows: list[str]
    columns: int  # feature columns per row

    def __len__(self) -> int:
        return len(self.rows)


def read_test_set(path: Path) -> TestSet:
    """Read ``path``: every non-blank line is ``label,feature,feature,…`` with the same number of fields."""
    import numpy as np

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvaluationError(f"Test set {path} does not exist.") from None
    except IsADirectoryError:
        raise EvaluationError(f"Test set {path} is a folder, not a CSV file.") from None
    except UnicodeDecodeError:
        raise EvaluationError(f"Test set {path} is not a UTF-8 text CSV file.") from None
    except OSError as e:
        raise EvaluationError(f"Cannot read test set {path}: {e.strerror}.") from None
    labels: list[float] = []
    rows: list[str] = []
    fields = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        label, _, features = line.partition(",")
        count = line.count(",") + 1
        if not fields:
            fields = count
            if fields < 2:
                raise EvaluationError(
                    f"{path}, line {number}: 1 column; a test set needs the label first and then the "
                    "features, comma-separated, no header."
                )
        elif count != fields:
            raise EvaluationError(
                f"{path}, line {number}: {count} columns where line 1 has {fields}; every row needs the "
                "label and the same features."
            )
        try:
            labels.append(float(label))
        except ValueError:
            raise EvaluationError(
                f"{path}, line {number}: the label {label.strip()!r} is not a number; the test set is the "
                "label first, then the features, with no header row."
            ) from None
        rows.append(features.rstrip("\r"))
    if not rows:
        raise EvaluationError(f"Test set {path} has no rows.")
    return TestSet(np.asarray(labels, dtype=float), rows, fields - 1)


def pack_rows(rows: Iterable[bytes], limit: int = MAX_BODY_BYTES) -> Iterator[list[bytes]]:
    """Consecutive rows grouped so that each group joined by ``\\n`` is at most ``limit`` bytes (a single row
    over the limit is a group of its own): the InvokeEndpoint bodies a CSV test set is sent in."""
    chunk: list[bytes] = []
    size = 0
    for row in rows:
        extra = len(row) + (1 if chunk else 0)
        if chunk and size + extra > limit:
            yield chunk
            chunk, size = [], 0
            extra = len(row)
        chunk.append(row)
        size += extra
    if chunk:
        yield chunk


def bodies(rows: list[str], limit: int = MAX_BODY_BYTES) -> Iterator[tuple[bytes, int]]:
    """``(body, row count)`` for consecutive rows, each body rows joined by ``\\n`` and at most ``limit``
    bytes. A single row over the limit is an error: no endpoint would take it."""
    encoded = [row.encode() for row in rows]
    for index, data in enumerate(encoded):
        if len(data) > limit:
            raise EvaluationError(
                f"Row {index + 1} of the test set is {len(data)} bytes, over InvokeEndpoint's {limit}-byte limit."
            )
    for chunk in pack_rows(encoded, limit):
        yield b"\n".join(chunk), len(chunk)


def decode_scores(body: bytes, rows: int) -> Any:
    """The scores in an answer to ``rows`` records, in any of the image's ``text/csv`` bodies (reference:
    aws/sagemaker-xgboost-container ``algorithm_mode/serve.py``): one value or row per line (1.2-2+),
    comma-joined values (0.72 … 1.2-1), or those images' comma-joined Python lists for multi-class scores.
    Returns a 1-D array of ``rows`` values, or a 2-D ``rows`` x classes array."""
    import re

    import numpy as np

    text = body.decode("utf-8", errors="replace").strip()
    try:
        if "[" in text:
            lists = re.findall(r"\[([^\]]*)\]", text)
            values = np.array([[float(v) for v in item.split(",")] for item in lists], dtype=float)
        elif "\n" in text or rows == 1:
            lines = text.splitlines()
            values = np.array([[float(v) for v in line.split(",")] for line in lines], dtype=float)
        else:
            flat = np.array([float(v) for v in text.split(",")], dtype=float)
            if flat.size % rows:
                raise ValueError
            values = flat.reshape(rows, flat.size // rows)
    except ValueError:
        raise EvaluationError(f"The model's answer is not one score per record: {_excerpt(text)}") from None
    if values.ndim != 2 or values.shape[0] != rows:
        raise EvaluationError(f"The model answered {values.shape[0]} scores for {rows} records.")
    return values[:, 0] if values.shape[1] == 1 else values


def _excerpt(text: str, limit: int = 120) -> str:
    flat = text.replace("\n", "\\n")
    return flat if len(flat) <= limit else flat[:limit] + "…"
