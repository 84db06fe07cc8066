"""Which matrix a job's channels become, decided before any data is read.

- ``"dmatrix"``: ``data.load_channel`` then ``data.to_dmatrix`` (one float32 matrix, then XGBoost's CSR copy).
  What the exact and approx tree methods need (the tutorial on every image up to 1.7-1, where ``auto`` picks
  one of them by the number of rows), and k-fold (``DMatrix.slice``), several hosts, Pipe mode, LIBSVM and
  RecordIO.
- ``"quantile"``: CSV or Parquet record batches streamed into ``xgb.QuantileDMatrix`` (``batches.py``) when the
  tree method is hist, known before loading (:func:`treebuild.planned_tree_method`). XGBoost 3.0.5 builds the same
  model from it as from a DMatrix (measured: identical model bytes on the bank data, on 300k rows with
  weights and missing cells in 3 batches, and on the benchmark's 2,000,000-row CSV).
- ``"external"``: the data would not fit in the memory available (``memory.py``): XGBoost's external memory,
  cached under the container's ``/tmp``: ``ExtMemQuantileDMatrix`` for hist, a paged DMatrix for approx (and for
  ``auto`` on the images whose XGBoost chose exact or approx, which chose approx for external-memory data).
  sagelocal says so in the job's log, beside the image's own lines.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sagelocal.algorithms.xgboost import batches, data, memory, treebuild
from sagelocal.algorithms.xgboost.errors import UserError
from sagelocal.algorithms.xgboost.hyperparameters import TrainingConfig
from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.versions import ImageVersion

#: The external-memory cache's folder under the (container's) temporary folder.
CACHE_FOLDER = "sagelocal-external-memory"
STREAMED_FORMATS = ("csv", "parquet")


@dataclass(frozen=True)
class Plan:
    kind: str  # "dmatrix", "quantile" or "external"
    hist: bool = False
    max_bin: int | None = None
    cache_dir: str | None = None

    @property
    def streamed(self) -> bool:
        return self.kind != "dmatrix"


DMATRIX = Plan("dmatrix")


def _files(path: str | None) -> list[str]:
    if not path or not os.path.exists(path):
        return []
    if os.path.isfile(path):
        return [path]
    found: list[str] = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        found.extend(os.path.join(root, name) for name in sorted(files))
    return found


def choose(
    cfg: TrainingConfig,
    version: ImageVersion,
    data_format: str,
    is_pipe: bool,
    num_hosts: int,
    paths: list[str],
    data_bytes: int,
    log: Log,
    name_of: data.PathNamer,
    environ: Mapping[str, str],
) -> Plan:
    """The plan for a job's channels (``paths``: train, then validation if any; ``data_bytes``: their size). When
    it is ``"external"``, logs sagelocal's line about it."""
    if data_format not in STREAMED_FORMATS or is_pipe or num_hosts > 1 or cfg.kfold or cfg.nfold:
        return DMATRIX
    params = cfg.xgb_params
    method = treebuild.planned_tree_method(params, version)
    max_bin = int(params["max_bin"]) if "max_bin" in params else None
    by_rows = (
        method is None and "updater" not in params and params.get("booster", "gbtree") != "gblinear"
    )  # auto on an image whose XGBoost picked exact or approx: approx on external memory
    external_ok = method in ("hist", "approx") or by_rows
    force = memory.forced(environ)
    if external_ok and force is not False:
        need = available = None
        if not force:
            files = [f for p in paths for f in _files(p)]
            rows, columns = memory.channel_cells(files, data_format)
            need = memory.in_memory_need(rows, columns, quantile=method == "hist")
            _import_loader()
            available = memory.available()
        if force or (available is not None and need is not None and need > available.bytes):
            cache_dir = os.path.join(tempfile.gettempdir(), CACHE_FOLDER)
            shown = name_of(cache_dir)
            size = memory.mib(data_bytes)
            if force:
                log.line(
                    f"sagelocal: the data ({size} of {data_format}) trains from XGBoost's external memory "
                    f"({memory.FORCE_VARIABLE}={environ[memory.FORCE_VARIABLE]}), cached in {shown}"
                )
            elif need is not None and available is not None:
                log.line(
                    f"sagelocal: the data ({size} of {data_format}) would need about {memory.mib(need)} in "
                    f"memory, more than the {memory.mib(available.bytes)} available ({available.source}): "
                    f"training from XGBoost's external memory, cached in {shown}"
                )
            return Plan("external", hist=method == "hist", max_bin=max_bin, cache_dir=cache_dir)
    if method == "hist":
        return Plan("quantile", hist=True, max_bin=max_bin)
    return DMATRIX


def _import_loader() -> None:
    """Import what loading imports anyway (~200 MiB with its libraries), so that the memory it takes is not
    counted as available for the data."""
    import pyarrow.csv  # noqa: F401
    import xgboost  # noqa: F401


def load(
    plan: Plan,
    channel: str,
    path: str,
    data_format: str,
    csv_weights: bool,
    version: ImageVersion,
    log: Log,
    name_of: data.PathNamer,
    ref: Any = None,
) -> Any:
    """A channel as ``plan`` says: an XGBoost matrix, or ``data.LoadedData`` (for ``data.to_dmatrix``) when a CSV
    holds a cell only the cell-by-cell parser reads. The same log lines as ``entry._load``, in its order."""
    files = data.channel_files(path, version, log, name_of)
    delimiter = ","
    if data_format == "csv":
        delimiter = data.sniff_delimiter(data._first_line(files[0]) if files else "", log)
    source = batches.ChannelSource(files, data_format, delimiter, csv_weights, version.unparsed_csv_cell)
    try:
        width = source.width()
    except Exception:  # an unreadable file: the loader fails on it with the image's message
        return _in_memory(files, data_format, delimiter, csv_weights, version)
    if ref is not None and _width(ref) != width - source.label_columns:
        # train and validation differ in width: the DMatrix path, which fails where the image's did
        return _in_memory(files, data_format, delimiter, csv_weights, version)
    try:
        if plan.kind == "external" and plan.cache_dir is not None:
            prefix = os.path.join(plan.cache_dir, channel)
            return batches.external_matrix(source, prefix, plan.hist, plan.max_bin, ref)
        return batches.quantile_matrix(source, plan.max_bin, ref)
    except (batches.NotNumeric, batches.LoadFailure):
        # a cell only the cell-by-cell parser reads, or a file the stream could not read: the loader's own path
        # (its error messages are the ones the image's loader gave)
        return _in_memory(files, data_format, delimiter, csv_weights, version)


def _width(matrix: Any) -> int:
    return int(matrix.num_col()) if hasattr(matrix, "num_col") else -1


def _in_memory(
    files: list[str], data_format: str, delimiter: str, csv_weights: bool, version: ImageVersion
) -> data.LoadedData:
    loaded = (
        data.load_csv(files, delimiter, csv_weights, version.unparsed_csv_cell)
        if data_format == "csv"
        else data.load_parquet(files)
    )
    loaded.data_format = data_format
    if loaded.labels.size == 0:
        raise UserError(data.NO_LABELS)
    return loaded


def clean_up(plan: Plan) -> None:
    if plan.cache_dir:
        shutil.rmtree(plan.cache_dir, ignore_errors=True)


__all__ = ["DMATRIX", "Plan", "choose", "clean_up", "load"]
