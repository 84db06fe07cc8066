"""The botocore-model walker on operations other than CreateTrainingJob (tests/service/test_validation.py has
CreateTrainingJob's messages)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sagelocal.aws.errors import InvalidParameterException, SerializationException, ValidationException
from sagelocal.aws.validation import parse_timestamp, validate


def test_valid_requests_pass() -> None:
    validate("sagemaker", "ListTrainingJobs", {"MaxResults": 100, "CreationTimeAfter": datetime.now(UTC)})
    validate("sagemaker", "DescribeTrainingJob", {"TrainingJobName": "job-1"})
    validate("logs", "GetLogEvents", {"logGroupName": "/g", "logStreamName": "s", "limit": 1, "startTime": 0})


def test_every_violation_in_member_order() -> None:
    with pytest.raises(ValidationException) as e:
        validate("sagemaker", "ListTrainingJobs", {"SortBy": "Size", "MaxResults": 101, "StatusEquals": None})
    assert e.value.message == (
        "2 validation errors detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must "
        "have value less than or equal to 100; Value 'Size' at 'sortBy' failed to satisfy constraint: Member "
        "must satisfy enum value set: [Name, CreationTime, Status]"
    )


def test_required_member_and_shown_pattern() -> None:
    with pytest.raises(ValidationException) as e:
        validate("sagemaker", "StopTrainingJob", {})
    assert e.value.message == (
        "1 validation error detected: Value null at 'trainingJobName' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_logs_answers_invalid_parameter_exception() -> None:
    with pytest.raises(InvalidParameterException) as e:
        validate("logs", "PutLogEvents", {"logGroupName": "/g", "logStreamName": "s", "logEvents": [{}]})
    assert e.value.message == (
        "2 validation errors detected: Value null at 'logEvents.1.member.timestamp' failed to satisfy "
        "constraint: Member must not be null; Value null at 'logEvents.1.member.message' failed to satisfy "
        "constraint: Member must not be null"
    )


def test_caller_rules_beyond_the_model() -> None:
    validate("logs", "GetLogEvents", {"logStreamName": "s"})
    with pytest.raises(InvalidParameterException, match="at 'logGroupName'"):
        validate(
            "logs", "GetLogEvents", {"logStreamName": "s"}, required={"GetLogEventsRequest": ["logGroupName"]}
        )


def test_wrong_json_type_is_a_serialization_exception() -> None:
    with pytest.raises(SerializationException) as e:
        validate("sagemaker", "ListTrainingJobs", {"MaxResults": "ten"})
    assert e.value.message == "STRING_VALUE can not be converted to an Integer"


def test_unknown_operation_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        validate("sagemaker", "NoSuchOperation", {})


def test_parse_timestamp() -> None:
    assert parse_timestamp(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert parse_timestamp("1.5") == datetime(1970, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)
    assert parse_timestamp("2024-01-02T03:04:05Z") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_timestamp(1e20) is None
    assert parse_timestamp("yesterday") is None
    assert parse_timestamp(True) is None
