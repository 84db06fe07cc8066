"""Channel and content-type validation (reference §5, §7); messages are the images' exact strings."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagelocal.algorithms.xgboost.channels import (
    CONTENT_TYPES,
    _split_parameters,
    data_format,
    validate_channels,
)
from sagelocal.algorithms.xgboost.errors import UserError
from sagelocal.algorithms.xgboost.versions import VERSIONS

MODERN = [name for name in VERSIONS if name != "1"]
ACCEPTED = (
    "csv, libsvm, parquet, recordio-protobuf, text/csv, text/libsvm, text/x-libsvm, application/x-parquet, "
    "application/x-recordio-protobuf."
)


def channel(
    content_type: str | None = "csv", mode: str = "File", dist: str = "FullyReplicated"
) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if content_type is not None:
        config["ContentType"] = content_type
    config.update({"TrainingInputMode": mode, "S3DistributionType": dist, "RecordWrapperType": "None"})
    return config


def channel_error(config: dict[str, Any], version: str = "1.7-1") -> str:
    with pytest.raises(UserError) as info:
        validate_channels(config, VERSIONS[version])
    return info.value.message


def format_error(config: dict[str, Any], version: str = "1.7-1") -> str:
    with pytest.raises(UserError) as info:
        data_format(config, VERSIONS[version])
    return info.value.message


# ----------------------------------------------------------------------------- validate_channels, open source


@pytest.mark.parametrize("version", MODERN)
def test_tutorial_channels_pass(version: str) -> None:
    validate_channels({"train": channel(), "validation": channel()}, VERSIONS[version])


@pytest.mark.parametrize("version", MODERN)
def test_missing_train(version: str) -> None:
    assert channel_error({"validation": channel()}, version) == "Missing required channel: train"


@pytest.mark.parametrize("version", MODERN)
def test_extraneous_channel(version: str) -> None:
    config = {"train": channel(), "test": channel()}
    assert channel_error(config, version) == "Extraneous channel found: test"


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("dist", ["FullyReplicated", "ShardedByS3Key"])
def test_every_content_type_in_file_mode(content_type: str, dist: str) -> None:
    validate_channels({"train": channel(content_type, dist=dist)}, VERSIONS["3.0-5"])
    validate_channels({"train": channel(), "validation": channel(content_type, dist=dist)}, VERSIONS["3.0-5"])


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_pipe_mode_not_for_libsvm(content_type: str) -> None:
    config = {"train": channel(content_type, mode="Pipe")}
    if "libsvm" in content_type:
        assert channel_error(config) == (
            f"Channel configuration for 'train' channel is not supported: {{'ContentType': '{content_type}', "
            "'TrainingInputMode': 'Pipe', 'S3DistributionType': 'FullyReplicated', 'RecordWrapperType': "
            "'None'}"
        )
    else:
        validate_channels(config, VERSIONS["1.7-1"])


def test_default_content_type_is_libsvm_and_printed_last() -> None:
    validate_channels({"train": channel(None)}, VERSIONS["1.7-1"])
    assert channel_error({"train": channel(None, mode="Pipe")}) == (
        "Channel configuration for 'train' channel is not supported: {'TrainingInputMode': 'Pipe', "
        "'S3DistributionType': 'FullyReplicated', 'RecordWrapperType': 'None', 'ContentType': 'text/libsvm'}"
    )


def test_validate_channels_does_not_change_the_callers_config() -> None:
    config = {"train": channel(None)}
    validate_channels(config, VERSIONS["1.7-1"])
    assert "ContentType" not in config["train"]


@pytest.mark.parametrize(
    "content_type", ["text/csv; label_size=1", "Text/CSV", "text/csv;charset=utf8", "application/json", ""]
)
def test_content_type_must_match_exactly(content_type: str) -> None:
    assert channel_error({"train": channel(), "validation": channel(content_type)}) == (
        f"Channel configuration for 'validation' channel is not supported: {{'ContentType': "
        f"'{content_type}', "
        "'TrainingInputMode': 'File', 'S3DistributionType': 'FullyReplicated', 'RecordWrapperType': 'None'}"
    )


@pytest.mark.parametrize(("mode", "dist"), [("FastFile", "FullyReplicated"), ("File", "Replicated")])
def test_other_modes_and_distributions_are_not_supported(mode: str, dist: str) -> None:
    assert channel_error({"train": channel("csv", mode, dist)}) == (
        f"Channel configuration for 'train' channel is not supported: {{'ContentType': 'csv', "
        f"'TrainingInputMode': '{mode}', 'S3DistributionType': '{dist}', 'RecordWrapperType': 'None'}}"
    )


def test_code_channel_only_text_python_file_fully_replicated() -> None:
    validate_channels({"train": channel(), "code": channel("text/python")}, VERSIONS["1.7-1"])
    assert channel_error({"train": channel(), "code": channel("text/python", dist="ShardedByS3Key")}) == (
        "Channel configuration for 'code' channel is not supported: {'ContentType': 'text/python', "
        "'TrainingInputMode': 'File', 'S3DistributionType': 'ShardedByS3Key', 'RecordWrapperType': 'None'}"
    )
    assert channel_error({"train": channel("text/python")}).startswith(
        "Channel configuration for 'train' channel is not supported: {'ContentType': 'text/python',"
    )


def test_channels_are_checked_in_order() -> None:
    config = {"train": channel("text/x-csv"), "test": channel()}
    assert channel_error(config).startswith("Channel configuration for 'train' channel is not supported")
    config = {"test": channel(), "train": channel("text/x-csv")}
    assert channel_error(config) == "Extraneous channel found: test"


@pytest.mark.parametrize("key", ["TrainingInputMode", "S3DistributionType"])
def test_missing_required_key_is_a_clear_user_error(key: str) -> None:
    # SDK local mode writes no S3DistributionType; the real image raises a bare KeyError.
    config = channel()
    del config[key]
    assert channel_error({"train": config}) == (
        f"Channel 'train' has no {key} in inputdataconfig.json "
        f"(the real image fails here with a bare KeyError: '{key}')."
    )


# ----------------------------------------------------------------------------- validate_channels, 0.72


def test_legacy_channels() -> None:
    legacy = VERSIONS["1"]
    validate_channels({"train": channel(), "validation": channel()}, legacy)
    validate_channels({"train": channel("text/x-anything")}, legacy)  # the type is checked by data_format
    validate_channels({"train": channel(), "validation": channel(), "test": channel()}, legacy)
    assert channel_error({"validation": channel()}, "1") == "Channelname 'train' is required for training"
    assert channel_error({"train": channel(), "test": channel()}, "1") == (
        "Channelname 'validation' is used for validation input"
    )
    assert channel_error({"train": channel(mode="Pipe")}, "1") == (
        "Pipe input mode for SageMaker XGBoost is not supported."
    )
    assert channel_error({"train": channel(mode="pipe")}, "1") == (
        "Pipe input mode for SageMaker XGBoost is not supported."
    )
    assert channel_error({"train": {"ContentType": "csv"}}, "1") == (
        "Channel 'train' has no TrainingInputMode in inputdataconfig.json "
        "(the real image fails here with a bare KeyError: 'TrainingInputMode')."
    )


# ----------------------------------------------------------------------------- data_format


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        (None, "libsvm"),
        ("csv", "csv"),
        ("text/csv", "csv"),
        ("TEXT/CSV", "csv"),
        ("text/csv; label_size=1", "csv"),
        ("text/csv;charset=utf8", "csv"),
        ("libsvm", "libsvm"),
        ("text/libsvm", "libsvm"),
        ("text/x-libsvm", "libsvm"),
        ("text/libsvm ;charset=utf8", "libsvm"),
        ("parquet", "parquet"),
        ("application/x-parquet", "parquet"),
        ("recordio-protobuf", "recordio-protobuf"),
        ("application/x-recordio-protobuf", "recordio-protobuf"),
    ],
)
@pytest.mark.parametrize("version", MODERN)
def test_data_format(content_type: str | None, expected: str, version: str) -> None:
    assert data_format(channel(content_type), VERSIONS[version]) == expected


@pytest.mark.parametrize("content_type", ["text/csv; label_size=2", "CSV;Label_Size=0"])
def test_label_size_message(content_type: str) -> None:
    assert format_error(channel(content_type)) == (
        f"{content_type} is not an accepted csv ContentType. Optional parameter label_size must be equal to 1"
    )


@pytest.mark.parametrize("content_type", ["application/json", "text/x-csv", "", "Application/JSON"])
def test_not_accepted_message(content_type: str) -> None:
    assert format_error(channel(content_type)) == f"{content_type} is not an accepted ContentType: {ACCEPTED}"


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [(None, "libsvm"), ("libsvm", "libsvm"), ("Text/LibSVM", "libsvm"), ("csv", "csv"), ("TEXT/CSV", "csv")],
)
def test_legacy_data_format(content_type: str | None, expected: str) -> None:
    assert data_format(channel(content_type), VERSIONS["1"]) == expected


@pytest.mark.parametrize("content_type", ["text/x-libsvm", "parquet", "text/csv; label_size=1"])
def test_legacy_data_format_rejects_others(content_type: str) -> None:
    assert format_error(channel(content_type), "1") == (
        "ContentType should be one of these options: 'text/libsvm', 'text/csv'."
    )


@given(st.text(alphabet='ab;= "\\/', max_size=24))
def test_parameter_split_matches_cgi_parse_header(value: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        cgi = pytest.importorskip("cgi")  # the images' parser; gone from Python 3.13
    assert _split_parameters(value) == cgi.parse_header(value)
