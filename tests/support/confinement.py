"""Snapshots of the file system around a state directory, to show that a job touched nothing outside it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

#: path -> ("dir",) or ("file", size, mtime_ns, sha256) or ("link", target)
Snapshot = dict[str, tuple[object, ...]]


def snapshot(*roots: Path, exclude: Path | None = None) -> Snapshot:
    """Every file, folder and link under ``roots`` (and the roots themselves) except under ``exclude``, with its
    content hash: any file created, changed or deleted there changes the snapshot."""
    found: Snapshot = {}
    for root in roots:
        if not os.path.lexists(root):
            found[str(root)] = ("absent",)
            continue
        found[str(root)] = _entry(root)
        for folder, dirs, files in os.walk(root):
            here = Path(folder)
            if exclude is not None and (here == exclude or here.is_relative_to(exclude)):
                dirs[:] = []
                continue
            for name in [*dirs, *files]:
                path = here / name
                if exclude is not None and (path == exclude or path.is_relative_to(exclude)):
                    continue
                found[str(path)] = _entry(path)
    return found


def _entry(path: Path) -> tuple[object, ...]:
    if path.is_symlink():
        return ("link", os.readlink(path))
    if path.is_dir():
        return ("dir",)
    stat = path.stat()
    return ("file", stat.st_size, stat.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What differs between two snapshots, one line per path."""
    lines = []
    for path in sorted(set(before) | set(after)):
        if before.get(path) != after.get(path):
            lines.append(f"{path}: {before.get(path, ('absent',))[0]} -> {after.get(path, ('absent',))[0]}")
    return lines
