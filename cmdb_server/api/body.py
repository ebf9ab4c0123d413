"""Reading a request body with a size limit, gzip or not (reports and import files)."""

from __future__ import annotations

import zlib

from fastapi import Request

from cmdb_server.errors import ApiError, BadRequest
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
