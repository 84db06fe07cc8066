"""The error kinds the container reports, as sagemaker-containers / the 0.72 image classify them.

``UserError`` is a customer problem (bad hyperparameter, bad data). ``AlgorithmError`` is everything else.
The entry point turns either into the failure file text (reference §12) and a non-zero exit.
"""

from __future__ import annotations


class AlgorithmFailure(Exception):
    kind = "AlgorithmError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.site: str | None = None  # where in the image's code it is raised (``failure.at``)


class UserError(AlgorithmFailure):
    kind = "ClientError"


class AlgorithmError(AlgorithmFailure):
    kind = "AlgorithmError"
