"""The MetricDefinitions SageMaker attaches to a built-in XGBoost training job.

SageMaker fills in ``train:<metric>`` and ``validation:<metric>`` definitions for the built-in algorithm; the
regexes match the ``[N]#011train-<metric>:<value>`` lines the image prints. Source: the "XGBoost metrics"
table of the SageMaker developer guide (docs.aws.amazon.com/sagemaker/latest/dg/xgboost-tuning.html).
"""

from __future__ import annotations

import re

from sagelocal.algorithms.xgboost.tables import reported_metrics

#: Metrics the built-in XGBoost algorithm reports, in SageMaker's order (sorted).
XGBOOST_METRICS = reported_metrics()
FLOAT_PATTERN = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def builtin_metric_definitions() -> list[dict[str, str]]:
    """The MetricDefinitions SageMaker attaches to a built-in XGBoost job: ``train:<m>`` and
    ``validation:<m>`` for every metric the algorithm can print."""
    return [
        {"Name": f"{channel}:{m}", "Regex": rf".*\[[0-9]+\].*#011{channel}-{re.escape(m)}:{FLOAT_PATTERN}.*"}
        for channel in ("train", "validation")
        for m in XGBOOST_METRICS
    ]
