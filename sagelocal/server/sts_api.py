"""STS over the query protocol: GetCallerIdentity, answered with the emulator's fixed account."""

from __future__ import annotations

from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response

from sagelocal.config import ACCOUNT_ID
from sagelocal.server import new_request_id

STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
CALLER_ARN = f"arn:aws:iam::{ACCOUNT_ID}:user/sagelocal"
CALLER_USER_ID = "AIDASAGELOCALEXAMPLE"


def _xml(body: str, status: int = 200) -> Response:
    return Response(content=body, status_code=status, media_type="text/xml")


def error_response(code: str, message: str, status: int = 400, sender: bool = True) -> Response:
    request_id = new_request_id()
    return _xml(
        f'<ErrorResponse xmlns="{STS_NAMESPACE}">'
        f"<Error><Type>{'Sender' if sender else 'Receiver'}</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>",
        status,
    )


def get_caller_identity() -> Response:
    request_id = new_request_id()
    return _xml(
        f'<GetCallerIdentityResponse xmlns="{STS_NAMESPACE}">\n'
        "  <GetCallerIdentityResult>\n"
        f"    <Arn>{CALLER_ARN}</Arn>\n"
        f"    <UserId>{CALLER_USER_ID}</UserId>\n"
        f"    <Account>{ACCOUNT_ID}</Account>\n"
        "  </GetCallerIdentityResult>\n"
        "  <ResponseMetadata>\n"
        f"    <RequestId>{request_id}</RequestId>\n"
        "  </ResponseMetadata>\n"
        "</GetCallerIdentityResponse>\n"
    )


async def handle(request: Request) -> Response:
    params = dict(request.query_params)
    if request.method == "POST":
        params.update(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    action = params.get("Action")
    if action is None:
        return error_response("MissingAction", "Missing Action")
    if action == "GetCallerIdentity":
        return get_caller_identity()
    return error_response(
        "InvalidAction",
        f"Could not find operation {action} for version {params.get('Version', '2011-06-15')}",
    )
