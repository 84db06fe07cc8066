"""Whole-process timing for the benchmarks: wall time and peak RSS of a child process, interleaved runs, medians."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Measurement:
    label: str
    seconds: list[float] = field(default_factory=list)
    max_rss_mb: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def median_rss_mb(self) -> float:
        return statistics.median(self.max_rss_mb) if self.max_rss_mb else float("nan")


def run_process(
    argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None, check: bool = True
) -> tuple[float, float]:
    """Run ``argv`` to completion; return (wall seconds, peak RSS of that child in MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(list(argv), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if check and code != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise RuntimeError(f"{' '.join(argv)} exited {code}:\n{err[-2000:]}")
    if proc.stderr:
        proc.stderr.close()
    proc.returncode = code
    return elapsed, usage.ru_maxrss / 1024


def interleave(
    commands: dict[str, Callable[[], tuple[float, float]]], repeat: int, warmup: int = 1
) -> dict[str, Measurement]:
    """Run each command ``repeat`` times, round-robin, after ``warmup`` untimed rounds."""
    for _ in range(warmup):
        for fn in commands.values():
            fn()
    results = {label: Measurement(label) for label in commands}
    for _ in range(repeat):
        for label, fn in commands.items():
            seconds, rss = fn()
            results[label].seconds.append(seconds)
            results[label].max_rss_mb.append(rss)
    return results


def machine_description() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GiB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )
