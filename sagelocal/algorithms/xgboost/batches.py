"""A CSV or Parquet channel as a stream of float32 batches, fed to XGBoost through ``xgboost.DataIter``.

``data.load_csv`` holds the whole channel as one float32 matrix and ``xgb.DMatrix`` then makes its own CSR copy
(twice the matrix again): about 4.7x the float32 matrix at its peak. For the ``hist`` tree method XGBoost needs
neither: ``xgb.QuantileDMatrix`` takes the data batch by batch and keeps only its quantile cuts and a one-byte bin
index per cell. It reads its input four times, so the batches of the first pass are held (the float32 data, in
pieces, without the CSR copy) and dropped during the last. For data that does not fit in memory at all,
``xgb.ExtMemQuantileDMatrix`` (hist) and ``xgb.DMatrix(DataIter(cache_prefix=…))`` (approx) page it through a
cache on disk.

Each batch follows ``data.load_csv``'s cell rules exactly (those of ``data._table_to_matrix``, written by
:class:`_Filler` straight into the batch): an empty cell is missing (0 in label and weight columns, and under the
``"zero"`` rule), files narrower than the widest are padded with NaN, column 0 is the label (and column 1 the
weight with ``csv_weights``). A CSV cell Arrow cannot read as a number raises :class:`NotNumeric`: the caller then
loads the channel whole with ``data.load_csv``, whose cell-by-cell fallback is the image's parser.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sagelocal.algorithms.xgboost import data
from sagelocal.algorithms.xgboost.errors import UserError

#: Bytes of CSV text read and parsed at a time (``_line_chunks``), and the block each of Arrow's threads parses.
CSV_CHUNK_BYTES = 16 << 20
CSV_BLOCK_BYTES = 1 << 20
#: Rows handed to XGBoost at a time: Arrow's small batches are stacked up to this. XGBoost's sketch does per-batch
#: work, so ~8k-row batches took twice as long as these on the benchmark's file.
BATCH_ROWS = 1 << 17
#: How many times XGBoost 3.0.5's ``QuantileDMatrix`` reads its iterator (``reset`` before each pass): it
#: counts, sketches, counts the entries and fills the bin index.
QUANTILE_PASSES = 4
#: External memory: smaller pieces, so that what the process holds besides XGBoost's pages stays small.
EXTERNAL_CHUNK_BYTES = 4 << 20
EXTERNAL_BATCH_ROWS = 1 << 15
#: Rows per Parquet record batch.
PARQUET_BATCH_ROWS = 65_536

#: One batch: (features, labels, weights or None), float32 numpy arrays.
Batch = tuple[Any, Any, Any]


class LoadFailure(UserError):
    """The stream failed to read a file (``Failed to load <format> data with exception:…``)."""


class NotNumeric(Exception):
    """A CSV cell Arrow cannot read as a float: the channel needs ``data.load_csv``'s cell-by-cell parser."""


@dataclass
class ChannelSource:
    """The files of one channel and how to read them: a re-iterable source of :data:`Batch` es."""

    files: Sequence[str]
    data_format: str  # "csv" or "parquet"
    delimiter: str = ","
    csv_weights: bool = False
    unparsed: str = "missing"
    chunk_bytes: int = CSV_CHUNK_BYTES  # CSV text parsed at a time
    batch_rows: int = 0  # rows handed to XGBoost at a time (0: BATCH_ROWS)

    @property
    def label_columns(self) -> int:
        return 2 if (self.csv_weights and self.data_format == "csv") else 1

    def width(self) -> int:
        """Columns of the widest file (label and weight included), read from the first lines or the schemas."""
        if self.data_format == "parquet":
            import pyarrow.parquet as pq

            return max((len(pq.read_schema(f).names) for f in self.files), default=0)
        widths = [
            len(data._first_line(f).rstrip("\r\n").split(self.delimiter))
            for f in self.files
            if os.path.getsize(f) > 0
        ]
        return max(widths, default=0)

    def batches(self) -> Iterator[Batch]:
        width = self.width()
        unparsed = "missing" if self.data_format == "parquet" else self.unparsed
        filler = _Filler(width, self.label_columns, unparsed, self.batch_rows or BATCH_ROWS)
        for path in self.files:
            tables = (
                self._parquet_tables(path, width) if self.data_format == "parquet" else self._csv_tables(path)
            )
            for table in tables:
                yield from filler.add(table)
        if filler.rows:
            yield filler.take()

    def _csv_tables(self, path: str) -> Iterator[Any]:
        """The file's rows, ``chunk_bytes`` of text at a time (cut after a newline: quoting is off, so a
        newline always ends a row), each parsed by ``pyarrow.csv.read_csv`` on every core. Arrow's own streaming
        reader decodes blocks ahead of its consumer without bound (~65 blocks ahead, measured)."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        if os.path.getsize(path) == 0:
            return
        first = data._first_line(path).rstrip("\r\n")
        names = [f"f{i}" for i in range(len(first.split(self.delimiter)))]
        read = pacsv.ReadOptions(column_names=names, use_threads=True, block_size=CSV_BLOCK_BYTES)
        parse = pacsv.ParseOptions(delimiter=self.delimiter, quote_char=False)
        convert = pacsv.ConvertOptions(column_types={n: pa.float32() for n in names}, null_values=[""])
        try:
            for chunk in _line_chunks(path, self.chunk_bytes):
                text: Any = pa.BufferReader(pa.py_buffer(chunk))  # a NativeFile; pyarrow's stubs want IO
                yield pacsv.read_csv(
                    text,
                    read_options=read,
                    parse_options=parse,
                    convert_options=convert,
                )
        except pa.ArrowInvalid as e:
            if "conversion error" in str(e):
                raise NotNumeric(str(e)) from None
            raise

    def _parquet_tables(self, path: str, width: int) -> Iterator[Any]:
        """As ``data.load_parquet``: files narrower than the widest left out."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        if len(parquet.schema_arrow.names) != width:
            return
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            yield pa.Table.from_batches([batch])


class _Filler:
    """Arrow tables written straight into :data:`BATCH_ROWS`-row float32 buffers: C-ordered features (XGBoost
    reads strided rows far more slowly), labels and weights, so each cell is copied once. The cell rules are
    ``data._table_to_matrix``'s; columns a file lacks are NaN, as ``data._stack_dense`` pads them."""

    def __init__(self, width: int, label_columns: int, unparsed: str, batch_rows: int) -> None:
        self.batch_rows = batch_rows
        self.width = width
        self.label_columns = label_columns
        self.unparsed = unparsed
        self.rows = 0
        self._new()

    def _new(self) -> None:
        import numpy as np

        rows = self.batch_rows
        self.features = np.empty((rows, max(self.width - self.label_columns, 0)), dtype=np.float32)
        self.labels = np.empty(rows, dtype=np.float32)
        self.weights = np.empty(rows, dtype=np.float32) if self.label_columns == 2 else None
        self.rows = 0

    def _target(self, column: int) -> Any:
        if column == 0:
            return self.labels
        if column == 1 and self.weights is not None:
            return self.weights
        return self.features[:, column - self.label_columns]

    def add(self, table: Any) -> Iterator[Batch]:
        start = 0
        while start < table.num_rows:
            count = min(table.num_rows - start, self.batch_rows - self.rows)
            self._write(table.slice(start, count))
            start += count
            if self.rows == self.batch_rows:
                yield self.take()

    def _write(self, table: Any) -> None:
        import numpy as np

        first, last = self.rows, self.rows + table.num_rows
        dtypes = [c.type.to_pandas_dtype() for c in table.columns]
        common = np.result_type(*dtypes) if dtypes else np.float32  # data.load_parquet's column_stack
        for i, column in enumerate(table.columns[: self.width]):
            target = self._target(i)
            fill = 0.0 if (i < self.label_columns or self.unparsed == "zero") else None
            offset = first
            for chunk in column.chunks:
                if fill is not None and chunk.null_count:
                    chunk = chunk.fill_null(fill)
                values = chunk.to_numpy(zero_copy_only=False)
                if values.dtype != common and values.dtype.kind in "iub":
                    values = values.astype(common)
                target[offset : offset + len(values)] = values
                offset += len(values)
        for i in range(table.num_columns, self.width):
            self._target(i)[first:last] = np.nan
        self.rows = last

    def take(self) -> Batch:
        rows = self.rows
        weights = self.weights[:rows] if self.weights is not None else None
        batch = (self.features[:rows], self.labels[:rows], weights)
        self._new()
        return batch


def _line_chunks(path: str, size: int) -> Iterator[Any]:
    """The file's bytes in pieces of about ``size``, each ending at a newline (the last one: at the end of the
    file), as views of one reused buffer: each is valid until the next is asked for."""
    buffer = bytearray(size)
    held = 0  # bytes of an unfinished line kept at the start of the buffer
    with open(path, "rb") as f:
        while True:
            if held == len(buffer):  # a line longer than the buffer
                buffer.extend(bytes(len(buffer)))
            with memoryview(buffer) as view:
                got = f.readinto(view[held:])
            end = held + (got or 0)
            if not got:
                if held:
                    yield memoryview(buffer)[:held]
                return
            cut = buffer.rfind(b"\n", 0, end) + 1
            if cut == 0:
                held = end
                continue
            with memoryview(buffer) as view:
                yield view[:cut]
            buffer[: end - cut] = buffer[cut:end]
            held = end - cut


def _iter_base() -> Any:
    import xgboost as xgb

    return xgb.DataIter


def make_iter(source: ChannelSource, cache_prefix: str | None = None, keep: bool = False) -> Any:
    """An ``xgboost.DataIter`` over ``source``. ``keep``: hold the batches read on the first pass and serve
    later passes from them (QuantileDMatrix reads its data :data:`QUANTILE_PASSES` times; parsing the CSV that
    often would cost far more than the batches' memory), dropping each batch on the last pass as XGBoost takes
    it.
    Without ``keep`` every pass reads the files again (external memory: nothing is held)."""
    base = _iter_base()

    class ChannelIter(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__(cache_prefix=cache_prefix, release_data=True)
            self.rows = 0
            self.passes = 0
            self._held: list[Batch] = []
            self._stream: Iterator[Batch] | None = None
            self._index = 0

        def reset(self) -> None:
            self.passes += 1
            self._stream = None
            self._index = 0

        def next(self, input_data: Callable[..., None]) -> bool:
            batch = self._next_batch()
            if batch is None:
                if self.passes <= 1 and self.rows == 0:
                    raise UserError(data.NO_LABELS)
                return False
            features, labels, weights = batch
            if self.passes <= 1:
                self.rows += int(features.shape[0])
            if weights is None:
                input_data(data=features, label=labels)
            else:
                input_data(data=features, label=labels, weight=weights)
            return True

        def _next_batch(self) -> Batch | None:
            if keep and self.passes > 1:
                if self._index >= len(self._held):
                    return None
                batch = self._held[self._index]
                if self.passes >= QUANTILE_PASSES:  # the last pass: XGBoost's bin index is the only copy left
                    self._held[self._index] = (None, None, None)
                self._index += 1
                return batch
            if self._stream is None:
                self._stream = source.batches()
            streamed = next(self._stream, None)
            if streamed is not None and keep:
                self._held.append(streamed)
            return streamed

    return ChannelIter()


def failure(source: ChannelSource, e: Exception) -> LoadFailure:
    import xgboost as xgb

    text = str(e)
    if isinstance(e, xgb.core.XGBoostError):
        text = text.split("\nStack trace:", 1)[0].rstrip()
    return LoadFailure(f"Failed to load {source.data_format} data with exception:\n{text}")


def quantile_matrix(source: ChannelSource, max_bin: int | None = None, ref: Any = None) -> Any:
    """The channel as an in-memory ``xgb.QuantileDMatrix`` (hist only). Raises :class:`NotNumeric` for a CSV
    that needs the cell-by-cell parser, ``UserError`` as ``data.load_channel``/``data.to_dmatrix`` do."""
    import numpy as np
    import xgboost as xgb

    it = make_iter(source, keep=True)
    try:
        return xgb.QuantileDMatrix(it, missing=np.nan, max_bin=max_bin, ref=ref)
    except (NotNumeric, UserError):
        raise
    except Exception as e:
        raise failure(source, e) from None


def external_matrix(
    source: ChannelSource, cache_prefix: str, hist: bool, max_bin: int | None = None, ref: Any = None
) -> Any:
    """The channel paged through XGBoost's external memory under ``cache_prefix``: ``ExtMemQuantileDMatrix``
    for hist, a paged ``DMatrix`` (``SparsePageDMatrix``) for approx."""
    import numpy as np
    import xgboost as xgb

    os.makedirs(os.path.dirname(cache_prefix) or ".", exist_ok=True)
    small = dataclasses.replace(source, chunk_bytes=EXTERNAL_CHUNK_BYTES, batch_rows=EXTERNAL_BATCH_ROWS)
    it = make_iter(small, cache_prefix=cache_prefix)
    try:
        if hist:
            return xgb.ExtMemQuantileDMatrix(it, missing=np.nan, max_bin=max_bin, ref=ref)
        return xgb.DMatrix(it, missing=np.nan)
    except (NotNumeric, UserError):
        raise
    except Exception as e:
        raise failure(source, e) from None


__all__ = ["ChannelSource", "LoadFailure", "NotNumeric", "external_matrix", "failure", "make_iter", "quantile_matrix"]
