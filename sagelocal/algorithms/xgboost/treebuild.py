"""How the images' own XGBoost (0.72 … 1.7.4) grew trees, reproduced with XGBoost 3.0.5 (reference §6).

With ``tree_method`` unset, as in the SageMaker tutorial, XGBoost before 2.0 chose the *exact greedy*
algorithm on one machine and switched to *approx* from 2**22 rows (``GBTree::PerformTreeMethodHeuristic`` in
dmlc/xgboost ``src/gbm/gbtree.cc`` v1.0.0 … v1.7.4, ``LearnerImpl::PerformTreeMethodHeuristic`` in
``src/learner.cc`` v0.90, ``LearnerImpl::LazyInitDMatrix`` in v0.72); XGBoost 2.0 made ``hist`` the default.
XGBoost 3.0.5 still has ``exact`` (``grow_colmaker,prune``), and with the same data and gradients it grows the
same trees as 1.7.4 — except where rows are subsampled, because the two draw from the global Mersenne
Twister in a different order (``updater_colmaker.cc``):

- 0.90 … 1.7.4: each tree's ``ColumnSampler`` takes one draw *before* the row coin flips;
- 0.72: the coin flips, then ``std::shuffle`` of the feature list;
- 3.0.5: the coin flips, then one draw for the column sampler.

:class:`RowSampler` replays the old order: it draws each tree's rows itself (``std::bernoulli_distribution``
over ``std::mt19937`` seeded with ``seed`` once, as ``seed_per_iteration`` is false by default) and hands
XGBoost 3 the sampled rows with ``subsample=1``. Rows left out of a tree are skipped by the exact updater
(``position < 0``), so a tree grown on the slice of sampled rows is the tree the old library grew.
"""

from __future__ import annotations

from typing import Any

from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.versions import ImageVersion

#: ``num_row_ >= (4UL << 20UL)``: from here XGBoost < 2.0 picks approx for ``auto``.
APPROX_ROWS = 4 << 20

#: The notice each library printed when it picked approx (LOG(CONSOLE) in 0.72, LOG(WARNING) in 0.90 … 1.2.0
#: from the PyPI wheels the images install, LOG(INFO) — not shown at the default verbosity — from 1.3).
_APPROX_NOTICE: dict[str, str] = {
    "0.72": "Tree method is automatically selected to be 'approx' for faster speed. to use old "
    "behavior(exact greedy algorithm on single machine), set tree_method to 'exact'",
    "0.90": "WARNING: /workspace/src/learner.cc:686: Tree method is automatically selected to be 'approx' "
    "for faster speed. To use old behavior (exact greedy algorithm on single machine), set tree_method to "
    "'exact'.",
    "1.0.0": "WARNING: /workspace/src/gbm/gbtree.cc:138: Tree method is automatically selected to be "
    "'approx' for faster speed. To use old behavior (exact greedy algorithm on single machine), set "
    "tree_method to 'exact'.",
    "1.2.0": "WARNING: /workspace/src/gbm/gbtree.cc:139: Tree method is automatically selected to be "
    "'approx' for faster speed. To use old behavior (exact greedy algorithm on single machine), set "
    "tree_method to 'exact'.",
}


#: The notice XGBoost 0.90 … 1.2.0 printed (LOG(WARNING)) when ``auto`` met an external-memory matrix
#: (``!fmat->SingleColBlock()``): ``src/learner.cc`` v0.90, ``src/gbm/gbtree.cc`` v1.0.0 and v1.2.0. 0.72 switched
#: silently; from 1.3 it is a LOG(INFO), not shown at the default verbosity.
_EXTERNAL_MEMORY_NOTICE: dict[str, str] = {
    release: f"WARNING: /workspace/src/{where}: Tree method is automatically set to 'approx' since "
    "external-memory data matrix is used."
    for release, where in (
        ("0.90", "learner.cc:658"),
        ("1.0.0", "gbm/gbtree.cc:133"),
        ("1.2.0", "gbm/gbtree.cc:134"),
    )
}


def planned_tree_method(params: dict[str, Any], version: ImageVersion) -> str | None:
    """The tree method :func:`resolve_tree_method` will settle on, when that does not depend on the number of
    rows (known before any data is read): the one the job names, or hist for 3.0-5's ``auto``. None when the
    job names its updaters, uses the linear booster, or leaves ``auto`` to an image that picks exact or approx
    by the number of rows."""
    if "updater" in params or params.get("booster", "gbtree") == "gblinear":
        return None
    method = str(params.get("tree_method", "auto"))
    if method != "auto":
        return method
    return "hist" if version.auto_tree_method == "hist" else None


def resolve_tree_method(
    params: dict[str, Any],
    version: ImageVersion,
    num_rows: int,
    log: Log,
    distributed: bool = False,
    external_memory: bool = False,
) -> None:
    """Set ``params['tree_method']`` to what the image's XGBoost ran for ``auto`` (or unset) — approx in
    distributed training, whatever the number of rows (the same heuristic in ``gbtree.cc``), and on an
    external-memory matrix: nothing to do on 3.0-5 (XGBoost 3's ``auto`` is hist), nor when the job names its
    updaters (the heuristic is skipped then) or uses the linear booster."""
    if version.auto_tree_method != "exact":
        return
    if params.get("tree_method", "auto") != "auto" or "updater" in params:
        return
    if params.get("booster", "gbtree") == "gblinear":
        return
    if distributed:
        # ``if (rabit::IsDistributed())``: approx, with a LOG(INFO) not shown at the default verbosity.
        params["tree_method"] = "approx"
        return
    if external_memory:
        notice = _EXTERNAL_MEMORY_NOTICE.get(version.upstream_xgboost)
        if notice:
            log.native(notice)
        params["tree_method"] = "approx"
        return
    if num_rows >= APPROX_ROWS:
        notice = _APPROX_NOTICE.get(version.upstream_xgboost)
        if notice:
            log.native(notice)
        params["tree_method"] = "approx"
    else:
        params["tree_method"] = "exact"


class RowSampler:
    """The rows each tree of the old library was grown on, drawn as its exact updater drew them."""

    def __init__(self, order: str, subsample: float, seed: int, num_rows: int, num_features: int) -> None:
        import numpy as np

        self.order = order
        self.probability_text = str(subsample)
        # TrainParam::subsample is a float; std::bernoulli_distribution holds it as a double.
        self.probability = float(np.float32(subsample))
        self.num_rows = num_rows
        self.num_features = num_features
        self._generator = np.random.MT19937()
        # std::mt19937::seed(result_type) keeps the seed modulo 2**32 (GenericParameter::seed is an int64).
        self._generator._legacy_seeding(int(seed) % 2**32)

    def next_tree(self) -> Any:
        """Indices of the rows in the next tree (in row order)."""
        import numpy as np

        if self.order == "seed_then_flips":
            self._generator.random_raw(1)  # ColumnSampler(): uint32_t seed = GlobalRandom()()
        raw = self._generator.random_raw(2 * self.num_rows).astype(np.float64)
        # std::generate_canonical<double, 53> over a 32-bit engine: two draws, low word first.
        u = (raw[0::2] + raw[1::2] * 2.0**32) / 2.0**64
        u = np.minimum(u, np.nextafter(1.0, 0.0))
        kept = np.flatnonzero(u < self.probability)
        if self.order == "flips_then_shuffle":
            self._skip_shuffle()
        return kept

    def _skip_shuffle(self) -> None:
        """0.72's ``std::shuffle(feat_index_, GlobalRandom())`` (libstdc++ before the two-at-a-time variant):
        one ``uniform_int_distribution`` per position, each drawing until below the largest multiple of its
        range. Only how many draws it takes matters here."""
        urng_range = 2**32 - 1
        for i in range(1, self.num_features):
            span = i + 1
            past = span * (urng_range // span)
            while int(self._generator.random_raw(1)[0]) >= past:
                pass


def row_sampler(params: dict[str, Any], version: ImageVersion, dtrain: Any) -> RowSampler | None:
    """A :class:`RowSampler` when the old library's row draws differ from XGBoost 3's and can be replayed:
    the exact updater, ``subsample`` < 1, one tree per round (several trees a round, or dart's dropout, draw
    from the same generator in between; those runs use XGBoost 3's own draws). ``params['subsample']``
    becomes 1 so XGBoost 3 draws nothing itself."""
    if version.row_sampling == "native" or params.get("tree_method") != "exact":
        return None
    subsample = float(params.get("subsample", 1.0))
    if subsample >= 1.0 or params.get("booster", "gbtree") != "gbtree":
        return None
    if int(params.get("num_parallel_tree", 1)) > 1 or int(params.get("num_class", 1) or 1) > 1:
        return None
    params["subsample"] = 1.0
    num_features = int(dtrain.num_col())
    if version.row_sampling == "flips_then_shuffle":
        # feat_index_ holds the columns with at least one entry.
        num_features = int((_column_entries(dtrain) > 0).sum())
    return RowSampler(
        version.row_sampling, subsample, int(params.get("seed", 0)), int(dtrain.num_row()), num_features
    )


#: The objectives whose gradient :func:`sampled_gradient` computes as XGBoost 3.0.5 does
#: (``src/objective/regression_loss.h``): ``PredTransform`` of the margin, then the first and second order
#: gradients, all in float32.
_LOGISTIC = frozenset({"binary:logistic", "reg:logistic"})
_SQUARED = frozenset({"reg:squarederror", "reg:linear"})


def reproduces_gradient(params: dict[str, Any]) -> bool:
    """Whether :func:`sampled_gradient` computes this job's gradient (else the caller grows each tree on a slice
    of the kept rows)."""
    objective = str(params.get("objective", "reg:squarederror"))
    return objective in _LOGISTIC | _SQUARED and float(params.get("max_delta_step", 0) or 0) == 0


def sampled_gradient(params: dict[str, Any], margin: Any, dtrain: Any, kept: Any) -> tuple[Any, Any]:
    """The gradient XGBoost 3 computes for this round, with the rows left out of the tree given a negative
    hessian: the exact updater marks such rows deleted (``ColMaker::Builder::InitData``), as the old library
    marked the rows its coin flips left out, so the tree grows on the whole matrix — no per-tree slice, whose
    column sort costs as much as the tree. Only for the objectives :func:`reproduces_gradient` accepts."""
    import numpy as np

    objective = str(params.get("objective", "reg:squarederror"))
    labels = dtrain.get_label()
    f32 = np.float32
    if objective in _LOGISTIC:
        # common::Sigmoid: 1 / (expf(min(-x, 88.7)) + 1 + 1e-16f); the 1e-16f vanishes in float32.
        with np.errstate(over="ignore"):
            predt = f32(1) / (np.exp(np.minimum(-margin, f32(88.7)).astype(np.float64)).astype(f32) + f32(1))
        grad = predt - labels
        hess = np.maximum(predt * (f32(1) - predt), f32(1e-16))
    else:
        grad = margin - labels
        hess = np.ones_like(margin)
    weights = dtrain.get_weight()
    w = weights.astype(f32) if weights.size else np.ones_like(margin)
    scale = float(params.get("scale_pos_weight", 1.0))
    if scale != 1.0:
        w = np.where(labels == f32(1), w * f32(scale), w)
    grad, hess = (grad * w).astype(f32), (hess * w).astype(f32)
    left_out = np.ones(len(labels), dtype=bool)
    left_out[kept] = False
    grad[left_out] = 0
    hess[left_out] = -1
    return grad, hess


def _column_entries(dmatrix: Any) -> Any:
    import numpy as np

    csr = dmatrix.get_data()
    return np.bincount(csr.indices, minlength=int(dmatrix.num_col()))


__all__ = [
    "APPROX_ROWS",
    "RowSampler",
    "planned_tree_method",
    "reproduces_gradient",
    "resolve_tree_method",
    "row_sampler",
    "sampled_gradient",
]
