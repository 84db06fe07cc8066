"""CreateTrainingJob validation: SageMaker's exact ValidationException messages."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from support.builders import tutorial_request

from sagelocal.aws.errors import SerializationException, ValidationException
from sagelocal.aws.validation import format_validation_errors
from sagelocal.service.validation import validate_create_training_job

PATTERN_NAME = "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
PATTERN_S3 = "Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$"
PATTERN_ROLE = (
    "Member must satisfy regular expression pattern: "
    "^arn:aws[a-z\\-]*:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+$"
)
HP_VALUE_RULES = (
    "Map value must satisfy constraint: [Member must have length less than or equal to 2500, "
    "Member must have length greater than or equal to 0, Member must satisfy regular expression pattern: .*]"
)
HP_KEY_RULES = (
    "Map keys must satisfy constraint: [Member must have length less than or equal to 256, "
    "Member must have length greater than or equal to 0, Member must satisfy regular expression pattern: .*]"
)


def sdk_request() -> dict[str, Any]:
    """What SDK v2 sends for the classic XGBoost tutorial (reference §4)."""
    return tutorial_request(
        "xgboost-2026-11-27-01-08-15-963", {"train": "s3://bucket/train"}, "s3://bucket/out"
    )


def rejected(change: Callable[[dict[str, Any]], object], **kwargs: Any) -> ValidationException:
    request = sdk_request()
    change(request)
    with pytest.raises(ValidationException) as e:
        validate_create_training_job(request, **kwargs)
    return e.value


def one(value: str | None, path: str, constraint: str) -> str:
    shown = "null" if value is None else f"'{value}'"
    return (
        f"1 validation error detected: Value {shown} at '{path}' failed to satisfy constraint: {constraint}"
    )


def test_sdk_request_is_valid() -> None:
    validate_create_training_job(sdk_request())
    validate_create_training_job(sdk_request(), allow_local_instance=False)


def test_a_bigger_valid_request() -> None:
    request = sdk_request()
    request["InputDataConfig"].append(
        {
            "ChannelName": "validation.set-2_b",
            "InputMode": "Pipe",
            "CompressionType": "Gzip",
            "RecordWrapperType": "RecordIO",
            "DataSource": {
                "S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": "s3://host/x.manifest"}
            },
        }
    )
    request["Environment"] = {"MY_VAR": "line one\nline two", "_X": ""}
    request["Tags"] = [{"Key": "project", "Value": "café 42"}]
    request["ResourceConfig"]["InstanceCount"] = 3
    request["StoppingCondition"]["MaxRuntimeInSeconds"] = 28 * 24 * 3600  # the documented maximum
    request["StoppingCondition"]["MaxWaitTimeInSeconds"] = 90000
    request["OutputDataConfig"]["CompressionType"] = "NONE"
    validate_create_training_job(request)


CASES: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    (
        "underscore in name",
        lambda r: r.update(TrainingJobName="my_job"),
        one("my_job", "trainingJobName", PATTERN_NAME),
    ),
    (
        "empty name",
        lambda r: r.update(TrainingJobName=""),
        "2 validation errors detected: "
        f"Value '' at 'trainingJobName' failed to satisfy constraint: {PATTERN_NAME}; "
        "Value '' at 'trainingJobName' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
    ),
    (
        "64-character name",
        lambda r: r.update(TrainingJobName="a" * 64),
        "2 validation errors detected: "
        f"Value '{'a' * 64}' at 'trainingJobName' failed to satisfy constraint: {PATTERN_NAME}; "
        f"Value '{'a' * 64}' at 'trainingJobName' failed to satisfy constraint: "
        "Member must have length less than or equal to 63",
    ),
    (
        "hyphens do not count towards the pattern's 63",
        lambda r: r.update(TrainingJobName="a-" * 33 + "b"),
        one("a-" * 33 + "b", "trainingJobName", "Member must have length less than or equal to 63"),
    ),
    (
        "missing name",
        lambda r: r.pop("TrainingJobName"),
        one(None, "trainingJobName", "Member must not be null"),
    ),
    ("missing role", lambda r: r.pop("RoleArn"), one(None, "roleArn", "Member must not be null")),
    ("null role", lambda r: r.update(RoleArn=None), one(None, "roleArn", "Member must not be null")),
    (
        "role name instead of ARN",
        lambda r: r.update(RoleArn="SageMakerRole-with-a-long-name"),
        one("SageMakerRole-with-a-long-name", "roleArn", PATTERN_ROLE),
    ),
    (
        "short role",
        lambda r: r.update(RoleArn="SageMakerRole"),
        "2 validation errors detected: "
        f"Value 'SageMakerRole' at 'roleArn' failed to satisfy constraint: {PATTERN_ROLE}; "
        "Value 'SageMakerRole' at 'roleArn' failed to satisfy constraint: "
        "Member must have length greater than or equal to 20",
    ),
    (
        "missing output config",
        lambda r: r.pop("OutputDataConfig"),
        one(None, "outputDataConfig", "Member must not be null"),
    ),
    (
        "missing output path",
        lambda r: r["OutputDataConfig"].pop("S3OutputPath"),
        one(None, "outputDataConfig.s3OutputPath", "Member must not be null"),
    ),
    (
        "local output path",
        lambda r: r["OutputDataConfig"].update(S3OutputPath="file:///tmp/out"),
        one("file:///tmp/out", "outputDataConfig.s3OutputPath", PATTERN_S3),
    ),
    (
        "output compression enum",
        lambda r: r["OutputDataConfig"].update(CompressionType="gzip"),
        one("gzip", "outputDataConfig.compressionType", "Member must satisfy enum value set: [GZIP, NONE]"),
    ),
    (
        "missing input mode",
        lambda r: r["AlgorithmSpecification"].pop("TrainingInputMode"),
        one(None, "algorithmSpecification.trainingInputMode", "Member must not be null"),
    ),
    (
        "input mode enum",
        lambda r: r["AlgorithmSpecification"].update(TrainingInputMode="file"),
        one(
            "file",
            "algorithmSpecification.trainingInputMode",
            "Member must satisfy enum value set: [Pipe, File, FastFile]",
        ),
    ),
    (
        "image too long",
        lambda r: r["AlgorithmSpecification"].update(TrainingImage="i" * 256),
        one(
            "i" * 256,
            "algorithmSpecification.trainingImage",
            "Member must have length less than or equal to 255",
        ),
    ),
    (
        "missing algorithm specification",
        lambda r: r.pop("AlgorithmSpecification"),
        one(None, "algorithmSpecification", "Member must not be null"),
    ),
    (
        "negative instance count",
        lambda r: r["ResourceConfig"].update(InstanceCount=-1),
        one("-1", "resourceConfig.instanceCount", "Member must have value greater than or equal to 0"),
    ),
    (
        "negative volume",
        lambda r: r["ResourceConfig"].update(VolumeSizeInGB=-5),
        one("-5", "resourceConfig.volumeSizeInGB", "Member must have value greater than or equal to 0"),
    ),
    (
        "keep-alive too long",
        lambda r: r["ResourceConfig"].update(KeepAlivePeriodInSeconds=21601),
        one(
            "21601",
            "resourceConfig.keepAlivePeriodInSeconds",
            "Member must have value less than or equal to 21600",
        ),
    ),
    (
        # API reference, StoppingCondition.MaxRuntimeInSeconds: "The maximum value is 28 days."
        "runtime above 28 days",
        lambda r: r["StoppingCondition"].update(MaxRuntimeInSeconds=2419201),
        one(
            "2419201",
            "stoppingCondition.maxRuntimeInSeconds",
            "Member must have value less than or equal to 2419200",
        ),
    ),
    (
        # The model's minimum of 0 exists for InstanceGroups; a job of no instances cannot run.
        "zero instance count",
        lambda r: r["ResourceConfig"].update(InstanceCount=0),
        one("0", "resourceConfig.instanceCount", "Member must have value greater than or equal to 1"),
    ),
    (
        "zero volume",
        lambda r: r["ResourceConfig"].update(VolumeSizeInGB=0),
        one("0", "resourceConfig.volumeSizeInGB", "Member must have value greater than or equal to 1"),
    ),
    (
        "zero runtime",
        lambda r: r["StoppingCondition"].update(MaxRuntimeInSeconds=0),
        one(
            "0", "stoppingCondition.maxRuntimeInSeconds", "Member must have value greater than or equal to 1"
        ),
    ),
    (
        "hyperparameter value too long",
        lambda r: r.update(HyperParameters={"eta": "0.2", "x": "v" * 2501}),
        one("{eta=0.2, x=" + "v" * 2501 + "}", "hyperParameters", HP_VALUE_RULES),
    ),
    (
        "hyperparameter value over two lines",
        lambda r: r.update(HyperParameters={"a": "1\n2"}),
        one("{a=1\n2}", "hyperParameters", HP_VALUE_RULES),
    ),
    (
        "hyperparameter key too long",
        lambda r: r.update(HyperParameters={"k" * 257: "1"}),
        one("{" + "k" * 257 + "=1}", "hyperParameters", HP_KEY_RULES),
    ),
    (
        "hyperparameter key and value too long: keys first",
        lambda r: r.update(HyperParameters={"k" * 257: "v" * 2501}),
        "2 validation errors detected: "
        f"Value '{{{'k' * 257}={'v' * 2501}}}' at 'hyperParameters' failed to satisfy constraint: "
        f"{HP_KEY_RULES}; "
        f"Value '{{{'k' * 257}={'v' * 2501}}}' at 'hyperParameters' failed to satisfy constraint: "
        f"{HP_VALUE_RULES}",
    ),
    (
        "101 hyperparameters",
        lambda r: r.update(HyperParameters={f"h{i}": "1" for i in range(101)}),
        one(
            "{" + ", ".join(f"h{i}=1" for i in range(101)) + "}",
            "hyperParameters",
            "Member must have length less than or equal to 100",
        ),
    ),
    (
        "no channels",
        lambda r: r.update(InputDataConfig=[]),
        one("[]", "inputDataConfig", "Member must have length greater than or equal to 1"),
    ),
    (
        "bad channel name",
        lambda r: r["InputDataConfig"][0].update(ChannelName="my channel"),
        one(
            "my channel",
            "inputDataConfig.1.member.channelName",
            "Member must satisfy regular expression pattern: [A-Za-z0-9\\.\\-_]+",
        ),
    ),
    (
        "channel name too long",
        lambda r: r["InputDataConfig"][0].update(ChannelName="c" * 65),
        one(
            "c" * 65,
            "inputDataConfig.1.member.channelName",
            "Member must have length less than or equal to 64",
        ),
    ),
    (
        "second channel without data source",
        lambda r: r["InputDataConfig"].append({"ChannelName": "validation"}),
        one(None, "inputDataConfig.2.member.dataSource", "Member must not be null"),
    ),
    (
        "bad S3 URI",
        lambda r: r["InputDataConfig"][0]["DataSource"]["S3DataSource"].update(S3Uri="bucket/train"),
        one("bucket/train", "inputDataConfig.1.member.dataSource.s3DataSource.s3Uri", PATTERN_S3),
    ),
    (
        "S3 URI too long",
        lambda r: r["InputDataConfig"][0]["DataSource"]["S3DataSource"].update(S3Uri="s3://b/" + "k" * 1018),
        one(
            "s3://b/" + "k" * 1018,
            "inputDataConfig.1.member.dataSource.s3DataSource.s3Uri",
            "Member must have length less than or equal to 1024",
        ),
    ),
    (
        "S3 data type enum",
        lambda r: r["InputDataConfig"][0]["DataSource"]["S3DataSource"].update(S3DataType="Prefix"),
        one(
            "Prefix",
            "inputDataConfig.1.member.dataSource.s3DataSource.s3DataType",
            "Member must satisfy enum value set: [ManifestFile, S3Prefix, AugmentedManifestFile, Converse]",
        ),
    ),
    (
        "distribution enum",
        lambda r: r["InputDataConfig"][0]["DataSource"]["S3DataSource"].update(
            S3DataDistributionType="Sharded"
        ),
        one(
            "Sharded",
            "inputDataConfig.1.member.dataSource.s3DataSource.s3DataDistributionType",
            "Member must satisfy enum value set: [FullyReplicated, ShardedByS3Key]",
        ),
    ),
    (
        "compression enum",
        lambda r: r["InputDataConfig"][0].update(CompressionType="gzip"),
        one(
            "gzip",
            "inputDataConfig.1.member.compressionType",
            "Member must satisfy enum value set: [None, Gzip]",
        ),
    ),
    (
        "record wrapper enum",
        lambda r: r["InputDataConfig"][0].update(RecordWrapperType="recordio"),
        one(
            "recordio",
            "inputDataConfig.1.member.recordWrapperType",
            "Member must satisfy enum value set: [None, RecordIO]",
        ),
    ),
    (
        "channel input mode enum",
        lambda r: r["InputDataConfig"][0].update(InputMode="Stream"),
        one(
            "Stream",
            "inputDataConfig.1.member.inputMode",
            "Member must satisfy enum value set: [Pipe, File, FastFile]",
        ),
    ),
    (
        "environment key",
        lambda r: r.update(Environment={"1BAD": "x"}),
        one(
            "{1BAD=x}",
            "environment",
            "Map keys must satisfy constraint: [Member must have length less than or equal to 512, "
            "Member must have length greater than or equal to 0, "
            "Member must satisfy regular expression pattern: [a-zA-Z_][a-zA-Z0-9_]*]",
        ),
    ),
    (
        "environment value",
        lambda r: r.update(Environment={"A": "x" * 513}),
        one(
            "{A=" + "x" * 513 + "}",
            "environment",
            "Map value must satisfy constraint: [Member must have length less than or equal to 512, "
            "Member must have length greater than or equal to 0, "
            "Member must satisfy regular expression pattern: [\\S\\s]*]",
        ),
    ),
    (
        "51 tags",
        lambda r: r.update(Tags=[{"Key": "k", "Value": "v"}] * 51),
        one(
            "[" + ", ".join(["{Key=k, Value=v}"] * 51) + "]",
            "tags",
            "Member must have length less than or equal to 50",
        ),
    ),
    (
        "tag key",
        lambda r: r.update(Tags=[{"Key": "a#b", "Value": "v"}]),
        one(
            "a#b",
            "tags.1.member.key",
            "Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$",
        ),
    ),
    (
        "tag without value",
        lambda r: r.update(Tags=[{"Key": "a"}]),
        one(None, "tags.1.member.value", "Member must not be null"),
    ),
    (
        "several errors, in model member order",
        lambda r: r.update(
            TrainingJobName="bad_name", RoleArn=None, StoppingCondition={"MaxRuntimeInSeconds": 0}
        ),
        "3 validation errors detected: "
        f"Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: {PATTERN_NAME}; "
        "Value null at 'roleArn' failed to satisfy constraint: Member must not be null; "
        "Value '0' at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
    ),
]


@pytest.mark.parametrize(("change", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_exact_messages(change: Callable[[dict[str, Any]], object], message: str) -> None:
    error = rejected(change)
    assert type(error) is ValidationException
    assert error.code == "ValidationException"
    assert error.message == message


def test_local_instance_type() -> None:
    request = sdk_request()
    request["ResourceConfig"]["InstanceType"] = "local"
    validate_create_training_job(request)  # local backends accept it
    error = rejected(lambda r: r["ResourceConfig"].update(InstanceType="local"), allow_local_instance=False)
    start = (
        "1 validation error detected: Value 'local' at 'resourceConfig.instanceType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [ml.m4.xlarge, ml.m4.2xlarge, ml.m4.4xlarge, "
    )
    assert error.message.startswith(start)
    assert error.message.endswith("]")
    assert "ml.m5.xlarge, " in error.message and "local" not in error.message[len(start) :]


def test_unknown_instance_type_is_rejected_even_locally() -> None:
    error = rejected(lambda r: r["ResourceConfig"].update(InstanceType="ml.banana.xlarge"))
    assert error.message.startswith(
        "1 validation error detected: Value 'ml.banana.xlarge' at 'resourceConfig.instanceType' failed to "
        "satisfy constraint: Member must satisfy enum value set: [ml.m4.xlarge, "
    )


def test_duplicate_channel_names() -> None:
    def twice(r: dict[str, Any]) -> None:
        r["InputDataConfig"].append(copy.deepcopy(r["InputDataConfig"][0]))

    error = rejected(twice)
    assert (
        error.message == "Channel names must be unique within a training job. Duplicate channel name: train"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r["HyperParameters"].update(num_round=100),
            "NUMBER_VALUE can not be converted to a String",
        ),
        (lambda r: r["HyperParameters"].update(silent=False), "FALSE_VALUE can not be converted to a String"),
        (lambda r: r.update(TrainingJobName=["a"]), "Start of list found where not expected"),
        (lambda r: r.update(RoleArn={"a": 1}), "Start of structure or map found where not expected."),
        (
            lambda r: r["ResourceConfig"].update(InstanceCount="1"),
            "STRING_VALUE can not be converted to an Integer",
        ),
        (
            lambda r: r.update(InputDataConfig={"ChannelName": "train"}),
            "Start of structure or map found where not expected.",
        ),
        (lambda r: r.update(OutputDataConfig="s3://b/o"), "STRING_VALUE can not be converted to a Structure"),
    ],
)
def test_wrong_json_types(change: Callable[[dict[str, Any]], object], message: str) -> None:
    error = rejected(change)
    assert isinstance(error, SerializationException)
    assert error.code == "SerializationException"
    assert error.message == message


def test_format_validation_errors() -> None:
    assert format_validation_errors(["x"]) == "1 validation error detected: x"
    assert format_validation_errors(["x", "y"]) == "2 validation errors detected: x; y"


def test_unknown_members_are_ignored() -> None:
    request = sdk_request()
    request["SomethingNew"] = {"Whatever": 1}
    validate_create_training_job(request)
