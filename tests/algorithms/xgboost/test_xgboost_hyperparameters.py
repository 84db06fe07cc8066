"""Hyperparameter validation per image version (reference §6); messages are the images' exact strings."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb
from support.builders import TUTORIAL_HYPERPARAMETERS as TUTORIAL

from sagelocal.algorithms.xgboost.errors import AlgorithmError, UserError
from sagelocal.algorithms.xgboost.hyperparameters import (
    TrainingConfig,
    parameter_names,
    training_config,
    validate_hyperparameters,
)
from sagelocal.algorithms.xgboost.versions import VERSIONS

MODERN = [name for name in VERSIONS if name != "1"]
METRICS_1_3 = (
    "['accuracy', 'auc', 'aucpr', 'balanced_accuracy', 'f1', 'f1_binary', 'f1_macro', 'map', 'ndcg', "
    "'precision', 'r2', 'recall', 'precision_macro', 'precision_micro', 'recall_macro', 'recall_micro', "
    "'aft-nloglik', 'cox-nloglik', 'error', 'gamma-deviance', 'gamma-nloglik', "
    "'interval-regression-accuracy', "
    "'logloss', 'mae', 'mape', 'merror', 'mlogloss', 'mphe', 'mse', 'poisson-nloglik', 'rmse', 'rmsle', "
    "'tweedie-nloglik']"
)


def validate(hps: dict[str, str], version: str = "1.7-1") -> dict:
    return validate_hyperparameters(hps, VERSIONS[version])


def message(hps: dict[str, str], version: str = "1.7-1") -> str:
    with pytest.raises(UserError) as info:
        validate(hps, version)
    return info.value.message


# ----------------------------------------------------------------------------- the reference's message table


@pytest.mark.parametrize("version", ["1.7-1", "3.0-5"])
@pytest.mark.parametrize(
    ("hps", "expected"),
    [
        ({}, "Missing required hyperparameter: num_round"),
        ({"num_round": "10", "silent": "0"}, "Extraneous hyperparameter found: silent"),
        ({"num_round": "abc"}, "Hyperparameter num_round: could not parse value (caused by ValueError)"),
        ({"num_round": "1.5"}, "Hyperparameter num_round: could not parse value (caused by ValueError)"),
        ({"num_round": "0"}, "Hyperparameter num_round: 0 is not in [1, +inf)"),
        ({"num_round": "1", "eta": "1.5"}, "Hyperparameter eta: 1.5 is not in [0, 1]"),
        ({"num_round": "1", "subsample": "0"}, "Hyperparameter subsample: 0.0 is not in (0, 1]"),
        (
            {"num_round": "1", "tree_method": "gpu"},
            "Hyperparameter tree_method: gpu is not in ['auto', 'exact', 'approx', 'hist', 'gpu_hist']",
        ),
        (
            {"num_round": "1", "objective": "binary:logistic", "eval_metric": "foo"},
            f"Hyperparameter eval_metric: value ['foo'] not in range {METRICS_1_3}",
        ),
        (
            {"num_round": "1", "objective": "reg:squarederror", "eval_metric": "rmsle@0.3"},
            "Metric 'rmsle@0.3' is not supported. Parameter 'eval_metric' with customized threshold should "
            "be "
            "one of these options: 'error', 'ndcg', 'map'.",
        ),
        (
            {"num_round": "1", "objective": "binary:logistic", "eval_metric": "error@x"},
            "Threshold value 't' in 'error@t' expects float input.",
        ),
        (
            {"num_round": "1", "objective": "multi:softmax"},
            "Require input for parameter 'num_class' for multi-classification",
        ),
        (
            {"num_round": "1", "objective": "reg:squarederror", "eval_metric": "auc"},
            "Metric 'auc' can only be applied for classification and ranking problems.",
        ),
        (
            {"num_round": "1", "monotone_constraints": "(1,-1)"},
            "monotone_constraints can be used only when the tree_method parameter is set to either 'exact' "
            "or 'hist'.",
        ),
        (
            {"num_round": "1", "monotone_constraints": "(1,-1)", "tree_method": "approx"},
            "monotone_constraints can be used only when the tree_method parameter is set to either 'exact' "
            "or 'hist'.",
        ),
    ],
)
def test_reference_messages(hps: dict[str, str], expected: str, version: str) -> None:
    assert message(hps, version) == expected


@pytest.mark.parametrize("version", MODERN)
def test_eval_metric_without_objective_is_the_images_bare_key_error(version: str) -> None:
    """``eval_metric_dep_validator`` reads ``dependencies["objective"]`` (1.2-1+: for any eval_metric; before:
    only with auc), so the real image dies with a bare ``KeyError: 'objective'``; sagelocal raises the same and
    carries its own clearer note for the log."""
    from sagelocal.algorithms.xgboost.params import MissingObjective

    with pytest.raises(KeyError) as info:
        validate({"num_round": "1", "eval_metric": "auc"}, version)
    assert isinstance(info.value, MissingObjective) and str(info.value) == "'objective'"
    assert info.value.note == (
        "Hyperparameter eval_metric requires the objective hyperparameter to be set "
        "(the real image fails here with a bare KeyError: 'objective')."
    )
    if VERSIONS[version].at_least("1.2-1"):
        with pytest.raises(KeyError):
            validate({"num_round": "1", "eval_metric": "rmse"}, version)
    else:
        assert validate({"num_round": "1", "eval_metric": "rmse"}, version)["eval_metric"] == ["rmse"]


# ----------------------------------------------------------------------------- range formatting, every kind


@pytest.mark.parametrize(
    ("hps", "expected"),
    [
        ({"csv_weights": "2"}, "Hyperparameter csv_weights: 2 is not in [0, 1]"),
        ({"verbosity": "4"}, "Hyperparameter verbosity: 4 is not in [0, 3]"),
        ({"nthread": "0"}, "Hyperparameter nthread: 0 is not in [1, +inf)"),
        ({"gamma": "-1"}, "Hyperparameter gamma: -1.0 is not in [0, +inf)"),
        ({"max_depth": "-1"}, "Hyperparameter max_depth: -1 is not in [0, +inf)"),
        ({"colsample_bynode": "1.01"}, "Hyperparameter colsample_bynode: 1.01 is not in (0, 1]"),
        ({"sketch_eps": "1"}, "Hyperparameter sketch_eps: 1.0 is not in (0, 1)"),
        ({"scale_pos_weight": "0"}, "Hyperparameter scale_pos_weight: 0.0 is not in (0, +inf)"),
        ({"tweedie_variance_power": "2"}, "Hyperparameter tweedie_variance_power: 2.0 is not in (1, 2)"),
        ({"num_class": "1"}, "Hyperparameter num_class: 1 is not in [2, +inf)"),
        ({"seed": "2147483647"}, "Hyperparameter seed: 2147483647 is not in (-2147483648, 2147483647)"),
        ({"prob_buffer_row": "1"}, "Hyperparameter prob_buffer_row: 1 is not in (1.0, +inf)"),
        ({"_kfold": "1"}, "Hyperparameter _kfold: 1 is not in [2, +inf)"),
        ({"booster": "gbdt"}, "Hyperparameter booster: gbdt is not in ['gbtree', 'gblinear', 'dart']"),
        (
            {"save_model_on_termination": "True"},
            "Hyperparameter save_model_on_termination: True is not in ['true', 'false']",
        ),
        (
            {"predictor": "cpu"},
            "Hyperparameter predictor: cpu is not in ['auto', 'cpu_predictor', 'gpu_predictor']",
        ),
        ({"grow_policy": "x"}, "Hyperparameter grow_policy: x is not in ['depthwise', 'lossguide']"),
        (
            {"monotone_constraints": "(1,2)", "tree_method": "hist"},
            "Hyperparameter monotone_constraints: value (1, 2) not in range [-1, 0, 1]",
        ),
        (
            # (sic) the image's range for feature indices starts at 1
            {"interaction_constraints": "[[0, 1], [2]]", "tree_method": "hist"},
            "Hyperparameter interaction_constraints: value [[0, 1], [2]] not in range [1, +inf)",
        ),
        (
            {"updater": "grow_quantile_histmaker"},
            "Hyperparameter updater: value ['grow_quantile_histmaker'] not in range ['grow_colmaker', "
            "'distcol', "
            "'grow_histmaker', 'grow_skmaker', 'sync', 'refresh', 'prune', 'grow_colmaker', 'distcol', "
            "'grow_histmaker', 'grow_colmaker', 'shotgun', 'coord_descent', 'refresh', 'prune']",
        ),
        (
            {"_tuning_objective_metric": "train:auc"},
            "Hyperparameter _tuning_objective_metric: train:auc is not in ['validation:accuracy', "
            "'validation:auc', 'validation:aucpr', 'validation:balanced_accuracy', 'validation:f1', "
            "'validation:f1_binary', 'validation:f1_macro', 'validation:map', 'validation:ndcg', "
            "'validation:precision', 'validation:r2', 'validation:recall', 'validation:precision_macro', "
            "'validation:precision_micro', 'validation:recall_macro', 'validation:recall_micro', "
            "'validation:aft-nloglik', 'validation:cox-nloglik', 'validation:error', "
            "'validation:gamma-deviance', "
            "'validation:gamma-nloglik', 'validation:interval-regression-accuracy', 'validation:logloss', "
            "'validation:mae', 'validation:mape', 'validation:merror', 'validation:mlogloss', "
            "'validation:mphe', "
            "'validation:mse', 'validation:poisson-nloglik', 'validation:rmse', 'validation:rmsle', "
            "'validation:tweedie-nloglik']",
        ),
    ],
)
def test_range_messages(hps: dict[str, str], expected: str) -> None:
    assert message({"num_round": "1", **hps}) == expected


def test_objective_list_in_message_1_7() -> None:
    assert message({"num_round": "1", "objective": "reg:huber"}) == (
        "Hyperparameter objective: reg:huber is not in ['aft_loss_distribution', 'binary:logistic', "
        "'binary:logitraw', 'binary:hinge', 'count:poisson', 'multi:softmax', 'multi:softprob', "
        "'rank:pairwise', "
        "'rank:ndcg', 'rank:map', 'reg:linear', 'reg:squarederror', 'reg:logistic', 'reg:gamma', "
        "'reg:pseudohubererror', 'reg:squaredlogerror', 'reg:absoluteerror', 'reg:tweedie', 'survival:aft', "
        "'survival:cox']"
    )


def test_objective_list_in_message_0_90() -> None:
    assert message({"num_round": "1", "objective": "survival:aft"}, "0.90-1") == (
        "Hyperparameter objective: survival:aft is not in ['binary:logistic', 'binary:logitraw', "
        "'binary:hinge', "
        "'count:poisson', 'multi:softmax', 'multi:softprob', 'rank:pairwise', 'rank:ndcg', 'rank:map', "
        "'reg:linear', 'reg:squarederror', 'reg:logistic', 'reg:gamma', 'reg:tweedie', 'survival:cox']"
    )


def test_eval_metric_list_in_message_0_90() -> None:
    assert message({"num_round": "1", "objective": "reg:linear", "eval_metric": "rmse,rmsle"}, "0.90-2") == (
        "Hyperparameter eval_metric: value ['rmse', 'rmsle'] not in range ['accuracy', 'auc', 'aucpr', "
        "'cox-nloglik', 'f1', 'gamma-nloglik', 'map', 'ndcg', 'poisson-nloglik', 'tweedie-nloglik', 'error', "
        "'gamma-deviance', 'logloss', 'mae', 'merror', 'mlogloss', 'mse', 'rmse']"
    )


# ----------------------------------------------------------------------------- other validators


@pytest.mark.parametrize(
    ("hps", "expected"),
    [
        (
            {"objective": "reg:squarederror", "eval_metric": "aft-nloglik"},
            "Metric 'aft-nloglik' can only be applied for 'survival:aft' objective.",
        ),
        (
            {"objective": "binary:logistic", "eval_metric": "<function f>"},
            "User defined evaluation metric <function f> is not supported yet.",
        ),
        (
            {"interaction_constraints": "[[1, 2]]"},
            "interaction_constraints can be used only when the tree_method parameter is set to either "
            "'exact', "
            "'hist' or 'approx'.",
        ),
        (
            {"booster": "gblinear", "updater": "shotgun,coord_descent"},
            "Linear updater should be one of these options: 'shotgun', 'coord_descent'.",
        ),
        (
            {"process_type": "update", "updater": "refresh,grow_colmaker"},
            "process_type 'update' can only be used with updater 'refresh' and 'prune'",
        ),
        (
            {"updater": "shotgun"},
            "Tree updater should be selected from these options: 'grow_colmaker', 'distcol', "
            "'grow_histmaker', "
            "'grow_skmaker', 'grow_quantile_histmaker', 'sync', 'refresh', 'prune', 'shortgun', "
            "'coord_descent'.",
        ),
        (
            {"updater": "grow_colmaker,grow_histmaker"},
            "Only one tree grow plugin can be selected. Choose one from thefollowing: 'grow_colmaker', "
            "'distcol', "
            "'grow_histmaker', 'grow_skmaker'",
        ),
    ],
)
def test_dependency_messages(hps: dict[str, str], expected: str) -> None:
    assert message({"num_round": "1", **hps}) == expected


def test_tree_updater_messages_0_90_name_grow_local_histmaker() -> None:
    assert message({"num_round": "1", "updater": "shotgun"}, "0.90-1") == (
        "Tree updater should be selected from these options: 'grow_colmaker', 'distcol', 'grow_histmaker', "
        "'grow_local_histmaker', 'grow_skmaker', 'sync', 'refresh', 'prune', 'shortgun', 'coord_descent'."
    )
    assert message({"num_round": "1", "updater": "distcol,grow_local_histmaker"}, "1.5-1") == (
        "Only one tree grow plugin can be selected. Choose one from thefollowing: 'grow_colmaker', "
        "'distcol', "
        "'grow_histmaker', 'grow_local_histmaker', 'grow_skmaker'"
    )


def test_a_later_list_item_validator_error_wins_over_the_range_error() -> None:
    # the toolkit checks every item before any(): the '@' validator raises on the second item
    hps = {"num_round": "1", "objective": "binary:logistic", "eval_metric": "foo,rmsle@1"}
    assert message(hps).startswith("Metric 'rmsle@1' is not supported.")


def test_dependencies_are_checked_before_dependents() -> None:
    # eval_metric depends on objective, objective on num_class: objective's own check runs first
    hps = {"num_round": "1", "eval_metric": "auc", "objective": "multi:softmax"}
    assert message(hps) == "Require input for parameter 'num_class' for multi-classification"


def test_unknown_key_reported_in_user_order_before_later_parse_errors() -> None:
    assert message({"num_round": "x", "foo": "1"}) == (
        "Hyperparameter num_round: could not parse value (caused by ValueError)"
    )
    assert message({"foo": "1", "num_round": "x"}) == "Extraneous hyperparameter found: foo"


def test_parse_errors_come_before_range_errors() -> None:
    assert message({"num_round": "0", "eta": "x"}) == (
        "Hyperparameter eta: could not parse value (caused by ValueError)"
    )


def test_malformed_tuple_is_a_user_error() -> None:
    assert message({"num_round": "1", "monotone_constraints": "(1,"}) == (
        "Hyperparameter monotone_constraints: could not parse value (caused by SyntaxError)"
    )


def test_non_nested_interaction_constraints_is_an_algorithm_error() -> None:
    with pytest.raises(AlgorithmError) as info:
        validate({"num_round": "1", "interaction_constraints": "[1, 2]", "tree_method": "hist"})
    assert info.value.message == (
        "Hyperparameter interaction_constraints: unexpected failure when validating [1, 2] (caused by "
        "TypeError)"
    )


# ----------------------------------------------------------------------------- parsing and aliases


def test_parsing_types() -> None:
    got = validate(
        {
            "num_round": " 7 ",
            "eta": "1e-1",
            "objective": "binary:logistic",
            "eval_metric": "auc,error@0.7",
            "monotone_constraints": "1,-1,0",
            "interaction_constraints": "[[1, 2], [3]]",
            "tree_method": "hist",
            "updater": "grow_colmaker,prune",
            "max_depth": "+3",
        }
    )
    assert got["num_round"] == 7
    assert got["eta"] == 0.1
    assert got["max_depth"] == 3
    assert got["eval_metric"] == ["auc", "error@0.7"]
    assert got["monotone_constraints"] == (1, -1, 0)
    assert got["interaction_constraints"] == [[1, 2], [3]]
    assert got["updater"] == ["grow_colmaker", "prune"]


def test_list_items_are_not_stripped() -> None:
    hps = {"num_round": "1", "objective": "binary:logistic", "eval_metric": "auc, error"}
    assert message(hps) == f"Hyperparameter eval_metric: value ['auc', ' error'] not in range {METRICS_1_3}"


@pytest.mark.parametrize(
    ("alias", "name"),
    [("learning_rate", "eta"), ("min_split_loss", "gamma"), ("reg_lambda", "lambda"), ("reg_alpha", "alpha")],
)
def test_aliases(alias: str, name: str) -> None:
    assert validate({"num_round": "1", alias: "0.5"}) == {"num_round": 1, name: 0.5}
    assert message({"num_round": "1", alias: "-1"}) == f"Hyperparameter {name}: -1.0 is not in [0, " + (
        "1]" if name == "eta" else "+inf)"
    )


def test_aliases_start_with_0_90_2() -> None:
    assert message({"num_round": "1", "learning_rate": "0.1"}, "0.90-1") == (
        "Extraneous hyperparameter found: learning_rate"
    )
    assert validate({"num_round": "1", "learning_rate": "0.1"}, "0.90-2")["eta"] == 0.1


def test_alias_after_canonical_name_wins() -> None:
    assert validate({"num_round": "1", "eta": "0.1", "learning_rate": "0.4"})["eta"] == 0.4


# ----------------------------------------------------------------------------- per-version parameter sets


@pytest.mark.parametrize("version", ["1", "0.90-1", "0.90-2", "1.0-1"])
def test_tutorial_hyperparameters_pass_up_to_1_0_1(version: str) -> None:
    got = validate(TUTORIAL, version)
    assert got["silent"] == 0
    assert got["num_round"] == 100


@pytest.mark.parametrize("version", ["1.2-1", "1.2-2", "1.3-1", "1.5-1", "1.7-1", "3.0-5"])
def test_tutorial_hyperparameters_fail_from_1_2_1(version: str) -> None:
    assert message(TUTORIAL, version) == "Extraneous hyperparameter found: silent"


def test_silent_range_before_1_2_1() -> None:
    assert message({"num_round": "1", "silent": "2"}, "1.0-1") == "Hyperparameter silent: 2 is not in [0, 1]"


# (param, value, first version that accepts it, first version that rejects it again or None)
ADDED_AND_REMOVED = [
    ("silent", "1", "0.90-1", "1.2-1"),
    ("num_parallel_tree", "2", "0.90-2", None),
    ("monotone_constraints", "(1,0)", "1.0-1", None),
    ("interaction_constraints", "[[1, 2]]", "1.0-1", None),
    ("save_model_on_termination", "true", "1.0-1", None),
    ("aft_loss_distribution", "normal", "1.2-1", None),
    ("aft_loss_distribution_scale", "1.5", "1.2-1", None),
    ("single_precision_histogram", "true", "1.2-1", "1.7-1"),
    ("deterministic_histogram", "false", "1.2-1", None),
    ("_nfold", "3", "1.2-1", "1.2-2"),
    ("_kfold", "3", "1.2-2", None),
    ("_num_cv_round", "2", "1.2-2", None),
    ("sampling_method", "uniform", "1.3-1", None),
    ("prob_buffer_row", "2", "1.3-1", None),
    ("use_dask_gpu_training", "false", "1.5-1", None),
    ("device", "cpu", None, None),
]


@pytest.mark.parametrize(("name", "value", "added", "removed"), ADDED_AND_REMOVED)
@pytest.mark.parametrize("version", MODERN)
def test_parameter_sets_per_version(
    name: str, value: str, added: str | None, removed: str | None, version: str
) -> None:
    v = VERSIONS[version]
    present = added is not None and v.at_least(added) and not (removed and v.at_least(removed))
    hps = {"num_round": "1", name: value}
    if name in ("monotone_constraints", "interaction_constraints"):
        hps["tree_method"] = "exact"
    if present:
        assert name in validate(hps, version)
        assert name in parameter_names(v)
    else:
        assert message(hps, version) == f"Extraneous hyperparameter found: {name}"
        assert name not in parameter_names(v)


# (objective, first version that accepts it)
OBJECTIVES = [
    ("reg:squaredlogerror", "1.0-1"),
    ("reg:pseudohubererror", "1.2-1"),
    ("survival:aft", "1.2-1"),
    ("aft_loss_distribution", "1.2-1"),
    ("reg:absoluteerror", "1.7-1"),
    ("reg:linear", "0.90-1"),
    ("binary:hinge", "0.90-1"),
]


@pytest.mark.parametrize(("objective", "added"), OBJECTIVES)
@pytest.mark.parametrize("version", MODERN)
def test_objectives_per_version(objective: str, added: str, version: str) -> None:
    hps = {"num_round": "1", "objective": objective}
    if VERSIONS[version].at_least(added):
        assert validate(hps, version)["objective"] == objective
    else:
        assert message(hps, version).startswith(f"Hyperparameter objective: {objective} is not in [")


@pytest.mark.parametrize("version", MODERN)
def test_gpu_values_per_version(version: str) -> None:
    if VERSIONS[version].at_least("1.2-1"):
        assert validate({"num_round": "1", "tree_method": "gpu_hist"}, version)["tree_method"] == "gpu_hist"
        assert (
            validate({"num_round": "1", "predictor": "gpu_predictor"}, version)["predictor"]
            == "gpu_predictor"
        )
    else:
        assert (
            message({"num_round": "1", "tree_method": "gpu_hist"}, version)
            == "GPU training is not supported yet."
        )
        assert message({"num_round": "1", "predictor": "gpu_predictor"}, version) == (
            "GPU training is not supported yet."
        )
        assert message({"num_round": "1", "predictor": "auto"}, version) == (
            "Hyperparameter predictor: auto is not in ['cpu_predictor']"
        )
        assert message({"num_round": "1", "tree_method": "foo"}, version) == (
            "Hyperparameter tree_method: foo is not in ['auto', 'exact', 'approx', 'hist']"
        )


@pytest.mark.parametrize(
    ("metric", "added"),
    [("rmsle", "1.0-1"), ("r2", "1.2-1"), ("f1_binary", "1.2-2"), ("mape", "1.3-1"), ("precision", "1.3-1")],
)
@pytest.mark.parametrize("version", MODERN)
def test_eval_metrics_per_version(metric: str, added: str, version: str) -> None:
    hps = {"num_round": "1", "objective": "reg:squarederror", "eval_metric": metric}
    if VERSIONS[version].at_least(added):
        assert validate(hps, version)["eval_metric"] == [metric]
    else:
        assert message(hps, version).startswith(
            f"Hyperparameter eval_metric: value ['{metric}'] not in range ["
        )


def test_aft_nloglik_check_starts_with_1_2_1() -> None:
    hps = {"num_round": "1", "objective": "reg:squarederror", "eval_metric": "aft-nloglik"}
    assert message(hps, "1.2-1") == "Metric 'aft-nloglik' can only be applied for 'survival:aft' objective."
    # 1.0-1 does not know the metric at all
    assert message(hps, "1.0-1").startswith("Hyperparameter eval_metric: value ['aft-nloglik'] not in range")


# ----------------------------------------------------------------------------- legacy 0.72 (version "1")


@pytest.mark.parametrize(
    ("hps", "expected"),
    [
        ({}, "Require input for parameter num_round"),
        ({"num_round": "1.5"}, "Parameter num_round expects integer input."),
        ({"num_round": "1", "eta": "1.5"}, "Parameter 'eta' should be in range [0,1]."),
        ({"num_round": "1", "eta": "x"}, "Parameter eta expects float input."),
        ({"num_round": "1", "max_depth": "2.5"}, "Parameter max_depth expects integer input."),
        ({"num_round": "1", "silent": "2"}, "Parameter 'silent' should be either '0' or '1'."),
        ({"num_round": "1", "nthread": "0"}, "Parameter 'nthread' should be greater or equal to 1."),
        ({"num_round": "1", "gamma": "-1"}, "Parameter 'gamma' should be greater than or equal to 0."),
        ({"num_round": "1", "subsample": "0"}, "Parameter 'subsample' should be in range (0,1]."),
        ({"num_round": "1", "sketch_eps": "1"}, "Parameter 'sketch_eps' should be in range (0,1)."),
        (
            {"num_round": "1", "tweedie_variance_power": "1"},
            "Parameter 'tweedie_variance_power' should be in range (1,2).",
        ),
        ({"num_round": "1", "one_drop": "2"}, "Parameter 'one_drop' should be either 0 or 1."),
        ({"num_round": "1", "refresh_leaf": "2"}, "Parameter 'refresh_leaf' should be either '0' or '1'."),
        ({"num_round": "1", "csv_weights": "2"}, "Parameter 'csv_weights' should be either '0' or '1'."),
        (
            {"num_round": "1", "booster": "gbdt"},
            "Parameter 'booster' should be one of these options: 'gbtree', 'gblinear', 'dart'.",
        ),
        (
            {"num_round": "1", "booster": "gblinear"},
            "Linear updater should be one of these options: 'shotgun', 'coor_descent'.",
        ),
        ({"num_round": "1", "tree_method": "gpu_hist"}, "GPU training is not supported yet."),
        (
            {"num_round": "1", "tree_method": "approx2"},
            "Parameter 'tree_method' should be one of these options: 'auto', 'exact', 'approx', 'hist'.",
        ),
        (
            {"num_round": "1", "predictor": "auto"},
            "Parameter 'predictor' should be one of these options: 'cpu_predictor'.",
        ),
        (
            {"num_round": "1", "updater": "[prune]"},
            "Do not expect bracket for input value of 'updater'. Use format as 'A,B,C...'.",
        ),
        (
            {"num_round": "1", "process_type": "update"},
            "process_type 'update' can only be used with updater 'refresh' and 'prune'",
        ),
        (
            {"num_round": "1", "objective": "reg:squarederror"},
            "Parameter 'objective' should be one of these options: 'reg:linear', 'reg:logistic', "
            "'binary:logistic', 'binary:logitraw', 'count:poisson', 'multi:softmax', 'multi:softprob', "
            "'rank:pairwise', 'reg:gamma', 'reg:tweedie'.",
        ),
        (
            {"num_round": "1", "objective": "multi:softmax"},
            "Require input for parameter 'num_class' for multi classification.",
        ),
        (
            {"num_round": "1", "num_class": "3"},
            "Do not need to setup parameter 'num_class' for learning task other than multi classification.",
        ),
        (
            {"num_round": "1", "objective": "multi:softprob", "num_class": "1"},
            "Parameter 'num_class' should be greater or equal to 2.",
        ),
        (
            {"num_round": "1", "eval_metric": "auc"},
            "Metric 'auc' can only be applied for classification and ranking problem.",
        ),
        (
            {"num_round": "1", "eval_metric": "aucpr"},
            "Metric 'aucpr' is not supported. Parameter 'eval_metric' should be one of these options:'rmse', "
            "'mae', 'logloss', 'error', 'merror', 'mlogloss', 'auc', 'ndcg', 'map', 'poisson-nloglik', "
            "'gamma-nloglik', 'gamma-deviance', 'tweedie-nloglik'.",
        ),
        (
            {"num_round": "1", "eval_metric": "[rmse]"},
            "Do not expect bracket for input value of 'eval_metric'. Use format as 'A,B,C...'.",
        ),
        ({"num_round": "1", "eval_metric": "ndcg@x"}, "Threshold value 't' in 'ndcg@t' expects float input."),
        (
            {"num_round": "1", "_tuning_objective_metric": "auc"},
            "Expected encoded metric string to have 2 or 3 components separated by :. Got auc.",
        ),
        (
            {"num_round": "1", "_tuning_objective_metric": "validation:f1"},
            "The metric validation:f1 is not a supported metric. Please set a valid objective metric name "
            "and "
            "retry.",
        ),
        (
            {"num_round": "1", "_tuning_objective_metric": "test:auc"},
            "Objective metric test:auc is reported on the test data segment. Data channel test is not "
            "provided. "
            "Please consider adding it to InputDataConfig and try again.",
        ),
    ],
)
def test_legacy_messages(hps: dict[str, str], expected: str) -> None:
    assert message(hps, "1") == expected


def test_legacy_checks_parameters_before_num_round() -> None:
    assert message({"eta": "2"}, "1") == "Parameter 'eta' should be in range [0,1]."


def test_legacy_checks_in_its_own_order_not_the_users() -> None:
    assert message({"num_round": "1", "subsample": "0", "eta": "2"}, "1") == (
        "Parameter 'eta' should be in range [0,1]."
    )


def test_legacy_ignores_unknown_keys_and_has_no_aliases_or_num_round_range() -> None:
    got = validate({"num_round": "0", "learning_rate": "9", "max_bin": "x", "device": "cuda"}, "1")
    assert got == {"num_round": 0}


def test_legacy_accepts_nan_like_the_image() -> None:
    assert np.isnan(validate({"num_round": "1", "eta": "nan"}, "1")["eta"])


# ----------------------------------------------------------------------------- training_config


def test_training_config_splits_sagemaker_keys() -> None:
    hps = validate(
        {
            "num_round": "50",
            "objective": "binary:logistic",
            "eval_metric": "auc,accuracy",
            "csv_weights": "1",
            "early_stopping_rounds": "5",
            "save_model_on_termination": "true",
            "_kfold": "3",
            "_num_cv_round": "2",
            "_tuning_objective_metric": "validation:auc",
            "use_dask_gpu_training": "false",
            "max_depth": "3",
            "learning_rate": "0.3",
        },
        "1.7-1",
    )
    config = training_config(hps, VERSIONS["1.7-1"])
    assert config == TrainingConfig(
        num_round=50,
        xgb_params={"objective": "binary:logistic", "max_depth": 3, "eta": 0.3},
        eval_metrics=["auc", "accuracy"],
        early_stopping_rounds=5,
        csv_weights=True,
        save_model_on_termination=True,
        tuning_objective_metric="validation:auc",
        kfold=3,
        num_cv_round=2,
        # every validated name, as the image's train_cfg holds them (aliases resolved): what XGBoost sees
        given=(
            "num_round",
            "objective",
            "eval_metric",
            "csv_weights",
            "early_stopping_rounds",
            "save_model_on_termination",
            "_kfold",
            "_num_cv_round",
            "_tuning_objective_metric",
            "use_dask_gpu_training",
            "max_depth",
            "eta",
        ),
    )


def test_training_config_maps_what_xgboost3_dropped() -> None:
    version = VERSIONS["1.5-1"]
    hps = validate_hyperparameters(
        {
            "num_round": "2",
            "objective": "reg:linear",
            "tree_method": "gpu_hist",
            "predictor": "gpu_predictor",
            "single_precision_histogram": "true",
            "deterministic_histogram": "true",
            "sketch_eps": "0.1",
            "dsplit": "row",
            "lambda_bias": "0.1",
            "prob_buffer_row": "2",
            "sampling_method": "gradient_based",
            "updater": "distcol,prune",
            "use_dask_gpu_training": "true",
        },
        version,
    )
    config = training_config(hps, version)
    assert config.xgb_params == {
        "objective": "reg:squarederror",
        "tree_method": "hist",
        "updater": "grow_colmaker,prune",
        "sampling_method": "uniform",
    }
    assert config.use_dask_gpu_training is True
    assert config.compat_notes == [
        "objective 'reg:linear' runs as 'reg:squarederror' (renamed in XGBoost 0.90, same loss)",
        "tree_method 'gpu_hist' runs as 'hist' on the CPU (no GPU in sagelocal; XGBoost 3 replaced gpu_hist "
        "by "
        "device='cuda')",
        "predictor was removed in XGBoost 2.0 (prediction follows 'device'); not passed",
        "single_precision_histogram was removed in XGBoost 2.0; not passed",
        "deterministic_histogram is not an XGBoost 3 parameter; not passed",
        "sketch_eps was removed in XGBoost 2.0 (approx uses max_bin); not passed",
        "dsplit is not an XGBoost 3 parameter; not passed",
        "lambda_bias is not an XGBoost 3 parameter; not passed",
        "prob_buffer_row is not an XGBoost 3 parameter; not passed",
        "updater 'distcol' runs as 'grow_colmaker' (XGBoost 3 has no 'distcol')",
        "sampling_method 'gradient_based' needs a GPU; runs as 'uniform' with tree_method 'hist'",
    ]


def test_training_config_formats_constraints_for_xgboost() -> None:
    hps = validate(
        {
            "num_round": "2",
            "tree_method": "hist",
            "monotone_constraints": "[1, -1, 0]",
            "interaction_constraints": "[[1, 2], [3]]",
        },
        "3.0-5",
    )
    params = training_config(hps, VERSIONS["3.0-5"]).xgb_params
    assert params["monotone_constraints"] == "(1,-1,0)"
    assert params["interaction_constraints"] == "[[1, 2], [3]]"


def test_training_config_drops_silent() -> None:
    config = training_config(validate(TUTORIAL, "1.0-1"), VERSIONS["1.0-1"])
    assert "silent" not in config.xgb_params
    assert config.silent == 0
    assert config.xgb_params == {
        "eta": 0.2,
        "gamma": 4.0,
        "max_depth": 5,
        "min_child_weight": 6.0,
        "objective": "binary:logistic",
        "subsample": 0.8,
    }


def test_training_config_legacy() -> None:
    hps = validate(
        {
            "num_round": "3",
            "max_bins": "16",
            "eval_metric": "error,auc",
            "objective": "binary:logistic",
            "_tuning_objective_metric": "validation:auc",
            "csv_weights": "1",
            "updater": "grow_skmaker",
            "early_stopping_rounds": "2",
            "learning_rate": "0.9",
        },
        "1",
    )
    config = training_config(hps, VERSIONS["1"])
    assert config.num_round == 3
    assert config.xgb_params == {"updater": "grow_histmaker", "objective": "binary:logistic"}
    assert config.eval_metrics == ["error", "auc"]
    assert config.tuning_objective_metric == "validation:auc"
    assert config.csv_weights is True
    assert config.early_stopping_rounds == 2


# Hyperparameter sets that the real images accept and train with; on XGBoost 3 they must train too.
TRAINABLE = [
    ("1", TUTORIAL),
    (
        "1",
        {
            "num_round": "2",
            "objective": "reg:linear",
            "updater": "grow_local_histmaker,prune",
            "predictor": "cpu_predictor",
            "max_bins": "16",
            "dsplit": "row",
            "sketch_eps": "0.1",
        },
    ),
    ("0.90-1", {**TUTORIAL, "updater": "grow_skmaker", "lambda_bias": "0.1", "objective": "reg:linear"}),
    ("1.0-1", {**TUTORIAL, "monotone_constraints": "(1,-1,0)", "tree_method": "exact"}),
    (
        "1.2-1",
        {
            "num_round": "2",
            "tree_method": "gpu_hist",
            "predictor": "gpu_predictor",
            "single_precision_histogram": "true",
            "deterministic_histogram": "true",
        },
    ),
    (
        "1.5-1",
        {
            "num_round": "2",
            "tree_method": "gpu_hist",
            "sampling_method": "gradient_based",
            "prob_buffer_row": "2",
            "updater": "distcol",
        },
    ),
    (
        "1.7-1",
        {
            "num_round": "2",
            "tree_method": "approx",
            "interaction_constraints": "[[1, 2]]",
            "eval_metric": "rmse,mae",
            "objective": "reg:absoluteerror",
            "seed": "7",
        },
    ),
    ("3.0-5", {"num_round": "2", "booster": "gblinear", "updater": "coord_descent", "reg_alpha": "0.1"}),
    (
        "3.0-5",
        {
            "num_round": "2",
            "booster": "dart",
            "rate_drop": "0.1",
            "sample_type": "weighted",
            "normalize_type": "forest",
            "one_drop": "1",
            "skip_drop": "0.5",
            "objective": "binary:logistic",
        },
    ),
]


@pytest.mark.parametrize(("version", "hps"), TRAINABLE)
def test_mapped_params_train_on_installed_xgboost(version: str, hps: dict[str, str]) -> None:
    rng = np.random.default_rng(0)
    x = rng.random((64, 3))
    data = xgb.DMatrix(x, label=(x[:, 0] > 0.5).astype(float))
    v = VERSIONS[version]
    if version != "1" and not v.at_least("1.2-1"):
        hps = {k: val for k, val in hps.items() if k != "silent"} | {"num_round": "2"}
    config = training_config(validate_hyperparameters(hps, v), v)
    params = dict(config.xgb_params)
    if config.eval_metrics:
        params["eval_metric"] = config.eval_metrics
    booster = xgb.train(params, data, num_boost_round=config.num_round)
    assert booster.num_boosted_rounds() == config.num_round
