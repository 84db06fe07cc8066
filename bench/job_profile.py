"""Where a cold tutorial job's wall time goes, phase by phase, next to the raw script's phases.

One `sagelocal train --backend local --wait` run, timed from outside; the phase boundaries come from the job
itself: CreationTime, the Training transition and TrainingEndTime of DescribeTrainingJob, and the timestamps
the supervisor gave the algorithm's first log line, its `[0]` line and its last metric line. The raw script
(`plain_xgboost.py --phases`) reports its own imports, read, train and save.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable


def _phases_of_job(home: Path, name: str, started: float, ended: float) -> list[tuple[str, float]]:
    os.environ["SAGELOCAL_HOME"] = str(home)
    from sagelocal.backends import get_backend

    backend = get_backend("local")
    described = backend.describe_training_job(name)
    events = backend.get_log_events(name)
    created = described["CreationTime"].timestamp()
    training = next(
        t["StartTime"].timestamp()
        for t in described["SecondaryStatusTransitions"]
        if t["Status"] == "Training"
    )
    finished = described["TrainingEndTime"].timestamp()
    stamps = [(e["timestamp"] / 1000, e["message"]) for e in events]
    first_line = stamps[0][0]
    first_round = next(ts for ts, message in stamps if message.startswith("[0]"))
    last_round = [ts for ts, message in stamps if message.startswith("[") and "]#011" in message][-1]
    return [
        ("CLI start → job created (imports, request validation, upload)", created - started),
        ("job created → Training (supervisor start, layout, phases)", training - created),
        ("Training → algorithm's first line (process start, imports)", first_line - training),
        ("first line → round [0] (configs, data load, matrix, first round)", first_round - first_line),
        ("round [0] → last round (boosting)", last_round - first_round),
        ("last round → Completed (model written, process exit, upload)", finished - last_round),
        ("Completed → CLI exit (poll, final lines, exit)", ended - finished),
        ("total", ended - started),
    ]


def profile(argv: list[str], name: str, home: Path, train_csv: Path) -> list[str]:
    """Run the job once (``argv`` makes job ``name`` in ``home``) and the raw script once; the section's lines."""
    started = time.time()
    subprocess.run(argv, env={**os.environ, "SAGELOCAL_HOME": str(home)}, check=True, capture_output=True)
    ended = time.time()
    job = _phases_of_job(home, name, started, ended)
    with tempfile.TemporaryDirectory() as out:
        began = time.time()
        done = subprocess.run(
            [PY, str(HERE / "plain_xgboost.py"), str(train_csv), out, "--phases"],
            check=True,
            capture_output=True,
            text=True,
        )
        total = time.time() - began
    raw = [
        (line.split("\t")[0], float(line.split("\t")[1])) for line in done.stderr.splitlines() if "\t" in line
    ]
    lines = ["| sagelocal train --wait, phase | s |", "|---|---|"]
    lines += [f"| {label} | {seconds:.3f} |" for label, seconds in job]
    lines += ["", "| raw script, phase | s |", "|---|---|"]
    lines += [f"| {label} | {seconds:.3f} |" for label, seconds in raw]
    lines += [f"| total (process start to exit) | {total:.3f} |"]
    return lines
