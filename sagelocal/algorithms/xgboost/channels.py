"""Channel and content-type validation (reference §5, §7).

Open-source images (0.90-1 … 3.0-5): ``train`` is required, ``validation`` optional, ``code`` only as
``text/python`` × File × FullyReplicated. Every channel's (ContentType, TrainingInputMode, S3DistributionType)
must be an exact-string match of a supported combination, and a missing ContentType means ``text/libsvm``.
The content type of ``train`` is then parsed more leniently by :func:`data_format` (lower-cased, parameters
split off).

The legacy 0.72 image checks only channel names, Pipe mode of ``train`` and the ``train`` content type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from sagelocal.algorithms.xgboost.errors import UserError
from sagelocal.algorithms.xgboost.versions import ImageVersion
from sagelocal.contract import INPUT_DATA_CONFIG_FILE

DataFormat = Literal["csv", "libsvm", "parquet", "recordio-protobuf"]

#: ``data_utils.VALID_CONTENT_TYPES``, in the image's order (it prints them in this order).
CONTENT_TYPES = (
    "csv",
    "libsvm",
    "parquet",
    "recordio-protobuf",
    "text/csv",
    "text/libsvm",
    "text/x-libsvm",
    "application/x-parquet",
    "application/x-recordio-protobuf",
)
#: ``data_utils.VALID_PIPED_CONTENT_TYPES``: LIBSVM cannot be piped.
PIPED_CONTENT_TYPES = ("csv", "parquet", "recordio-protobuf", "text/csv", "application/x-parquet",
                       "application/x-recordio-protobuf")  # fmt: skip
DEFAULT_CONTENT_TYPE = "text/libsvm"

_DISTRIBUTIONS = ("FullyReplicated", "ShardedByS3Key")
_SUPPORTED: dict[str, frozenset[tuple[str, str, str]]] = {
    "train": frozenset(
        [(ct, "File", d) for ct in CONTENT_TYPES for d in _DISTRIBUTIONS]
        + [(ct, "Pipe", d) for ct in PIPED_CONTENT_TYPES for d in _DISTRIBUTIONS]
    ),
    "code": frozenset([("text/python", "File", "FullyReplicated")]),
}
_SUPPORTED["validation"] = _SUPPORTED["train"]
_REQUIRED_KEYS = ("TrainingInputMode", "S3DistributionType")  # looked up in this order by the image

_FORMATS: dict[str, DataFormat] = {
    "csv": "csv",
    "text/csv": "csv",
    "libsvm": "libsvm",
    "text/libsvm": "libsvm",
    "text/x-libsvm": "libsvm",
    "parquet": "parquet",
    "application/x-parquet": "parquet",
    "recordio-protobuf": "recordio-protobuf",
    "application/x-recordio-protobuf": "recordio-protobuf",
}


def _missing_key(name: str, key: str) -> UserError:
    return UserError(
        f"Channel '{name}' has no {key} in {INPUT_DATA_CONFIG_FILE} "
        f"(the real image fails here with a bare KeyError: '{key}')."
    )


def validate_channels(input_data_config: Mapping[str, Mapping[str, Any]], version: ImageVersion) -> None:
    """Check the input data config as ``version``'s image does. Raises UserError with the exact message."""
    if version.legacy:
        _validate_legacy(input_data_config)
        return
    if "train" not in input_data_config:
        raise UserError("Missing required channel: train")
    for name, config in input_data_config.items():
        supported = _SUPPORTED.get(name)
        if supported is None:
            raise UserError(f"Extraneous channel found: {name}")
        value = dict(config)
        if "ContentType" not in value:
            value["ContentType"] = DEFAULT_CONTENT_TYPE  # appended, so it prints last as in the image
        for key in _REQUIRED_KEYS:
            if key not in value:
                raise _missing_key(name, key)
        if (value["ContentType"], value["TrainingInputMode"], value["S3DistributionType"]) not in supported:
            raise UserError(f"Channel configuration for '{name}' channel is not supported: {value!r}")


def _validate_legacy(input_data_config: Mapping[str, Mapping[str, Any]]) -> None:
    """0.72 (train_helper.validate_channel_name and validate_input_mode of commit b72aee2)."""
    if "train" not in input_data_config:
        raise UserError("Channelname 'train' is required for training")
    if len(input_data_config) == 2 and "validation" not in input_data_config:
        raise UserError("Channelname 'validation' is used for validation input")
    mode = input_data_config["train"].get("TrainingInputMode")
    if not isinstance(mode, str):
        raise _missing_key("train", "TrainingInputMode")
    if mode.lower() == "pipe":
        raise UserError("Pipe input mode for SageMaker XGBoost is not supported.")


def _split_parameters(value: str) -> tuple[str, dict[str, str]]:
    """Split ``type; key=value; …`` like ``cgi.parse_header``: ``;`` inside double quotes does not split,
    keys are lower-cased, values stripped and unquoted."""
    pieces: list[str] = []
    rest = ";" + value
    while rest.startswith(";"):
        rest = rest[1:]
        end = rest.find(";")
        # a ";" splits only where the quotes before it (not counting \" escapes) are balanced
        while end > 0 and (rest.count('"', 0, end) - rest.count('\\"', 0, end)) % 2:
            end = rest.find(";", end + 1)
        if end < 0:
            end = len(rest)
        pieces.append(rest[:end])
        rest = rest[end:]
    params: dict[str, str] = {}
    for piece in pieces[1:]:
        key, sep, val = piece.strip().partition("=")
        if not sep:
            continue
        val = val.strip()
        if len(val) >= 2 and val[0] == val[-1] == '"':
            val = val[1:-1].replace("\\\\", "\\").replace('\\"', '"')
        params[key.strip().lower()] = val
    return pieces[0].strip(), params


def data_format(channel_config: Mapping[str, Any], version: ImageVersion) -> DataFormat:
    """The format of a channel from its ContentType (missing means libsvm). Raises UserError with the exact
    ``<ct> is not an accepted ContentType: …`` / label_size messages."""
    content_type = channel_config.get("ContentType")
    if version.legacy:
        if content_type is None or content_type.lower() in ("libsvm", "text/libsvm"):
            return "libsvm"
        if content_type.lower() in ("csv", "text/csv"):
            return "csv"
        raise UserError("ContentType should be one of these options: 'text/libsvm', 'text/csv'.")
    if content_type is None:
        return "libsvm"
    media_type, params = _split_parameters(content_type.lower())
    fmt = _FORMATS.get(media_type)
    if fmt is None:
        raise UserError(f"{content_type} is not an accepted ContentType: {', '.join(CONTENT_TYPES)}.")
    if fmt == "csv" and params.get("label_size", "1") != "1":
        raise UserError(
            f"{content_type} is not an accepted csv ContentType. "
            "Optional parameter label_size must be equal to 1"
        )
    return fmt
