"""The warnings the image's own XGBoost prints during ``train_job`` (the facts are in ``tables.py``).

sagelocal trains with XGBoost 3.0.5, so what the images' older libraries printed is written here, from the
parameters the image passed to them:

- the unused-parameter warning of XGBoost ≥ 1.0 (``csv_weights`` is passed on by every image; ``num_round`` …
  by the early ones);
- the default-metric notice of XGBoost 1.3 and 1.5;
- the ``feval`` deprecation of XGBoost 1.7 (1.7-1 passes ``feval=``);
- the UBJSON save notice of XGBoost 3 (3.0-5 saves ``xgboost-model`` without an extension).

Up to 1.7 the library printed its C++ warnings itself (``[HH:MM:SS] WARNING: <file>:<line>: …`` on stdout);
XGBoost 3 and the Python-side deprecations go through :func:`warnings.warn`, which prints
``<file>:<line>: UserWarning: <message>`` and then the source line, and prints a message once per call site
(the C++ ones carry a timestamp, so once per second). Blank lines are left out, as CloudWatch shows none.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from sagelocal.algorithms.xgboost import tables
from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.versions import ImageVersion


class LibraryNotices:
    """What one job's XGBoost prints besides the metric lines."""

    def __init__(self, version: ImageVersion, log: Log) -> None:
        self.version = version
        self.log = log
        self._shown: set[tuple[str, int, str]] = set()  # Python's ``__warningregistry__``: (file, line, text)

    @property
    def _release(self) -> str:
        return self.version.upstream_xgboost

    def _stamp(self) -> str:
        return time.strftime("%H:%M:%S", time.gmtime())

    def python_warning(self, module: str, line: int, source: str, message: str) -> None:
        """``warnings.warn(message, UserWarning)`` attributed to ``<site-packages>/<module>:<line>``."""
        path = f"{self.version.site_packages}/{module}"
        if (path, line, message) in self._shown:
            return
        self._shown.add((path, line, message))
        lines = [ln for ln in f"{path}:{line}: UserWarning: {message}".split("\n") if ln]
        for text in [*lines, f"  {source}"]:
            self.log.line(text)

    def _cxx_warning(self, location: str, body: Iterable[str]) -> None:
        """A ``LOG(WARNING)`` of the C++ library: printed by XGBoost < 2, a Python warning from XGBoost 2 on."""
        body = [ln for ln in body if ln]
        head = f"[{self._stamp()}] WARNING: {location}: "
        if self._release.startswith(("0.", "1.")):
            self.log.line(head)
            for text in body:
                self.log.line(text)
        else:
            module, line, source = tables.XGBOOST3_UPDATE_SITE
            self.python_warning(module, line, source, "\n".join([head, *body]))

    def unused_parameters(self, given: Iterable[str]) -> None:
        """At the first boosting round: the keys the image left in ``params`` that XGBoost has no use for."""
        notice = tables.UNUSED_PARAMETERS_NOTICES.get(self._release)
        left = set(tables.at(tables.LEFT_IN_PARAMS, self.version))
        names = sorted(n for n in set(given) if n in left)
        if notice is None or not names:
            return
        listed = ", ".join(f'"{n}"' if notice.quoted else n for n in names)
        self._cxx_warning(notice.location, [f"Parameters: {{ {listed} }} {notice.verb}.", *notice.trailer])

    def default_metric(self, objective: str, has_eval_metric: bool) -> None:
        """At the first evaluation of a booster without ``eval_metric`` (XGBoost 1.3, 1.5)."""
        entry = tables.DEFAULT_METRIC_NOTICES.get(self._release)
        if entry is None or has_eval_metric:
            return
        location, changed = entry
        if objective not in changed:
            return
        since, old, new = changed[objective]
        self.log.native(
            f"WARNING: {location}: Starting in XGBoost {since}, the default evaluation metric used with the "
            f"objective '{objective}' was changed from '{old}' to '{new}'. Explicitly set eval_metric if you'd "
            f"like to restore the old behavior."
        )

    def feval_deprecated(self) -> None:
        """``xgb.train(feval=…)`` on XGBoost 1.6 … 1.7, once per process."""
        entry = tables.FEVAL_DEPRECATIONS.get(self._release)
        if entry is not None:
            self.python_warning("xgboost/training.py", entry[0], "warnings.warn(", entry[1])

    def ubjson_save(self, site: str) -> None:
        """``save_model`` of a name without extension on XGBoost ≥ 2.1 (``site``: see ``UBJSON_SAVE_SITES``)."""
        text = tables.UBJSON_SAVE_NOTICES.get(self._release)
        if text is None:
            return
        module, line, source = tables.UBJSON_SAVE_SITES[site]
        self.python_warning(module, line, source, f"[{self._stamp()}] WARNING: {text}")


__all__ = ["LibraryNotices"]
