"""References to AWS resources as requests spell them: S3 URIs (``s3://bucket/key``) and image URIs
(``<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>``), parsed once here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["ImageRef", "S3Uri"]


class S3Uri(NamedTuple):
    """``s3://bucket/key/part`` as ``S3Uri("bucket", "key/part")``; a tuple, so ``bucket, key = S3Uri.parse(u)``."""

    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Uri:
        """Raises ValueError for anything but ``s3://<bucket>[/<key>]``. The key is kept verbatim (no
        normalisation of ``//`` or percent escapes), as S3 keeps it."""
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            raise ValueError(f"Not an S3 URI (expected s3://bucket/key): {uri!r}")
        bucket, _, key = uri[len("s3://") :].partition("/")
        if not bucket:
            raise ValueError(f"S3 URI has no bucket: {uri!r}")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


#: An ECR registry host: ``<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`` (ECR user guide, "Amazon ECR
#: private registries": https://docs.aws.amazon.com/AmazonECR/latest/userguide/Registries.html).
_ECR_HOST = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?", re.IGNORECASE
)


@dataclass(frozen=True)
class ImageRef:
    """A container image reference, split as Docker splits it (distribution/reference's grammar,
    github.com/distribution/reference reference.go): an optional registry host (the first path component, when
    it has a ``.`` or ``:`` or is ``localhost``), the repository path, then an optional ``:tag`` and
    ``@digest``. For an ECR host, ``account`` and ``region`` are its parts."""

    registry: str | None
    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, uri: str) -> ImageRef:
        rest, _, digest = uri.partition("@")
        first, slash, remainder = rest.partition("/")
        registry = None
        if slash and ("." in first or ":" in first or first == "localhost"):
            registry, rest = first, remainder
        repository, tag = rest, None
        if ":" in rest.rpartition("/")[2]:
            repository, _, tag = rest.rpartition(":")
        return cls(registry, repository, tag or None, digest or None)

    @property
    def name(self) -> str:
        """The repository's last path component: ``sagemaker-xgboost`` in ``…/sagemaker-xgboost:1.7-1``."""
        return self.repository.rpartition("/")[2]

    @property
    def account(self) -> str | None:
        match = _ECR_HOST.fullmatch(self.registry or "")
        return match.group("account") if match else None

    @property
    def region(self) -> str | None:
        match = _ECR_HOST.fullmatch(self.registry or "")
        return match.group("region") if match else None

    @property
    def location(self) -> str:
        """Registry and repository, without tag or digest: what ``docker pull`` takes beside ``tag=``."""
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    def __str__(self) -> str:
        text = self.location
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text
