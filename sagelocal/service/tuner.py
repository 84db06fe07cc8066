"""The detached per-tuning-job process: ``python -m sagelocal.service.tuner <tuning-job-name>``.

Started by ``CreateHyperParameterTuningJob`` in its own session, it runs the job's loop
(``sagelocal.service.tuning.tuner``) over an :class:`Emulator` of the same home, so its children are ordinary
training jobs with their own supervisors: they outlive this process. SIGTERM (StopHyperParameterTuningJob)
stops the children and ends the job Stopped. It lives beside ``service.py`` rather than in ``execution/``
because it drives the whole emulator (the Emulator imports ``execution``, so ``execution`` cannot import it).
"""

from __future__ import annotations

import signal
import sys
import threading
import traceback
from typing import Any

from sagelocal import config
from sagelocal.config import StatePaths
from sagelocal.service.db import Database
from sagelocal.service.service import Emulator
from sagelocal.service.tuning.store import TuningStore
from sagelocal.service.tuning.tuner import Tuner

_stop = threading.Event()


def _on_sigterm(signum: int, frame: Any) -> None:
    _stop.set()


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m sagelocal.service.tuner <tuning-job-name>", file=sys.stderr)
        return 2
    name = args[0]
    home = config.home()
    record = TuningStore(Database(StatePaths(home).database)).require(name)
    emulator = Emulator(home, runner=record.runner)
    try:
        Tuner(emulator, emulator.tuning, name, _stop).run()
    except BaseException as e:
        traceback.print_exc()
        emulator.tuning.stop_children(emulator.tuning.store.require(name))
        emulator.tuning.store.finish(
            name, "Failed", f"sagelocal: the tuner failed: {type(e).__name__}: {e}"[:1024]
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
