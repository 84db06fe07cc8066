"""The unchanged SageMaker Python SDK's HyperparameterTuner against ``sagelocal serve``: fit, wait,
best_training_job, best_estimator, analytics().dataframe(), attach and stop_tuning_job.

The SDK polls DescribeHyperParameterTuningJob every 5 s, so these runs are few and small (a few hundred rows,
five rounds, four children)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.reliability_cases import kill_leftover_workers
from support.server_fixture import Server, breast_cancer_csv

BUCKET = "tuning-sdk"

SETUP = textwrap.dedent(
    """
    import json, sys
    import sagemaker
    from sagemaker.inputs import TrainingInput
    from sagemaker.tuner import CategoricalParameter, ContinuousParameter, HyperparameterTuner, IntegerParameter

    sess = sagemaker.Session()
    xgb = sagemaker.estimator.Estimator(
        image_uri="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        instance_count=1,
        instance_type="ml.m5.xlarge",
        output_path="s3://{bucket}/out",
        sagemaker_session=sess,
    )
    xgb.set_hyperparameters(objective="binary:logistic", num_round={num_round})
    inputs = {{
        "train": TrainingInput("s3://{bucket}/{prefix}train", content_type="csv"),
        "validation": TrainingInput("s3://{bucket}/{prefix}validation", content_type="csv"),
    }}
    tuner = HyperparameterTuner(
        xgb,
        objective_metric_name="validation:auc",
        hyperparameter_ranges={{
            "eta": ContinuousParameter(0.1, 0.5),
            "max_depth": IntegerParameter(2, 6),
            "booster": CategoricalParameter(["gbtree", "dart"]),
        }},
        max_jobs={max_jobs},
        max_parallel_jobs=2,
        strategy="{strategy}",
        random_seed=7,
    )
    """
)

FIT = textwrap.dedent(
    """
    tuner.fit(inputs, job_name="{name}")
    print("STATUS:", tuner.describe()["HyperParameterTuningJobStatus"])
    tuner.wait()
    best = tuner.best_training_job()
    print("BEST:", best)
    frame = tuner.analytics().dataframe()
    print("COLUMNS:", json.dumps(list(frame.columns)))
    print("ROWS:", json.dumps(frame[["TrainingJobName", "TrainingJobStatus", "FinalObjectiveValue", "eta",
                                     "max_depth", "booster"]].to_dict("records")))
    attached = HyperparameterTuner.attach("{name}", sagemaker_session=sess)
    print("ATTACHED:", attached.latest_tuning_job.name, attached.objective_metric_name,
          sorted(attached._hyperparameter_ranges))
    estimator = tuner.best_estimator()
    print("BEST ESTIMATOR:", estimator.latest_training_job.name, estimator.model_data)
    """
)

STOP = textwrap.dedent(
    """
    import time
    tuner.fit(inputs, job_name="{name}", wait=False)
    sm = sess.sagemaker_client
    while len(sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="{name}", StatusEquals="InProgress")["TrainingJobSummaries"]) < 2:
        time.sleep(0.5)
    tuner.stop_tuning_job()
    tuner.wait()
    print("DONE")
    """
)


def run(server: Server, body: str, **values: object) -> subprocess.CompletedProcess[str]:
    values = {"prefix": "", "strategy": "Random", **values}
    script = SETUP.format(bucket=BUCKET, **values) + body.format(**values)
    return subprocess.run(
        [sys.executable, "-c", script],
        env=server.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=str(server.home.parent),
    )


@pytest.fixture(scope="module")
def data(sagelocal_server: Server) -> Iterator[None]:
    s3 = sagelocal_server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    rows = breast_cancer_csv().decode().splitlines()
    s3.put_object(Bucket=BUCKET, Key="train/train.csv", Body="\n".join(rows[:300]) + "\n")
    s3.put_object(Bucket=BUCKET, Key="validation/validation.csv", Body="\n".join(rows[300:450]) + "\n")
    yield
    kill_leftover_workers(sagelocal_server.home)


def _line(out: str, label: str) -> str:
    found = re.search(rf"^{label}: (.*)$", out, re.M)
    assert found, out
    return found.group(1)


@pytest.mark.timeout(600)
def test_tuner_fit_best_analytics_attach(sagelocal_server: Server, data: None) -> None:
    name = "sdk-random-tuning"
    result = run(sagelocal_server, FIT, name=name, max_jobs=4, num_round=5)
    out = result.stdout
    assert result.returncode == 0, f"stdout:\n{out}\nstderr:\n{result.stderr}"
    # fit() waits printing one character per poll: '.' while InProgress, '!' when Completed, then a newline.
    assert re.search(r"^\.*!$", out, re.M), out  # no "." when the job ended before the first poll
    assert _line(out, "STATUS") == "Completed"

    sm = sagelocal_server.client("sagemaker")
    described = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    children = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, MaxResults=100
    )["TrainingJobSummaries"]
    assert sorted(re.sub(r"[0-9a-f]{8}$", "x", c["TrainingJobName"]) for c in children) == [
        f"{name}-001-x",
        f"{name}-002-x",
        f"{name}-003-x",
        f"{name}-004-x",
    ]
    assert described["TrainingJobStatusCounters"] == {
        "Completed": 4,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 0,
    }
    assert described["ObjectiveStatusCounters"] == {"Succeeded": 4, "Pending": 0, "Failed": 0}
    # Each child's objective is its own last validation:auc, and the best is the highest.
    finals = {}
    for child in children:
        job = sm.describe_training_job(TrainingJobName=child["TrainingJobName"])
        assert job["TuningJobArn"] == described["HyperParameterTuningJobArn"]
        assert job["HyperParameters"]["_tuning_objective_metric"] == "validation:auc"
        metric = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}["validation:auc"]
        assert child["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == metric
        finals[child["TrainingJobName"]] = metric
    best = max(finals, key=lambda n: finals[n])
    assert described["BestTrainingJob"]["TrainingJobName"] == best
    assert _line(out, "BEST") == best

    columns = json.loads(_line(out, "COLUMNS"))
    assert columns[3:] == [
        "TrainingJobName",
        "TrainingJobStatus",
        "FinalObjectiveValue",
        "TrainingStartTime",
        "TrainingEndTime",
        "TrainingElapsedTimeSeconds",
    ]
    assert sorted(columns[:3]) == ["booster", "eta", "max_depth"]
    rows = json.loads(_line(out, "ROWS"))
    assert sorted(r["TrainingJobName"] for r in rows) == sorted(finals)
    for row in rows:
        assert row["TrainingJobStatus"] == "Completed"
        assert row["FinalObjectiveValue"] == finals[row["TrainingJobName"]]
        assert 0.1 <= row["eta"] <= 0.5 and row["max_depth"] in (2.0, 3.0, 4.0, 5.0, 6.0)
        assert row["booster"] in ("gbtree", "dart")

    assert _line(out, "ATTACHED") == f"{name} validation:auc ['booster', 'eta', 'max_depth']"
    estimator = _line(out, "BEST ESTIMATOR")
    assert estimator == f"{best} s3://{BUCKET}/out/{best}/output/model.tar.gz"


@pytest.mark.timeout(600)
def test_stop_tuning_job_stops_every_child(sagelocal_server: Server, data: None) -> None:
    name = "sdk-stopped-tuning"
    result = run(sagelocal_server, STOP, name=name, max_jobs=6, num_round=2000)
    out = result.stdout
    assert result.returncode == 0, f"stdout:\n{out}\nstderr:\n{result.stderr}"
    # tuner.wait(): '_' while Stopping (if a poll sees it), 's' once Stopped.
    assert re.search(r"^[._]*s$", out, re.M), out
    assert "DONE" in out

    sm = sagelocal_server.client("sagemaker")
    described = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert described["HyperParameterTuningJobStatus"] == "Stopped"
    children = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)[
        "TrainingJobSummaries"
    ]
    assert len(children) == 2  # both running children were launched before the stop, and no other after it
    assert all(c["TrainingJobStatus"] == "Stopped" for c in children), children
    assert described["TrainingJobStatusCounters"]["Stopped"] == len(children)
    assert described["TrainingJobStatusCounters"]["InProgress"] == 0


@pytest.mark.timeout(900)
def test_bayesian_tuning_on_the_bank_data(
    sagelocal_server: Server, data: None, bank_data: tuple[Path, Path]
) -> None:
    train, test = bank_data
    s3 = sagelocal_server.client("s3")
    s3.upload_file(str(train), BUCKET, "bank/train/train.csv")
    s3.upload_file(str(test), BUCKET, "bank/validation/validation.csv")
    name = "sdk-bank-bayesian"
    result = run(
        sagelocal_server, FIT, name=name, max_jobs=3, num_round=10, prefix="bank/", strategy="Bayesian"
    )
    out = result.stdout
    assert result.returncode == 0, f"stdout:\n{out}\nstderr:\n{result.stderr}"
    assert re.search(r"^\.*!$", out, re.M), out  # no "." when the job ended before the first poll

    sm = sagelocal_server.client("sagemaker")
    described = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert described["HyperParameterTuningJobConfig"]["Strategy"] == "Bayesian"
    children = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)[
        "TrainingJobSummaries"
    ]
    assert sorted(c["TrainingJobName"][: len(name) + 4] for c in children) == [
        f"{name}-001",
        f"{name}-002",
        f"{name}-003",
    ]
    finals = {}
    for child in children:
        job = sm.describe_training_job(TrainingJobName=child["TrainingJobName"])
        finals[child["TrainingJobName"]] = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}[
            "validation:auc"
        ]
    assert described["ObjectiveStatusCounters"] == {"Succeeded": 3, "Pending": 0, "Failed": 0}
    assert described["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == max(
        finals.values()
    )
    assert 0.7 < max(finals.values()) < 0.9  # the tutorial model's validation:auc on this data
    rows = json.loads(_line(out, "ROWS"))
    assert {r["TrainingJobName"]: r["FinalObjectiveValue"] for r in rows} == finals
