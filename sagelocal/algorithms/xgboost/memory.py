"""How much memory the algorithm can use, and how much loading a channel in memory would take.

The real image loads every channel in memory and, given more data than memory, is killed (SageMaker reports
an out-of-memory failure). sagelocal trains from XGBoost's external memory instead when its estimate of what
in-memory loading needs is more than what is available: the smallest of the cgroup's limit less its usage
(v2 ``memory.max``/``memory.current``, v1 ``memory.limit_in_bytes``/``memory.usage_in_bytes``, page cache the
kernel can reclaim not counted) and ``MemAvailable`` from ``/proc/meminfo``. ``SAGELOCAL_EXTERNAL_MEMORY``
overrides the decision: ``1`` always, ``0`` never.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

MIB = 1 << 20
#: The variable that forces (``1``) or forbids (``0``) external memory.
FORCE_VARIABLE = "SAGELOCAL_EXTERNAL_MEMORY"
#: What training adds per row beyond the matrix: gradient pairs, predictions, labels, row partitions.
PER_ROW_TRAINING_BYTES = 48
#: Arrow's read-ahead and XGBoost's sketch while loading.
LOADING_OVERHEAD_BYTES = 128 * MIB
#: Text read to estimate how many rows a CSV holds.
SAMPLE_BYTES = 1 * MIB
#: A cgroup "limit" this large means none (v1 reports 2**63 rounded down to the page size).
_NO_LIMIT = 1 << 60


@dataclass(frozen=True)
class Available:
    """Bytes the algorithm may still use, and where the figure comes from (for the log line)."""

    bytes: int
    source: str  # "the cgroup's memory limit" or "MemAvailable"


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as f:
            text = f.read().strip()
    except OSError:
        return None
    if not text or text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _stat_value(path: str, key: str) -> int:
    try:
        with open(path, encoding="ascii") as f:
            for line in f:
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
    except (OSError, ValueError):
        pass
    return 0


def cgroup_available(root: str = "/sys/fs/cgroup") -> int | None:
    """The cgroup's limit less its usage (less the inactive page cache the kernel reclaims before failing an
    allocation), or None when the cgroup sets no limit."""
    limit = _read_int(os.path.join(root, "memory.max"))
    if limit is not None:  # cgroup v2
        usage = _read_int(os.path.join(root, "memory.current")) or 0
        usage -= _stat_value(os.path.join(root, "memory.stat"), "inactive_file")
        return max(limit - max(usage, 0), 0)
    v1 = os.path.join(root, "memory")
    limit = _read_int(os.path.join(v1, "memory.limit_in_bytes"))
    if limit is None or limit >= _NO_LIMIT:
        return None
    usage = _read_int(os.path.join(v1, "memory.usage_in_bytes")) or 0
    usage -= _stat_value(os.path.join(v1, "memory.stat"), "total_inactive_file")
    return max(limit - max(usage, 0), 0)


def mem_available(meminfo: str = "/proc/meminfo") -> int | None:
    try:
        with open(meminfo, encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def available(cgroup_root: str = "/sys/fs/cgroup", meminfo: str = "/proc/meminfo") -> Available | None:
    """The memory the algorithm can still use, or None when neither source says."""
    figures = []
    in_cgroup = cgroup_available(cgroup_root)
    if in_cgroup is not None:
        figures.append(Available(in_cgroup, "the cgroup's memory limit"))
    machine = mem_available(meminfo)
    if machine is not None:
        figures.append(Available(machine, "MemAvailable"))
    return min(figures, key=lambda a: a.bytes) if figures else None


def csv_cells(path: str, size: int, delimiter_guess: str = ",") -> tuple[int, int]:
    """(rows, columns) of a CSV file estimated from its first :data:`SAMPLE_BYTES`."""
    with open(path, "rb") as f:
        sample = f.read(SAMPLE_BYTES)
    lines = sample.count(b"\n")
    first = sample.split(b"\n", 1)[0]
    delimiter = delimiter_guess.encode()
    if delimiter not in first:
        for candidate in (b"\t", b";", b"|", b" "):
            if candidate in first:
                delimiter = candidate
                break
    columns = first.count(delimiter) + 1 if first else 0
    if len(sample) < SAMPLE_BYTES or lines == 0:
        return max(lines, 1 if first else 0), columns
    return int(size * lines / len(sample)), columns


def parquet_cells(path: str) -> tuple[int, int]:
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path)
    return int(meta.num_rows), int(meta.num_columns)


def channel_cells(files: list[str], data_format: str) -> tuple[int, int]:
    """(rows, widest columns) over a channel's files."""
    rows = columns = 0
    for path in files:
        size = os.path.getsize(path)
        if size == 0:
            continue
        try:
            r, c = parquet_cells(path) if data_format == "parquet" else csv_cells(path, size)
        except Exception:  # unreadable: the loader reports it as the image does
            continue
        rows += r
        columns = max(columns, c)
    return rows, columns


def in_memory_need(rows: int, columns: int, quantile: bool) -> int:
    """Peak bytes of loading in memory and training: with ``quantile`` (hist) the float32 batches held while
    XGBoost builds its one-byte bin index; otherwise ``data.load_csv``'s Arrow table and float32 matrix and the
    DMatrix's CSR copy (8 bytes a cell)."""
    cell_bytes = (4 + 1) if quantile else (4 + 4 + 8)
    return rows * columns * cell_bytes + rows * PER_ROW_TRAINING_BYTES + LOADING_OVERHEAD_BYTES


def forced(environ: Mapping[str, str]) -> bool | None:
    """``SAGELOCAL_EXTERNAL_MEMORY``: True (``1``/``true``/``yes``), False (``0``/``false``/``no``), else None."""
    value = environ.get(FORCE_VARIABLE, "").strip().lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    return None


def mib(value: int) -> str:
    return f"{value / MIB:.0f} MiB"


__all__ = ["FORCE_VARIABLE", "Available", "available", "channel_cells", "forced", "in_memory_need"]
