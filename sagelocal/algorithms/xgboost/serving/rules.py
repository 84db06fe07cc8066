"""What differs between the serving code of the image versions, as data.

Sources (aws/sagemaker-xgboost-container, one branch/tag per image, ``src/sagemaker_xgboost_container/``):
- ``algorithm_mode/serve.py``: 0.90-x, 1.0-1 and 1.2-1 join scores with ``,`` and always answer ``text/csv``;
  from 1.2-2 (PRs #269-#271) the Accept header picks the encoder and ``/ping`` loads the model; selectable
  inference output (``SAGEMAKER_INFERENCE_OUTPUT``) exists from 1.0-1; ``MAX_CONTENT_LENGTH`` is capped at
  20 MiB up to 1.2-1.
- ``algorithm_mode/serve_utils.py``: ``get_loaded_booster`` loads only the first file up to 1.2-1 and every file
  (ensemble) from 1.2-2; skips dotfiles from 1.7-1; its error text changes at 1.2-2 and 1.7-1. ``predict`` limits
  trees to ``best_ntree_limit``, which XGBoost >= 2 (3.0-5) no longer has. ``reg:absoluteerror`` is a selectable
  objective only in 3.0-5.
- The closed-source 0.72 image (``xgboost:1``) accepts ``text/csv`` (default) and ``text/libsvm`` only
  (docs.aws.amazon.com/sagemaker/latest/dg/xgboost-72.html; its rejection text is quoted in
  GH aws/amazon-sagemaker-examples#729) and answers comma-joined scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sagelocal.algorithms.xgboost.versions import ImageVersion

LoadErrorStyle = Literal["dir", "path", "labelled"]


@dataclass(frozen=True)
class ServingRules:
    version: ImageVersion
    legacy_content_types: bool  # 0.72: text/csv (the default) and text/libsvm only
    accept_driven: bool  # 1.2-2+: Accept chooses CSV lines / JSON; before: ",".join, always text/csv
    selectable_output: bool  # 1.0-1+: SAGEMAKER_INFERENCE_OUTPUT
    ping_loads_model: bool  # 1.2-2+: /ping loads the model (a load failure fails the health check)
    ensemble: bool  # 1.2-2+: every model file is loaded (SAGEMAKER_INFERENCE_ENSEMBLE)
    skips_dotfiles: bool  # 1.7-1+
    load_error: LoadErrorStyle
    best_iteration: bool  # predicts with the model's best_ntree_limit (all but 3.0-5)
    content_length_cap: int | None  # MAX_CONTENT_LENGTH is capped at 20 MiB up to 1.2-1
    numpy2: bool  # 3.0-5 runs numpy 2: ValueError texts quote np.str_('…')
    absolute_error_selectable: bool  # reg:absoluteerror in VALID_OBJECTIVES (3.0-5)


def serving_rules(version: ImageVersion) -> ServingRules:
    modern = version.at_least("1.2-2")
    if version.at_least("1.7-1"):
        style: LoadErrorStyle = "labelled"
    elif modern:
        style = "path"
    else:
        style = "dir"
    return ServingRules(
        version=version,
        legacy_content_types=version.legacy,
        accept_driven=modern,
        selectable_output=version.at_least("1.0-1"),
        ping_loads_model=modern,
        ensemble=modern,
        skips_dotfiles=version.at_least("1.7-1"),
        load_error=style,
        best_iteration=not version.at_least("3.0-5"),
        content_length_cap=None if modern else 20 * 1024**2,
        numpy2=version.at_least("3.0-5"),
        absolute_error_selectable=version.at_least("3.0-5"),
    )
