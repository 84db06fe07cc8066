"""The failure file of the open-source images (reference §12), with the image's traceback, never the host's.

sagemaker-containers' generic handler (aws/sagemaker-containers v2.8.6.post2 ``_trainer.py``) catches every
exception of the algorithm — the toolkit's ``UserError`` is not its ``ClientError`` — and writes
``"framework error: \\n%s\\n%s" % (traceback.format_exc(), str(e))``; SageMaker shows the first 1024 characters
prefixed ``AlgorithmError: `` (aws/amazon-sagemaker-examples#1740 quotes one). sagelocal runs other code, so it
writes the traceback the image's code would have raised at the same place: the frames of ``failure_frames``,
chosen by the *site* the error was raised at (:func:`at`). Frames below the deepest site sagelocal tracks (the
toolkit's range validators, XGBoost's own Python frames) are not reproduced.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sagelocal.algorithms.xgboost.errors import AlgorithmError, AlgorithmFailure, UserError
from sagelocal.algorithms.xgboost.failure_frames import FRAMES
from sagelocal.algorithms.xgboost.versions import ImageVersion

#: ``sagemaker_containers/_trainer.py`` v2.8.6.post2, ``train()``.
_TRAINER = ("sagemaker_containers/_trainer.py", 84, "train", "entrypoint()")
#: ``os.py`` ``_Environ.__getitem__``: ``raise KeyError(key) from None``, per Python version.
_OS_GETITEM_LINE = {"3.6": 669, "3.7": 681, "3.8": 675, "3.9": 679, "3.10": 680}
_TOOLKIT = "sagemaker_algorithm_toolkit.exceptions"


@contextmanager
def at(site: str) -> Iterator[None]:
    """Mark errors raised inside as raised at ``site`` of ``sagemaker_train`` (``hp``, ``ch``, ``dm``,
    ``job``, ``no_train``, ``no_val``, ``chan``), unless an inner block named theirs."""
    try:
        yield
    except BaseException as e:
        if getattr(e, "site", None) is None:
            try:
                e.site = site  # type: ignore[attr-defined]
            except AttributeError:
                pass
        raise


def failure_text(version: ImageVersion, error: BaseException) -> str:
    """What the image writes to ``/opt/ml/output/failure`` for ``error``."""
    message = error.message if isinstance(error, AlgorithmFailure) else str(error)
    return f"framework error: \n{image_traceback(version, error)}\n{message}"


def image_traceback(version: ImageVersion, error: BaseException) -> str:
    """``traceback.format_exc()`` as the image's Python would print it (ends with a newline)."""
    frames = FRAMES.get(version.name, {})
    site = getattr(error, "site", None)
    if isinstance(error, KeyError) and str(error) == "'SM_CHANNEL_TRAIN'":
        site = "chan"
    packages = version.site_packages

    def frame(path: str, line: int, function: str, code: str) -> str:
        return f'  File "{path}", line {line}, in {function}\n    {code}\n'

    def ours(site_name: str, module: str, function: str) -> str:
        entry = frames.get(site_name)
        if entry is None:
            return ""
        name = entry[2] if len(entry) > 2 else function
        return frame(f"{packages}/{module}", entry[0], name, entry[1])

    training = "sagemaker_xgboost_container/training.py"
    train_py = "sagemaker_xgboost_container/algorithm_mode/train.py"
    hp_py = "sagemaker_algorithm_toolkit/hyperparameter_validation.py"
    ch_py = "sagemaker_algorithm_toolkit/channel_validation.py"
    head = "Traceback (most recent call last):\n" + frame(f"{packages}/{_TRAINER[0]}", *_TRAINER[1:])
    head += ours("main", training, "main") + ours("train", training, "train")
    if site == "chan":
        body = ours("chan", training, "run_algorithm_mode")
        body += frame(
            f"{packages.rsplit('/', 1)[0]}/os.py",
            _OS_GETITEM_LINE.get(version.python, 680),
            "__getitem__",
            "raise KeyError(key) from None",
        )
        return head + body + "KeyError: 'SM_CHANNEL_TRAIN'\n"

    body = ours("call", training, "run_algorithm_mode")
    before = ""  # a traceback Python prints first, "During handling of the above exception"
    message = error.message if isinstance(error, AlgorithmFailure) else str(error)
    if site == "hp":
        body += ours("hp", train_py, "sagemaker_train")
        sub = _hyperparameter_site(message)
        body += ours(sub, hp_py, "validate")
        if sub == "h_extra":
            name = message.rsplit(": ", 1)[-1]
            before = (
                "Traceback (most recent call last):\n"
                + ours("h_key", hp_py, "validate")
                + f"KeyError: {name!r}\n"
            )
    elif site == "ch":
        body += ours("ch", train_py, "sagemaker_train")
        if message.startswith("Missing required channel"):
            body += ours("c_missing", ch_py, "validate")
        elif message.startswith("Extraneous channel"):
            body += ours("c_extra", ch_py, "validate")
        else:
            body += ours("c_call", ch_py, "validate")
            if message.startswith("Channel configuration for"):
                body += ours("c_unsup", ch_py, "validate")
    elif site in ("dm", "no_train", "no_val"):
        body += ours(site, train_py, "sagemaker_train")
    elif site == "job":
        body += ours("job", train_py, "sagemaker_train")
        body += ours("usr" if isinstance(error, UserError) else "alg", train_py, "train_job")
    if before:
        before += "\nDuring handling of the above exception, another exception occurred:\n\n"
    return before + head + body + f"{_exception_name(error)}: {message}\n"


def _hyperparameter_site(message: str) -> str:
    if message.startswith("Missing required hyperparameter"):
        return "h_missing"
    if message.startswith("Extraneous hyperparameter"):
        return "h_extra"
    if message.endswith("could not parse value (caused by ValueError)"):
        return "h_parse"
    if message.startswith("Hyperparameter ") and " not in " in message:
        return "h_range"
    return "h_deps"


def _exception_name(error: BaseException) -> str:
    if isinstance(error, UserError):
        return f"{_TOOLKIT}.UserError"
    if isinstance(error, AlgorithmError | AlgorithmFailure):
        return f"{_TOOLKIT}.AlgorithmError"
    if isinstance(error, KeyError):
        return "KeyError"  # sagelocal's subclasses stand for the image's bare KeyError
    return type(error).__name__


__all__ = ["at", "failure_text", "image_traceback"]
