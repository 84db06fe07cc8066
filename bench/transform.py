"""Batch transform of a 1,000,000-row CSV, whole process, against a raw script (issue 14).

    python bench/transform.py [--repeat 3] [--append bench/RESULTS.md]

The model is the tutorial's (bank data, its hyperparameters, 100 rounds) trained by the algorithm itself; the CSV
is 1,000,000 rows of the bank test set's 59 features, sampled with replacement. Timed:
- ``sagelocal transform <model> --input s3://… --output s3://…`` (local backend; the CSV already in the object
  store): the CLI process from start to the job's end, i.e. CreateTransformJob, the detached supervisor, the
  serve process and its model load, every mini-batch over HTTP, and the ``.out`` object written;
- ``raw``: one Python process that loads the model and the CSV (pandas), predicts, and writes one score per line.
Target: ratio ≤ 2×. Nothing is asserted; with ``--append`` the section goes to RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

from harness import interleave, machine_description, run_process  # noqa: E402

PY = sys.executable
SAGELOCAL = str(Path(PY).with_name("sagelocal"))
WORK = HERE / "_work" / "transform"
ROWS = 1_000_000
BUCKET = "bench"
IMAGE_VERSION = "1.7-1"
HYPERPARAMETERS = {
    "max_depth": "5",
    "eta": "0.2",
    "gamma": "4",
    "min_child_weight": "6",
    "subsample": "0.8",
    "objective": "binary:logistic",
    "num_round": "100",
}

RAW = textwrap.dedent(
    """
    import sys
    import pandas as pd
    import xgboost as xgb

    model, data, out = sys.argv[1:4]
    booster = xgb.Booster()
    booster.load_model(model)
    features = pd.read_csv(data, header=None).to_numpy(dtype="float32")
    scores = booster.predict(xgb.DMatrix(features), validate_features=False)
    with open(out, "w") as f:
        f.write("\\n".join(map(str, scores.tolist())) + "\\n")
    """
)


def prepare() -> tuple[Path, Path, Path]:
    """The model folder, its model.tar.gz and the 1,000,000-row CSV (built once under bench/_work)."""
    import json

    import numpy as np
    from support import bank_data

    from sagelocal.algorithms.xgboost import main as algorithm
    from sagelocal.service.training.artifacts import make_tar_gz

    WORK.mkdir(parents=True, exist_ok=True)
    data = WORK / "million.csv"
    ml = WORK / "ml"
    if not (ml / "model" / "xgboost-model").exists() or not data.exists():
        train_csv, test_csv = bank_data.prepare(WORK / "bank")
        shutil.rmtree(ml, ignore_errors=True)
        (ml / "input" / "data" / "train").mkdir(parents=True)
        (ml / "input" / "config").mkdir(parents=True)
        shutil.copy(train_csv, ml / "input" / "data" / "train" / "train.csv")
        (ml / "input" / "config" / "hyperparameters.json").write_text(json.dumps(HYPERPARAMETERS))
        channel = {
            "ContentType": "text/csv",
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
        }
        (ml / "input" / "config" / "inputdataconfig.json").write_text(json.dumps({"train": channel}))
        assert algorithm(["train", "--ml-root", str(ml), "--image-version", IMAGE_VERSION]) == 0
        model_dir = ml / "model"
        test = np.loadtxt(test_csv, delimiter=",", dtype=np.int64)[:, 1:]
        sample = test[np.random.default_rng(14).integers(0, len(test), ROWS)]
        np.savetxt(data, sample, delimiter=",", fmt="%d")
        make_tar_gz(model_dir, WORK / "model.tar.gz")
    return ml / "model", WORK / "model.tar.gz", data


def home_with_model(tarball: Path, data: Path) -> Path:
    """A state folder holding the model (``bench-model``) and the CSV in its object store."""
    from support.hosting import model_request

    from sagelocal.service.service import Emulator

    home = WORK / "home"
    shutil.rmtree(home, ignore_errors=True)
    emulator = Emulator(home=home)
    emulator.objects.create_bucket(BUCKET)
    emulator.objects.put_object(BUCKET, "model.tar.gz", tarball)
    emulator.objects.put_object(BUCKET, "in/million.csv", data)
    emulator.hosting.create_model(model_request("bench-model", IMAGE_VERSION, f"s3://{BUCKET}/model.tar.gz"))
    return home


def check_outputs(home: Path, raw_out: Path) -> str:
    """Both wrote 1,000,000 scores, equal within 1e-6."""
    import numpy as np

    from sagelocal.service.objectstore import ObjectStore

    with ObjectStore(home / "s3").open_object(BUCKET, "out/million.csv.out") as f:
        ours = np.array(f.read().split(), dtype=np.float64)
    raw = np.loadtxt(raw_out)
    assert len(ours) == len(raw) == ROWS, (len(ours), len(raw))
    return f"both wrote {ROWS:,} scores; largest difference {np.abs(ours - raw).max():.2e}"


def section(repeat: int = 3) -> tuple[list[str], float]:
    """Measure; return the RESULTS.md section's lines and the ratio (``bench/run.py transform`` calls this)."""
    args = argparse.Namespace(repeat=repeat)
    model_dir, tarball, data = prepare()
    home = home_with_model(tarball, data)
    raw_script = WORK / "raw.py"
    raw_script.write_text(RAW)
    raw_out = WORK / "raw.out"
    env = {**os.environ, "SAGELOCAL_HOME": str(home)}
    argv = [
        SAGELOCAL,
        "transform",
        "bench-model",
        "--input",
        f"s3://{BUCKET}/in",
        "--output",
        f"s3://{BUCKET}/out",
    ]

    def sagelocal_run() -> tuple[float, float]:
        return run_process(argv, env=env)

    def raw_run() -> tuple[float, float]:
        return run_process([PY, str(raw_script), str(model_dir / "xgboost-model"), str(data), str(raw_out)])

    results = interleave({"raw script": raw_run, "sagelocal transform": sagelocal_run}, args.repeat)
    ratio = results["sagelocal transform"].median / results["raw script"].median
    size_mb = data.stat().st_size / 2**20
    lines = [
        f"## Batch transform ({ROWS:,} × 59 CSV, {size_mb:.0f} MiB)",
        "",
        f"{args.repeat} interleaved runs of each after one untimed round; load average when done: "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
        "",
        "Target: `sagelocal transform` (local backend, whole CLI process: CreateTransformJob, the supervisor, the "
        "serve process and its model load, every mini-batch over HTTP, the `.out` written) ≤ 2× a raw script that "
        "loads the model and the CSV (pandas), predicts, and writes one score per line.",
        "",
        "| command | runs | median wall (s) | min | max | median peak RSS (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    for m in results.values():
        lines.append(
            f"| {m.label} | {len(m.seconds)} | {m.median:.3f} | {min(m.seconds):.3f} | {max(m.seconds):.3f} | "
            f"{m.median_rss_mb:.0f} |"
        )
    verdict = "met" if ratio <= 2 else "NOT met"
    lines += [
        "",
        f"**Ratio: {ratio:.2f}×** — {verdict} (target ≤ 2×). Check: {check_outputs(home, raw_out)}. The sagelocal "
        "row's peak RSS is the CLI process's and does not cover the detached supervisor and serve processes.",
        "",
    ]
    return lines, ratio


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--append", type=Path, help="append the section to this RESULTS.md")
    args = parser.parse_args()
    lines = [
        f"Measured by `python bench/transform.py --repeat {args.repeat}` on {machine_description()}.",
        "",
    ]
    lines += section(args.repeat)[0]
    print("\n".join(lines))
    if args.append:
        with open(args.append, "a") as f:
            f.write("\n".join(lines))


if __name__ == "__main__":
    main()
