"""CreateHyperParameterTuningJob's rules beyond botocore's model (which every request is walked against first,
:func:`sagelocal.aws.validation.validate`). Messages the service is known to use are reproduced exactly; the
others (where no public source gives the wording) say plainly what is wrong.

Known wordings: the objective missing from the metric definitions (aws/amazon-sagemaker-examples#1207), too few
combinations of discrete ranges (aws/amazon-sagemaker-operator-for-k8s#123: the count as a float, ``[3.0]``),
Hyperband without an inferable MaxResource (awslabs/graphstorm#1243), and warm start with a different set of
hyperparameter names (aws/amazon-sagemaker-examples#861). Limits: developer guide,
automatic-model-tuning-limits.html and automatic-model-tuning-define-ranges.html.
"""

from __future__ import annotations

import math
from typing import Any

from sagelocal.aws.errors import ValidationException
from sagelocal.aws.validation import validate
from sagelocal.service.tuning import definition as defn
from sagelocal.service.tuning.ranges import CATEGORICAL, CONTINUOUS, INTEGER, Range, parse_ranges
from sagelocal.service.tuning.store import TuningStore, not_found
from sagelocal.service.validation import LOCAL_INSTANCE_TYPES, validate_create_training_job

MAX_RANGES = 30
MAX_HYPERPARAMETERS = 100
MAX_PARENTS = 5
#: Static hyperparameters Hyperband infers MaxResource from (botocore's HyperbandStrategyConfig).
EPOCH_NAMES = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")
METRIC_REQUIRED = (
    "A metric is required for this hyperparameter tuning job objective. "
    "Provide a metric in the metric definitions."
)
NO_MAX_RESOURCE = (
    "MaxResource parameter is not provided and could not be inferred from provided static hyperparameters of "
    "TrainingJobDefinition."
)
WARM_START_NAMES = (
    "The set of tunable plus static HyperParameter names is not the same across current and parent tuning jobs. "
    "Please ensure this set is constant when warm starting. Note that previously static HyperParameters can be "
    "tuned in warm start jobs and vice versa."
)


def _fail(message: str) -> ValidationException:
    return ValidationException(message)


def _check_numbers(items: list[dict[str, Any]], kind: str) -> None:
    for item in items:
        name = item["Name"]
        try:
            low, high = float(item["MinValue"]), float(item["MaxValue"])
        except ValueError:
            raise _fail(
                f"The {kind.lower()} hyperparameter range for {name} has a MinValue or MaxValue that is not a number."
            ) from None
        if kind == INTEGER and (low != int(low) or high != int(high)):
            raise _fail(
                f"The integer hyperparameter range for {name} must have integer MinValue and MaxValue."
            )
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise _fail(
                f"The hyperparameter range for {name} must have MinValue less than or equal to MaxValue."
            )
        scaling = item.get("ScalingType") or "Auto"
        if scaling == "Logarithmic" and low <= 0:
            raise _fail(
                f"The hyperparameter range for {name} uses Logarithmic scaling, which needs values greater than 0."
            )
        if scaling == "ReverseLogarithmic":
            if kind == INTEGER:
                raise _fail(
                    f"ReverseLogarithmic scaling is only supported for continuous hyperparameters ({name})."
                )
            if low < 0 or high >= 1:
                raise _fail(
                    f"The hyperparameter range for {name} uses ReverseLogarithmic scaling, which needs values "
                    "greater than or equal to 0 and less than 1."
                )


def _check_ranges(request: dict[str, Any]) -> list[Range]:
    config = request["HyperParameterTuningJobConfig"]
    given = config.get("ParameterRanges") or {}
    _check_numbers(given.get("IntegerParameterRanges") or [], INTEGER)
    _check_numbers(given.get("ContinuousParameterRanges") or [], CONTINUOUS)
    ranges = parse_ranges(given)
    if len(ranges) > MAX_RANGES:
        raise _fail(
            f"The number of hyperparameter ranges, {len(ranges)}, exceeds the maximum of {MAX_RANGES}."
        )
    names = [r.name for r in ranges]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise _fail(f"The hyperparameter {duplicate} appears in more than one range.")
    static = defn.definition(request).get("StaticHyperParameters") or {}
    clash = next((n for n in names if n in static), None)
    if clash is not None:
        raise _fail(
            f"The hyperparameter {clash} is both static and tunable. Remove it from StaticHyperParameters."
        )
    total = len(static) + len(ranges) + (0 if defn.OBJECTIVE_HP in static else 1)
    if total > MAX_HYPERPARAMETERS:
        raise _fail(
            f"The total number of hyperparameters, {total} (static, tunable and {defn.OBJECTIVE_HP}), exceeds "
            f"the maximum of {MAX_HYPERPARAMETERS}."
        )
    return ranges


def _check_job_count(request: dict[str, Any], ranges: list[Range]) -> None:
    config = request["HyperParameterTuningJobConfig"]
    limits = config["ResourceLimits"]
    strategy = config["Strategy"]
    combinations = math.prod(r.count() for r in ranges) if ranges else math.inf
    if strategy == "Grid":
        if any(r.kind != CATEGORICAL for r in ranges) or not ranges:
            raise _fail("The Grid strategy supports only categorical hyperparameter ranges.")
        given = limits.get("MaxNumberOfTrainingJobs")
        if given is not None and given != combinations:
            raise _fail(
                f"With the Grid strategy, MaxNumberOfTrainingJobs ({given}) must equal the number of "
                f"combinations of the categorical ranges ({int(combinations)}), or be left out."
            )
        return
    if limits.get("MaxNumberOfTrainingJobs") is None:
        raise _fail(f"MaxNumberOfTrainingJobs is required with the {strategy} strategy.")
    wanted = limits["MaxNumberOfTrainingJobs"]
    if not ranges:
        raise _fail("Provide at least one hyperparameter range to tune.")
    if combinations < wanted:
        raise _fail(
            "You don't have enough combinations of hyperparameter ranges. The total number of hyperparameter "
            f"combinations for the provided ranges [{float(combinations)}] must be equal or greater than the "
            f"value of MaxNumberOfJobs, [{wanted}]. Provide additional ranges."
        )


def max_resource(request: dict[str, Any]) -> int | None:
    """Hyperband's MaxResource: given, or inferred from an epochs-style static hyperparameter."""
    hyperband = (
        (request["HyperParameterTuningJobConfig"].get("StrategyConfig") or {}).get("HyperbandStrategyConfig")
    ) or {}
    if hyperband.get("MaxResource") is not None:
        return int(hyperband["MaxResource"])
    static = defn.definition(request).get("StaticHyperParameters") or {}
    for key in EPOCH_NAMES:
        if str(static.get(key, "")).isdigit():
            return int(static[key])
    return None


def _check_hyperband(request: dict[str, Any]) -> None:
    config = request["HyperParameterTuningJobConfig"]
    if config.get("StrategyConfig") and config["Strategy"] != "Hyperband":
        raise _fail("StrategyConfig is only supported with the Hyperband strategy.")
    if config["Strategy"] != "Hyperband":
        return
    if config.get("TrainingJobEarlyStoppingType", "Off") != "Off":
        raise _fail("With the Hyperband strategy, TrainingJobEarlyStoppingType must be Off.")
    limit = max_resource(request)
    if limit is None:
        raise _fail(NO_MAX_RESOURCE)
    if limit > 20000:
        raise _fail(f"MaxResource ({limit}) must be less than or equal to 20000.")
    low = ((config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig") or {}).get("MinResource", 1)
    if low > limit:
        raise _fail(f"MinResource ({low}) must be less than or equal to MaxResource ({limit}).")


def _names(request: dict[str, Any]) -> set[str]:
    static = set(defn.definition(request).get("StaticHyperParameters") or {}) - {defn.OBJECTIVE_HP}
    ranges = parse_ranges(request["HyperParameterTuningJobConfig"].get("ParameterRanges"))
    return static | {r.name for r in ranges}


def _check_warm_start(request: dict[str, Any], store: TuningStore) -> None:
    warm = request.get("WarmStartConfig")
    if not warm:
        return
    parents = warm["ParentHyperParameterTuningJobs"]
    if len(parents) > MAX_PARENTS:
        raise _fail(f"A warm start tuning job can have at most {MAX_PARENTS} parent tuning jobs.")
    metric = defn.objective(request)
    for item in parents:
        parent = store.get(item["HyperParameterTuningJobName"])
        if parent is None:
            raise not_found(item["HyperParameterTuningJobName"])
        if not parent.terminal:
            raise _fail(
                f"The parent tuning job {parent.name} must be Completed, Stopped or Failed to warm start from it."
            )
        if parent.request.get("WarmStartConfig"):
            raise _fail(
                f"The parent tuning job {parent.name} is itself a warm start tuning job; warm start is not recursive."
            )
        if defn.objective(parent.request) != metric:
            raise _fail(f"The parent tuning job {parent.name} has a different objective metric or type.")
        if _names(parent.request) != _names(request):
            raise _fail(WARM_START_NAMES)


def validate_create_tuning_job(
    request: dict[str, Any], store: TuningStore, *, allow_local_instance: bool
) -> None:
    """Raise ValidationException (or ResourceNotFound for a missing warm-start parent) for a request the
    service would refuse."""
    also = (
        {
            "trainingJobDefinition.resourceConfig.instanceType": LOCAL_INSTANCE_TYPES,
            "trainingJobDefinition.hyperParameterTuningResourceConfig.instanceType": LOCAL_INSTANCE_TYPES,
        }
        if allow_local_instance
        else {}
    )
    validate("sagemaker", "CreateHyperParameterTuningJob", request, also_allowed=also)
    if request.get("TrainingJobDefinitions"):
        raise _fail(
            "sagelocal: TrainingJobDefinitions (several algorithms in one tuning job) is not supported; give one "
            "TrainingJobDefinition."
        )
    if request.get("Autotune"):
        raise _fail("sagelocal: Autotune is not supported; give ParameterRanges.")
    if not request.get("TrainingJobDefinition"):
        raise _fail("A hyperparameter tuning job needs a TrainingJobDefinition.")
    config = request["HyperParameterTuningJobConfig"]
    if not config.get("HyperParameterTuningJobObjective"):
        raise _fail(
            "A hyperparameter tuning job with a TrainingJobDefinition needs a HyperParameterTuningJobObjective."
        )
    if defn.objective(request)[0] not in defn.emitted_metrics(request):
        raise _fail(METRIC_REQUIRED)
    d = defn.definition(request)
    if not d.get("ResourceConfig") and not d.get("HyperParameterTuningResourceConfig"):
        raise _fail(
            "The TrainingJobDefinition needs a ResourceConfig or a HyperParameterTuningResourceConfig."
        )
    ranges = _check_ranges(request)
    _check_job_count(request, ranges)
    _check_hyperband(request)
    _check_warm_start(request, store)
    # What every child will be asked to do must pass CreateTrainingJob's own rules.
    probe = defn.child_request(
        request,
        defn.child_name(request["HyperParameterTuningJobName"], 1),
        {r.name: r.format(r.values[0] if r.kind == CATEGORICAL else r.low) for r in ranges},
    )
    validate_create_training_job(probe, allow_local_instance=allow_local_instance)


def job_limit(request: dict[str, Any]) -> int:
    """MaxNumberOfTrainingJobs, or for Grid (where it may be left out) the number of combinations."""
    limits = request["HyperParameterTuningJobConfig"]["ResourceLimits"]
    if limits.get("MaxNumberOfTrainingJobs") is not None:
        return int(limits["MaxNumberOfTrainingJobs"])
    ranges = parse_ranges(request["HyperParameterTuningJobConfig"].get("ParameterRanges"))
    return int(math.prod(r.count() for r in ranges))
