"""The OpenAPI document of this server (`GET <base>/openapi.json`), built from the pydantic models that
validate its requests and write its answers, with this server's own limits filled in."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .config import Settings
from .protocol import (
    DoneEvent,
    ErrorBody,
    ErrorEvent,
    HealthResponse,
    MetaEvent,
    ModelsResponse,
    RunRequest,
    StatusEvent,
    StepEvent,
)

REF = "#/components/schemas/{model}"

EVENTS: dict[str, type[BaseModel]] = {
    "meta": MetaEvent,
    "status": StatusEvent,
    "step": StepEvent,
    "error": ErrorEvent,
    "done": DoneEvent,
}

# Why each status may answer instead of a stream; every one carries an `ErrorBody`.
REFUSALS = {
    "400": "invalid request (`invalid_request`, `invalid_json`); `field` names the culprit",
    "401": "this server needs `Authorization: Bearer <token>` (`unauthorized`)",
    "403": "host not allowed (`host_not_allowed`) or a page of another site (`cross_site_request`)",
    "404": "the model is not served here (`unknown_model`)",
    "408": "the request body did not arrive in time (`request_timeout`)",
    "413": "the request body is larger than this server takes (`body_too_large`)",
    "415": "the body is not sent as `application/json` (`unsupported_media_type`)",
    "429": "the server runs as many generations as it allows (`too_many_runs`); see `Retry-After`",
    "503": "the model cannot be loaded right now (`model_unavailable`)",
}

SSE_DESCRIPTION = (
    "Server-sent events of protocol mav/1, in order: `meta`, any `status`, one `step` per token (SSE `id` ="
    " step number), then `done`; an `error` comes right before `done` when the run fails after it started."
    " `: ping` comments keep the connection alive."
)


def _event_item(name: str, model: type[BaseModel]) -> dict[str, Any]:
    """One SSE event as OpenAPI 3.2 describes it: its name, and `data` holding the model as JSON."""
    return {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"const": name},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": {"$ref": REF.format(model=model.__name__)},
            },
            "id": {"type": "string"},
        },
    }


def _error(description: str, *, retry_after: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorBody")}}},
    }
    if retry_after:
        answer["headers"] = {
            "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "string"}}
        }
    return answer


def _json(model: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}},
    }


def _run_responses(statuses: tuple[str, ...]) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {
            "description": SSE_DESCRIPTION,
            "content": {
                "text/event-stream": {
                    "itemSchema": {"oneOf": [_event_item(name, model) for name, model in EVENTS.items()]}
                }
            },
        }
    }
    for status in statuses:
        responses[status] = _error(REFUSALS[status], retry_after=status in ("429", "503"))
    return responses


def _schemas(settings: Settings) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Any]] = [(RunRequest, "validation")]
    models += [(m, "serialization") for m in (ModelsResponse, HealthResponse, ErrorBody, *EVENTS.values())]
    _, top = models_json_schema(models, ref_template=REF)
    schemas: dict[str, Any] = top["$defs"]
    request = schemas["RunRequest"]["properties"]
    request["prompt"]["maxLength"] = settings.max_prompt_chars
    request["max_new_tokens"]["maximum"] = settings.max_new_tokens
    return schemas


def openapi_document(settings: Settings) -> dict[str, Any]:
    """OpenAPI 3.2 (for its event-stream `itemSchema`) for the routes under `settings.base_path`."""
    base = "" if settings.base_path == "/" else settings.base_path
    auth = ("401",) if settings.api_token else ()
    hosts = ("403",)
    run_post = ("400", *auth, *hosts, "404", "408", "413", "415", "429", "503")
    run_get = ("400", *auth, *hosts, "404", "429", "503")
    request_body = {"$ref": REF.format(model="RunRequest")}
    return {
        "openapi": "3.2.0",
        "info": {
            "title": "mav-server",
            "version": "mav/1",
            "description": "Streams a language model's internals token by token (protocol mav/1).",
        },
        "paths": {
            f"{base}/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Liveness and the runs in progress",
                    "responses": {
                        "200": _json("HealthResponse", "the server is up"),
                        "403": _error(REFUSALS["403"]),
                    },
                }
            },
            f"{base}/models": {
                "get": {
                    "operationId": "listModels",
                    "summary": "The models this server runs",
                    "responses": {
                        "200": _json("ModelsResponse", "the allow-listed models"),
                        **{status: _error(REFUSALS[status]) for status in (*auth, *hosts)},
                    },
                }
            },
            f"{base}/run": {
                "post": {
                    "operationId": "run",
                    "summary": "Start a run and stream its events",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": request_body}},
                    },
                    "responses": _run_responses(run_post),
                },
                "get": {
                    "operationId": "runFromUrl",
                    "summary": "The same run for a plain EventSource (same-origin pages or MAV_CORS_ORIGINS)",
                    "parameters": [
                        {
                            "name": "params",
                            "in": "query",
                            "required": True,
                            "description": "the request as URL-encoded JSON",
                            "content": {"application/json": {"schema": request_body}},
                        }
                    ],
                    "responses": {
                        **_run_responses(run_get),
                        "204": {
                            "description": "an EventSource reconnecting (`Last-Event-ID`): runs never resume"
                        },
                    },
                },
            },
        },
        "components": {"schemas": _schemas(settings)},
    }
