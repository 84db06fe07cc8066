"""Finding, checking and loading the files of a channel (reference §7).

The real image hands a directory URI to XGBoost's text loader. sagelocal reads the files itself
(pyarrow for CSV and Parquet, a small parser for LIBSVM, the SageMaker SDK's protobuf ``Record`` for
RecordIO), several files at once, and builds the ``xgb.DMatrix`` from arrays; the checks in front of
the loader and their messages are the image's. Paths in messages are container paths (``Layout.container_path``).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sagelocal.algorithms.xgboost.errors import UserError
from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.versions import ImageVersion

MAX_FOLDER_DEPTH = 3
SYMLINK_DIR = "/tmp/sagemaker_xgboost_input_data"
NO_LABELS = (
    "Got input data without labels. Please check the input data set. "
    "If training job is running on multiple instances, please switch "
    "to using single instance if number of records in the data set "
    "is less than number of workers (16 * number of instance) in the cluster."
)
HIDDEN_FILE = "Hidden file found in the data path! Remove that before training."

#: Shows a host path as the container would name it.
PathNamer = Callable[[str], str]


@dataclass
class LoadedData:
    """What a channel's files hold, before it becomes a DMatrix."""

    features: Any  # numpy 2-D float32 array or scipy CSR matrix
    labels: Any  # numpy float32 vector
    weights: Any | None = None
    data_format: str = "csv"  # the content type's format, for error messages

    @property
    def num_row(self) -> int:
        return int(self.features.shape[0])

    @property
    def num_col(self) -> int:
        return int(self.features.shape[1])


# --- scanning -------------------------------------------------------------------------------------


def channel_size(path: str) -> int:
    """Total bytes of the files under ``path`` (0 if it does not exist). Rejects hidden files at any depth."""
    if not os.path.exists(path):
        return 0
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            if name.startswith("."):
                raise UserError(HIDDEN_FILE)
            total += os.path.getsize(os.path.join(root, name))
    return total


def legacy_channel_size(path: str, container_path: str) -> int:
    """The 0.72 image's size scan: same hidden-file rule, but an existing empty channel is an error."""
    if not os.path.exists(path):
        return 0
    total = channel_size(path)
    if total == 0:
        raise UserError(
            f"No file found in path {container_path}. If you are using ShardedByS3Key, make sure every "
            "machine get at least one partition file"
        )
    return total


def first_leaf(path: str) -> str:
    """The first directory without subdirectories in a top-down walk (names sorted)."""
    for root, dirs, _files in os.walk(path):
        dirs.sort()
        if not dirs:
            return root
    return path


def _is_data_file(directory: str, name: str) -> bool:
    if not os.path.isfile(os.path.join(directory, name)):
        return False
    if name.startswith((".", "_")):
        return False
    return not (".cache" in name and ("dtrain" in name or "dval" in name))


def _stable_hash(text: str) -> int:
    """Stands in for Python's per-process ``hash(path)`` in the symlink names, so logs repeat run to run."""
    value = int.from_bytes(hashlib.sha1(text.encode()).digest()[:8], "little", signed=True)
    return value


def channel_files(path: str, version: ImageVersion, log: Log, name_of: PathNamer) -> list[str]:
    """The files the image loads for a channel, in a fixed order, logging what the image logs."""
    if version.file_rule == "first_leaf":
        leaf = first_leaf(path) if os.path.isdir(path) else path
        if os.path.isfile(leaf):
            leaves = [leaf]
        else:
            leaves = [
                os.path.join(leaf, n)
                for n in sorted(os.listdir(leaf))
                if os.path.isfile(os.path.join(leaf, n))
            ]
        if not version.legacy:
            log.info(f"files path: {name_of(leaf)}")
        return leaves

    log.info(f"File path {name_of(path)} of input files")
    files: list[str] = []
    if os.path.isfile(path):
        files.append(path)
        _log_symlink(log, name_of, path)
    else:
        try:
            _collect(path, 1, files, log, name_of)
        except _TooDeep:
            log.warning(
                f"The depth of folder {name_of(path)} exceed the limit {MAX_FOLDER_DEPTH}."
                f" Files in deeper sub dirs won't be loaded."
                f" Please adjust the folder structure accordingly."
            )
    log.info(f"files path: {SYMLINK_DIR}")
    return files


class _TooDeep(Exception):
    pass


def _collect(folder: str, depth: int, files: list[str], log: Log, name_of: PathNamer) -> None:
    if depth > MAX_FOLDER_DEPTH:
        raise _TooDeep
    log.info(f"Making smlinks from folder {name_of(folder)} to folder {SYMLINK_DIR}")
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.is_file():
            files.append(entry.path)
            _log_symlink(log, name_of, entry.path)
        elif entry.is_dir():
            _collect(entry.path, depth + 1, files, log, name_of)


def _log_symlink(log: Log, name_of: PathNamer, path: str) -> None:
    shown = name_of(path)
    dest = os.path.join(SYMLINK_DIR, os.path.basename(path)) + str(_stable_hash(shown))
    log.info(f"creating symlink between Path {shown} and destination {dest}")


def check_redundancy(train_path: str, val_path: str, log: Log, name_of: PathNamer) -> None:
    """Warn about same-name, same-size files in train and validation (1.x ``check_data_redundancy``)."""
    if not (os.path.isdir(train_path) and os.path.isdir(val_path)):
        return
    train_files = {f for f in os.listdir(train_path) if os.path.isfile(os.path.join(train_path, f))}
    val_files = {f for f in os.listdir(val_path) if os.path.isfile(os.path.join(val_path, f))}
    for name in sorted(train_files & val_files):
        a, b = os.path.join(train_path, name), os.path.join(val_path, name)
        size = os.path.getsize(b)
        if os.path.getsize(a) == size:
            log.warning(
                f"Suspected identical files found. ({name_of(a)} and {name_of(b)}"
                f"with same size {size} bytes)."
                f" Note: Duplicate data in the training set and validation set is usually"
                f" not intentional and can impair the validity of the model evaluation by"
                f" the validation score."
            )


# --- first-line checks ----------------------------------------------------------------------------


def sniff_delimiter(line: str, log: Log) -> str:
    try:
        delimiter = csv.Sniffer().sniff(line).delimiter
    except Exception as e:
        raise UserError(f"Could not determine delimiter on line {line[:50]}:\n{e}") from None
    log.info(f"Determined delimiter of CSV input is '{delimiter}'")
    return delimiter


def _first_line(path: str) -> str:
    with open(path, encoding="utf-8", errors="ignore") as f:
        return f.readline()


def _libsvm_label_ok(token: str) -> bool:
    parts = token.split(":")
    if len(parts) > 2:
        return False
    try:
        for part in parts:
            float(part)
    except ValueError:
        return False
    return True


def _libsvm_features(line: str, log: Log) -> int:
    """Number of well-formed features on a line, -1 if the line is not LIBSVM (the image's own check, which
    splits on single spaces and looks at the first feature only)."""
    tokens = line.split(" ")
    if not _libsvm_label_ok(tokens[0]):
        log.error(f"{tokens[0]} does not follow LIBSVM label format <label>(:<weight>).")
        return -1
    if len(tokens) == 1:
        return 0
    count = 0
    for token in tokens[1:]:
        if ":" not in token or len(tokens[1].split(":")) != 2:
            return -1
        count += 1
    return count


def validate_first_lines(path: str, data_format: str, version: ImageVersion, log: Log) -> None:
    """The image's format check on the first line of each file in the channel's first leaf directory."""
    if os.path.isfile(path):
        files = [path]
    else:
        leaf = first_leaf(path)
        files = [os.path.join(leaf, n) for n in sorted(os.listdir(leaf)) if _is_data_file(leaf, n)]
    for file in files:
        name = file.split("/")[-1]
        if version.legacy:
            _legacy_check(file, name, data_format)
        elif data_format == "csv":
            sniff_delimiter(_first_line(file), log)
        elif data_format == "libsvm":
            _check_libsvm(file, name, log)


def _check_libsvm(file: str, name: str, log: Log) -> None:
    with open(file, encoding="utf-8", errors="ignore") as f:
        for line in f:
            found = _libsvm_features(line, log)
            if found > 1:
                return
            if found < 0:
                raise UserError(
                    f"First line '{line[:50]}...' of file '{name}' is not 'LIBSVM' format. "
                    "Please ensure the file is in 'LIBSVM' format."
                )
    log.warning(
        f"File {name} is not an invalid LIBSVM file but has no features. Accepting simple validation."
    )


def _legacy_check(file: str, name: str, data_format: str) -> None:
    with open(file, encoding="utf-8", errors="ignore") as f:
        line = f.readline()
    has_libsvm_marks = " " in line and ":" in line
    if data_format == "csv":
        if has_libsvm_marks:
            raise UserError(
                f"Blankspace and colon found in firstline '{line[:50]}...' of file '{name}'. "
                "Please ensure the file is in csv format."
            )
        found = re.search("[a-df-zA-DF-Z]", line)
        if found is not None:
            raise UserError(
                f"Non-numeric value '{found.group(0)}' found in the header line '{line[:50]}...' of file "
                f"'{name}'. CSV format require no header line in it. If header line is already removed, "
                "XGBoost does not accept non-numeric value in the data."
            )
    elif data_format == "libsvm" and not has_libsvm_marks:
        raise UserError(
            f"Blankspace and colon not found in firstline '{line[:50]}...' of file '{name}'. ContentType by "
            "defaullt is in libsvm. Please ensure the file is in libsvm format."
        )


# --- loading --------------------------------------------------------------------------------------

#: What dmlc-core's ``ParseFloat`` (``include/dmlc/strtonum.h``, XGBoost's CSV parser) consumes: blanks, a
#: sign, ``inf``/``infinity``/``nan`` or digits, a fraction and an exponent (an ``e`` even without digits).
_DMLC_FLOAT = re.compile(
    r"\s*(?P<sign>[-+]?)(?:(?P<inf>infinity|inf(?!i))|(?P<nan>nan(?:\([0-9A-Za-z_]*\)?)?)|"
    r"(?P<int>\d*)(?P<frac>\.\d*)?(?:[eE](?P<exp>[-+]?\d*))?)",
    re.IGNORECASE,
)


def parse_cell(token: str) -> tuple[float, bool]:
    """``(value, consumed)``: what XGBoost's CSV parser reads from a cell — the number at its start (0 when
    there is none) and whether it read any character at all (``endptr != p`` in ``CSVParser::ParseBlock``)."""
    match = _DMLC_FLOAT.match(token)
    if match is None or match.end() == 0:
        return 0.0, False
    sign = -1.0 if match.group("sign") == "-" else 1.0
    if match.group("inf"):
        return sign * float("inf"), True
    if match.group("nan"):
        return float("nan"), True
    digits = match.group("int") or "0"
    fraction = (match.group("frac") or ".")[1:] or "0"
    exponent = match.group("exp") or "0"
    if exponent in ("+", "-"):
        exponent = "0"
    return sign * float(f"{digits}.{fraction}e{exponent}"), True


def cell_value(token: str, unparsed: str, label: bool) -> float:
    """A cell as the image's XGBoost stores it. A label or weight cell is the parsed number (0 when there is
    none); a feature cell with nothing to read is a 0 (``unparsed == "zero"``: dmlc-core before #605, XGBoost
    ≤ 1.0.0) or missing (``"missing"``: XGBoost 1.2.0 on)."""
    value, consumed = parse_cell(token)
    if consumed or label or unparsed == "zero":
        return value
    return float("nan")


def _parallel(function: Callable[[str], Any], files: Sequence[str]) -> list[Any]:
    if len(files) <= 1:
        return [function(f) for f in files]
    with ThreadPoolExecutor(max_workers=min(8, len(files))) as pool:
        return list(pool.map(function, files))


def _read_csv_file(path: str, delimiter: str, unparsed: str, label_columns: int) -> Any:
    """One CSV file as XGBoost's parser reads it: no quoting, an empty or non-numeric cell per
    :func:`cell_value`. Arrow reads the all-numeric files (empty cells come back null); any other file is
    parsed cell by cell."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if os.path.getsize(path) == 0:
        return np.empty((0, 0), dtype=np.float32)
    first = _first_line(path).rstrip("\r\n")
    names = [f"f{i}" for i in range(len(first.split(delimiter)))]
    read = pacsv.ReadOptions(column_names=names, use_threads=True)  # 1 MiB blocks keep every core busy
    parse = pacsv.ParseOptions(delimiter=delimiter, quote_char=False)
    try:
        convert = pacsv.ConvertOptions(column_types={n: pa.float32() for n in names}, null_values=[""])
        table = pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
        return _table_to_matrix(table, unparsed, label_columns)
    except pa.ArrowInvalid as e:
        if "conversion error" not in str(e):
            raise
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False)
    table = pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    columns = [
        np.array([cell_value(v or "", unparsed, i < label_columns) for v in c.to_pylist()], dtype=np.float32)
        for i, c in enumerate(table.columns)
    ]
    return np.column_stack(columns) if columns else np.empty((0, 0), dtype=np.float32)


def _table_to_matrix(table: Any, unparsed: str = "missing", label_columns: int = 0) -> Any:
    """A float32 Arrow table as one C-ordered float32 matrix, filled column by column and chunk by chunk, so no
    per-column arrays or stacked intermediate are ever held at once. A null (an empty cell) becomes what
    :func:`cell_value` makes of an empty cell: 0 in label columns and under the ``"zero"`` rule, else NaN."""
    import numpy as np

    out = np.empty((table.num_rows, table.num_columns), dtype=np.float32)
    for i, column in enumerate(table.columns):
        offset = 0
        fill = 0.0 if (i < label_columns or unparsed == "zero") else None
        for chunk in column.chunks:
            if fill is not None and chunk.null_count:
                chunk = chunk.fill_null(fill)
            values = chunk.to_numpy(zero_copy_only=False)
            out[offset : offset + len(values), i] = values
            offset += len(values)
    return out


def _stack_dense(blocks: list[Any]) -> Any:
    import numpy as np

    blocks = [b for b in blocks if b.shape[0] > 0]
    if not blocks:
        return np.empty((0, 0), dtype=np.float32)
    width = max(b.shape[1] for b in blocks)
    padded = []
    for b in blocks:
        if b.shape[1] < width:
            pad = np.full((b.shape[0], width - b.shape[1]), np.nan, dtype=np.float32)
            b = np.hstack([b, pad])
        padded.append(b)
    return np.vstack(padded) if len(padded) > 1 else padded[0]


def load_csv(
    files: Sequence[str], delimiter: str, csv_weights: bool, unparsed: str = "missing"
) -> LoadedData:
    label_columns = 2 if csv_weights else 1
    try:
        data = _stack_dense(_parallel(lambda f: _read_csv_file(f, delimiter, unparsed, label_columns), files))
        if csv_weights:
            return LoadedData(features=data[:, 2:], labels=data[:, 0], weights=data[:, 1])
        return LoadedData(features=data[:, 1:], labels=data[:, 0] if data.shape[1] else data[:, :0].ravel())
    except UserError:
        raise
    except Exception as e:
        raise UserError(f"Failed to load csv data with exception:\n{e}") from None


def _read_libsvm_file(path: str) -> tuple[list[float], list[float], list[int], list[int], list[float]]:
    labels: list[float] = []
    weights: list[float] = []
    indptr: list[int] = [0]
    indices: list[int] = []
    values: list[float] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            tokens = line.split("#", 1)[0].split()
            if not tokens:
                continue
            label, _, weight = tokens[0].partition(":")
            labels.append(float(label))
            weights.append(float(weight) if weight else 1.0)
            for token in tokens[1:]:
                key, sep, value = token.partition(":")
                if not sep:
                    raise ValueError(f"Invalid LIBSVM token '{token}' in file {os.path.basename(path)}")
                if key == "qid":
                    continue
                indices.append(int(key))
                values.append(float(value))
            indptr.append(len(indices))
    return labels, weights, indptr, indices, values


def load_libsvm(files: Sequence[str]) -> LoadedData:
    import numpy as np
    import scipy.sparse as sp

    try:
        parts = _parallel(_read_libsvm_file, files)
        labels: list[float] = []
        weights: list[float] = []
        indptr: list[int] = [0]
        indices: list[int] = []
        values: list[float] = []
        for p_labels, p_weights, p_indptr, p_indices, p_values in parts:
            offset = indptr[-1]
            labels.extend(p_labels)
            weights.extend(p_weights)
            indptr.extend(offset + i for i in p_indptr[1:])
            indices.extend(p_indices)
            values.extend(p_values)
        width = (max(indices) + 1) if indices else 0
        matrix = sp.csr_matrix(
            (np.array(values, dtype=np.float32), np.array(indices, dtype=np.int64), np.array(indptr)),
            shape=(len(labels), width),
        )
        w = np.array(weights, dtype=np.float32)
        return LoadedData(
            features=matrix, labels=np.array(labels, dtype=np.float32), weights=None if (w == 1).all() else w
        )
    except Exception as e:
        raise UserError(f"Failed to load libsvm data with exception:\n{e}") from None


def _read_parquet_file(path: str) -> Any:
    import numpy as np
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    if table.num_columns == 0:
        return np.empty((table.num_rows, 0), dtype=np.float32)
    return np.column_stack([c.to_numpy(zero_copy_only=False) for c in table.columns]).astype(np.float32)


def load_parquet(files: Sequence[str]) -> LoadedData:
    import numpy as np

    try:
        blocks = _parallel(_read_parquet_file, files)
        width = max((b.shape[1] for b in blocks), default=0)
        data = np.vstack([b for b in blocks if b.shape[1] == width]) if blocks else np.empty((0, 0))
        return LoadedData(features=data[:, 1:], labels=data[:, 0] if width else np.empty(0, dtype=np.float32))
    except Exception as e:
        raise UserError(f"Failed to load parquet data with exception:\n{e}") from None


def _record_module() -> Any:
    """``sagemaker.amazon.common`` without the SDK's import-time chatter on stdout/stderr."""
    import logging

    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            import sagemaker.amazon.common as common
    finally:
        logging.disable(previous)
    return common


def _tensor(record_map: Any, key: str) -> Any:
    value = record_map[key]
    for kind in ("float32_tensor", "float64_tensor", "int32_tensor"):
        if value.HasField(kind):
            return getattr(value, kind)
    raise ValueError(f"Record has no tensor in '{key}'")


def _read_recordio_file(path: str) -> tuple[list[Any], list[float]]:
    import numpy as np
    import scipy.sparse as sp

    common = _record_module()
    rows: list[Any] = []
    labels: list[float] = []
    with open(path, "rb") as f:
        for record in common.read_records(f):
            tensor = _tensor(record.features, "values")
            values = np.array(tensor.values, dtype=np.float32)
            row: Any
            if len(tensor.keys):
                width = int(tensor.shape[0]) if len(tensor.shape) else int(max(tensor.keys)) + 1
                row = sp.csr_matrix(
                    (values, (np.zeros(len(values), dtype=int), np.array(tensor.keys, dtype=np.int64))),
                    shape=(1, width),
                )
            else:
                row = values.reshape(1, -1)
            rows.append(row)
            if "values" in record.label:
                labels.extend(float(v) for v in _tensor(record.label, "values").values)
    return rows, labels


def load_recordio(files: Sequence[str]) -> LoadedData | None:
    import numpy as np
    import scipy.sparse as sp

    try:
        parts = _parallel(_read_recordio_file, files)
        rows = [r for p in parts for r in p[0]]
        labels = [v for p in parts for v in p[1]]
        if not rows:
            return None
        if any(sp.issparse(r) for r in rows):
            width = max(r.shape[1] for r in rows)
            rows = [sp.csr_matrix(r) for r in rows]
            rows = [sp.csr_matrix((r.data, r.indices, r.indptr), shape=(1, width)) for r in rows]
            features: Any = sp.vstack(rows).tocsr()
        else:
            features = np.vstack(rows)
        return LoadedData(features=features, labels=np.array(labels, dtype=np.float32))
    except Exception as e:
        raise UserError(f"Failed to load recordio-protobuf data with exception:\n{e}") from None


def load_channel(
    files: Sequence[str],
    data_format: str,
    csv_weights: bool,
    log: Log,
    legacy: bool = False,
    unparsed: str = "missing",
) -> tuple[LoadedData | None, str | None]:
    """Read a channel's files. Returns the data (None when RecordIO holds no record) and, for CSV, the
    delimiter sniffed from the first line of the first file. ``unparsed`` is the image's rule for CSV cells
    without a number (``ImageVersion.unparsed_csv_cell``)."""
    if data_format == "csv":
        line = _first_line(files[0]) if files else ""
        delimiter = sniff_delimiter(line.strip()[:512] if legacy else line, log)
        return load_csv(files, delimiter, csv_weights, unparsed), delimiter
    loaded: LoadedData | None
    if data_format == "libsvm":
        loaded = load_libsvm(files)
    elif data_format == "parquet":
        loaded = load_parquet(files)
    else:
        loaded = load_recordio(files)
    if loaded is not None:
        loaded.data_format = data_format
    return loaded, None


def to_dmatrix(data: LoadedData, nthread: int | None = None) -> Any:
    import numpy as np
    import xgboost as xgb

    if data.labels.size == 0:
        raise UserError(NO_LABELS)
    kwargs: dict[str, Any] = {"label": data.labels, "missing": np.nan}
    if data.weights is not None:
        kwargs["weight"] = data.weights
    if nthread:
        kwargs["nthread"] = nthread
    try:
        return xgb.DMatrix(data.features, **kwargs)
    except xgb.core.XGBoostError as e:
        text = str(e).split("\nStack trace:", 1)[0].rstrip()
        raise UserError(f"Failed to load {data.data_format} data with exception:\n{text}") from None
