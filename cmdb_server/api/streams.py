"""Streamed answers (exports, the graph backup) that fail loudly, never as a file that looks whole.

Once the status line and the first bytes are sent, a failure can no longer be a 4xx or a
5xx. So a stream is checked as far as it can be before its first byte (``primed``: the
first query runs, and a query the database refuses is an error answer as usual), and a
failure after that (``guarded``) appends an error marker the client can read and then
aborts the response: the connection closes without the chunked transfer's last chunk,
which curl reports as ``transfer closed with outstanding read data remaining`` and httpx
as ``RemoteProtocolError`` (incomplete chunked read). The markers are in the README.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import orjson

log = logging.getLogger(__name__)

T = TypeVar("T")

STREAM_FAILED = "the export failed before its end; the server log has the details"


class StreamAborted(Exception):
    """A streamed response failed after its first bytes: the server closes the connection unfinished."""


async def primed(items: AsyncIterator[T]) -> AsyncIterator[T]:
    """``items`` with its first item fetched now, so that what fails at once fails before the answer starts."""
    first = await anext(items, None)

    async def rest() -> AsyncIterator[T]:
        if first is None:
            return
        yield first
        async for item in items:
            yield item

    return rest()


async def guarded(chunks: AsyncIterator[bytes], marker: Callable[[str], bytes], what: str) -> AsyncIterator[bytes]:
    """The chunks; on a failure, the ``marker`` of the error as the last chunk, then an aborted response."""
    try:
        async for chunk in chunks:
            yield chunk
    except Exception as exc:
        log.exception("%s failed after its first bytes; the client is told and the response aborted", what)
        yield marker(STREAM_FAILED)
        raise StreamAborted(f"{what} aborted: {type(exc).__name__}") from exc


def csv_marker(message: str) -> bytes:
    """A last line no CSV export has otherwise (every row starts with a uid): ``#error: ...``."""
    return f"#error: {message}\r\n".encode()


def json_marker(message: str) -> bytes:
    """Closes the ``{"cis": [...`` document with an ``error`` member beside the CIs sent so far."""
    return b'], "error": ' + orjson.dumps({"status": 500, "message": message}) + b"}"


def ndjson_marker(message: str) -> bytes:
    """A last line of kind ``error`` (the other lines are of kind ``node`` or ``relationship``)."""
    return orjson.dumps({"kind": "error", "status": 500, "message": message}) + b"\n"
