"""The per-version facts are data: every span names a known image, and the tables give what the images list."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sagelocal.algorithms.xgboost import tables
from sagelocal.algorithms.xgboost.metric_definitions import builtin_metric_definitions
from sagelocal.algorithms.xgboost.params import PARAMS
from sagelocal.algorithms.xgboost.spec import Choices
from sagelocal.algorithms.xgboost.tables import Item
from sagelocal.algorithms.xgboost.versions import ECR_ACCOUNTS, VERSIONS, image_uri_for


def _spans() -> Iterator[tuple[str, str, str | None]]:
    for name in dir(tables):
        value = getattr(tables, name)
        if isinstance(value, tuple):
            for entry in value:
                if isinstance(entry, Item):
                    yield name, entry.since, entry.until
    for param in PARAMS:
        yield param.name, param.since, param.until
        entries = [*param.check, *param.aliases]
        if isinstance(param.range, Choices):
            entries += [*param.range.values, *param.range.check]
        for entry in entries:
            if isinstance(entry, Item):
                yield param.name, entry.since, entry.until


@pytest.mark.parametrize(("where", "since", "until"), list(_spans()))
def test_every_span_names_a_known_image(where: str, since: str, until: str | None) -> None:
    assert since in VERSIONS, where
    assert until is None or (until in VERSIONS and VERSIONS[until].order > VERSIONS[since].order), where


def test_parameters_are_declared_once() -> None:
    names = [p.name for p in PARAMS]
    assert len(names) == len(set(names))


def test_container_metrics_per_version() -> None:
    assert tables.container_metric_names(VERSIONS["1"]) == ()
    assert tables.container_metric_names(VERSIONS["1.0-1"]) == ("accuracy", "f1", "mse")
    assert tables.container_metric_names(VERSIONS["1.2-1"]) == ("accuracy", "f1", "mse", "r2")
    assert tables.container_metric_names(VERSIONS["1.2-2"]) == (
        "accuracy",
        "f1",
        "f1_binary",
        "f1_macro",
        "mse",
        "r2",
    )
    assert len(tables.container_metric_names(VERSIONS["3.0-5"])) == 15


def test_metric_definitions_cover_every_eval_metric_sorted() -> None:
    names = [d["Name"].split(":", 1)[1] for d in builtin_metric_definitions()]
    maximize, minimize = tables.metric_lists(VERSIONS["3.0-5"])
    newest = sorted(maximize + minimize)
    assert names == newest + newest
    assert len(names) == 66


@pytest.mark.parametrize(
    ("version", "region", "expected"),
    [
        ("latest", "us-east-1", "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest"),
        ("1", "us-west-2", "433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:1"),
        (
            "0.90-2",
            "eu-west-1",
            "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:0.90-2-cpu-py3",
        ),
        ("1.2-1", "us-east-2", "257758044811.dkr.ecr.us-east-2.amazonaws.com/sagemaker-xgboost:1.2-1"),
        # a region without a listed account: the us-east-1 account
        ("3.0-5", "ap-south-1", "683313688378.dkr.ecr.ap-south-1.amazonaws.com/sagemaker-xgboost:3.0-5"),
    ],
)
def test_image_uri_for(version: str, region: str, expected: str) -> None:
    assert image_uri_for(version, region) == expected


def test_both_repositories_list_the_same_regions() -> None:
    assert set(ECR_ACCOUNTS["xgboost"]) == set(ECR_ACCOUNTS["sagemaker-xgboost"])
