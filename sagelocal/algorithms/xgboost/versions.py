"""The built-in XGBoost image versions sagelocal emulates, and how an image URI names one.

Facts from ../shared/reference/xgboost-algorithm.md §6, §8, §10 and §11. Each version selects its hyperparameter
rules, log format, model serialization and the rule for combining the files of a channel.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Literal

#: Environment variable a container image bakes in to choose its version (``train`` reads it).
VERSION_ENV = "SAGELOCAL_XGBOOST_IMAGE_VERSION"
DEFAULT_VERSION = "3.0-5"

Serialization = Literal["pickle", "pickle4", "binary", "ubjson"]
FileRule = Literal["first_leaf", "depth3"]


@dataclass(frozen=True)
class ImageVersion:
    name: str  # the image tag, e.g. "1.7-1"; "1" is the legacy 0.72 image (also ``:latest``)
    upstream_xgboost: str  # the XGBoost release inside the real image
    python: str  # the Python inside the real image
    legacy: bool  # True only for the closed-source 0.72 image: its own messages, logs and failure format
    metric_format: Literal["%g", "{:.5f}"]  # how a metric value is printed on the per-round line
    serialization: Serialization  # how /opt/ml/model/xgboost-model is written
    file_rule: FileRule  # how the files of a channel are combined
    callback_early_stopping: bool  # 1.3-1+: xgb.callback.EarlyStopping(save_best=True); before: legacy rule

    @property
    def order(self) -> tuple[int, ...]:
        """Sort key: ``1`` (0.72) < ``0.90-1`` < … < ``3.0-5``."""
        if self.name == "1":
            return (0,)
        return tuple(int(p) for p in re.split(r"[.-]", self.name))

    def at_least(self, other: str) -> bool:
        return self.order >= VERSIONS[other].order


VERSIONS: dict[str, ImageVersion] = {
    v.name: v
    for v in [
        ImageVersion("1", "0.72", "2.7", True, "%g", "pickle", "first_leaf", False),
        ImageVersion("0.90-1", "0.90", "3.7", False, "%g", "pickle", "first_leaf", False),
        ImageVersion("0.90-2", "0.90", "3.6", False, "%g", "pickle", "first_leaf", False),
        ImageVersion("1.0-1", "1.0.0", "3.7", False, "{:.5f}", "pickle", "first_leaf", False),
        ImageVersion("1.2-1", "1.2.0", "3.7", False, "{:.5f}", "pickle4", "first_leaf", False),
        ImageVersion("1.2-2", "1.2.0", "3.7", False, "{:.5f}", "pickle4", "first_leaf", False),
        ImageVersion("1.3-1", "1.3.3", "3.7", False, "{:.5f}", "binary", "first_leaf", True),
        ImageVersion("1.5-1", "1.5.2", "3.8", False, "{:.5f}", "binary", "first_leaf", True),
        ImageVersion("1.7-1", "1.7.4", "3.9", False, "{:.5f}", "binary", "depth3", True),
        ImageVersion("3.0-5", "3.0.5", "3.10", False, "{:.5f}", "ubjson", "depth3", True),
    ]
}


class UnknownImage(ValueError):
    """The image URI names no built-in XGBoost version sagelocal can emulate in-process."""


_TAG = re.compile(r"^(?P<v>\d+\.\d+-\d+)(?:-\d+)?(?:-cpu-py3|-gpu-py3)?$")


def get_version(name: str | None = None) -> ImageVersion:
    """The version called ``name``; else ``$SAGELOCAL_XGBOOST_IMAGE_VERSION``; else the default (3.0-5)."""
    chosen = name or os.environ.get(VERSION_ENV) or DEFAULT_VERSION
    if chosen == "latest":
        chosen = "1"
    try:
        return VERSIONS[chosen]
    except KeyError:
        known = ", ".join(VERSIONS)
        raise UnknownImage(f"Unknown XGBoost image version '{chosen}'. Known versions: {known}.") from None


def version_from_image_uri(uri: str) -> ImageVersion:
    """Map a training image URI to the version it runs.

    ``<acct>.dkr.ecr.<region>.amazonaws.com/xgboost:latest`` and ``…/xgboost:1`` are the 0.72 image;
    ``…/sagemaker-xgboost:1.7-1`` (also ``1.7-1-1``, ``0.90-1-cpu-py3``) name their version, and so do
    sagelocal's own ``sagelocal-xgboost:<version>`` images.
    """
    repo, _, tag = uri.rpartition("/")[2].partition(":")
    tag = tag or "latest"
    if repo == "xgboost" and tag in ("latest", "1"):
        return VERSIONS["1"]
    if repo in ("sagemaker-xgboost", "sagelocal-xgboost"):
        m = _TAG.match(tag)
        if m and m.group("v") in VERSIONS:
            return VERSIONS[m.group("v")]
    raise UnknownImage(
        f"Image '{uri}' is not a built-in SageMaker XGBoost image sagelocal knows. "
        f"Known versions: {', '.join(VERSIONS)}; run other images with --backend docker."
    )


def image_uri_for(version: str, region: str = "us-east-1") -> str:
    """The real ECR URI of a version, as the SageMaker SDK's ``image_uris.retrieve('xgboost', …)`` gives it."""
    legacy = {
        "us-east-1": "811284229777",
        "us-east-2": "825641698319",
        "us-west-2": "433757028032",
        "eu-west-1": "685385470294",
    }
    modern = {
        "us-east-1": "683313688378",
        "us-east-2": "257758044811",
        "us-west-2": "246618743249",
        "eu-west-1": "141502667606",
    }
    v = get_version(version)
    if v.name == "1":
        tag = "latest" if version == "latest" else "1"  # the SDK keeps the alias: …/xgboost:latest
        return f"{legacy.get(region, legacy['us-east-1'])}.dkr.ecr.{region}.amazonaws.com/xgboost:{tag}"
    suffix = "-cpu-py3" if v.name in ("0.90-1", "0.90-2", "1.0-1") else ""
    account = modern.get(region, modern["us-east-1"])
    return f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:{v.name}{suffix}"
