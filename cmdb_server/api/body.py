"""Reading a request body with a size limit, gzip or not (reports and import files)."""

from __future__ import annotations

import zlib

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cmdb_server.errors import ApiError, BadRequest, api_error_response
from schema.values import quoted


class PayloadTooLarge(ApiError):
    status = 413


async def read_body(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"body larger than {limit} bytes", field="body")
    encoding = request.headers.get("content-encoding", "identity").lower()
    if encoding == "identity":
        return bytes(body)
    if encoding != "gzip":
        raise BadRequest(f"unsupported Content-Encoding {quoted(encoding)}; use gzip or none", field="Content-Encoding")
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(bytes(body), limit + 1)
    except zlib.error as exc:
        raise BadRequest(f"body is not valid gzip: {exc}", field="body") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"body larger than {limit} bytes once decompressed", field="body")
    return data


class BodyLimit:
    """Pure ASGI middleware: a request body under the API prefix may be at most ``limit``
    bytes (413 at once otherwise), except on the paths that read their own, larger bodies
    with ``read_body`` (reports, imports). The framework reads and parses a body whole before
    the route runs, so a 70 MB ``POST /cis`` was read and parsed before being refused."""

    def __init__(self, app: ASGIApp, prefix: str, limit: int, own_limits: tuple[str, ...]) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")
        self.limit = limit
        self.own_limits = tuple(self.prefix + p for p in own_limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(self.prefix + "/") or path in self.own_limits:
            await self.app(scope, receive, send)
            return
        too_large = PayloadTooLarge(f"body larger than {self.limit} bytes", field="body")
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await api_error_response(too_large)(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:  # a body without a length (chunked): read it here, up to the limit
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await api_error_response(too_large)(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        await self.app(scope, _replay(chunks, None, receive), send)


def _replay(chunks: list[bytes], then: Message | None, receive: Receive) -> Receive:
    """A receive that gives what was read here (the body, or the message that was not a body
    chunk), then passes on to the client's (which says when it disconnects)."""
    pending: list[Message] = [then] if then is not None else [{"type": "http.request", "body": b"".join(chunks)}]

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
