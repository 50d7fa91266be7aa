"""Static files as a browser should get them: addressed by content (``/static/charts.js?v=<hash>``,
so they may be cached for a year and a new version is a new address), gzip-compressed on the
way out, with Starlette's ETag/Last-Modified for revalidation, and ``/favicon.ico``.

Only static files are compressed: pages carry a CSRF token next to text a visitor typed, and
compressing both together leaks the token through the response size (BREACH,
https://www.breachattack.com/)."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pulse_web.state import PACKAGE_DIR

STATIC_DIR = PACKAGE_DIR / "static"
# A versioned address never changes content; an unversioned one is revalidated hourly.
IMMUTABLE = b"public, max-age=31536000, immutable"
HOURLY = b"public, max-age=3600"


@cache
def _digest(path: Path, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """``/static/<name>?v=<first 12 hex digits of its SHA-256>`` (a Jinja global)."""
    path = (STATIC_DIR / name).resolve()
    if STATIC_DIR.resolve() not in path.parents or not path.is_file():
        raise ValueError(f"no static file {name!r}")
    return f"/static/{name}?v={_digest(path, path.stat().st_mtime_ns)}"


def is_static(path: str) -> bool:
    return path.startswith("/static/") or path == "/favicon.ico"


async def favicon(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon")


class StaticDeliveryMiddleware:
    """Cache-Control and gzip for static files; every other response passes untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=500, compresslevel=6)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_static(str(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return
        versioned = b"v=" in scope.get("query_string", b"")

        async def send_cached(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (200, 304):
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"cache-control"]
                headers.append((b"cache-control", IMMUTABLE if versioned else HOURLY))
                message["headers"] = headers
            await send(message)

        await self.gzip(scope, receive, send_cached)
