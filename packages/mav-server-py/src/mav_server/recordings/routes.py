"""HTTP of the recordings store: `POST /recordings`, `GET` and `DELETE /recordings/{id}`."""

from __future__ import annotations

import asyncio
import logging
import re
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ..errors import ApiError
from .store import (
    RateLimitedError,
    RecordingNotFoundError,
    RecordingStore,
    StorageFullError,
    WrongDeleteTokenError,
    gunzip,
)
from .validate import check_recording

log = logging.getLogger("mav_server.recordings")

DELETE_TOKEN_HEADER = "mav-delete-token"
MEDIA_TYPE = "application/x-ndjson; charset=utf-8"
# What the browser may do with a stored body if someone opens it directly: nothing but show it as text.
BODY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "no-cache",
    "Vary": "Accept-Encoding",
}
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22}$")
# Validation and compression of a large upload take a core for a while: a few at a time.
CONCURRENT_SAVES = 2


def _not_found(recording_id: str) -> ApiError:
    return ApiError(
        404, "recording_not_found", f"no recording {recording_id!r} (never saved, deleted or expired)"
    )


def _check_id(recording_id: str) -> None:
    if not ID_PATTERN.match(recording_id):
        raise _not_found(recording_id[:40])


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "recording_too_large",
        f"the recording is larger than this server stores ({limit} bytes, MAV_MAX_RECORDING_BYTES)",
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The upload, gunzipped when sent with `Content-Encoding: gzip`, refused past `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise ApiError(
            415, "unsupported_encoding", f"Content-Encoding {encoding!r} is not supported; send gzip or none"
        )
    inflate = zlib.decompressobj(wbits=31) if encoding == "gzip" else None
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        if inflate is not None:
            try:
                # Output bounded to what the limit leaves: a small gzip bomb cannot expand in memory.
                chunk = inflate.decompress(chunk, limit + 1 - size)
            except zlib.error as exc:
                raise ApiError(400, "invalid_recording", f"the gzip body is broken: {exc}") from None
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        parts.append(chunk)
    if inflate is not None and not inflate.eof:
        raise ApiError(400, "truncated_recording", "the gzip body ends before its end marker")
    return b"".join(parts)


def recordings_router(store: RecordingStore, *, guard_save: Callable[[Request], None]) -> APIRouter:
    """The routes, relative to the app's base path. `guard_save` guards saving (not reading)."""
    settings = store.settings
    saving = asyncio.Semaphore(CONCURRENT_SAVES)

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        yield
        store.close()

    router = APIRouter(lifespan=lifespan)

    def storage_unavailable(exc: Exception) -> ApiError:
        # The cause goes to the log only: it can name the database's host.
        log.exception("the recordings database failed")
        return ApiError(
            503, "storage_unavailable", "the recordings database is unavailable; the server log says why"
        )

    async def call(function: Callable[..., Any], *args: Any) -> Any:
        try:
            return await asyncio.to_thread(function, *args)
        except (ApiError, RecordingNotFoundError, WrongDeleteTokenError, RateLimitedError, StorageFullError):
            raise
        except Exception as exc:
            raise storage_unavailable(exc) from exc

    def enabled() -> None:
        if not settings.enabled:
            raise ApiError(404, "not_found", "this server does not store recordings (MAV_RECORDINGS=0)")

    @router.post("/recordings", status_code=201)
    async def save(request: Request) -> JSONResponse:
        enabled()
        guard_save(request)
        body = await read_body(request, settings.max_recording_bytes)
        client = request.client.host if request.client else "unknown"
        async with saving:
            summary = await asyncio.to_thread(check_recording, body)
            try:
                saved = await call(store.save, body, summary, client)
            except RateLimitedError as exc:
                raise ApiError(
                    429,
                    "too_many_saves",
                    f"this server takes {exc.limit} recordings per hour from one client; retry later",
                    headers={"Retry-After": str(exc.retry_after)},
                ) from None
            except StorageFullError:
                raise ApiError(
                    507, "storage_full", "this server's space for recordings is full; try again later"
                ) from None
        log.info("recording %s saved: %d events, %d bytes", saved.id, summary.events, saved.raw_bytes)
        location = f"{request.url.path.rstrip('/')}/{saved.id}"
        return JSONResponse(
            {
                "id": saved.id,
                "delete_token": saved.delete_token,
                "url": location,
                "created_at": saved.created_at.isoformat(),
                "expires_at": saved.expires_at.isoformat() if saved.expires_at else None,
                "bytes": saved.raw_bytes,
                "stored_bytes": saved.stored_bytes,
                "events": summary.events,
                "steps": summary.steps,
            },
            status_code=201,
            headers={"Location": location},
        )

    @router.get("/recordings/{recording_id}")
    async def load(recording_id: str, request: Request) -> Response:
        enabled()
        _check_id(recording_id)
        try:
            stored = await call(store.load, recording_id)
        except RecordingNotFoundError:
            raise _not_found(recording_id) from None
        etag = f'"{stored.id}"'
        headers = {**BODY_HEADERS, "ETag": etag}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        disposition = {"Content-Disposition": f'inline; filename="mav-{stored.id}.mavrec.jsonl"'}
        if "gzip" in request.headers.get("accept-encoding", "").lower():
            return Response(
                stored.gzip_body,
                media_type=MEDIA_TYPE,
                headers={**headers, **disposition, "Content-Encoding": "gzip"},
            )
        body = await asyncio.to_thread(gunzip, stored.gzip_body)
        return Response(body, media_type=MEDIA_TYPE, headers={**headers, **disposition})

    @router.delete("/recordings/{recording_id}", status_code=204)
    async def remove(recording_id: str, request: Request) -> Response:
        enabled()
        _check_id(recording_id)
        token = request.headers.get(DELETE_TOKEN_HEADER, "").strip()
        if not token:
            raise ApiError(
                400,
                "missing_delete_token",
                "send the delete token given when the recording was saved in the Mav-Delete-Token header",
                field="Mav-Delete-Token",
            )
        try:
            await call(store.delete, recording_id, token)
        except RecordingNotFoundError:
            raise _not_found(recording_id) from None
        except WrongDeleteTokenError:
            raise ApiError(
                403, "wrong_delete_token", "this delete token does not belong to that recording"
            ) from None
        log.info("recording %s deleted", recording_id)
        return Response(status_code=204)

    return router
