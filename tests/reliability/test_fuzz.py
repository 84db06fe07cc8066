"""Fuzzing with hypothesis: no request and no data file makes sagelocal crash with a traceback or leave a job
stuck.

* CreateTrainingJob validation over arbitrary JSON values in every member: the answer is ``None`` or a
  ValidationException (SerializationException is one), never another exception.
* The algorithm's CSV and LIBSVM handling (size scan, first-line check, loading, DMatrix) over arbitrary
  text: the data loads, or a UserError (a ``ClientError`` for the user) says why; never anything else.
* Hyperparameter validation over arbitrary maps of strings: accepted, or a UserError.
* A few fuzzed jobs end to end through the server: every one reaches a terminal state with a reason that is
  not an internal error.
"""

from __future__ import annotations

import json
import re
import string
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.reliability_cases import assert_store_consistent, channel, kill_leftover_workers, request
from support.server_fixture import running_server

from sagelocal.algorithms.xgboost import data, hyperparameters
from sagelocal.algorithms.xgboost.errors import UserError
from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.versions import get_version
from sagelocal.aws.errors import ValidationException
from sagelocal.service.validation import validate_create_training_job

VERSIONS = ["1", "0.90-1", "1.2-2", "1.7-1", "3.0-5"]
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# --- request validation -----------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False),
    st.text(max_size=80),
    st.sampled_from(["", "..", "../x", "s3://", "s3://b/k", "ml.m5.xlarge", "local", "File", "Pipe", "\x00"]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
MEMBERS = [
    "TrainingJobName", "RoleArn", "AlgorithmSpecification", "HyperParameters", "InputDataConfig",
    "OutputDataConfig", "ResourceConfig", "StoppingCondition", "CheckpointConfig", "Environment", "Tags",
    "VpcConfig", "DebugHookConfig", "ProfilerConfig", "EnableManagedSpotTraining", "RetryStrategy",
]  # fmt: skip


def base_request() -> dict[str, Any]:
    return request("fuzz-job", [channel("train", "s3://bucket/train")])


@st.composite
def mutated_requests(draw: st.DrawFn) -> dict[str, Any]:
    req = base_request()
    for member in draw(st.lists(st.sampled_from(MEMBERS), max_size=4, unique=True)):
        if draw(st.booleans()):
            req.pop(member, None)
        else:
            req[member] = draw(json_values)
    # Sometimes go one level deeper into a valid member.
    if draw(st.booleans()):
        target = draw(st.sampled_from(["AlgorithmSpecification", "ResourceConfig", "StoppingCondition"]))
        if isinstance(req.get(target), dict):
            req[target][draw(st.text(min_size=1, max_size=30))] = draw(json_values)
    if draw(st.booleans()) and isinstance(req.get("InputDataConfig"), list) and req["InputDataConfig"]:
        ch = req["InputDataConfig"][0]
        if isinstance(ch, dict):
            ch[draw(st.sampled_from(["ChannelName", "ContentType", "InputMode", "DataSource"]))] = draw(
                json_values
            )
    return req


@FUZZ
@given(mutated_requests())
def test_request_validation_never_raises_anything_else(req: dict[str, Any]) -> None:
    try:
        validate_create_training_job(req)
    except ValidationException as error:
        assert error.message and "\n" not in error.message
        assert error.code in ("ValidationException", "SerializationException")


@FUZZ
@given(st.dictionaries(st.text(max_size=300), json_values, max_size=6))
def test_arbitrary_top_level_objects_are_answered(req: dict[str, Any]) -> None:
    try:
        validate_create_training_job(req)
    except ValidationException:
        pass


# --- hyperparameters --------------------------------------------------------------------------------------

HP_NAMES = [
    "num_round", "eta", "max_depth", "objective", "eval_metric", "num_class", "subsample", "tree_method",
    "monotone_constraints", "interaction_constraints", "early_stopping_rounds", "csv_weights", "booster",
    "updater", "silent", "seed", "_kfold", "_num_cv_round", "base_score", "scale_pos_weight", "alpha",
    "save_model_on_termination", "_tuning_objective_metric", "device", "sketch_eps", "tweedie_variance_power",
]  # fmt: skip
HP_VALUES = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["1", "0", "-1", "1.5", "1e309", "nan", "inf", "[1,2]", "(1,-1)", "[[0,1],[2]]", "auc,rmse",
                     "error@0.5", "ndcg@", "multi:softmax", "reg:squarederror", "binary:logistic", "true", ""]),
)  # fmt: skip


@FUZZ
@given(
    st.sampled_from(VERSIONS),
    st.dictionaries(st.one_of(st.sampled_from(HP_NAMES), st.text(max_size=10)), HP_VALUES, max_size=6),
)
def test_hyperparameter_validation_fails_only_with_user_errors(version: str, raw: dict[str, str]) -> None:
    image = get_version(version)
    try:
        validated = hyperparameters.validate_hyperparameters(raw, image)
        hyperparameters.training_config(validated, image)
    except UserError as error:
        assert error.message


# --- CSV and LIBSVM ---------------------------------------------------------------------------------------

number = st.one_of(
    st.integers(-5, 5).map(str),
    st.floats(allow_nan=True, allow_infinity=True, width=32).map(repr),
    st.sampled_from(["", "nan", "inf", "-inf", "1e-10", "1e40", "0x10", "TRUE", "abc", " ", '"1"', "1,5"]),
)
csv_line = st.lists(number, min_size=1, max_size=6).flatmap(
    lambda cells: st.sampled_from([",", ";", "\t", " ", "|"]).map(lambda d: d.join(cells))
)
libsvm_token = st.one_of(
    st.tuples(st.integers(-2, 40), number).map(lambda t: f"{t[0]}:{t[1]}"),
    st.sampled_from(["qid:1", ":", "1:", ":1", "a:b", "1:2:3", "#comment", ""]),
)
libsvm_line = st.tuples(number, st.lists(libsvm_token, max_size=5)).map(lambda t: " ".join([t[0], *t[1]]))
noise = st.text(alphabet=string.printable + "\x00é€\ufeff", max_size=60)
file_text = st.one_of(
    st.lists(st.one_of(csv_line, libsvm_line, noise), max_size=12).map("\n".join),
    st.lists(csv_line, min_size=1, max_size=20).map(lambda ls: "\n".join(ls) + "\n"),
    st.lists(libsvm_line, min_size=1, max_size=20).map(lambda ls: "\n".join(ls) + "\n"),
)


def load_like_the_image(path: Path, fmt: str, version: str) -> Any:
    """The algorithm's data path for one channel: size scan, first-line check, file list, load, DMatrix."""
    image = get_version(version)
    log = Log(stream=open("/dev/null", "w"))
    try:
        if data.channel_size(str(path)) == 0:
            return None
        data.validate_first_lines(str(path), fmt, image, log)
        files = data.channel_files(str(path), image, log, str)
        loaded, _ = data.load_channel(files, fmt, False, log, legacy=image.legacy)
        if loaded is None or loaded.labels.size == 0:
            return None
        return data.to_dmatrix(loaded)
    finally:
        log.stream.close()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-data")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(file_text, min_size=1, max_size=3),
    st.sampled_from(["csv", "libsvm"]),
    st.sampled_from(VERSIONS),
)
def test_csv_and_libsvm_loading_fails_only_with_user_errors(
    scratch: Path, texts: list[str], fmt: str, version: str
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory(dir=scratch) as folder:
        channel_dir = Path(folder) / "train"
        channel_dir.mkdir()
        for i, text in enumerate(texts):
            (channel_dir / f"part-{i}.{fmt}").write_text(text, encoding="utf-8")
        try:
            load_like_the_image(channel_dir, fmt, version)
        except UserError as error:
            assert error.message


# --- fuzzed jobs end to end -------------------------------------------------------------------------------

INTERNAL = re.compile(
    r"^(InternalServerError|AlgorithmError: (?!XGB train call failed)[A-Za-z_.]+(Error|Exception)\b)"
)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("fuzz-serve") / "home"
    with running_server(home) as server:
        yield server
    kill_leftover_workers(home)
    assert_store_consistent(home)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(file_text, st.sampled_from(["csv", "libsvm", None]), st.sampled_from(VERSIONS),
                  st.dictionaries(st.sampled_from(HP_NAMES), HP_VALUES, max_size=3)),
        min_size=4, max_size=4,
    )
)  # fmt: skip
def test_fuzzed_jobs_end_to_end_never_stick_or_crash(fuzz_server: Any, jobs: list[tuple]) -> None:
    s3 = fuzz_server.client("s3")
    sm = fuzz_server.client("sagemaker")
    s3.create_bucket(Bucket="fuzz")
    names = []
    for text, content_type, version, hps in jobs:
        name = f"fuzz-{time.time_ns()}"
        s3.put_object(Bucket="fuzz", Key=f"{name}/train/data", Body=text.encode())
        hps = {"num_round": "2", **hps}
        body = request(name, [channel("train", f"s3://fuzz/{name}/train", content_type)], hps, version,
                       max_runtime=120, output="s3://fuzz/out")  # fmt: skip
        try:
            sm.create_training_job(**body)
        except sm.exceptions.ClientError as error:
            assert error.response["Error"]["Code"] == "ValidationException"
            continue
        names.append(name)
    deadline = time.monotonic() + 240
    for name in names:
        while True:
            desc = sm.describe_training_job(TrainingJobName=name)
            if desc["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"):
                break
            assert time.monotonic() < deadline, f"{name} stuck in {desc['SecondaryStatus']}"
            time.sleep(0.2)
        reason = desc.get("FailureReason", "")
        assert desc["TrainingJobStatus"] in ("Completed", "Failed"), json.dumps(desc, default=str)
        assert not INTERNAL.match(reason), reason
        if (
            "Traceback" in reason
        ):  # only the image's own (sagemaker-containers' "framework error"), never the host's
            assert reason.startswith(
                'AlgorithmError: framework error: \nTraceback (most recent call last):\n  File "/miniconda3/'
            ), reason
            assert "/work/" not in reason and "sagelocal/" not in reason, reason


# --- the server's JSON APIs -------------------------------------------------------------------------------

OPERATIONS = [
    "SageMaker.DescribeTrainingJob", "SageMaker.ListTrainingJobs", "SageMaker.StopTrainingJob",
    "SageMaker.CreateTrainingJob", "SageMaker.DeleteTrainingJob", "Logs_20140328.GetLogEvents",
    "Logs_20140328.DescribeLogStreams", "Logs_20140328.FilterLogEvents", "Logs_20140328.DescribeLogGroups",
]  # fmt: skip
LIST_MEMBERS = [
    "MaxResults", "NextToken", "SortBy", "SortOrder", "StatusEquals", "NameContains", "CreationTimeAfter",
    "CreationTimeBefore", "LastModifiedTimeAfter", "LastModifiedTimeBefore", "TrainingJobName",
    "logGroupName", "logStreamName", "logStreamNamePrefix", "startTime", "endTime", "nextToken", "limit",
    "startFromHead", "orderBy", "descending", "filterPattern", "logStreamNames",
]  # fmt: skip
json_bodies = st.one_of(
    st.dictionaries(st.sampled_from(LIST_MEMBERS), json_values, max_size=5).map(
        lambda d: json.dumps(d).encode()
    ),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=60),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(OPERATIONS), json_bodies)
def test_server_json_apis_answer_every_body_with_an_aws_error(
    fuzz_server: Any, target: str, body: bytes
) -> None:
    if target == "SageMaker.CreateTrainingJob" and body.startswith(b"{"):
        return  # request validation has its own fuzz test; valid bodies would start jobs
    # Signed with the server's credentials, so the fuzzed body reaches the handlers.
    response = fuzz_server.send(
        "POST",
        "/",
        body,
        {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
        service="sagemaker" if target.startswith("SageMaker.") else "logs",
    )
    status, payload = response.status, response.body
    assert status in (200, 400), (status, payload[:300])
    document = json.loads(payload)
    if status == 400:
        assert document["__type"] and (document.get("message") or document.get("Message")), document
