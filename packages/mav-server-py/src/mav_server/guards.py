"""What a request must pass before the app acts on it, and the headers every answer carries.

A server on a developer's machine is reachable by every page their browser opens. These checks keep
those pages from using it: the `Host` allow-list stops DNS rebinding, JSON-only bodies force the CORS
preflight on a cross-site POST, and the cross-site check stops `<img>`/`EventSource` requests that a
browser sends without asking. Non-browser clients send none of the headers that mark a cross-site
request, so scripts and servers are unaffected.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse

from .config import Settings
from .errors import ApiError

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cross-origin-resource-policy", b"same-origin"),
]

# Requests a browser marks as coming from this origin, or typed into the address bar.
TRUSTED_FETCH_SITES = ("same-origin", "none")


def host_name(host_header: str) -> str:
    """`example.com:8000` -> `example.com`, `[::1]:8000` -> `::1`, lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class GuardMiddleware:
    """ASGI middleware: refuses hosts outside `allowed_hosts` and adds `SECURITY_HEADERS` to answers.

    A plain ASGI wrapper (not `BaseHTTPMiddleware`), so streamed responses keep their backpressure.
    """

    def __init__(self, app: Any, allowed_hosts: tuple[str, ...] | None) -> None:
        self.app = app
        self.allowed = None if allowed_hosts is None or "*" in allowed_hosts else set(allowed_hosts)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                # A route's own stricter value (e.g. a sandbox CSP) wins over the default.
                headers += [(name, value) for name, value in SECURITY_HEADERS if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        if self.allowed is not None:
            raw = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            if host_name(raw) not in self.allowed:
                error = ApiError(
                    403,
                    "host_not_allowed",
                    "this server does not answer requests for this host name; "
                    "add it to MAV_ALLOWED_HOSTS to allow it",
                )
                response = JSONResponse(error.body(), status_code=error.status)
                await response(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)


def require_token(request: Request, settings: Settings) -> None:
    """With `MAV_API_TOKEN` set, the request needs `Authorization: Bearer <token>` (401 otherwise)."""
    if settings.api_token is None:
        return
    # Header values arrive as latin-1 text; compare their bytes, so any byte sequence is merely wrong.
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    given = token.strip().encode("latin-1", "replace")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given, settings.api_token.encode("utf-8")):
        raise ApiError(
            401,
            "unauthorized",
            "this server needs the header `Authorization: Bearer <token>` with its MAV_API_TOKEN",
            headers={"WWW-Authenticate": 'Bearer realm="mav"'},
        )


def _origin_allowed(origin: str, settings: Settings) -> bool:
    return "*" in settings.cors_origins or origin in settings.cors_origins


def refuse_cross_site(request: Request, settings: Settings) -> None:
    """Refuses (403) a run that a page of another site started, unless its origin is in MAV_CORS_ORIGINS.

    `Sec-Fetch-Site` is what the browser itself says about the request; browsers too old to send it are
    judged by `Origin` (an `<img>` there sends neither: a token is the protection for those).
    """
    origin = request.headers.get("origin")
    if origin is not None and _origin_allowed(origin, settings):
        return
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        cross = site.lower() not in TRUSTED_FETCH_SITES
    else:
        host = host_name(request.headers.get("host", ""))
        cross = origin is not None and (urlsplit(origin).hostname or "") != host
    if cross:
        raise ApiError(
            403,
            "cross_site_request",
            "this server does not take runs or saves from pages of other sites; "
            "add the page's origin to MAV_CORS_ORIGINS to allow it",
        )


def require_json(request: Request) -> None:
    """POST bodies must say `Content-Type: application/json`: a page cannot send that cross-site
    without a CORS preflight, which the server answers only for MAV_CORS_ORIGINS."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        shown = media_type or "none"
        raise ApiError(
            415,
            "unsupported_media_type",
            f"the request body must be JSON sent with `Content-Type: application/json`; got {shown}",
        )


async def read_body(request: Request, settings: Settings) -> bytes:
    """The body, refused (413) as soon as it passes `max_body_bytes`, or (408) when it stalls."""
    limit = settings.max_body_bytes
    too_large = ApiError(
        413, "body_too_large", f"the request body must be at most {limit} bytes (MAV_MAX_BODY_BYTES)"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    try:
        async with asyncio.timeout(settings.stall_timeout_seconds):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise too_large
    except TimeoutError:
        raise ApiError(
            408,
            "request_timeout",
            f"the request body did not arrive within {settings.stall_timeout_seconds:g} s",
        ) from None
    return bytes(body)
