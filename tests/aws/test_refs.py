"""S3 and image URIs, parsed once for every layer."""

from __future__ import annotations

import pytest

from sagelocal.aws.refs import ImageRef, S3Uri


def test_s3_uri_is_a_bucket_key_pair() -> None:
    bucket, key = S3Uri.parse("s3://bucket/a//b/")
    assert (bucket, key) == ("bucket", "a//b/")
    assert str(S3Uri.parse("s3://bucket/key")) == "s3://bucket/key"
    with pytest.raises(ValueError):
        S3Uri.parse("s3:///key")


@pytest.mark.parametrize(
    ("uri", "registry", "repository", "tag", "digest", "account", "region"),
    [
        (
            "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "683313688378.dkr.ecr.us-east-1.amazonaws.com",
            "sagemaker-xgboost",
            "1.7-1",
            None,
            "683313688378",
            "us-east-1",
        ),
        ("sagelocal-xgboost:3.0-5", None, "sagelocal-xgboost", "3.0-5", None, None, None),
        ("xgboost", None, "xgboost", None, None, None, None),
        ("localhost:5000/team/xgboost", "localhost:5000", "team/xgboost", None, None, None, None),
        ("team/xgboost:1@sha256:ab", None, "team/xgboost", "1", "sha256:ab", None, None),
    ],
)
def test_image_ref(
    uri: str,
    registry: str | None,
    repository: str,
    tag: str | None,
    digest: str | None,
    account: str | None,
    region: str | None,
) -> None:
    ref = ImageRef.parse(uri)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)
    assert (ref.account, ref.region) == (account, region)
    assert ref.name == "xgboost" or ref.name.endswith("-xgboost")
    assert str(ref) == uri
