"""sagelocal benchmarks: whole-process wall times and peak memory, interleaved runs, medians and ratios.

    python bench/run.py                 # every target, results written to bench/RESULTS.md
    python bench/run.py tutorial startup --repeat 7

Targets (issue "Fast"): the tutorial job against a plain xgboost script, CLI start-up against importing typer and
rich, job overhead through a running server, loading a ~1 GB CSV against xgboost's own text loader, training on
it, and the docker backend against the local one. Nothing here is asserted: the figures go to RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

import job_profile  # noqa: E402
from harness import Measurement, interleave, machine_description, run_process  # noqa: E402

PY = sys.executable
#: One row per target, in the order measured: (target, figure, verdict). The summary table at the top of
#: RESULTS.md is built from it.
SUMMARY: list[tuple[str, str, str]] = []


def verdict(target: str, figure: str, met: bool | None) -> str:
    """Record a target's figure for the summary; returns "met", "NOT met" or "—" (no target)."""
    word = "—" if met is None else ("met" if met else "NOT met")
    SUMMARY.append((target, figure, word))
    return word


SAGELOCAL = str(Path(PY).with_name("sagelocal"))
TUTORIAL_IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest"
TUTORIAL_HPS = [
    "max_depth=5",
    "eta=0.2",
    "gamma=4",
    "min_child_weight=6",
    "subsample=0.8",
    "silent=0",
    "objective=binary:logistic",
    "num_round=100",
]
WORK = HERE / "_work"


def env_with_home(home: Path) -> dict[str, str]:
    return {**os.environ, "SAGELOCAL_HOME": str(home)}


def bank_csvs() -> tuple[Path, Path]:
    from support import bank_data

    dest = WORK / "bank"
    train, test = dest / "train.csv", dest / "test.csv"
    if not (train.exists() and test.exists()):
        dest.mkdir(parents=True, exist_ok=True)
        train, test = bank_data.prepare(dest)
    return train, test


def train_argv(backend: str, train: Path, job: str, extra: list[str] | None = None) -> list[str]:
    argv = [
        SAGELOCAL,
        "train",
        "--backend",
        backend,
        "--train",
        str(train),
        "--content-type",
        "csv",
        "--image-uri",
        TUTORIAL_IMAGE,
        "--job-name",
        job,
        "--wait",
    ]
    for hp in TUTORIAL_HPS:
        argv += ["-H", hp]
    return argv + (extra or [])


# --- targets ------------------------------------------------------------------------------------------


def target_tutorial(repeat: int) -> list[str]:
    """The tutorial job through `sagelocal train --backend local --wait` vs a plain xgboost script."""
    train, _ = bank_csvs()
    home = Path(tempfile.mkdtemp(prefix="bench-home-", dir=WORK))
    counter = iter(range(10_000))
    out = WORK / "plain-out"

    def sagelocal_run() -> tuple[float, float]:
        return run_process(train_argv("local", train, f"bench-{next(counter)}"), env=env_with_home(home))

    def plain_run() -> tuple[float, float]:
        return run_process([PY, str(HERE / "plain_xgboost.py"), str(train), str(out)])

    res = interleave({"plain script": plain_run, "sagelocal train --wait": sagelocal_run}, repeat)
    name = f"bench-{next(counter)}"
    phases = job_profile.profile(train_argv("local", train, name), name, home, train)
    shutil.rmtree(home, ignore_errors=True)
    ratio = res["sagelocal train --wait"].median / res["plain script"].median
    word = verdict("Cold tutorial job ≤ 1.2× a raw xgboost script", f"{ratio:.2f}×", ratio <= 1.2)
    return [
        "## The tutorial job, cold (28,831 × 59, 100 rounds)",
        "",
        "Target: `sagelocal train --backend local --wait` (the CLI, the job's supervisor and the algorithm: three",
        "fresh Python processes) ≤ 1.2× a raw script that loads the same CSV with pandas, trains the same model",
        "(exact greedy, as the tutorial's image does with `tree_method` unset) and writes model.tar.gz",
        "(`bench/plain_xgboost.py`).",
        "",
        *table(res),
        "",
        f"**Ratio: {ratio:.2f}×** — {word} (target ≤ 1.2×).",
        "",
        "Where the time goes (`bench/job_profile.py`: one more run of each, phases from the job's own",
        "timestamps):",
        "",
        *phases,
        "",
    ]


def target_startup(repeat: int) -> list[str]:
    """`sagelocal --help` vs `python -c "import typer, rich"`."""
    res = interleave(
        {
            'python -c "import typer, rich"': lambda: run_process([PY, "-c", "import typer, rich"]),
            "sagelocal --help": lambda: run_process([SAGELOCAL, "--help"]),
        },
        repeat,
    )
    ratio = res["sagelocal --help"].median / res['python -c "import typer, rich"'].median
    verdict("`sagelocal --help` ≤ 1.5× importing typer and rich", f"{ratio:.2f}×", ratio <= 1.5)
    return [
        "## CLI start-up",
        "",
        'Target: `sagelocal --help` ≤ 1.5× `python -c "import typer, rich"`.',
        "",
        *table(res),
        "",
        f"**Ratio: {ratio:.2f}×** — {'met' if ratio <= 1.5 else 'NOT met'} (target ≤ 1.5×).",
        "",
    ]


def target_overhead(repeat: int) -> list[str]:
    """create → Completed for a 1-round job on a 100-row file, through an already running `sagelocal serve`."""
    from support.server_fixture import running_server

    home = Path(tempfile.mkdtemp(prefix="bench-serve-", dir=WORK))
    with running_server(home / "home") as server:
        s3 = server.client("s3")
        sm = server.client("sagemaker")
        s3.create_bucket(Bucket="bench")
        rows = "\n".join(f"{i % 2},{i},{i * 0.5},{(i * 7) % 13}" for i in range(100)) + "\n"
        s3.put_object(Bucket="bench", Key="small/train.csv", Body=rows.encode())
        times = _overhead_runs(sm, repeat)
    shutil.rmtree(home, ignore_errors=True)
    m = Measurement("create → Completed (1 round, 100 rows)", times)
    verdict("Warm job through `sagelocal serve` ≤ 0.5 s", f"{m.median:.3f} s", m.median <= 0.5)
    return [
        "## Job overhead through a running server",
        "",
        "Target: create → Completed ≤ 0.5 s for a 1-round job on a 100-row file, `sagelocal serve` already",
        "running, polled with boto3 every 20 ms.",
        "",
        *table({m.label: m}, rss=False),
        "",
        f"**Median: {m.median:.3f} s** — {'met' if m.median <= 0.5 else 'NOT met'} (target ≤ 0.5 s).",
        "",
    ]


def _overhead_runs(sm: Any, repeat: int) -> list[float]:
    request = {
        "AlgorithmSpecification": {
            "TrainingImage": TUTORIAL_IMAGE.replace("xgboost:latest", "xgboost:1"),
            "TrainingInputMode": "File",
        },
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "HyperParameters": {"num_round": "1", "objective": "binary:logistic"},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "csv",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": "s3://bench/small/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://bench/out"},
        "ResourceConfig": {"InstanceType": "ml.m4.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    times: list[float] = []
    for i in range(repeat + 1):
        name = f"overhead-{i}"
        start = time.perf_counter()
        sm.create_training_job(**{**request, "TrainingJobName": name})
        while True:
            status = sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]
            if status != "InProgress":
                break
            time.sleep(0.02)
        if status != "Completed":
            raise RuntimeError(f"{name} ended {status}")
        if i:  # the first job warms the page cache
            times.append(time.perf_counter() - start)
    return times


BIG_ROWS, BIG_COLS = 2_000_000, 60


def big_csv() -> Path:
    path = WORK / "big" / "train.csv"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    code = f"""
import numpy as np, pyarrow as pa, pyarrow.csv as pc
rng = np.random.default_rng(7)
with pc.CSVWriter({str(path)!r}, pa.schema([(f"c{{i}}", pa.float64()) for i in range({BIG_COLS})]),
                  write_options=pc.WriteOptions(include_header=False)) as w:
    for _ in range({BIG_ROWS} // 200_000):
        x = rng.random((200_000, {BIG_COLS})).round(6)  # about 9 bytes a field: a ~1.1 GB file
        x[:, 0] = (x[:, 1] + x[:, 2] > 1.0)
        w.write_table(pa.table({{f"c{{i}}": x[:, i] for i in range({BIG_COLS})}}))
"""
    subprocess.run([PY, "-c", code], check=True)
    return path


def target_loading(repeat: int) -> list[str]:
    """Target 2: loading the 1 GB CSV, memory and speed against XGBoost's own parser (bench/loading.py)."""
    import loading

    path = big_csv()
    lines, ratio, speed = loading.target_lean_loading(path, repeat)
    verdict("Loading the 1 GB CSV: peak RSS ≤ 2.5× the float32 matrix", f"{ratio:.2f}×", ratio <= 2.5)
    verdict(
        "Loading the 1 GB CSV: speed (load + 1 round) ≥ 1.0× XGBoost's parser", f"{speed:.2f}×", speed >= 1.0
    )
    return lines + loading.model_equivalence(path)


def target_extmem(repeat: int) -> list[str]:
    """Target 3: the 1 GB CSV trains with less memory than its size (bench/loading.py)."""
    import loading

    lines, status = loading.target_external_memory(big_csv())
    verdict(
        "Data larger than memory trains (docker job, 768 MiB container, 1 GB CSV)",
        status or "not run (no Docker engine)",
        status == "Completed",
    )
    return lines


def target_scale(repeat: int) -> list[str]:
    """The 1 GB CSV trains to completion (10 rounds, hist) through `sagelocal train`."""
    path = big_csv()
    home = Path(tempfile.mkdtemp(prefix="bench-scale-", dir=WORK))
    argv = [
        SAGELOCAL,
        "train",
        "--backend",
        "local",
        "--train",
        str(path),
        "--content-type",
        "csv",
        "--xgboost-version",
        "3.0-5",
        "--job-name",
        "scale-1",
        "--wait",
        "--json",
        "-H",
        "num_round=10",
        "-H",
        "tree_method=hist",
        "-H",
        "objective=binary:logistic",
    ]
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env_with_home(home), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    status = "unknown"
    try:
        status = json.loads(proc.stdout)["TrainingJobStatus"]
    except (ValueError, KeyError):
        status = f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"
    peak = peak_rss_of_job(home / "jobs" / "scale-1")
    verdict(
        "The 1 GB CSV trains through `sagelocal train` (local, 10 rounds of hist)",
        f"{status} in {elapsed:.1f} s",
        status == "Completed",
    )
    shutil.rmtree(home, ignore_errors=True)
    return [
        "## Scale: the 1 GB job (10 rounds, hist)",
        "",
        f"`sagelocal train` on the {BIG_ROWS:,} × {BIG_COLS} CSV: **{status}** in {elapsed:.1f} s wall "
        f"(upload into the store included){peak}. Machine memory: 24 GiB.",
        "",
    ]


def peak_rss_of_job(job_dir: Path) -> str:
    """The algorithm process's peak RSS, if the supervisor recorded it."""
    for name in ("peak_rss_mb", "supervisor.log"):
        p = job_dir / name
        if p.exists() and name == "peak_rss_mb":
            return f"; algorithm peak RSS {float(p.read_text()):.0f} MiB"
    return ""


def target_docker(repeat: int) -> list[str]:
    """The tutorial job through `--backend docker` vs `--backend local`."""
    try:
        import docker

        docker.from_env().ping()
    except Exception as e:
        return ["## Docker backend vs local", "", f"Skipped: no Docker engine ({type(e).__name__}).", ""]
    train, _ = bank_csvs()
    home = Path(tempfile.mkdtemp(prefix="bench-docker-", dir=WORK))
    counter = iter(range(10_000))
    res = interleave(
        {
            "local": lambda: run_process(
                train_argv("local", train, f"l-{next(counter)}"), env=env_with_home(home)
            ),
            "docker": lambda: run_process(
                train_argv("docker", train, f"d-{next(counter)}"), env=env_with_home(home)
            ),
        },
        repeat,
    )
    shutil.rmtree(home, ignore_errors=True)
    ratio = res["docker"].median / res["local"].median
    verdict("Tutorial job, docker backend / local (no target)", f"{ratio:.2f}×", None)
    return [
        "## Docker backend vs local (the tutorial job)",
        "",
        *table(res),
        "",
        f"**Ratio docker/local: {ratio:.2f}×** (container start-up and teardown per job).",
        "",
    ]


def target_invoke(repeat: int) -> list[str]:
    """InvokeEndpoint round trips through `sagelocal serve` (bench/invoke.py)."""
    import invoke

    lines, p50 = invoke.section(calls=repeat)
    verdict("InvokeEndpoint p50 ≤ 3 ms (one-row CSV, boto3 → serve → instance)", f"{p50:.2f} ms", p50 <= 3.0)
    return lines


def target_transform(repeat: int) -> list[str]:
    """A 1,000,000-row batch transform against a raw predict script (bench/transform.py)."""
    import transform

    lines, ratio = transform.section(repeat)
    verdict("Batch transform (1,000,000 rows) ≤ 2× a raw predict script", f"{ratio:.2f}×", ratio <= 2.0)
    return lines


def target_distributed(repeat: int) -> list[str]:
    """The tutorial job on 2 hosts vs 1 (bench/distributed.py)."""
    import distributed

    lines, ratio = distributed.measure(repeat)
    verdict("Tutorial job on 2 hosts / 1 host (no target)", f"{ratio:.2f}×", None)
    return lines


def target_tuning(repeat: int) -> list[str]:
    """Bayesian vs Random search, 20 jobs each, over ``repeat`` seeds (bench/tuning.py)."""
    import tuning

    lines, bayes, rand = tuning.section(seeds=tuple(range(repeat)))
    verdict(
        "Bayesian tuning's mean best ≥ Random's (validation:auc)", f"{bayes:.5f} vs {rand:.5f}", bayes >= rand
    )
    return lines


def table(results: dict[str, Measurement], rss: bool = True) -> list[str]:
    head = "| command | runs | median wall (s) | min | max |" + (" median peak RSS (MiB) |" if rss else "")
    sep = "|---|---|---|---|---|" + ("---|" if rss else "")
    rows = [head, sep]
    for m in results.values():
        row = (
            f"| {m.label} | {len(m.seconds)} | {m.median:.3f} | {min(m.seconds):.3f} | {max(m.seconds):.3f} |"
        )
        if rss:
            row += f" {m.median_rss_mb:.0f} |"
        rows.append(row)
    return rows


TARGETS: dict[str, Callable[[int], list[str]]] = {
    "tutorial": target_tutorial,
    "startup": target_startup,
    "overhead": target_overhead,
    "loading": target_loading,
    "scale": target_scale,
    "extmem": target_extmem,
    "docker": target_docker,
    "invoke": target_invoke,
    "transform": target_transform,
    "distributed": target_distributed,
    "tuning": target_tuning,
}
#: Runs per command (invoke: calls; tuning: seeds).
DEFAULT_REPEAT = {
    "tutorial": 7,
    "startup": 15,
    "overhead": 15,
    "loading": 3,
    "scale": 1,
    "extmem": 1,
    "docker": 5,
    "invoke": 1000,
    "transform": 2,
    "distributed": 5,
    "tuning": 3,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("targets", nargs="*", choices=[*TARGETS, []], default=[])
    parser.add_argument("--repeat", type=int, help="runs per command (default per target)")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    chosen = args.targets or list(TARGETS)
    WORK.mkdir(exist_ok=True)
    started = time.time()
    sections: list[str] = []
    for number, name in enumerate(chosen, 1):
        print(f"== {name}", flush=True)
        section = TARGETS[name](args.repeat or DEFAULT_REPEAT[name])
        section[0] = section[0].replace("## ", f"## {number}. ", 1)
        print("\n".join(section), flush=True)
        sections += section
    minutes = (time.time() - started) / 60
    lines = [
        "# Benchmark results",
        "",
        f"Measured by `python bench/run.py {' '.join(args.targets)}`".rstrip() + " in one run on "
        f"{time.strftime('%Y-%m-%d', time.gmtime())} ({minutes:.0f} minutes), nothing else running.",
        "",
        f"Machine: {machine_description()}.",
        "",
        "Wall times are whole-process (Python start-up and imports included), from interleaved runs after one "
        "untimed warm-up round; medians over the runs shown. Nothing here is asserted by a test.",
        "",
        "| target | figure | verdict |",
        "|---|---|---|",
        *(f"| {target} | {figure} | {word} |" for target, figure, word in SUMMARY),
        "",
        *sections,
    ]
    args.output.write_text("\n".join(lines))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
