"""Security headers on every response, as pure ASGI middleware (streamed bodies pass
through untouched: only the response start is rewritten).

Browsers are the audience: the API is JSON, but the OpenAPI pages and the web UI to come
under ``/`` are HTML. ``frame-ancestors 'none'`` (and X-Frame-Options for older browsers)
forbids framing anywhere; the CSP says nothing else yet, so /docs keeps loading its
Swagger assets. API answers carry per-caller data: ``Cache-Control: no-store`` keeps them
out of every cache. Over HTTPS, Strict-Transport-Security tells browsers to stay on it.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "frame-ancestors 'none'",
}
API_CACHE_CONTROL = "no-store"
HSTS = "max-age=31536000"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, api_prefix: str) -> None:
        self.app = app
        self.api_prefix = api_prefix.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        api = path == self.api_prefix or path.startswith(self.api_prefix + "/")
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if api:
                    headers["Cache-Control"] = API_CACHE_CONTROL
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
