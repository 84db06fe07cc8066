"""Channel and content-type validation (reference §5, §7). (SKELETON: being built.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from sagelocal.emulator.algorithms.xgboost.versions import ImageVersion

DataFormat = Literal["csv", "libsvm", "parquet", "recordio-protobuf"]


def validate_channels(input_data_config: Mapping[str, Mapping[str, Any]], version: ImageVersion) -> None:
    """Check ``inputdataconfig.json`` as ``version``'s image does. Raises UserError with the exact message."""
    raise NotImplementedError


def data_format(channel_config: Mapping[str, Any], version: ImageVersion) -> DataFormat:
    """The format of a channel from its ContentType (missing means libsvm). Raises UserError with the exact
    ``<ct> is not an accepted ContentType: …`` / label_size messages."""
    raise NotImplementedError
