"""The tree method each image's XGBoost runs when the job leaves ``tree_method`` unset, and the old library's
row subsampling (``treebuild.py``).

XGBoost before 2.0 picks exact greedy on one machine, and approx from ``4UL << 20UL`` rows
(dmlc/xgboost ``src/gbm/gbtree.cc::PerformTreeMethodHeuristic`` v1.0.0 … v1.7.4, ``src/learner.cc`` v0.90);
XGBoost 2.0+ (the 3.0-5 image) uses hist. The slow ``test_xgboost_upstream.py`` compares with the real wheels.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sagelocal.algorithms.xgboost import main, treebuild
from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.versions import VERSIONS


def _thresholds(model: Path) -> list[float]:
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(str(model))
    return [float(t) for tree in booster.get_dump() for t in re.findall(r"<([-0-9.e]+)\]", tree)]


def _train(ml_root, version: str, **extra: str) -> Path:
    lines = [f"{i % 2},{(i * 7) % 11 + i % 2},{i % 5},{(i * 3) % 13}" for i in range(200)]
    root = ml_root(
        {"num_round": "5", "objective": "binary:logistic", "max_depth": "3", **extra},
        {"train": "csv"},
        {"train/data.csv": "\n".join(lines) + "\n"},
    )
    assert main(["train", "--ml-root", str(root), "--image-version", version]) == 0
    return root / "model" / "xgboost-model"


def test_17_unset_tree_method_is_exact_greedy_and_30_is_hist(ml_root, capsys):
    # Exact greedy splits half-way between two neighbouring values (integers here: x.5); hist splits on a
    # quantile cut, one of the values themselves.
    exact = _thresholds(_train(ml_root, "1.7-1"))
    assert exact and all(t % 1 == 0.5 for t in exact)
    hist = _thresholds(_train(ml_root, "3.0-5"))
    assert hist and all(t % 1 == 0 for t in hist)


def test_explicit_tree_method_is_kept_on_old_images(ml_root, capsys):
    assert all(t % 1 == 0 for t in _thresholds(_train(ml_root, "1.7-1", tree_method="hist")))


@pytest.mark.parametrize(
    ("version", "rows", "given", "expected"),
    [
        ("1.7-1", 1000, {}, "exact"),
        ("1.7-1", 1000, {"tree_method": "auto"}, "exact"),
        ("1.7-1", 4 << 20, {}, "approx"),
        ("1.7-1", (4 << 20) - 1, {}, "exact"),
        ("0.90-1", 1000, {"tree_method": "hist"}, "hist"),
        ("1", 1000, {}, "exact"),
        ("3.0-5", 1000, {}, None),
        ("1.7-1", 1000, {"booster": "gblinear"}, None),
        ("1.7-1", 1000, {"updater": "grow_colmaker,prune"}, None),
    ],
)
def test_auto_tree_method_rule(version, rows, given, expected):
    params = dict(given)
    treebuild.resolve_tree_method(params, VERSIONS[version], rows, Log())
    assert params.get("tree_method") == (expected if expected is not None else given.get("tree_method"))


def test_large_data_approx_notice_as_the_090_wheel_prints_it(capsys):
    params: dict[str, object] = {}
    treebuild.resolve_tree_method(params, VERSIONS["0.90-1"], 4 << 20, Log())
    out = capsys.readouterr().out
    assert re.fullmatch(
        r"\[\d\d:\d\d:\d\d\] WARNING: /workspace/src/learner\.cc:686: Tree method is automatically selected to "
        r"be 'approx' for faster speed\. To use old behavior \(exact greedy algorithm on single machine\), set "
        r"tree_method to 'exact'\.\n",
        out,
    )


def test_row_sampler_draws_as_the_old_colmaker():
    """std::mt19937 seeded 0; per tree one draw for the ColumnSampler seed, then two 32-bit draws per row
    (generate_canonical<double>) compared with subsample. The first tree keeps exactly the rows for which
    that comparison holds, and the next tree continues the same stream."""
    import numpy as np

    sampler = treebuild.RowSampler("seed_then_flips", 0.8, 0, 1000, 3)
    first, second = sampler.next_tree(), sampler.next_tree()
    raw = np.random.RandomState(0).randint(0, 2**32, size=2 * (1 + 2 * 1000), dtype=np.uint64).astype(float)
    u = (raw[1:2001:2] + raw[2:2001:2] * 2.0**32) / 2.0**64
    assert first.tolist() == np.flatnonzero(u < np.float32(0.8)).tolist()
    assert 700 < len(first) < 900 and first.tolist() != second.tolist()


@pytest.mark.parametrize("version", ["1", "0.90-1", "1.7-1"])
def test_replayed_subsampling_is_deterministic(ml_root, capsys, version):
    """Two runs of the same job write byte-identical models (the replayed draws depend only on ``seed``)."""
    models = []
    for _ in range(2):
        extra = {"silent": "0"} if version in ("1", "0.90-1") else {}
        path = _train(ml_root, version, subsample="0.7", **extra)
        models.append(path.read_bytes())
        path.unlink()
    assert models[0] == models[1]


def _matrix(weights: bool = False):
    import numpy as np
    import xgboost as xgb

    rng = np.random.default_rng(3)
    features = rng.normal(size=(400, 5)).astype(np.float32)
    labels = (features[:, 0] + 0.5 * features[:, 1] + rng.normal(scale=0.5, size=400) > 0).astype(np.float32)
    weight = rng.uniform(0.5, 2.0, size=400).astype(np.float32) if weights else None
    return xgb.DMatrix(features, label=labels, weight=weight)


@pytest.mark.parametrize(
    ("objective", "extra", "weights"),
    [
        ("binary:logistic", {}, False),
        ("binary:logistic", {"scale_pos_weight": 3.0}, True),
        ("reg:logistic", {}, False),
        ("reg:squarederror", {}, True),
        ("reg:linear", {}, False),
    ],
)
def test_sampled_gradient_is_xgboosts_own_gradient(objective, extra, weights):
    """With every row kept, boosting from :func:`sampled_gradient` grows, round after round, the very model
    XGBoost's own objective grows: the same bytes."""
    import numpy as np
    import xgboost as xgb

    dtrain = _matrix(weights)
    params = {"objective": objective, "tree_method": "exact", "max_depth": 3, "base_score": 0.5, **extra}
    own, ours = xgb.Booster(params, [dtrain]), xgb.Booster(params, [dtrain])
    every_row = np.arange(dtrain.num_row())
    assert treebuild.reproduces_gradient(params)
    for i in range(8):
        own.update(dtrain, iteration=i)
        margin = ours.predict(dtrain, output_margin=True)
        ours.boost(dtrain, i, *treebuild.sampled_gradient(params, margin, dtrain, every_row))
    assert ours.save_raw("json") == own.save_raw("json")


def test_rows_left_out_get_a_negative_hessian_and_grow_the_sliced_tree():
    """The exact updater skips rows with a negative hessian as it skips rows its coin flips left out: the tree
    grown on the whole matrix is the tree grown on the slice of kept rows."""
    import numpy as np
    import xgboost as xgb

    dtrain = _matrix()
    params = {"objective": "binary:logistic", "tree_method": "exact", "max_depth": 3, "base_score": 0.5}
    kept = np.flatnonzero(np.arange(dtrain.num_row()) % 5 != 0)
    sliced, whole = xgb.Booster(params, [dtrain]), xgb.Booster(params, [dtrain])
    sliced.update(dtrain.slice(kept), iteration=0)
    margin = whole.predict(dtrain, output_margin=True)
    grad, hess = treebuild.sampled_gradient(params, margin, dtrain, kept)
    assert (hess[kept] > 0).all() and (hess[np.arange(dtrain.num_row()) % 5 == 0] == -1).all()
    whole.boost(dtrain, 0, grad, hess)
    assert whole.get_dump(with_stats=True) == sliced.get_dump(with_stats=True)


@pytest.mark.parametrize(
    ("params", "reproduced"),
    [
        ({"objective": "count:poisson"}, False),
        ({"objective": "binary:logistic", "max_delta_step": 1}, False),
        ({}, True),  # XGBoost's default objective, reg:squarederror
    ],
    ids=["other objective", "max_delta_step", "default objective"],
)
def test_sampled_gradient_declines_what_it_does_not_reproduce(params, reproduced):
    """Other objectives are declined: the caller grows those trees on a slice of the kept rows instead."""
    assert treebuild.reproduces_gradient(params) is reproduced


@pytest.mark.parametrize(
    ("booster", "pruning_lines"), [({"booster": "gbtree"}, 3), ({"booster": "gblinear", "updater": "shotgun"}, 0)]
)
def test_072_prints_a_pruner_line_per_tree_and_none_for_the_linear_booster(ml_root, capsys, booster, pruning_lines):
    lines = [f"{i % 2},{(i * 7) % 11 + i % 2},{i % 5},{(i * 3) % 13}" for i in range(200)]
    root = ml_root(
        {"num_round": "3", "objective": "binary:logistic", "max_depth": "3", **booster},
        {"train": "csv"},
        {"train/data.csv": "\n".join(lines) + "\n"},
    )
    assert main(["train", "--ml-root", str(root), "--image-version", "1"]) == 0
    out = capsys.readouterr().out
    found = re.findall(r"src/tree/updater_prune\.cc:74: tree pruning end, 1 roots, (\d+) extra nodes", out)
    assert len(found) == pruning_lines
    assert len(re.findall(r"^\[\d\]\ttrain-error:", out, re.MULTILINE)) == 3
