"""Loading and training on the benchmark's ~1 GB CSV (issue 18, targets 2 and 3): whole-process wall time and
peak RSS through ``harness.run_process``, interleaved runs. Nothing here is asserted; ``bench/run.py`` calls these
and writes what they return (markdown lines) into RESULTS.md.

    python bench/loading.py [CSV]       # every section on CSV (default: bench/_work/big/train.csv)

- :func:`target_lean_loading`: XGBoost's own text parser, sagelocal's old loader (one float32 matrix, then
  ``xgb.DMatrix``'s CSR copy) and the streaming loader (record batches into ``xgb.QuantileDMatrix``), each timed
  for "load" and for "load + 1 round of hist": a DMatrix defers hist's quantile sketch and bin index to the first
  round, a QuantileDMatrix builds them while loading, so only the second figure compares like with like.
- :func:`model_equivalence`: the hist model from the QuantileDMatrix against the one from the DMatrix.
- :func:`target_external_memory`: the algorithm's ``train`` on the CSV with external memory forced
  (``SAGELOCAL_EXTERNAL_MEMORY=1``), against the same job in memory; and, if Docker answers, a docker-backend
  job whose container may use less memory than the file's size (``SAGELOCAL_CONTAINER_MEMORY``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from harness import Measurement, interleave, run_process  # noqa: E402

PY = sys.executable
SAGELOCAL = str(Path(PY).with_name("sagelocal"))
WORK = HERE / "_work"
DEFAULT_CSV = WORK / "big" / "train.csv"

#: Each script loads argv[1]; with argv[2] == "1" it also trains one round of hist.
_ONE_ROUND = """
if sys.argv[2] == "1":
    xgb.train({"tree_method": "hist", "objective": "binary:logistic"}, d, 1)
print(d.num_row(), d.num_col())
"""
XGBOOST_PARSER = (
    """
import sys, xgboost as xgb
d = xgb.DMatrix(sys.argv[1] + "?format=csv&label_column=0")
"""
    + _ONE_ROUND
)
OLD_LOADER = (
    """
import os, sys, xgboost as xgb
from sagelocal.algorithms.xgboost.data import load_channel, to_dmatrix
from sagelocal.algorithms.xgboost.logs import Log
data, _ = load_channel([sys.argv[1]], "csv", False, Log(stream=open(os.devnull, "w")))
d = to_dmatrix(data)
del data
"""
    + _ONE_ROUND
)
STREAMING_LOADER = (
    """
import sys, xgboost as xgb
from sagelocal.algorithms.xgboost.batches import ChannelSource, quantile_matrix
d = quantile_matrix(ChannelSource([sys.argv[1]], "csv"))
"""
    + _ONE_ROUND
)
LOADERS = {
    "xgboost text parser (?format=csv)": XGBOOST_PARSER,
    "sagelocal old loader (float32 matrix → DMatrix)": OLD_LOADER,
    "sagelocal streaming loader (batches → QuantileDMatrix)": STREAMING_LOADER,
}


def _env() -> dict[str, str]:
    # The algorithm sets OMP_WAIT_POLICY=PASSIVE for itself (entry.py); every contender runs with it here.
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}


def _shape(path: Path) -> tuple[int, int]:
    with open(path, "rb") as f:
        columns = f.readline().count(b",") + 1
    rows = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            rows += block.count(b"\n")
    return rows, columns


def _table(results: dict[str, Measurement]) -> list[str]:
    lines = ["| | median wall | median peak RSS |", "|---|---:|---:|"]
    for label, m in results.items():
        lines.append(f"| {label} | {m.median:.2f} s | {m.median_rss_mb:.0f} MiB |")
    return lines


def target_lean_loading(path: Path = DEFAULT_CSV, repeat: int = 3) -> tuple[list[str], float, float]:
    """Target 2: peak RSS ≤ 2.5× the float32 matrix, no slower than XGBoost's own parser. Returns the section,
    the peak as a multiple of the float32 matrix, and the speed (load + 1 round) relative to the parser."""
    rows, columns = _shape(path)
    float32_mib = rows * (columns - 1) * 4 / 2**20
    commands = {}
    for label, script in LOADERS.items():
        for rounds, suffix in (("0", "load"), ("1", "load + 1 round of hist")):
            commands[f"{label}: {suffix}"] = lambda s=script, r=rounds: run_process(
                [PY, "-c", s, str(path), r], env=_env()
            )
    res = interleave(commands, repeat, warmup=0)
    xgb_load = res[f"{next(iter(LOADERS))}: load"].median
    xgb_round = res[f"{next(iter(LOADERS))}: load + 1 round of hist"].median
    new = "sagelocal streaming loader (batches → QuantileDMatrix)"
    new_load, new_round = res[f"{new}: load"], res[f"{new}: load + 1 round of hist"]
    ratio = max(new_load.median_rss_mb, new_round.median_rss_mb) / float32_mib
    speed = xgb_round / new_round.median
    return (
        [
            f"## Memory-lean loading ({rows:,} × {columns} CSV, {path.stat().st_size / 1e9:.2f} GB)",
            "",
            f"Targets: peak RSS ≤ 2.5× the float32 matrix ({float32_mib:.0f} MiB), whole process; no slower than "
            "XGBoost's own parser. A DMatrix defers hist's sketch and bin index to the first round, a "
            "QuantileDMatrix builds them while loading: the fair comparison is load + 1 round.",
            "",
            *_table(res),
            "",
            f"**Peak memory: {ratio:.2f}× the float32 matrix** — {'met' if ratio <= 2.5 else 'NOT met'} "
            f"(target ≤ 2.5×). **Speed, load + 1 round: {speed:.2f}×** XGBoost's parser — "
            f"{'met' if speed >= 1.0 else 'NOT met'} (target ≥ 1.0×); load only: the parser alone takes "
            f"{xgb_load:.2f} s, the streaming loader {new_load.median:.2f} s including the sketch.",
            "",
            "Where the time goes (from the rows above): XGBoost's parser reads the file in "
            f"{xgb_load:.2f} s and spends {xgb_round - xgb_load:.2f} s more in its first round (the quantile "
            "sketch and the bin index over its CSR copy, then the tree); the streaming loader reads, sketches "
            f"and bins in {new_load.median:.2f} s (a first pass parses the file in 16 MiB pieces with pyarrow and "
            "keeps the float32 batches; XGBoost's iterator then reads them three more times: row counts, "
            f"sketch, bin index) and its first round takes {new_round.median - new_load.median:.2f} s. Parsing "
            "is the floor: pyarrow and XGBoost's parser each read under 200 MB/s on these 2 cores.",
            "",
        ],
        ratio,
        speed,
    )


EQUIVALENCE = """
import json, os, sys, numpy as np, xgboost as xgb
from sagelocal.algorithms.xgboost.batches import ChannelSource, quantile_matrix
from sagelocal.algorithms.xgboost.data import load_channel, to_dmatrix
from sagelocal.algorithms.xgboost.logs import Log
params = {"tree_method": "hist", "objective": "binary:logistic", "max_depth": 6, "seed": 0}
q = quantile_matrix(ChannelSource([sys.argv[1]], "csv"))
streamed = xgb.train(params, q, 10)
del q
data, _ = load_channel([sys.argv[1]], "csv", False, Log(stream=open(os.devnull, "w")))
d = to_dmatrix(data)
del data
dense = xgb.train(params, d, 10)
a, b = streamed.predict(d), dense.predict(d)
print(json.dumps({"identical_bytes": streamed.save_raw("json") == dense.save_raw("json"),
                  "max_abs_diff": float(np.max(np.abs(a - b)))}))
"""


def model_equivalence(path: Path = DEFAULT_CSV) -> list[str]:
    """The hist model (10 rounds) from the streamed QuantileDMatrix against the one from the DMatrix."""
    out = subprocess.run(
        [PY, "-c", EQUIVALENCE, str(path)], env=_env(), capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    same = "identical model bytes" if result["identical_bytes"] else "models differ"
    return [
        f"QuantileDMatrix vs DMatrix, hist, 10 rounds on {path.name}: **{same}**, max abs prediction "
        f"difference {result['max_abs_diff']:g}.",
        "",
    ]


def _layout(root: Path, csv: Path, hyperparameters: dict[str, str]) -> Path:
    """An /opt/ml layout for the algorithm's ``train`` with ``csv`` (hard-linked, or copied) as its train channel."""
    config = root / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    channel = {"ContentType": "csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"}
    (config / "inputdataconfig.json").write_text(json.dumps({"train": channel}))
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    target = root / "input" / "data" / "train" / csv.name
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(csv, target)
    except OSError:
        shutil.copyfile(csv, target)
    return root


def target_external_memory(
    path: Path = DEFAULT_CSV, rounds: int = 10, docker_limit: str | None = "768m"
) -> tuple[list[str], str | None]:
    """Target 3 on the 1 GB file: ``train`` (3.0-5, hist) forced onto external memory vs in memory; then, when
    Docker answers and ``docker_limit`` is set, a docker-backend job in a container with that memory limit.
    Returns the section and the docker job's status (None when it did not run)."""
    hps = {"num_round": str(rounds), "objective": "binary:logistic", "tree_method": "hist"}
    work = Path(tempfile.mkdtemp(prefix="bench-extmem-", dir=WORK))
    results: dict[str, Measurement] = {}
    try:
        for label, force in (("in memory", "0"), ("external memory (SAGELOCAL_EXTERNAL_MEMORY=1)", "1")):
            root = _layout(work / force, path, hps)
            env = {**_env(), "SAGELOCAL_EXTERNAL_MEMORY": force, "TMPDIR": str(work)}
            argv = [
                PY,
                "-m",
                "sagelocal.algorithms.xgboost",
                "train",
                "--ml-root",
                str(root),
                "--image-version",
                "3.0-5",
            ]
            seconds, rss = run_process(argv, env=env)
            results[f"`train`, {label}"] = Measurement(label, [seconds], [rss])
        lines = [
            f"## Data larger than memory ({path.stat().st_size / 1e9:.2f} GB CSV, {rounds} rounds of hist)",
            "",
            "The algorithm's `train` on the file, whole process (3.0-5):",
            "",
            *_table(results),
            "",
        ]
        status = None
        if docker_limit:
            docker_lines, status = _docker_job(path, rounds, docker_limit, work)
            lines += docker_lines
        return lines, status
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _docker_job(path: Path, rounds: int, limit: str, work: Path) -> tuple[list[str], str | None]:
    if subprocess.run(["docker", "ps"], capture_output=True).returncode != 0:
        return ["(No Docker engine: the docker-backend case was not run.)", ""], None
    home = work / "home"
    argv = [
        SAGELOCAL, "train", "--backend", "docker", "--train", str(path), "--content-type", "csv",
        "--xgboost-version", "3.0-5", "--job-name", "extmem-1", "--wait", "--json",
        "-H", f"num_round={rounds}", "-H", "tree_method=hist", "-H", "objective=binary:logistic",
    ]  # fmt: skip
    env = {**os.environ, "SAGELOCAL_HOME": str(home), "SAGELOCAL_CONTAINER_MEMORY": limit}
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    try:
        status = json.loads(proc.stdout)["TrainingJobStatus"]
    except (ValueError, KeyError):
        status = f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"
    logs = subprocess.run(
        [SAGELOCAL, "jobs", "logs", "extmem-1"], env=env, capture_output=True, text=True
    ).stdout.splitlines()
    ours = next((line for line in logs if line.startswith("sagelocal: the data")), "(no sagelocal line)")
    return [
        f"`sagelocal train --backend docker` with `SAGELOCAL_CONTAINER_MEMORY={limit}`: **{status}** in "
        f"{elapsed:.1f} s wall (upload into the store included). Its log says:",
        "",
        f"    {ours}",
        "",
    ], status


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CSV
    for section in (target_lean_loading(path)[0], model_equivalence(path), target_external_memory(path)[0]):
        print("\n".join(section))


if __name__ == "__main__":
    main()
