"""HTTP: `/models`, `/health`, `/run` (GET and POST) and `/openapi.json` under the base path, protocol
mav/1."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware

from .config import Settings, settings_from_env
from .errors import ApiError, parse_json
from .guards import GuardMiddleware, read_body, refuse_cross_site, require_json, require_token
from .models import ModelRegistry
from .openapi import openapi_document
from .protocol import HealthResponse, ModelsResponse
from .recordings import RecordingSettings, RecordingStore, recordings_router
from .runs import RETRY_AFTER_SECONDS, RunLimiter, execute_run, parse_request, plan_run
from .streaming import EventStreamResponse

log = logging.getLogger("mav_server.app")


def _error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def create_app(
    settings: Settings | None = None,
    registry: ModelRegistry | None = None,
    recordings: RecordingStore | None = None,
) -> FastAPI:
    """The ASGI app. Without arguments, settings come from `MAV_*` variables and the registry from them."""
    settings = settings or settings_from_env()
    recordings = recordings or RecordingStore(RecordingSettings.from_env())
    registry = registry or ModelRegistry.from_settings(settings)
    limit = settings.max_concurrent_runs or registry.max_concurrent_runs()
    limiter = RunLimiter(limit)
    executor = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="mav-run")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.preload:
            await asyncio.to_thread(registry.get, registry.default_id)
        else:
            # Describe the models and load the default tokenizer in the background, so that the first
            # `/models` and `/run` do not wait for them.
            threading.Thread(target=_warm, args=(registry,), daemon=True, name="mav-warm").start()
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="mav-server",
        summary="Reference backend of MAV web (protocol mav/1)",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.registry = registry
    app.state.limiter = limiter

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Content-Encoding",
                "Last-Event-ID",
                "Mav-Delete-Token",
            ],
            expose_headers=["Retry-After", "Location"],
            max_age=600,
        )
    # Added last, so it runs first: a refused host never reaches CORS or the routes.
    app.add_middleware(GuardMiddleware, allowed_hosts=settings.allowed_hosts)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        message = f"{request.method} {request.url.path}: {exc.detail}"
        code = codes.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names only the first route's methods; GET and POST share /run
            headers["Allow"] = ", ".join(_methods_for(app, request.url.path))
        return _error_response(ApiError(exc.status_code, code, message, headers=headers))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error_response(ApiError(400, "invalid_request", "the request does not match the API"))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        message = "the server failed while handling this request; the server log has the details"
        return _error_response(ApiError(500, "internal_error", message))

    base = "" if settings.base_path == "/" else settings.base_path

    @app.get(base + "/health")
    async def health() -> dict[str, Any]:
        body = HealthResponse(active_runs=limiter.active, loaded_models=registry.loaded_ids())
        return body.model_dump()

    @app.get(base + "/models")
    async def models(request: Request) -> dict[str, Any]:
        require_token(request, settings)
        infos = await asyncio.to_thread(registry.infos)
        return ModelsResponse(models=infos).model_dump()

    async def start_run(data: Any, started: float) -> Response:
        run_request = parse_request(data, settings)
        if not await limiter.acquire(settings.slot_wait_seconds):
            raise ApiError(
                429,
                "too_many_runs",
                f"this server runs at most {limiter.limit} generations at once; retry shortly",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        try:
            plan = await asyncio.to_thread(plan_run, registry, run_request)
        except BaseException:
            limiter.release()
            raise

        def work(emit: Any, cancelled: Any) -> None:
            execute_run(registry, plan, emit, started=started, cancelled=cancelled)

        log.info("run %s: model %s, %d prompt tokens", plan.run_id, plan.card.id, len(plan.prompt_ids))
        return EventStreamResponse(  # type: ignore[return-value]
            work,
            executor=executor,
            on_finish=limiter.release,
            heartbeat_seconds=settings.heartbeat_seconds,
            stall_timeout_seconds=settings.stall_timeout_seconds,
        )

    @app.post(base + "/run")
    async def run_post(request: Request) -> Response:
        started = time.perf_counter()
        require_token(request, settings)
        refuse_cross_site(request, settings)
        require_json(request)
        data = parse_json(await read_body(request, settings))
        return await start_run(data, started)

    @app.get(base + "/run")
    async def run_get(request: Request) -> Response:
        started = time.perf_counter()
        if "last-event-id" in request.headers:
            # An EventSource reconnecting after its stream ended: a run cannot be resumed, and 204 is
            # what tells EventSource to stop reconnecting (instead of starting the same run again).
            return Response(status_code=204)
        require_token(request, settings)
        refuse_cross_site(request, settings)
        params = request.query_params.get("params")
        if params is None:
            raise ApiError(
                400, "invalid_request", "GET /run needs ?params=<url-encoded JSON request>", field="params"
            )
        data = parse_json(params, field="params")
        return await start_run(data, started)

    document = openapi_document(settings)

    @app.get(base + "/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        return JSONResponse(document)

    def guard_save(request: Request) -> None:
        refuse_cross_site(request, settings)
        require_token(request, settings)

    app.include_router(recordings_router(recordings, guard_save=guard_save), prefix=base)

    return app


def _methods_for(app: FastAPI, path: str) -> list[str]:
    methods: set[str] = set()
    for route in app.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ()) - {"HEAD"}
    return sorted(methods)


def _warm(registry: ModelRegistry) -> None:
    try:
        registry.infos()
        registry.tokenizer(registry.default_id)
    except Exception:
        log.exception("warming the model registry failed")
