"""Pipe-mode channels as the open-source images read them (reference §5, §7).

The platform streams a Pipe channel's objects through the FIFO ``/opt/ml/input/data/<channel>_<epoch>``; the
image opens epoch 0 through ``mlio.SageMakerPipe(<channel path>)`` (``data_utils.py``:
``_get_csv_dmatrix_pipe_mode``, ``_get_parquet_dmatrix_pipe_mode``, ``get_recordio_protobuf_dmatrix``).
``get_size`` counts a channel whose ``<path>_0`` exists as 1 byte and skips the file checks. sagelocal drains
the FIFO into a temporary file and loads it with the channel loaders; CSV is read with the ``,`` delimiter
(mlio's default: no delimiter is sniffed in Pipe mode).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from sagelocal.algorithms.xgboost import data
from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.versions import ImageVersion

_PARQUET_MAGIC = b"PAR1"


def fifo(path: str) -> str:
    """The epoch-0 FIFO of the channel at ``path``."""
    return f"{path}_0"


def pipe_size(path: str, log: Log, name_of: data.PathNamer) -> int:
    """``get_size(path, is_pipe=True)``: 1 when the FIFO exists, else the File-mode size (0 when absent)."""
    if os.path.exists(fifo(path)):
        log.info(f"Pipe path {name_of(path)} found.")
        return 1
    if not os.path.exists(path):
        log.info(f"Path {name_of(path)} does not exist!")
        return 0
    return data.channel_size(path)


def load_pipe(
    path: str, data_format: str, csv_weights: bool, version: ImageVersion, log: Log, name_of: data.PathNamer
) -> data.LoadedData | None:
    """Read the channel's FIFO to its end and load what it delivered; None when it delivered nothing (the
    image's ``reader.peek_example() is None``)."""
    if version.at_least("1.3-1"):
        log.info(f"files path: {[name_of(path)]}")
    with tempfile.TemporaryDirectory(prefix="sagelocal-pipe-") as work:
        stream = os.path.join(work, "stream")
        with open(fifo(path), "rb") as source, open(stream, "wb") as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
        if os.path.getsize(stream) == 0:
            return None
        loaded: Any
        if data_format == "csv":
            loaded = data.load_csv([stream], ",", csv_weights, version.unparsed_csv_cell)
        elif data_format == "recordio-protobuf":
            loaded = data.load_recordio([stream])
        elif data_format == "parquet":
            loaded = data.load_parquet(_split_parquet(stream, work))
        else:  # channel validation accepts Pipe only for CSV, Parquet and RecordIO
            loaded = None
    if loaded is not None:
        loaded.data_format = data_format
    return loaded


def _split_parquet(stream: str, work: str) -> list[str]:
    """The Parquet files the objects were, back from their concatenation: each ends in ``PAR1`` and the next
    starts with it (mlio's ``ParquetRecordReader`` cuts the stream the same way)."""
    with open(stream, "rb") as f:
        blob = f.read()
    parts = blob.split(_PARQUET_MAGIC * 2)
    files = []
    for i, part in enumerate(parts):
        body = (b"" if i == 0 else _PARQUET_MAGIC) + part + (b"" if i == len(parts) - 1 else _PARQUET_MAGIC)
        path = os.path.join(work, f"part-{i}.parquet")
        with open(path, "wb") as out:
            out.write(body)
        files.append(path)
    return files


__all__ = ["fifo", "load_pipe", "pipe_size"]
