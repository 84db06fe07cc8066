"""What batch transform does to records, as pure functions: splitting, mini-batches within MaxPayloadInMB (the
fast path over raw bytes gives the same batches), JSONPath filters, joins and assembly."""

from __future__ import annotations

import pytest

from sagelocal.service.transform import records
from sagelocal.service.transform.records import Processing, RecordError


def test_split() -> None:
    assert records.split(b"a\nb\n", "Line") == [b"a", b"b"]
    assert records.split(b"a\nb", "Line") == [b"a", b"b"]
    assert records.split(b"", "Line") == []
    assert records.split(b"a\nb\n", "None") == [b"a\nb\n"]


@pytest.mark.parametrize("limit", [1, 3, 4, 7, 8, 100])
def test_line_batches_match_mini_batches(limit: int) -> None:
    data = b"12\n3\n456\n7\n89\n"
    processing = Processing(split_type="Line", max_payload_bytes=limit)
    split = records.split(data, "Line")
    try:
        slow = [records.body(split, batch) for batch in records.mini_batches(split, processing)]
    except RecordError as e:
        with pytest.raises(RecordError, match=str(e)):
            list(records.line_batches(data, limit))
        return
    fast = [data[start:stop] for start, stop in records.line_batches(data, limit)]
    assert fast == slow
    assert all(len(b) <= limit for b in fast)


def test_single_record_and_too_large() -> None:
    single = Processing(split_type="Line", batch_strategy="SingleRecord")
    assert list(records.mini_batches([b"a", b"b"], single)) == [range(0, 1), range(1, 2)]
    with pytest.raises(RecordError, match=r"^Too much data for max payload size$"):
        list(records.mini_batches([b"ab", b"abcd"], Processing(split_type="Line", max_payload_bytes=3)))


def test_filters_and_joins() -> None:
    csv = Processing(input_filter="$[1:]", output_filter="$[0,4:]", join_input=True)
    assert records.filter_input(b"id,1,2,3\r", csv) == b"1,2,3"
    assert records.finish_output(b"id,1,2,3,4", b"0.5", csv) == b"id,4,0.5"
    as_json = Processing(json_records=True, input_filter="$.features", join_input=True, output_filter="$")
    assert records.filter_input(b'{"id": 1, "features": [1, 2]}', as_json) == b"[1, 2]"
    assert records.finish_output(b'{"id": 1}', b"0.5", as_json) == b'{"id": 1, "SageMakerOutput": 0.5}'
    assert (
        records.finish_output(b"[1, 2]", b"0.5", as_json)
        == b'{"SageMakerInput": [1, 2], "SageMakerOutput": 0.5}'
    )
    with pytest.raises(RecordError, match="Invalid JSONPath expression"):
        records.select("$[", [1])


def test_outputs_and_assembly() -> None:
    line = Processing(assemble_with="Line")
    raw = Processing()
    assert records.assemble(records.outputs_of(b"0.1\n0.2\n", 2, line), line) == b"0.1\n0.2\n"
    assert records.assemble(records.outputs_of(b"0.1\n0.2\n", 2, raw), raw) == b"0.1\n0.2\n"
    joined = Processing(join_input=True)
    with pytest.raises(RecordError, match="returned 1 output records for 2 input records"):
        records.outputs_of(b"0.1\n", 2, joined)
