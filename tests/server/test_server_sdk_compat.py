"""The SageMaker Python SDK v2 calls a notebook makes around training, unmodified, against ``sagelocal serve``.

One notebook script, run offline in a fresh interpreter (the audit hook of ``test_server_sdk``), goes through
them in the order a notebook would: ``Session.upload_data``, ``fit(wait=False)`` with tags,
``Session.wait_for_job``, ``Session.describe_training_job``, ``Estimator.attach`` (DescribeTrainingJob with every
member the SDK reads unconditionally, then ListTags), ``Estimator.logs()``, ``Session.logs_for_job``, ``fit`` of
the attached estimator (a new job carrying the tags ListTags returned); then ``training_job_analytics``, which
reads the job's metrics from CloudWatch.
Each step prints one ``STEP <name>: …`` line the test reads.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support.server_fixture import Server, breast_cancer_csv
from test_server_sdk import OFFLINE_GUARD

BUCKET = "sdk-compat"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"

NOTEBOOK = textwrap.dedent(
    """
    import logging, sys
    import sagemaker
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput

    def step(name, value):
        print(f"STEP {{name}}: {{value}}", flush=True)

    sess = sagemaker.Session()
    uri = sess.upload_data("{data_dir}", bucket="{bucket}", key_prefix="compat/train")
    step("upload_data", uri)

    xgb = Estimator(
        image_uri="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        role="{role}", instance_count=1, instance_type="ml.m5.xlarge",
        output_path="s3://{bucket}/out", sagemaker_session=sess,
        tags=[{{"Key": "project", "Value": "compat"}}],
    )
    xgb.set_hyperparameters(objective="binary:logistic", num_round=5, max_depth=3)
    train = TrainingInput(uri, content_type="csv")
    xgb.fit({{"train": train}}, wait=False)
    name = xgb.latest_training_job.name
    step("fit(wait=False)", name)

    desc = sess.wait_for_job(name, poll=1)
    step("wait_for_job", desc["TrainingJobStatus"])
    desc = sess.describe_training_job(name)
    step("describe_training_job", desc["TrainingJobStatus"] + " " + desc["ModelArtifacts"]["S3ModelArtifacts"])

    attached = Estimator.attach(name, sagemaker_session=sess)
    step("attach", f"{{attached.model_data}} tags={{attached.tags}} kms={{attached.output_kms_key!r}}")

    print("LOGS BEGIN", flush=True)
    attached.logs()
    print("LOGS END", flush=True)
    sess.logs_for_job(name, wait=True)
    print("LOGS_FOR_JOB END", flush=True)

    attached.fit({{"train": train}}, logs=False)
    second = attached.latest_training_job.name
    tags = sess.sagemaker_client.list_tags(ResourceArn=sess.describe_training_job(second)["TrainingJobArn"])
    step("attached fit", f"{{second}} {{attached.model_data}} tags={{tags['Tags']}}")
    """
)

ANALYTICS = textwrap.dedent(
    """
    import json
    import sagemaker
    from sagemaker.analytics import TrainingJobAnalytics
    from sagemaker.estimator import Estimator

    sess = sagemaker.Session()
    attached = Estimator.attach("{name}", sagemaker_session=sess)
    frame = attached.training_job_analytics.dataframe()
    print("ANALYTICS:", json.dumps(frame.to_dict(orient="list")), flush=True)
    final = sess.describe_training_job("{name}")["FinalMetricDataList"]
    print("FINAL:", json.dumps({{m["MetricName"]: m["Value"] for m in final}}), flush=True)
    named = TrainingJobAnalytics("{name}", metric_names=["validation:auc", "train:logloss"], sagemaker_session=sess)
    print("NAMED:", json.dumps(named.dataframe().to_dict(orient="list")), flush=True)
    """
)


ATTACH_DEPLOY = textwrap.dedent(
    """
    import sagemaker
    from sagemaker.estimator import Estimator
    from sagemaker.serializers import CSVSerializer

    sess = sagemaker.Session()
    attached = Estimator.attach("{name}", sagemaker_session=sess)
    predictor = attached.deploy(
        initial_instance_count=1, instance_type="ml.m5.xlarge", endpoint_name="{endpoint}",
        serializer=CSVSerializer(),
    )
    print("ENDPOINT:", sess.describe_endpoint("{endpoint}")["EndpointStatus"], flush=True)
    sm = sess.sagemaker_client
    model = sm.describe_endpoint_config(EndpointConfigName="{endpoint}")["ProductionVariants"][0]["ModelName"]
    print("MODEL:", sm.describe_model(ModelName=model)["PrimaryContainer"]["ModelDataUrl"], flush=True)
    print("PREDICTION:", predictor.predict("{row}").decode().strip(), flush=True)
    sess.delete_endpoint("{endpoint}")
    import time
    from botocore.exceptions import ClientError
    for _ in range(120):  # Deleting, then gone
        try:
            sess.describe_endpoint("{endpoint}")
        except ClientError as e:
            print("AFTER DELETE:", e.response["Error"]["Message"], flush=True)
            break
        time.sleep(0.5)
    """
)


def _steps(out: str) -> dict[str, str]:
    return dict(re.findall(r"^STEP ([^:]+): (.*)$", out, re.M))


@pytest.fixture(scope="module")
def notebook(
    sagelocal_server: Server, tmp_path_factory: pytest.TempPathFactory
) -> subprocess.CompletedProcess:
    data_dir = tmp_path_factory.mktemp("compat-data")
    (data_dir / "train.csv").write_bytes(breast_cancer_csv(200))
    sagelocal_server.client("s3").create_bucket(Bucket=BUCKET)
    script = OFFLINE_GUARD + NOTEBOOK.format(bucket=BUCKET, role=ROLE, data_dir=data_dir)
    return subprocess.run(
        [sys.executable, "-c", script],
        env=sagelocal_server.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=str(Path(data_dir)),
    )


def _ok(result: subprocess.CompletedProcess, server: Server) -> str:
    assert result.returncode == 0, (
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\nserver:\n{server.log_text()}"
    )
    assert "NON-LOOPBACK ATTEMPTS: []" in result.stdout, result.stdout
    return result.stdout


@pytest.mark.timeout(900)
def test_upload_fit_wait_describe(notebook: subprocess.CompletedProcess, sagelocal_server: Server) -> None:
    steps = _steps(_ok(notebook, sagelocal_server))
    assert steps["upload_data"] == f"s3://{BUCKET}/compat/train"
    name = steps["fit(wait=False)"]
    assert re.fullmatch(r"sagemaker-xgboost-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-\d{3}", name)
    assert steps["wait_for_job"] == "Completed"
    assert steps["describe_training_job"] == f"Completed s3://{BUCKET}/out/{name}/output/model.tar.gz"


@pytest.mark.timeout(900)
def test_attach_then_logs_and_fit(notebook: subprocess.CompletedProcess, sagelocal_server: Server) -> None:
    out = _ok(notebook, sagelocal_server)
    steps = _steps(out)
    name = steps["fit(wait=False)"]
    # attach: DescribeTrainingJob's OutputDataConfig.KmsKeyId (empty when none was given) and ListTags.
    assert steps["attach"] == (
        f"s3://{BUCKET}/out/{name}/output/model.tar.gz tags=[{{'Key': 'project', 'Value': 'compat'}}] kms=''"
    )
    # Estimator.logs() and Session.logs_for_job print the job's CloudWatch lines and the SDK's status lines.
    logs = out[out.index("LOGS BEGIN") : out.index("LOGS END")]
    assert re.search(r"^\[\d+\]#011train-logloss:", logs, re.M), logs
    # (the SDK runs the first log line on after the status line, as it does against SageMaker)
    assert re.search(r"^\S+ \S+ Completed - Training job completed", logs, re.M), logs
    assert re.search(r"^Training seconds: \d+$", logs, re.M), logs
    again = out[out.index("LOGS END") : out.index("LOGS_FOR_JOB END")]
    assert re.search(r"^\[\d+\]#011train-logloss:", again, re.M), again
    # fit of the attached estimator: a new job, its tags those ListTags gave attach.
    second, model_data, tags = steps["attached fit"].split(" ", 2)
    assert second != name and second.startswith("sagemaker-xgboost-")
    assert model_data == f"s3://{BUCKET}/out/{second}/output/model.tar.gz"
    assert tags == "tags=[{'Key': 'project', 'Value': 'compat'}]"


@pytest.mark.timeout(900)
def test_training_job_analytics(
    notebook: subprocess.CompletedProcess, sagelocal_server: Server, tmp_path: Path
) -> None:
    """``estimator.training_job_analytics`` and ``TrainingJobAnalytics(job).dataframe()``, unchanged, read the
    CloudWatch metrics ``sagelocal serve`` publishes from the job's log (AWS_ENDPOINT_URL_CLOUDWATCH, which it
    prints): one row per metric per round, the last of each equal to FinalMetricDataList. A metric the job never
    printed gives the SDK's own warning and no rows."""
    name = _steps(_ok(notebook, sagelocal_server))["fit(wait=False)"]
    result = subprocess.run(
        [sys.executable, "-c", OFFLINE_GUARD + ANALYTICS.format(name=name)],
        env=sagelocal_server.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "NON-LOOPBACK ATTEMPTS: []" in result.stdout, result.stdout
    frame = json.loads(re.search(r"^ANALYTICS: (.*)$", result.stdout, re.M).group(1))  # type: ignore[union-attr]
    final = json.loads(re.search(r"^FINAL: (.*)$", result.stdout, re.M).group(1))  # type: ignore[union-attr]
    # The job (num_round=5, train channel only, binary:logistic on 1.7-1) prints train-logloss each round.
    assert list(final) == ["train:logloss"]
    assert frame["metric_name"] == ["train:logloss"] * 5
    assert frame["value"][-1] == final["train:logloss"]
    assert frame["value"] == sorted(frame["value"], reverse=True)  # the loss falls round by round
    assert frame["timestamp"][0] == 0.0 and frame["timestamp"] == sorted(frame["timestamp"])
    named = json.loads(re.search(r"^NAMED: (.*)$", result.stdout, re.M).group(1))  # type: ignore[union-attr]
    assert named["metric_name"] == ["train:logloss"] * 5 and named["value"] == frame["value"]
    assert "Warning: No metrics called validation:auc found" in result.stdout + result.stderr


@pytest.mark.timeout(900)
def test_attach_then_deploy(
    notebook: subprocess.CompletedProcess, sagelocal_server: Server, tmp_path: Path
) -> None:
    """``Estimator.attach(job).deploy(...)`` through the unchanged SDK: a model from the job's artifact, an
    endpoint that answers ``predict`` as the booster does, and ``delete_endpoint``."""
    name = _steps(_ok(notebook, sagelocal_server))["fit(wait=False)"]
    row = breast_cancer_csv(1).decode().strip().split(",", 1)[1]  # one row's features, label dropped
    script = ATTACH_DEPLOY.format(name=name, endpoint="attached-endpoint", row=row)
    result = subprocess.run(
        [sys.executable, "-c", OFFLINE_GUARD + script],
        env=sagelocal_server.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "NON-LOOPBACK ATTEMPTS: []" in result.stdout, result.stdout
    # (the SDK's "-----!" deploy progress ends without a newline, so a line may start after it)
    lines = dict(re.findall(r"(ENDPOINT|MODEL|PREDICTION|AFTER DELETE): (.*)$", result.stdout, re.M))
    assert re.search(r"^-*!ENDPOINT: ", result.stdout, re.M), result.stdout
    assert lines["ENDPOINT"] == "InService"
    assert lines["MODEL"] == f"s3://{BUCKET}/out/{name}/output/model.tar.gz"
    assert 0.0 <= float(lines["PREDICTION"]) <= 1.0  # binary:logistic: a probability, as the 1.7-1 image answers
    assert lines["AFTER DELETE"] == (
        'Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/attached-endpoint".'
    )


def test_tags_operations(sagelocal_server: Server) -> None:
    """AddTags overwrites a key's value and keeps its place; DeleteTags ignores keys that are not there;
    ListTags pages with NextToken; a request outside the model is a ValidationException."""
    from botocore.exceptions import ClientError

    sm = sagelocal_server.client("sagemaker")
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model/m-1"
    assert sm.list_tags(ResourceArn=arn)["Tags"] == []
    added = sm.add_tags(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    assert added["Tags"] == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "a", "Value": "one"}, {"Key": "c", "Value": ""}])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "a", "Value": "one"},
        {"Key": "b", "Value": "2"},
        {"Key": "c", "Value": ""},
    ]
    sm.delete_tags(ResourceArn=arn, TagKeys=["b", "missing"])
    assert [t["Key"] for t in sm.list_tags(ResourceArn=arn)["Tags"]] == ["a", "c"]

    many = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e-1"
    sm.add_tags(ResourceArn=many, Tags=[{"Key": f"k{i:02d}", "Value": str(i)} for i in range(50)])
    page = sm.list_tags(ResourceArn=many, MaxResults=50)
    assert len(page["Tags"]) == 50 and "NextToken" not in page
    with pytest.raises(ClientError) as excinfo:
        sm.add_tags(ResourceArn=many, Tags=[{"Key": "one-more", "Value": "x"}])
    assert excinfo.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "The number of tags on the resource would exceed the limit of 50.",
    }
    with pytest.raises(ClientError) as excinfo:
        sm.list_tags(ResourceArn="arn:aws:s3:::bucket")
    assert excinfo.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'arn:aws:s3:::bucket' at 'resourceArn' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: "
        "arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:.+"
    )
