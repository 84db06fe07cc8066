"""Request signature verification: only the holder of the server's credentials can call it.

Every form of authentication an AWS SDK or the AWS CLI sends is checked against
:class:`sagelocal.server.credentials.Credentials`:

- Signature V4 in the ``Authorization`` header (``AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
  Signature=…``), with S3's ``X-Amz-Content-SHA256`` payload hash, ``UNSIGNED-PAYLOAD`` and the streaming forms;
- Signature V4 presigned query URLs (``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-Expires``,
  ``X-Amz-SignedHeaders``, ``X-Amz-Signature``), expiry honoured;
- Signature V2 (``AWS <key>:<signature>`` headers, and ``AWSAccessKeyId``/``Expires``/``Signature`` presigned
  query URLs, which ``aws s3 presign`` of AWS CLI v1 makes);
- the per-chunk signatures of ``aws-chunked`` bodies (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``), through
  :class:`ChunkSignatureVerifier`, which the S3 body decoder calls as chunks arrive.

The expected signature is computed by botocore's own signers (``botocore.auth.SigV4Auth``, ``S3SigV4Auth``,
``SigV4QueryAuth``, ``S3SigV4QueryAuth``, ``HmacV1Auth``, ``HmacV1QueryAuth``), fed with the request exactly as
the client sent it: the raw path and query (ASGI ``raw_path`` / ``query_string``), only the headers it signed,
and its own timestamp. A second implementation of the canonicalisation rules would drift from the client's;
the client's own code cannot. The only overrides are the ones a verifier needs: the signed header set comes
from ``SignedHeaders`` instead of "every header present", and dates come from the request instead of the clock.

Failures raise :class:`SignatureError`, a :class:`~sagelocal.aws.errors.ServiceError` carrying the code,
message and HTTP status the real service returns, so each wire module renders it in its own protocol (S3 XML
with ``extra`` elements, AWS JSON 1.1 ``__type``, STS ``ErrorResponse``). Sources for those, per
:class:`Protocol`:

- S3: ``SignatureDoesNotMatch`` / ``InvalidAccessKeyId`` texts as moto has them (getmoto/moto,
  moto/s3/exceptions.py); ``RequestTimeTooSkewed`` with ``RequestTime``/``ServerTime``/
  ``MaxAllowedSkewMilliseconds`` (aws/aws-sdk-php#612, versity/versitygw#1514); ``AccessDenied`` "Request has
  expired" with ``X-Amz-Expires``/``Expires``/``ServerTime`` (aws/aws-sdk-php#1333) and "Request is not yet
  valid" (dmjio/s3-signer#16).
- AWS JSON (SageMaker, CloudWatch Logs): all 400. ``InvalidSignatureException`` for a wrong signature
  (teralytics/prometheus-ecs-discovery#7), "Signature expired: … (… - 15 min.)" (aws/aws-sdk-js#254),
  "Credential should be scoped to correct service: 'sagemaker'. " (JuliaCloud/AWS.jl#334);
  ``UnrecognizedClientException`` "The security token included in the request is invalid."
  (aws/amazon-sagemaker-operator-for-k8s#99); ``IncompleteSignatureException`` texts
  (iann0036/cloud9-sync#10); ``MissingAuthenticationTokenException`` "Request is missing Authentication Token"
  (architect/dynalite#105, which mirrors DynamoDB).
- Query (STS): the AWS common errors (``IncompleteSignature`` 400, ``InvalidClientTokenId`` 403,
  ``MissingAuthenticationToken`` 403, ``RequestExpired`` 400; e.g.
  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/CommonErrors.html), ``SignatureDoesNotMatch`` 403
  with the message moto uses (moto/core/exceptions.py) and "Signature expired" for skew (aws/aws-cli#6676).
"""

from sagelocal.server.auth.chunks import ChunkSignatureVerifier
from sagelocal.server.auth.errors import Protocol, SignatureError
from sagelocal.server.auth.request import IncomingRequest, Verified
from sagelocal.server.auth.verify import Verifier

__all__ = ["ChunkSignatureVerifier", "IncomingRequest", "Protocol", "SignatureError", "Verified", "Verifier"]
