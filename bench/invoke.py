"""InvokeEndpoint latency: a one-row CSV through boto3 against ``sagelocal serve`` on loopback, next to a raw
``booster.inplace_predict`` of the same row (issue 13's benchmark; target p50 ≤ 3 ms).

The model is the tutorial's (bank data, 100 rounds of depth 5, 59 features) served by the 3.0-5 image's
semantics; ``--rows N`` trains on the first N rows only (the latency hardly depends on it). Run:

    python bench/invoke.py [--calls 1000] [--append]

``--append`` adds the section to bench/RESULTS.md. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

from harness import machine_description  # noqa: E402

WORK = HERE / "_work"
HYPERPARAMETERS = {
    "max_depth": 5,
    "eta": 0.2,
    "gamma": 4,
    "min_child_weight": 6,
    "subsample": 0.8,
    "objective": "binary:logistic",
}


def tutorial_model(dest: Path, rows: int | None) -> tuple[Path, list[float]]:
    """model.tar.gz of the tutorial's booster (UBJSON ``xgboost-model``, as 3.0-5 trains it), and one test row."""
    import numpy as np
    import pandas as pd
    import xgboost as xgb
    from support.bank_data import ZIP_PATH, prepare

    if ZIP_PATH.is_file():
        train_csv, test_csv = prepare(WORK / "bank")
        train = pd.read_csv(train_csv, header=None, nrows=rows).to_numpy(dtype=np.float32)
        row = pd.read_csv(test_csv, header=None, nrows=1).to_numpy(dtype=np.float32)[0, 1:]
    else:  # no bank data: random data of the same shape
        rng = np.random.default_rng(1729)
        train = rng.integers(0, 2, size=(rows or 28831, 60)).astype(np.float32)
        row = train[0, 1:]
    booster = xgb.train(HYPERPARAMETERS, xgb.DMatrix(train[:, 1:], label=train[:, 0]), num_boost_round=100)
    model_dir = dest / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(model_dir / "xgboost-model"))
    tarball = dest / "model.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(model_dir / "xgboost-model", arcname="xgboost-model")
    return tarball, [float(v) for v in row]


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(call: Callable[[], object], calls: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def section(calls: int = 1000, warmup: int = 100, rows: int | None = None) -> tuple[list[str], float]:
    """Measure; return the RESULTS.md section's lines and the p50 in ms (``bench/run.py invoke`` calls this)."""
    args = argparse.Namespace(calls=calls, warmup=warmup, rows=rows)
    import numpy as np
    import xgboost as xgb
    from support.hosting import serve_pids
    from support.server_fixture import running_server

    WORK.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="bench-invoke-", dir=WORK))
    tarball, row = tutorial_model(scratch, args.rows)
    body = ",".join(repr(v) for v in row).encode()

    booster = xgb.Booster()
    booster.load_model(str(scratch / "model" / "xgboost-model"))
    booster.set_param({"nthread": 1})  # as the image's booster
    features = np.array([row], dtype=np.float32)
    raw = timed(lambda: booster.inplace_predict(features), args.calls, args.warmup)

    with running_server(scratch / "home") as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="bench")
        s3.upload_file(str(tarball), "bench", "invoke/model.tar.gz")
        sm = server.client("sagemaker")
        sm.create_model(
            ModelName="bench",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerRole",
            PrimaryContainer={
                "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5",
                "ModelDataUrl": "s3://bench/invoke/model.tar.gz",
            },
        )
        sm.create_endpoint_config(
            EndpointConfigName="bench",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "bench",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m4.xlarge",
                }
            ],
        )
        sm.create_endpoint(EndpointName="bench", EndpointConfigName="bench")
        while (status := sm.describe_endpoint(EndpointName="bench")["EndpointStatus"]) == "Creating":
            time.sleep(0.2)
        if status != "InService":
            raise SystemExit(f"the endpoint is {status}")
        runtime = server.client("sagemaker-runtime")
        expected = float(booster.inplace_predict(features)[0])
        answer = runtime.invoke_endpoint(EndpointName="bench", Body=body, ContentType="text/csv")
        served = float(answer["Body"].read().decode())
        if abs(served - expected) > 1e-6:
            raise SystemExit(f"the endpoint answered {served}, the booster {expected}")

        def invoke() -> bytes:
            return bytes(
                runtime.invoke_endpoint(EndpointName="bench", Body=body, ContentType="text/csv")[
                    "Body"
                ].read()
            )

        # CPU per call of each process on the path: their sum bounds the latency on an idle machine, whatever
        # the load the wall-clock figures suffered.
        [instance_pid] = serve_pids(scratch / "home")
        processes = {
            "client (boto3)": None,
            "`sagelocal serve`": server.process.pid,
            "instance": instance_pid,
        }
        before = {k: time.process_time() if pid is None else cpu_seconds(pid) for k, pid in processes.items()}
        remote = timed(invoke, args.calls, args.warmup)
        cpu = {
            k: ((time.process_time() if pid is None else cpu_seconds(pid)) - before[k])
            / (args.calls + args.warmup)
            * 1000
            for k, pid in processes.items()
        }
        sm.delete_endpoint(EndpointName="bench")

    invoke_p50, invoke_p99 = percentiles(remote)
    raw_p50, raw_p99 = percentiles(raw)
    met = "met" if invoke_p50 <= 3.0 else "NOT met"
    lines = [
        "## InvokeEndpoint round trip (one-row CSV, boto3 → `sagelocal serve` → endpoint instance)",
        "",
        f"Measured by `python bench/invoke.py` on {time.strftime('%Y-%m-%d')}: {args.calls} calls after "
        f"{args.warmup} untimed ones, one at a time from one boto3 client over loopback; the tutorial's model "
        "(100 rounds, depth 5, 59 features) on the 3.0-5 image's serving.",
        "",
        f"Machine: {machine_description()}.",
        "",
        "| call | calls | p50 (ms) | p99 (ms) |",
        "|---|---|---|---|",
        f"| boto3 InvokeEndpoint through `sagelocal serve` | {args.calls} | {invoke_p50:.2f} | {invoke_p99:.2f} |",
        f"| `booster.inplace_predict` of the same row (nthread=1) | {args.calls} | {raw_p50:.3f} | {raw_p99:.3f} |",
        "",
        f"**p50: {invoke_p50:.2f} ms** — {met} (target ≤ 3 ms).",
        "",
        "CPU time per InvokeEndpoint call, by process (their sum is what one call costs however idle the "
        "machine): "
        + ", ".join(f"{k} {v:.2f} ms" for k, v in cpu.items())
        + f"; total {sum(cpu.values()):.2f} ms.",
        "",
        f"Load average when measured: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
        "",
    ]
    return lines, invoke_p50


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--rows", type=int, default=None, help="train on the first N bank rows only")
    parser.add_argument("--append", action="store_true", help="append the section to bench/RESULTS.md")
    args = parser.parse_args()
    text = "\n".join(section(args.calls, args.warmup, args.rows)[0]) + "\n"
    print(text)
    if args.append:
        with open(HERE / "RESULTS.md", "a") as results:
            results.write(text)


if __name__ == "__main__":
    main()
