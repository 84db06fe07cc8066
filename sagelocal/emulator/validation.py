"""CreateTrainingJob request validation as the SageMaker service does it (reference sagemaker-api §2–3).
(SKELETON: being built.)"""

from __future__ import annotations

from typing import Any


def validate_create_training_job(request: dict[str, Any], *, allow_local_instance: bool = True) -> None:
    """Raise ValidationException, worded as SageMaker words it
    (``1 validation error detected: Value '…' at '…' failed to satisfy constraint: …``), for every violated
    constraint of the request. ``allow_local_instance`` lets InstanceType ``local`` through (local backends)."""
    raise NotImplementedError
