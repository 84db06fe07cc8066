"""What batch transform does to the data between S3 and the container, as pure functions.

Sources: DOC batch-transform and batch-transform-data-processing; botocore ``sagemaker`` ``TransformInput``,
``TransformOutput``, ``DataProcessing`` doc strings; SageMaker SDK ``local/data.py`` (LineSplitter,
MultiRecordStrategy / SingleRecordStrategy) and ``local/entities.py`` (``_LocalTransformJob``).

- SplitType ``None``: the whole object is one record; ``Line``: every line is one (the final newline ends the
  last record rather than starting an empty one).
- BatchStrategy ``MultiRecord`` packs as many records as fit in MaxPayloadInMB into one request, joined by
  newlines; ``SingleRecord`` sends one record per request. A record larger than MaxPayloadInMB cannot be sent.
- DataProcessing: ``InputFilter`` picks part of each record before it is sent, ``JoinSource=Input`` joins each
  output record to its input record, ``OutputFilter`` picks part of the (joined) result. Filters are JSONPath
  (jsonpath-ng, with its ``ext`` grammar); a CSV record is the array of its fields, so ``$[1:]`` drops the first
  column. A CSV join appends the output's fields to the input's; a JSON join adds ``SageMakerOutput`` to an
  input object, or wraps another input value as ``{"SageMakerInput": …, "SageMakerOutput": …}``.
- AssembleWith ``Line`` ends every output record with a newline; ``None`` concatenates the outputs as they are.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jsonpath_ng import JSONPath
from jsonpath_ng.exceptions import JsonPathParserError
from jsonpath_ng.ext import parse as parse_jsonpath

#: MaxPayloadInMB when neither the request nor the container says (the API's documented default).
DEFAULT_MAX_PAYLOAD_MB = 6
_JSON_TYPES = ("application/json", "application/jsonlines", "application/x-jsonlines")
_UNION_WITH_SLICE = re.compile(r"^\$\[([^\[\]]*,[^\[\]]*)\]$")


class RecordError(Exception):
    """The data cannot be processed as asked; ``str()`` is the data-log line (after ``<bucket>/<key>: ``)."""


@dataclass(frozen=True)
class Processing:
    """The request's record rules, defaults filled in."""

    split_type: str = "None"  # None | Line
    batch_strategy: str = "MultiRecord"  # MultiRecord | SingleRecord
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_MB * 1024 * 1024
    assemble_with: str = "None"  # None | Line
    input_filter: str = "$"
    output_filter: str = "$"
    join_input: bool = False
    json_records: bool = False  # the input is JSON (else a record is CSV: an array of fields)

    @property
    def per_record(self) -> bool:
        """True when outputs must be matched to their records (a join or an output filter)."""
        return self.join_input or self.output_filter != "$"

    @classmethod
    def of(cls, request: dict[str, Any], batch_strategy: str, max_payload_mb: int) -> Processing:
        processing = request.get("DataProcessing") or {}
        content_type = (request["TransformInput"].get("ContentType") or "").split(";")[0].strip().lower()
        return cls(
            split_type=request["TransformInput"].get("SplitType") or "None",
            batch_strategy=batch_strategy,
            max_payload_bytes=max_payload_mb * 1024 * 1024,
            assemble_with=(request.get("TransformOutput") or {}).get("AssembleWith") or "None",
            input_filter=processing.get("InputFilter") or "$",
            output_filter=processing.get("OutputFilter") or "$",
            join_input=processing.get("JoinSource") == "Input",
            json_records=content_type in _JSON_TYPES,
        )


# --- splitting and mini-batches ---------------------------------------------------------------------------


def split(data: bytes, split_type: str) -> list[bytes]:
    """The records of one input object."""
    if split_type != "Line":
        return [data]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline that ends the last record
    return lines


def mini_batches(records: list[bytes], processing: Processing) -> Iterator[range]:
    """The records of each request, as index ranges, in order. RecordError for a record over the limit."""
    limit = processing.max_payload_bytes
    start, size = 0, 0
    for i, record in enumerate(records):
        if len(record) > limit:
            raise RecordError("Too much data for max payload size")
        if processing.batch_strategy == "SingleRecord" or processing.split_type != "Line":
            yield range(i, i + 1)
            start = i + 1
            continue
        added = len(record) + (1 if i > start else 0)
        if i > start and size + added > limit:
            yield range(start, i)
            start, size = i, len(record)
        else:
            size += added
    if start < len(records):
        yield range(start, len(records))


def line_batches(data: bytes, limit: int) -> Iterator[tuple[int, int]]:
    """MultiRecord over SplitType Line without filters, straight on the object's bytes: ``(start, stop)`` of
    each request body, cut at the last newline that keeps it within ``limit``. The same batches as
    :func:`mini_batches` over :func:`split`, without a list of records."""
    end = len(data) - 1 if data.endswith(b"\n") else len(data)
    start = 0
    while start < end:
        if end - start <= limit:
            yield start, end
            return
        cut = data.rfind(b"\n", start, start + limit + 1)
        if cut < 0:
            raise RecordError("Too much data for max payload size")
        yield start, cut
        start = cut + 1


def body(records: list[bytes], batch: range) -> bytes:
    return b"\n".join(records[i] for i in batch)


def split_response(response: bytes, count: int) -> list[bytes]:
    """One output per record of a request (the container's batch body has one line per record)."""
    if count == 1:
        return [response[:-1] if response.endswith(b"\n") else response]
    outputs = split(response, "Line")
    if len(outputs) != count:
        raise RecordError(
            f"The algorithm returned {len(outputs)} output records for {count} input records; "
            "they cannot be joined or filtered record by record"
        )
    return outputs


def outputs_of(response: bytes, count: int, processing: Processing) -> list[bytes]:
    """What one response contributes to the output: per record when they are joined, filtered or assembled by
    line; else the body as the container wrote it (AssembleWith None concatenates bodies)."""
    if not processing.per_record and processing.assemble_with != "Line":
        return [response]
    try:
        return split_response(response, count)
    except RecordError:
        if processing.per_record:
            raise
        return [response[:-1] if response.endswith(b"\n") else response]


# --- DataProcessing ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _compiled(expression: str) -> tuple[JSONPath, ...]:
    """The expression's parts: a bracket union with slices (``$[0,5:]``, which jsonpath-ng's grammar lacks) is
    one ``$[part]`` per member, taken in order."""
    match = _UNION_WITH_SLICE.match(expression.strip())
    parts = (
        [f"$[{p.strip()}]" for p in match.group(1).split(",")] if match and ":" in match.group(1) else None
    )
    try:
        return tuple(parse_jsonpath(p) for p in (parts or [expression]))
    except (JsonPathParserError, Exception) as e:
        raise RecordError(f"Invalid JSONPath expression {expression!r}: {e}") from None


def select(expression: str, value: Any) -> Any:
    """``expression`` applied to ``value``: the single match itself, else the list of matches."""
    if expression == "$":
        return value
    found = [m.value for path in _compiled(expression) for m in path.find(value)]
    return found[0] if len(found) == 1 else found


def _decode(record: bytes, json_records: bool) -> Any:
    text = record.decode("utf-8").rstrip("\r")
    if json_records:
        try:
            return json.loads(text)
        except ValueError as e:
            raise RecordError(f"Unable to parse the record as JSON: {e}") from None
    return text.split(",")


def _encode(value: Any, json_records: bool) -> bytes:
    if json_records:
        return json.dumps(value).encode()
    if isinstance(value, list):
        return ",".join(_csv_field(v) for v in value).encode()
    return _csv_field(value).encode()


def _csv_field(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def filter_input(record: bytes, processing: Processing) -> bytes:
    if processing.input_filter == "$":
        return record
    return _encode(
        select(processing.input_filter, _decode(record, processing.json_records)), processing.json_records
    )


def finish_output(source: bytes, output: bytes, processing: Processing) -> bytes:
    """One output record after the join and the output filter."""
    if not processing.per_record:
        return output
    if processing.json_records:
        try:
            result: Any = json.loads(output.decode("utf-8"))
        except ValueError:
            result = output.decode("utf-8")
        if processing.join_input:
            source_value = _decode(source, True)
            if isinstance(source_value, dict):
                result = {**source_value, "SageMakerOutput": result}
            else:
                result = {"SageMakerInput": source_value, "SageMakerOutput": result}
        return _encode(select(processing.output_filter, result), True)
    fields = output.decode("utf-8").rstrip("\r").split(",")
    if processing.join_input:
        fields = _decode(source, False) + fields
    return _encode(select(processing.output_filter, fields), False)


def assemble(outputs: list[bytes], processing: Processing) -> bytes:
    """The ``.out`` object's body from the per-record outputs, in order."""
    if processing.assemble_with == "Line":
        return b"".join(o + b"\n" for o in outputs)
    return b"".join(outputs)
