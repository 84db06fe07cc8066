"""The SageMaker Debugger (smdebug) lines of the images 0.90-2 … 1.7-1 (the facts are in ``tables.py``).

When a CreateTrainingJob request carries a ``DebugHookConfig`` (the SDK v2 ``Estimator`` adds one by default),
the platform writes ``/opt/ml/input/config/debughookconfig.json`` (and ``profilerconfig.json`` for a
``ProfilerConfig``, ``tensorboardoutputconfig.json`` for a ``TensorBoardOutputConfig``). The image's
``callback.add_debugging`` then builds ``smdebug.xgboost.Hook.hook_from_config()`` and appends it to the
training callbacks. smdebug logs with its own format,
``[%Y-%m-%d %H:%M:%S.mmm <hostname>:<pid> INFO <file>:<line>] <message>``
(``smdebug/core/logger.py``). Public job logs of 1.0-1 and 1.3-1 show the sequence reproduced here:

- on import of smdebug ≥ 1.0 (every job): ``RULE_JOB_STOP_SIGNAL_FILENAME: None``, and with 1.0.29 the
  profiler's verdict;
- at ``add_debugging``: the hook's creation lines, then the container's ``Debug hook created from config``;
- after the metric line of the first round: ``Monitoring the collections: metrics`` and ``Hook is writing
  from the hook with pid: <pid>``.

sagelocal writes no tensors: the lines are what a user sees in the log, nothing more.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from sagelocal.algorithms.xgboost import tables
from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.versions import ImageVersion
from sagelocal.contract import (
    CHECKPOINT_CONFIG_FILE,
    DEBUG_HOOK_CONFIG_FILE,
    PROFILER_CONFIG_FILE,
    TENSORBOARD_CONFIG_FILE,
    in_container,
)

#: ``smdebug.core.config_constants.DEFAULT_SAGEMAKER_OUTDIR``: where the hook saves when the config names no
#: ``LocalPath``.
DEFAULT_TENSORS_DIR = "/opt/ml/output/tensors"
#: ``smdebug.xgboost.hook.DEFAULT_INCLUDE_COLLECTIONS``.
DEFAULT_COLLECTIONS = ("metrics",)


@dataclass
class Debugger:
    """The smdebug state of one training process: the config files the platform wrote and what has been
    logged (the profiler parser of smdebug ≥ 1.0.10 and the hook's claim on its folder live per process)."""

    version: ImageVersion
    log: Log
    host: str
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)  # file name -> document
    has_checkpoint_config: bool = False
    _profiler_logged: bool = False
    _hooks_writing: int = 0

    @property
    def sites(self) -> tables.SmdebugSites | None:
        release = tables.SMDEBUG_RELEASES.get(self.version.name)
        return tables.SMDEBUG_SITES[release] if release else None

    @property
    def enabled(self) -> bool:
        """Whether ``add_debugging`` builds a hook: the image has smdebug and the job a DebugHookConfig."""
        return self.sites is not None and DEBUG_HOOK_CONFIG_FILE in self.configs

    def _line(self, site: str | tuple[str, str], message: str, level: str = "INFO") -> None:
        if isinstance(site, tuple):
            site = site[1] if self.version.python_at_least_3_8 else site[0]
        now = time.time()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}"
        text = message.rstrip("\n")  # a trailing newline makes a blank line, which CloudWatch does not show
        self.log.line(f"[{stamp} {self.host}:{os.getpid()} {level} {site}] {text}")

    def _profiler_verdict(self) -> str:
        """``ProfilerConfigParser.load_config``: what it logs for the job's ``profilerconfig.json``."""
        path = in_container().config_dir / PROFILER_CONFIG_FILE
        config = self.configs.get(PROFILER_CONFIG_FILE)
        if config is None:
            return f"Unable to find config at {path}. Profiler is disabled."
        lowered = {str(k).lower(): v for k, v in config.items()}
        if lowered.get("disableprofiler") or not lowered.get("profilingparameters"):
            return "User has disabled profiler."
        return f"Using config at {path}."

    def on_import(self) -> None:
        """What importing ``sagemaker_xgboost_container.training`` logs: it imports smdebug."""
        sites = self.sites
        if sites is None:
            return
        if sites.rule_stop:
            self._line(sites.rule_stop, "RULE_JOB_STOP_SIGNAL_FILENAME: None")
        if sites.profiler and sites.profiler_at_import:
            self._line(sites.profiler, self._profiler_verdict())
            self._profiler_logged = True

    def add_debugging(self) -> Any | None:
        """``callback.add_debugging``: log the hook's creation and return the callback that logs its first
        round, or None without a DebugHookConfig."""
        sites = self.sites
        if sites is None or not self.enabled:
            return None
        config = self.configs[DEBUG_HOOK_CONFIG_FILE]
        path = in_container().config_dir / DEBUG_HOOK_CONFIG_FILE
        self._line(sites.json_config, f"Creating hook from json_config at {path}.")
        if TENSORBOARD_CONFIG_FILE not in self.configs:
            self._line(
                sites.tensorboard,
                "tensorboard_dir has not been set for the hook. SMDebug will not be exporting tensorboard summaries.",
            )
        # smdebug 1.0.7 builds a new profiler config parser per hook; 1.0.10 on keep one per process
        per_hook = tables.SMDEBUG_RELEASES[self.version.name] == "1.0.7"
        if sites.profiler and (per_hook or not self._profiler_logged):
            self._line(sites.profiler, self._profiler_verdict())
            self._profiler_logged = True
        self._line(sites.saving, f"Saving to {config.get('LocalPath') or DEFAULT_TENSORS_DIR}")
        if sites.state_store and not self.has_checkpoint_config:
            path = in_container().config_dir / CHECKPOINT_CONFIG_FILE
            self._line(sites.state_store, f"The checkpoint config file {path} does not exist.")
        self.log.info("Debug hook created from config")
        names = [
            str(c.get("CollectionName"))
            for c in config.get("CollectionConfigurations") or []
            if isinstance(c, dict) and c.get("CollectionName")
        ]
        return self._callback(sites, names or list(DEFAULT_COLLECTIONS))

    def _callback(self, sites: tables.SmdebugSites, collections: list[str]) -> Any:
        import xgboost as xgb

        debugger = self

        class HookLines(xgb.callback.TrainingCallback):
            """The hook's ``after_iteration``: on its first round it prepares its collections and claims the
            output folder (the first hook of the process does; a later one, e.g. the next k-fold model, finds
            the claim taken and warns)."""

            def __init__(self) -> None:
                super().__init__()
                self._done = False

            def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
                if self._done:
                    return False
                self._done = True
                debugger._line(sites.monitoring, f"Monitoring the collections: {', '.join(collections)}")
                if debugger._hooks_writing == 0 and sites.writing:
                    debugger._line(sites.writing, f"Hook is writing from the hook with pid: {os.getpid()}\n")
                elif sites.not_first:
                    gap = " " * 28
                    debugger._line(
                        sites.not_first,
                        f"Unsupported Distributed Training Strategy Detected. {gap}Sagemaker-Debugger will only "
                        f"write from one process. {gap}The process with pid: {os.getpid()} will not be "
                        f"writing any data. \n",
                        level="WARNING",
                    )
                debugger._hooks_writing += 1
                return False

        return HookLines()


__all__ = ["Debugger"]
