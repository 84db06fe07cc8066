"""The built-in XGBoost image versions sagelocal emulates, where SageMaker publishes them, and how an image URI
names one.

Each version selects its hyperparameter rules (the ``since``/``until`` annotations of ``params.py`` and
``tables.py`` name these versions), log format, model serialization and the rule for combining the files of a
channel. Adding an image version is a row in :data:`VERSIONS` plus the annotations of whatever it changed.
Sources: the branches of github.com/aws/sagemaker-xgboost-container (one per version) and the SageMaker
developer guide's "Docker Registry Paths and Example Code" pages for the ECR accounts.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Literal

#: Environment variable a container image bakes in to choose its version (``train`` reads it).
VERSION_ENV = "SAGELOCAL_XGBOOST_IMAGE_VERSION"
DEFAULT_VERSION = "3.0-5"
#: The first open-source image: every table entry exists from here on unless it says otherwise.
FIRST_OPEN_SOURCE = "0.90-1"

Serialization = Literal["pickle", "pickle4", "binary", "ubjson"]
FileRule = Literal["first_leaf", "depth3"]
#: How the image's XGBoost draws the rows of a tree when ``subsample`` < 1 (``updater_colmaker.cc``): XGBoost
#: 0.90 … 1.7 seed the tree's column sampler from the global generator *before* the row coin flips, 0.72
#: flips first and then shuffles the feature list; XGBoost 3 (what sagelocal runs) flips first and then seeds
#: the column sampler.
RowSampling = Literal["seed_then_flips", "flips_then_shuffle", "native"]
#: What XGBoost's CSV parser makes of a feature cell it cannot read a number from (empty, ``abc``, a header):
#: dmlc-core before dmlc/dmlc-core#605 (XGBoost 0.72 … 1.0.0) pushes the 0 ``strtof`` returned; from #605
#: (XGBoost 1.2.0 on) the cell is left out, i.e. missing.
UnparsedCell = Literal["zero", "missing"]


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
    ecr_tag_suffix: str = ""  # what the SDK appends to the version in the ECR tag ("-cpu-py3" up to 1.0-1)
    #: What ``tree_method`` unset (or ``auto``) means to the image's XGBoost: before 2.0, exact greedy on one
    #: machine below 2**22 rows and approx from there (``GBTree::PerformTreeMethodHeuristic``); from 2.0, hist.
    auto_tree_method: Literal["exact", "hist"] = "exact"
    #: Decimals of the built-in metrics in XGBoost's evaluation string, which the Python side parses back
    #: (``LearnerImpl::EvalOneIter``: ``std::ios::fixed`` at the default precision 6 up to 1.5.2,
    #: ``max_digits10`` = 17 from 1.7): what the metric lines and early stopping see.
    eval_decimals: int = 6
    row_sampling: RowSampling = "seed_then_flips"
    unparsed_csv_cell: UnparsedCell = "zero"
    #: 3.0-5 (v3.0-5 tag) still prints its ``TRAIN_JOB_DEBUG``/``CALLBACK_*``/``FINAL_MODEL_*`` diagnostics
    #: (``algorithm_mode/train.py``, ``callback.py::get_callbacks``).
    debug_lines: bool = False

    @property
    def order(self) -> tuple[int, ...]:
        """Sort key: ``1`` (0.72) < ``0.90-1`` < … < ``3.0-5``."""
        if self.name == "1":
            return (0,)
        return tuple(int(p) for p in re.split(r"[.-]", self.name))

    @property
    def site_packages(self) -> str:
        """Where the image's Python packages live (``docker/<v>/base/Dockerfile.cpu`` installs Miniconda at
        ``/miniconda3``): the paths its tracebacks and Python warnings name."""
        return f"/miniconda3/lib/python{self.python}/site-packages"

    @property
    def python_at_least_3_8(self) -> bool:
        """From Python 3.8 a call spanning lines is reported at its first line, before at its last argument."""
        return tuple(int(p) for p in self.python.split(".")) >= (3, 8)

    def at_least(self, other: str) -> bool:
        return self.order >= VERSIONS[other].order

    def within(self, since: str, until: str | None) -> bool:
        """Whether this version is in ``[since, until)``: a table entry's span of images."""
        return self.at_least(since) and (until is None or not self.at_least(until))


#: Columns: name, upstream XGBoost, Python, legacy, metric format, serialization, file rule, callback early
#: stopping, ECR tag suffix; the keyword facts are those that differ from their defaults.
_OS: FileRule = "first_leaf"
VERSIONS: dict[str, ImageVersion] = {
    v.name: v
    for v in [
        ImageVersion(
            "1", "0.72", "2.7", True, "%g", "pickle", _OS, False, "", row_sampling="flips_then_shuffle"
        ),
        ImageVersion("0.90-1", "0.90", "3.7", False, "%g", "pickle", _OS, False, "-cpu-py3"),
        ImageVersion("0.90-2", "0.90", "3.6", False, "%g", "pickle", _OS, False, "-cpu-py3"),
        ImageVersion("1.0-1", "1.0.0", "3.7", False, "{:.5f}", "pickle", _OS, False, "-cpu-py3"),
        ImageVersion(
            "1.2-1", "1.2.0", "3.7", False, "{:.5f}", "pickle4", _OS, False, unparsed_csv_cell="missing"
        ),
        ImageVersion(
            "1.2-2", "1.2.0", "3.7", False, "{:.5f}", "pickle4", _OS, False, unparsed_csv_cell="missing"
        ),
        ImageVersion(
            "1.3-1", "1.3.3", "3.7", False, "{:.5f}", "binary", _OS, True, unparsed_csv_cell="missing"
        ),
        ImageVersion(
            "1.5-1", "1.5.2", "3.8", False, "{:.5f}", "binary", _OS, True, unparsed_csv_cell="missing"
        ),
        ImageVersion(
            "1.7-1",
            "1.7.4",
            "3.9",
            False,
            "{:.5f}",
            "binary",
            "depth3",
            True,
            unparsed_csv_cell="missing",
            eval_decimals=17,
        ),
        ImageVersion(
            "3.0-5",
            "3.0.5",
            "3.10",
            False,
            "{:.5f}",
            "ubjson",
            "depth3",
            True,
            unparsed_csv_cell="missing",
            eval_decimals=17,
            auto_tree_method="hist",
            row_sampling="native",
            debug_lines=True,
        ),
    ]
}

#: The ECR account that serves each image repository in a region. ``xgboost`` is the legacy 0.72 image (tags
#: ``1`` and ``latest``); ``sagemaker-xgboost`` holds the open-source images. A region not listed here falls
#: back to the us-east-1 account.
ECR_ACCOUNTS: dict[str, dict[str, str]] = {
    "xgboost": {
        "us-east-1": "811284229777",
        "us-east-2": "825641698319",
        "us-west-2": "433757028032",
        "eu-west-1": "685385470294",
    },
    "sagemaker-xgboost": {
        "us-east-1": "683313688378",
        "us-east-2": "257758044811",
        "us-west-2": "246618743249",
        "eu-west-1": "141502667606",
    },
}
DEFAULT_REGION = "us-east-1"


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


def image_uri_for(version: str, region: str = DEFAULT_REGION) -> str:
    """The real ECR URI of a version, as the SageMaker SDK's ``image_uris.retrieve('xgboost', …)`` gives it:
    ``latest`` → ``…/xgboost:latest``, ``1`` → ``…/xgboost:1``, ``1.7-1`` → ``…/sagemaker-xgboost:1.7-1``."""
    v = get_version(version)
    if v.legacy:
        repository, tag = "xgboost", "latest" if version == "latest" else "1"
    else:
        repository, tag = "sagemaker-xgboost", v.name + v.ecr_tag_suffix
    accounts = ECR_ACCOUNTS[repository]
    account = accounts.get(region, accounts[DEFAULT_REGION])
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}"
