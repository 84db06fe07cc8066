"""Bayesian vs Random hyperparameter tuning of the tutorial's XGBoost model on the bank-marketing data.

For each seed, one tuning job per strategy (same ranges, same RandomSeed, MaxNumberOfTrainingJobs jobs) runs on
the ``local`` backend; the figure is each job's best validation:auc (BestTrainingJob), and the mean over the
seeds. The validation channel is the tutorial's 30 % hold-out (tests/support/bank_data.py).

    python bench/tuning.py [--jobs 20] [--parallel 2] [--seeds 0 1 2] [--rounds 100] [--append]

``--append`` adds the table to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.bank_data import ZIP_PATH, prepare  # noqa: E402

from sagelocal.algorithms.xgboost.versions import DEFAULT_VERSION, image_uri_for  # noqa: E402
from sagelocal.backends.local import LocalBackend  # noqa: E402

STRATEGIES = ("Bayesian", "Random")
#: The SageMaker docs' most influential XGBoost hyperparameters, in their recommended ranges
#: (docs.aws.amazon.com/sagemaker/latest/dg/xgboost-tuning.html), eta on a log scale.
RANGES = {
    "ContinuousParameterRanges": [
        {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5", "ScalingType": "Logarithmic"},
        {"Name": "min_child_weight", "MinValue": "0", "MaxValue": "120", "ScalingType": "Linear"},
        {"Name": "subsample", "MinValue": "0.5", "MaxValue": "1", "ScalingType": "Linear"},
        {"Name": "alpha", "MinValue": "0", "MaxValue": "100", "ScalingType": "Linear"},
    ],
    "IntegerParameterRanges": [
        {"Name": "max_depth", "MinValue": "1", "MaxValue": "10", "ScalingType": "Linear"}
    ],
    "CategoricalParameterRanges": [],
}


def request(
    name: str, strategy: str, seed: int, jobs: int, parallel: int, rounds: int, inputs: dict[str, str]
) -> dict[str, Any]:
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": jobs, "MaxParallelTrainingJobs": parallel},
            "ParameterRanges": RANGES,
            "RandomSeed": seed,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"objective": "binary:logistic", "num_round": str(rounds)},
            "AlgorithmSpecification": {
                "TrainingImage": image_uri_for(DEFAULT_VERSION, "us-east-1"),
                "TrainingInputMode": "File",
            },
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
            "InputDataConfig": [
                {
                    "ChannelName": channel,
                    "ContentType": "text/csv",
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}},
                }
                for channel, uri in inputs.items()
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://bench/tuning"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
    }


def run(backend: LocalBackend, body: dict[str, Any]) -> tuple[float, float]:
    """(best validation:auc, minutes)."""
    start = time.monotonic()
    backend.create_hyper_parameter_tuning_job(body)
    name = body["HyperParameterTuningJobName"]
    while True:
        described = backend.describe_hyper_parameter_tuning_job(name)
        if described["HyperParameterTuningJobStatus"] in ("Completed", "Failed", "Stopped"):
            break
        time.sleep(2)
    if described["HyperParameterTuningJobStatus"] != "Completed":
        raise SystemExit(
            f"{name}: {described['HyperParameterTuningJobStatus']} {described.get('FailureReason')}"
        )
    best = described["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    return best, (time.monotonic() - start) / 60


def section(
    jobs: int = 20, parallel: int = 2, seeds: tuple[int, ...] = (0, 1, 2), rounds: int = 100
) -> tuple[list[str], float, float]:
    """Measure; return the RESULTS.md section's lines and the mean best AUC of Bayesian and of Random
    (``bench/run.py tuning`` calls this)."""
    args = argparse.Namespace(jobs=jobs, parallel=parallel, seeds=list(seeds), rounds=rounds)
    if not ZIP_PATH.is_file():
        raise SystemExit(f"the UCI Bank Marketing data is absent ({ZIP_PATH})")
    work = Path(tempfile.mkdtemp(prefix="sagelocal-bench-tuning-"))
    train, test = prepare(work / "data")
    backend = LocalBackend(home=work / "home")
    inputs = {
        "train": backend.upload_input(train, "s3://bench/bank/train"),
        "validation": backend.upload_input(test, "s3://bench/bank/validation"),
    }
    results: dict[str, list[tuple[float, float]]] = {s: [] for s in STRATEGIES}
    for seed in args.seeds:
        for strategy in STRATEGIES:
            body = request(
                f"{strategy.lower()}-{seed}", strategy, seed, args.jobs, args.parallel, args.rounds, inputs
            )
            best, minutes = run(backend, body)
            results[strategy].append((best, minutes))
            print(f"seed {seed} {strategy}: best validation:auc {best:.5f} ({minutes:.1f} min)", flush=True)
    lines = [
        "## Tuning: Bayesian vs Random (bank marketing, validation:auc)",
        "",
        f"`python bench/tuning.py --jobs {args.jobs} --parallel {args.parallel} --seeds "
        f"{' '.join(map(str, args.seeds))} --rounds {args.rounds}`: one tuning job "
        f"per strategy and seed, {args.jobs} training jobs each ({args.parallel} at a time), "
        f"built-in XGBoost {DEFAULT_VERSION}, "
        f"num_round={args.rounds}, ranges eta 0.01–0.5 (log), min_child_weight 0–120, subsample 0.5–1, alpha 0–100, "
        "max_depth 1–10; the tutorial's 70/30 split, the 30 % as the validation channel.",
        "",
        "| strategy | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean best | mean minutes |",
        "|---|" + "---|" * (len(args.seeds) + 2),
    ]
    for strategy in STRATEGIES:
        bests = [b for b, _ in results[strategy]]
        minutes = [m for _, m in results[strategy]]
        lines.append(
            f"| {strategy} | "
            + " | ".join(f"{b:.5f}" for b in bests)
            + f" | **{statistics.fmean(bests):.5f}** | {statistics.fmean(minutes):.1f} |"
        )
    bayes = statistics.fmean(b for b, _ in results["Bayesian"])
    rand = statistics.fmean(b for b, _ in results["Random"])
    verdict = "at least" if bayes >= rand else "below"
    lines += ["", f"**Bayesian's mean best is {verdict} Random's** ({bayes:.5f} vs {rand:.5f}).", ""]
    return lines, bayes, rand


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--append", action="store_true")
    args = parser.parse_args()
    lines = section(args.jobs, args.parallel, tuple(args.seeds), args.rounds)[0]
    print("\n".join(lines))
    if args.append:
        with open(ROOT / "bench" / "RESULTS.md", "a") as fh:
            fh.write("\n".join(lines))


if __name__ == "__main__":
    main()
