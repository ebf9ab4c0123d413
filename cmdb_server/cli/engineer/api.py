"""Talking to the server: one call, and its failure told as the API's error body tells it.

Every command goes through ``call``; an HTTP error, a network error or an answer that is
not JSON becomes an ``ApiCallError`` that ``main`` prints (no traceback) and turns into
exit status 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx


class ApiCallError(Exception):
    """A call that did not do its work. ``status`` is None when the server was not reached;
    ``body`` is the API's error body (``{"error": {...}}``) when it sent one."""

    def __init__(self, message: str, status: int | None = None, body: Any = None, *, fields_told: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.fields_told = fields_told
        """The message already says what the fields would (a command retold the API's error)."""

    @property
    def fields(self) -> list[dict[str, Any]]:
        """The input the API says is at fault (``error.fields``), possibly none."""
        try:
            fields = self.body["error"]["fields"]
        except (KeyError, TypeError):
            return []
        return [f for f in fields or [] if isinstance(f, dict)]

    def explained(self, options: Mapping[str, str] | None = None) -> str:
        """The message, then each field at fault that adds to it, named by its option where the
        command has one (``planned_end (--end)``), with the states allowed or the reasons given."""
        lines = [str(self)]
        for field in [] if self.fields_told else self.fields:
            name = str(field.get("field", ""))
            option = (options or {}).get(name.split(".")[0])
            label = f"{name} ({option})" if option else name
            if field.get("message") and field["message"] not in str(self):
                lines.append(f"  {label}: {field['message']}")
            elif option:
                lines.append(f"  at fault: {label}")
            if field.get("allowed") is not None and f"allowed next: {', '.join(field['allowed'])}" not in str(self):
                lines.append(f"  allowed next: {', '.join(field['allowed']) or 'none (a final state)'}")
        return "\n".join(lines)


def call(
    client: httpx.Client,
    method: str,
    path: str,
    params: Mapping[str, Any] | None = None,
    body: Any = None,
    *,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> Any:
    """The answer's JSON; ApiCallError when the server is unreachable or refuses. ``content``:
    a raw body (a file) instead of ``body``'s JSON; ``timeout``: longer than the client's."""
    response = _send(client, method, path, params, body, content=content, headers=headers, timeout=timeout)
    try:
        return response.json()
    except ValueError:
        raise ApiCallError(f"HTTP {response.status_code}: the answer is not JSON: {response.text[:200]!r}") from None


def download(client: httpx.Client, path: str, params: Mapping[str, Any] | None = None) -> bytes:
    """A document the API answers (HTML, PDF) as its bytes; its errors as ``call``'s."""
    return _send(client, "GET", path, params, None).content


def _send(
    client: httpx.Client,
    method: str,
    path: str,
    params: Mapping[str, Any] | None,
    body: Any,
    *,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> httpx.Response:
    try:
        response = client.request(
            method,
            path,
            params={k: v for k, v in (params or {}).items() if v is not None},
            json=body,
            content=content,
            headers=headers,
            timeout=timeout if timeout is not None else client.timeout,
        )
    except httpx.HTTPError as exc:
        raise ApiCallError(f"cannot reach {client.base_url}: {exc}") from None
    if response.status_code >= 400:
        try:
            error_body = response.json()
            message = error_body["error"]["message"]
        except (ValueError, KeyError, TypeError):
            error_body, message = None, response.text[:200] or response.reason_phrase
        raise ApiCallError(f"HTTP {response.status_code}: {message}", response.status_code, error_body)
    return response


def get(client: httpx.Client, path: str, params: Mapping[str, Any] | None = None) -> Any:
    return call(client, "GET", path, params=params)


def post(client: httpx.Client, path: str, body: Any = None) -> Any:
    return call(client, "POST", path, body=body)
