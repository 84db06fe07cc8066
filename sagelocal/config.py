"""Process-wide settings: where state lives and the identity the emulator answers with."""

from __future__ import annotations

import os
from pathlib import Path

#: The AWS account the emulator pretends to be. Any 12 digits would do; this one is AWS's documentation example.
ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
#: Used locally when a request names no role (SageMaker itself always requires one).
DUMMY_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/SageMakerRole"
#: The bucket the CLI uploads local inputs to when no --output-path names one (SageMaker's default_bucket()).
DEFAULT_BUCKET = f"sagemaker-{DEFAULT_REGION}-{ACCOUNT_ID}"


def home() -> Path:
    """The state directory: ``$SAGELOCAL_HOME``, else ``~/.sagelocal``. Created on first use."""
    path = Path(os.environ.get("SAGELOCAL_HOME") or "~/.sagelocal").expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
