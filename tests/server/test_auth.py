"""Signature verification (sagelocal.server.auth) against requests signed by botocore itself.

Every accepted case is a request a real boto3 client built and signed; every refused case is one of those,
tampered with, or signed with the wrong key, and must get the exact error code the real service returns.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.signed_requests import (
    at,
    body_of,
    client,
    from_url,
    grab,
    incoming,
    plain_client,
    with_header,
)

from sagelocal.server.auth import (
    IncomingRequest,
    Protocol,
    SignatureError,
    Verifier,
)
from sagelocal.server.credentials import Credentials, generate

CREDS = generate()
OTHER_SECRET = Credentials(CREDS.access_key_id, generate().secret_access_key)
OTHER_KEY = generate()


def verifier() -> Verifier:
    return Verifier(CREDS)


def refused(call: object, *args: object, **kwargs: object) -> SignatureError:
    with pytest.raises(SignatureError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value


# --- accepted: what boto3 sends ---------------------------------------------------------------------------


def test_s3_put_get_list_delete_are_accepted() -> None:
    s3 = client("s3", CREDS)
    put = grab(s3.put_object, Bucket="b", Key="dir/a b+c%2F€.csv", Body=b"hello")
    verified = verifier().verify(incoming(put), Protocol.S3, "s3")
    assert verified.scheme == "sigv4-header"
    verified.check_payload_sha256(hashlib.sha256(b"hello").hexdigest())
    for prepared in (
        grab(s3.get_object, Bucket="b", Key="a b/c"),
        grab(s3.head_object, Bucket="b", Key="k"),
        grab(s3.list_objects_v2, Bucket="b", Prefix="x y+z/€", Delimiter="/"),
        grab(s3.list_buckets),
        grab(s3.delete_objects, Bucket="b", Delete={"Objects": [{"Key": "a"}, {"Key": "b c"}]}),
        grab(s3.copy_object, Bucket="b", Key="to", CopySource={"Bucket": "b", "Key": "from €"}),
    ):
        verifier().verify(incoming(prepared), Protocol.S3, "s3")


def test_s3_streaming_put_with_trailing_checksum_is_accepted() -> None:
    """Over https botocore streams bodies as aws-chunked with STREAMING-UNSIGNED-PAYLOAD-TRAILER: the header
    signature covers the request, a trailing checksum the body; there are no chunk signatures to check."""
    s3 = client("s3", CREDS, endpoint="https://127.0.0.1:9090")
    request = incoming(grab(s3.put_object, Bucket="b", Key="k", Body=io.BytesIO(b"x" * 100_000)))
    assert request.header("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert request.header("content-encoding") == "aws-chunked"
    verified = verifier().verify(request, Protocol.S3, "s3")
    assert (verified.content_sha256, verified.chunks) == (None, None)


def test_s3_multipart_upload_is_accepted() -> None:
    s3 = client("s3", CREDS)
    for prepared in (
        grab(s3.create_multipart_upload, Bucket="b", Key="big file"),
        grab(s3.upload_part, Bucket="b", Key="big file", UploadId="u/1+2", PartNumber=1, Body=b"p" * 1000),
        grab(
            s3.complete_multipart_upload,
            Bucket="b",
            Key="big file",
            UploadId="u/1+2",
            MultipartUpload={"Parts": [{"ETag": '"e"', "PartNumber": 1}]},
        ),
        grab(s3.abort_multipart_upload, Bucket="b", Key="big file", UploadId="u"),
    ):
        verifier().verify(incoming(prepared), Protocol.S3, "s3")


def test_s3_virtual_host_style_is_accepted() -> None:
    s3 = client("s3", CREDS, endpoint="http://localhost:9090", s3={"addressing_style": "virtual"})
    put = grab(s3.put_object, Bucket="bucket", Key="a b", Body=b"x")
    request = incoming(put)
    assert request.header("host") == "bucket.localhost:9090"
    verifier().verify(request, Protocol.S3, "s3", host_bucket="bucket")


def test_json_and_query_services_are_accepted() -> None:
    for service, call, params, protocol in (
        ("sagemaker", "list_training_jobs", {}, Protocol.JSON),
        ("sagemaker", "describe_training_job", {"TrainingJobName": "job-€"}, Protocol.JSON),
        ("logs", "describe_log_streams", {"logGroupName": "/aws/sagemaker/TrainingJobs"}, Protocol.JSON),
        ("sts", "get_caller_identity", {}, Protocol.QUERY),
    ):
        made = client(service, CREDS)
        prepared = grab(getattr(made, call), **params)
        verified = verifier().verify(incoming(prepared), protocol, service, body=body_of(prepared))
        assert verified.access_key_id == CREDS.access_key_id


def test_presigned_sigv4_get_and_put_are_accepted() -> None:
    s3 = plain_client("s3", CREDS, signature_version="s3v4")
    get_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "b", "Key": "a b/€+%2F"}, ExpiresIn=60
    )
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "b", "Key": "up load"}, ExpiresIn=60)
    assert "X-Amz-Signature=" in get_url
    assert verifier().verify(from_url("GET", get_url), Protocol.S3, "s3").scheme == "sigv4-query"
    request = from_url("PUT", put_url, ("content-length", "5"), ("x-amz-checksum-crc32", "NhCmhg=="))
    verifier().verify(request, Protocol.S3, "s3")


def test_presigned_sigv2_get_is_accepted() -> None:
    """The ``AWSAccessKeyId``/``Expires``/``Signature`` URLs ``aws s3 presign`` of AWS CLI v1 makes (botocore's
    HmacV1QueryAuth), path- and virtual-host-style."""
    s3 = plain_client("s3", CREDS, signature_version="s3")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k €+ /x"}, ExpiresIn=60)
    assert "AWSAccessKeyId=" in url
    assert verifier().verify(from_url("GET", url), Protocol.S3, "s3").scheme == "sigv2-query"
    virtual = plain_client(
        "s3",
        CREDS,
        endpoint="http://localhost:9090",
        signature_version="s3",
        s3={"addressing_style": "virtual"},
    )
    url = virtual.generate_presigned_url(
        "get_object", Params={"Bucket": "bucket", "Key": "k y"}, ExpiresIn=60
    )
    assert "//bucket.localhost:9090/" in url
    verifier().verify(from_url("GET", url), Protocol.S3, "s3", host_bucket="bucket")


def test_sigv2_header_signed_request_is_accepted() -> None:
    s3 = client("s3", CREDS, signature_version="s3")
    prepared = grab(s3.get_object, Bucket="b", Key="a b")
    assert prepared.headers["Authorization"].startswith(b"AWS ")
    assert verifier().verify(incoming(prepared), Protocol.S3, "s3").scheme == "sigv2-header"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        min_size=1,
        max_size=40,
    ).filter(lambda k: len(k.encode("utf-8")) <= 1024)
)
def test_every_key_boto3_can_sign_is_accepted(key: str) -> None:
    s3 = client("s3", CREDS)
    verifier().verify(incoming(grab(s3.put_object, Bucket="b", Key=key, Body=b"x")), Protocol.S3, "s3")
    verifier().verify(incoming(grab(s3.list_objects_v2, Bucket="b", Prefix=key)), Protocol.S3, "s3")
    presigner = plain_client("s3", CREDS, signature_version="s3v4")
    url = presigner.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": key}, ExpiresIn=60)
    verifier().verify(from_url("GET", url), Protocol.S3, "s3")


# --- refused: the services' own errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "call", "protocol", "code", "status"),
    [
        ("s3", "list_buckets", Protocol.S3, "SignatureDoesNotMatch", 403),
        ("sagemaker", "list_training_jobs", Protocol.JSON, "InvalidSignatureException", 400),
        ("logs", "describe_log_groups", Protocol.JSON, "InvalidSignatureException", 400),
        ("sts", "get_caller_identity", Protocol.QUERY, "SignatureDoesNotMatch", 403),
    ],
)
def test_wrong_secret_is_refused(service: str, call: str, protocol: Protocol, code: str, status: int) -> None:
    prepared = grab(getattr(client(service, OTHER_SECRET), call))
    error = refused(verifier().verify, incoming(prepared), protocol, service, body=body_of(prepared))
    assert (error.code, error.http_status) == (code, status)
    if protocol is Protocol.S3:
        assert error.message == (
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method."
        )
        assert "CanonicalRequest" in error.extra and error.extra["SignatureProvided"]


@pytest.mark.parametrize(
    ("service", "call", "protocol", "code", "status"),
    [
        ("s3", "list_buckets", Protocol.S3, "InvalidAccessKeyId", 403),
        ("sagemaker", "list_training_jobs", Protocol.JSON, "UnrecognizedClientException", 400),
        ("sts", "get_caller_identity", Protocol.QUERY, "InvalidClientTokenId", 403),
    ],
)
def test_unknown_key_is_refused(service: str, call: str, protocol: Protocol, code: str, status: int) -> None:
    prepared = grab(getattr(client(service, OTHER_KEY), call))
    error = refused(verifier().verify, incoming(prepared), protocol, service, body=body_of(prepared))
    assert (error.code, error.http_status) == (code, status)
    if protocol is Protocol.S3:
        assert error.message == "The AWS Access Key Id you provided does not exist in our records."
    else:
        assert error.message == "The security token included in the request is invalid."


@pytest.mark.parametrize(
    ("protocol", "code", "status"),
    [
        (Protocol.S3, "AccessDenied", 403),
        (Protocol.JSON, "MissingAuthenticationTokenException", 400),
        (Protocol.QUERY, "MissingAuthenticationToken", 403),
    ],
)
def test_missing_authentication_is_refused(protocol: Protocol, code: str, status: int) -> None:
    request = IncomingRequest("GET", b"/b/k", b"", (("host", "127.0.0.1:9090"),))
    error = refused(verifier().verify, request, protocol, "s3", body=b"")
    assert (error.code, error.http_status) == (code, status)


def test_malformed_authorization_is_incomplete_signature() -> None:
    request = IncomingRequest(
        "POST", b"/", b"", (("host", "h"), ("authorization", "AWS4-HMAC-SHA256 Credential=AKIA/x"))
    )
    error = refused(verifier().verify, request, Protocol.QUERY, "sts", body=b"")
    assert error.code == "IncompleteSignature"
    assert "Authorization header requires 'Signature' parameter." in error.message
    error = refused(verifier().verify, request, Protocol.JSON, "sagemaker", body=b"")
    assert error.code == "IncompleteSignatureException"
    error = refused(verifier().verify, request, Protocol.S3, "s3")
    assert error.code == "AuthorizationHeaderMalformed"


def test_tampering_is_refused() -> None:
    s3 = client("s3", CREDS)
    put = grab(s3.put_object, Bucket="b", Key="k", Body=b"hello")
    request = incoming(put)
    for tampered in (
        IncomingRequest(request.method, b"/b/other", request.query_string, request.headers),
        IncomingRequest(request.method, request.raw_path, b"acl=", request.headers),
        IncomingRequest("POST", request.raw_path, request.query_string, request.headers),
        with_header(request, "x-amz-checksum-crc32", "AAAAAA=="),
        with_header(request, "host", "localhost:9090"),
    ):
        assert refused(verifier().verify, tampered, Protocol.S3, "s3").code == "SignatureDoesNotMatch"
    # an x-amz-* header the client did not sign
    error = refused(verifier().verify, with_header(request, "x-amz-acl", "public-read"), Protocol.S3, "s3")
    assert (error.code, error.extra["HeadersNotSigned"]) == ("AccessDenied", "x-amz-acl")
    # the body S3 received is not the one that was signed
    verified = verifier().verify(request, Protocol.S3, "s3")
    error = refused(verified.check_payload_sha256, hashlib.sha256(b"HELLO").hexdigest())
    assert (error.code, error.http_status) == ("XAmzContentSHA256Mismatch", 400)

    listing = grab(s3.list_objects_v2, Bucket="b", Prefix="a")
    changed = IncomingRequest(
        "GET", b"/b", b"list-type=2&prefix=b&encoding-type=url", incoming(listing).headers
    )
    assert refused(verifier().verify, changed, Protocol.S3, "s3").code == "SignatureDoesNotMatch"

    sagemaker = client("sagemaker", CREDS)
    prepared = grab(sagemaker.describe_training_job, TrainingJobName="a")
    error = refused(
        verifier().verify, incoming(prepared), Protocol.JSON, "sagemaker", body=b'{"TrainingJobName":"b"}'
    )
    assert error.code == "InvalidSignatureException"


def test_wrong_service_scope_is_refused() -> None:
    prepared = grab(client("logs", CREDS).describe_log_groups)
    error = refused(verifier().verify, incoming(prepared), Protocol.JSON, "sagemaker", body=body_of(prepared))
    assert (error.code, error.message) == (
        "InvalidSignatureException",
        "Credential should be scoped to correct service: 'sagemaker'. ",
    )


def test_skewed_clock_is_refused() -> None:
    late = datetime.now(UTC) + timedelta(minutes=16)
    s3 = grab(client("s3", CREDS).list_buckets)
    error = refused(Verifier(CREDS, clock=at(late)).verify, incoming(s3), Protocol.S3, "s3")
    assert (error.code, error.http_status) == ("RequestTimeTooSkewed", 403)
    assert error.extra["MaxAllowedSkewMilliseconds"] == "900000"
    sm = grab(client("sagemaker", CREDS).list_training_jobs)
    error = refused(
        Verifier(CREDS, clock=at(late)).verify, incoming(sm), Protocol.JSON, "sagemaker", body=body_of(sm)
    )
    assert error.code == "InvalidSignatureException"
    assert error.message.startswith("Signature expired: ") and error.message.endswith(" - 15 min.)")
    sts = grab(client("sts", CREDS).get_caller_identity)
    error = refused(
        Verifier(CREDS, clock=at(late)).verify, incoming(sts), Protocol.QUERY, "sts", body=body_of(sts)
    )
    assert error.code == "SignatureDoesNotMatch" and error.message.startswith("Signature expired: ")
    early = datetime.now(UTC) - timedelta(minutes=16)
    error = refused(
        Verifier(CREDS, clock=at(early)).verify, incoming(sm), Protocol.JSON, "sagemaker", body=body_of(sm)
    )
    assert error.message.startswith("Signature not yet current: ")
    # within 15 minutes is fine
    Verifier(CREDS, clock=at(datetime.now(UTC) + timedelta(minutes=14))).verify(
        incoming(s3), Protocol.S3, "s3"
    )


def test_expired_presigned_urls_are_refused() -> None:
    later = datetime.now(UTC) + timedelta(seconds=120)
    v4 = plain_client("s3", CREDS, signature_version="s3v4")
    url = v4.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=60)
    error = refused(Verifier(CREDS, clock=at(later)).verify, from_url("GET", url), Protocol.S3, "s3")
    assert (error.code, error.message, error.extra["X-Amz-Expires"]) == (
        "AccessDenied",
        "Request has expired",
        "60",
    )
    v2 = plain_client("s3", CREDS, signature_version="s3")
    url = v2.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=60)
    error = refused(Verifier(CREDS, clock=at(later)).verify, from_url("GET", url), Protocol.S3, "s3")
    assert (error.code, error.message) == ("AccessDenied", "Request has expired")
    # a presigned URL is bound to its method, path and query
    url = v4.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=60)
    assert (
        refused(verifier().verify, from_url("DELETE", url), Protocol.S3, "s3").code == "SignatureDoesNotMatch"
    )
    assert (
        refused(verifier().verify, from_url("GET", url.replace("/b/k", "/b/j")), Protocol.S3, "s3").code
        == "SignatureDoesNotMatch"
    )
    url = v2.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=60)
    assert refused(verifier().verify, from_url("PUT", url), Protocol.S3, "s3").code == "SignatureDoesNotMatch"
    week = v4.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=604801)
    assert refused(verifier().verify, from_url("GET", week), Protocol.S3, "s3").code == (
        "AuthorizationQueryParametersError"
    )


# --- aws-chunked: AWS's published example -----------------------------------------------------------------

# https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html, "Example: PUT Object": 66560 bytes of
# "a" in a 65536-byte chunk, a 1024-byte chunk and the final empty one, signed with AWS's example key.
EXAMPLE = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNKS = [
    (65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"),
    (1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"),
    (0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"),
]


def example_request(seed: str = SEED) -> IncomingRequest:
    signed = (
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
    )
    return IncomingRequest(
        "PUT",
        b"/examplebucket/chunkObject.txt",
        b"",
        (
            ("host", "s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                f"SignedHeaders={signed}x-amz-storage-class,Signature={seed}",
            ),
            ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"),
            ("content-length", "66824"),
        ),
    )


def example_verifier() -> Verifier:
    return Verifier(EXAMPLE, clock=at(datetime(2013, 5, 24, 0, 5, tzinfo=UTC)))


def test_aws_chunked_signatures_match_aws_example() -> None:
    verified = example_verifier().verify(example_request(), Protocol.S3, "s3")
    assert verified.chunks is not None and verified.content_sha256 is None
    for size, signature in CHUNKS:
        verified.chunks.update(b"a" * (size // 2))  # data may arrive in pieces
        verified.chunks.update(b"a" * (size - size // 2))
        verified.chunks.end_chunk(signature)
    verified.chunks.check_complete()


def test_aws_chunked_tampering_is_refused() -> None:
    assert (
        refused(example_verifier().verify, example_request(SEED[:-1] + "0"), Protocol.S3, "s3").code
        == "SignatureDoesNotMatch"
    )
    chunks = example_verifier().verify(example_request(), Protocol.S3, "s3").chunks
    assert chunks is not None
    chunks.update(b"a" * 65536)
    chunks.end_chunk(CHUNKS[0][1])
    chunks.update(b"a" * 1023 + b"b")  # one byte changed
    assert refused(chunks.end_chunk, CHUNKS[1][1]).code == "SignatureDoesNotMatch"

    reordered = example_verifier().verify(example_request(), Protocol.S3, "s3").chunks
    assert reordered is not None
    reordered.update(b"a" * 1024)
    assert refused(reordered.end_chunk, CHUNKS[1][1]).code == "SignatureDoesNotMatch"

    truncated = example_verifier().verify(example_request(), Protocol.S3, "s3").chunks
    assert truncated is not None
    truncated.update(b"a" * 65536)
    truncated.end_chunk(CHUNKS[0][1])
    assert refused(truncated.check_complete).code == "SignatureDoesNotMatch"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def test_aws_chunked_with_signed_trailer() -> None:
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: the seed signed by botocore, chunk and trailer signatures
    computed here from the AWS documentation's formulas, independently of the verifier's code."""
    request = AWSRequest(method="PUT", url="http://127.0.0.1:9090/b/k", data=b"")
    request.headers["X-Amz-Content-SHA256"] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    request.headers["X-Amz-Trailer"] = "x-amz-checksum-crc32"
    request.headers["Content-Encoding"] = "aws-chunked"
    SigV4Auth(BotoCredentials(CREDS.access_key_id, CREDS.secret_access_key), "s3", "us-east-1").add_auth(
        request
    )
    seed = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    timestamp = request.context["timestamp"]
    scope = f"{timestamp[:8]}/us-east-1/s3/aws4_request"
    key = _hmac(f"AWS4{CREDS.secret_access_key}".encode(), timestamp[:8])
    for part in ("us-east-1", "s3", "aws4_request"):
        key = _hmac(key, part)
    empty = hashlib.sha256(b"").hexdigest()
    signatures, previous = [], seed
    for data in (b"x" * 9000, b""):
        text = "\n".join(
            ["AWS4-HMAC-SHA256-PAYLOAD", timestamp, scope, previous, empty, hashlib.sha256(data).hexdigest()]
        )
        previous = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
        signatures.append(previous)
    trailer = [("x-amz-checksum-crc32", "AAAAAA==")]
    text = "\n".join(
        [
            "AWS4-HMAC-SHA256-TRAILER",
            timestamp,
            scope,
            previous,
            hashlib.sha256(b"x-amz-checksum-crc32:AAAAAA==\n").hexdigest(),
        ]
    )
    trailer_signature = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()

    received = IncomingRequest(
        "PUT",
        b"/b/k",
        b"",
        (("host", "127.0.0.1:9090"), *((k.lower(), v) for k, v in request.headers.items())),
    )
    verified = verifier().verify(received, Protocol.S3, "s3")
    assert verified.chunks is not None and verified.chunks.trailer
    verified.chunks.update(b"x" * 9000)
    verified.chunks.end_chunk(signatures[0])
    verified.chunks.end_chunk(signatures[1])
    assert not verified.chunks.complete
    assert refused(
        verified.chunks.end_trailer, [("x-amz-checksum-crc32", "BBBBBB==")], trailer_signature
    ).code == ("SignatureDoesNotMatch")
    verified.chunks.end_trailer(trailer, trailer_signature)
    verified.chunks.check_complete()
