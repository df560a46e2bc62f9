"""Client side: sign HTTP requests to a Kumo gateway with botocore's SigV4 signer (the CLI, benches, tests).

:class:`SigV4Auth` is an ``httpx.Auth``: ``httpx.post(url, content=..., auth=SigV4Auth(key_id, secret))``.
"""

from __future__ import annotations

from collections.abc import Generator

import httpx
from botocore.auth import SigV4Auth as _BotocoreSigV4
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

#: Headers a request keeps unsigned (everything else the client chose is signed as-is).
_UNSIGNED = frozenset({"user-agent", "accept", "accept-encoding", "connection", "content-length", "expect"})


def sign_headers(
    method: str,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    key_id: str,
    secret: str,
    service: str,
    region: str = "us-east-1",
    session_token: str | None = None,
) -> dict[str, str]:
    """``X-Amz-Date`` and ``Authorization`` (and the token header, if any) for this request."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    _BotocoreSigV4(Credentials(key_id, secret, session_token), service, region).add_auth(request)
    wanted = ("authorization", "x-amz-date", "x-amz-security-token")
    return {k: v for k, v in request.headers.items() if k.lower() in wanted}


class SigV4Auth(httpx.Auth):
    """Signs each httpx request (body included) for ``service`` (``lambda`` or ``dynamodb``)."""

    requires_request_body = True

    def __init__(self, key_id: str, secret: str, service: str = "lambda", region: str = "us-east-1") -> None:
        self.key_id = key_id
        self.secret = secret
        self.service = service
        self.region = region

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        signed = {k: v for k, v in request.headers.items() if k.lower() not in _UNSIGNED and k.lower() != "host"}
        request.headers.update(
            sign_headers(
                request.method,
                str(request.url),
                request.content,
                signed,
                key_id=self.key_id,
                secret=self.secret,
                service=self.service,
                region=self.region,
            )
        )
        yield request
