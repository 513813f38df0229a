"""The same app on Ray Serve: N replicas, each with its own model registry and run cap, behind Serve's
HTTP proxy, which queues what no replica can take and scales the replicas on that load.

`build_app` is the import path of a Serve config (`mav_server.ray_serve:build_app`, see `serve/mav.yaml`)
and of `serve run`; `mav-server ray` calls it too. Needs the `ray` extra: `pip install 'mav-server[ray]'`.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from ray import serve
from ray.serve import Application

from .app import RETRY_AFTER_SECONDS, create_app
from .config import settings_from_env
from .models import ModelRegistry

REPLICA_HEADER = "x-mav-replica"
"""Response header naming the replica that answered (Serve's replica id), for logs and load tests."""

DEPLOYMENT_NAME = "mav"

REPLICA_SLOT_WAIT_SECONDS = 10.0


class ServeArgs(BaseModel):
    """Arguments of `build_app` (the `args:` of a Serve config, or `key=value` after `serve run`)."""

    model_config = ConfigDict(extra="forbid")

    runs_per_replica: int | None = Field(default=None, ge=1)
    """Generations one replica runs at once. It is also the replica's `max_ongoing_requests` and the
    autoscaler's target, so Serve never sends a replica more than it runs and scales up on the queue.
    Default: 4 with a GPU per replica, 2 without (the server's own defaults)."""
    num_replicas: int | None = Field(default=None, ge=1)
    """A fixed number of replicas; when unset, the replicas autoscale between the two bounds below."""
    min_replicas: int = Field(default=1, ge=0)
    max_replicas: int = Field(default=2, ge=1)
    num_cpus: float = Field(default=1, ge=0)
    """CPUs reserved per replica (Ray also sets the replica's thread count from it)."""
    num_gpus: float = Field(default=0, ge=0)
    """GPUs per replica; with 1, each replica sees one GPU and `MAV_DEVICE=auto` picks it."""
    max_queued_requests: int | None = Field(default=None, ge=1)
    """Requests each proxy holds while every replica is full; past it, 429 with Retry-After.
    Default: the runs of `max_replicas` replicas, so a queued run waits about one run at most."""
    graceful_shutdown_timeout_s: float = Field(default=120, ge=0)
    """How long a replica being scaled down may finish its streams before they are cut."""
    env: dict[str, str] = Field(default_factory=dict)
    """`MAV_*` settings for the replicas (the app-level `runtime_env.env_vars` works too)."""

    def runs(self) -> int:
        return self.runs_per_replica or (4 if self.num_gpus > 0 else 2)

    def deployment_options(self) -> dict[str, Any]:
        runs = self.runs()
        max_replicas = self.num_replicas or self.max_replicas
        options: dict[str, Any] = {
            "max_ongoing_requests": runs,
            "max_queued_requests": self.max_queued_requests or runs * max_replicas,
            "backpressure_config": {"status_code": 429, "retry_after_s": RETRY_AFTER_SECONDS},
            "graceful_shutdown_timeout_s": self.graceful_shutdown_timeout_s,
            "ray_actor_options": {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus},
        }
        if self.num_replicas is not None:
            options["num_replicas"] = self.num_replicas
        else:
            if self.min_replicas > self.max_replicas:
                raise ValueError(
                    f"min_replicas ({self.min_replicas}) must be at most max_replicas ({self.max_replicas})"
                )
            options["autoscaling_config"] = {
                "min_replicas": self.min_replicas,
                "max_replicas": self.max_replicas,
                "target_ongoing_requests": runs,
            }
        return options


class ReplicaHeader:
    """ASGI middleware adding `x-mav-replica: <id>` to every response."""

    def __init__(self, app: Any, replica: str) -> None:
        self.app = app
        self.header = (REPLICA_HEADER.encode("latin-1"), replica.encode("latin-1"))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.header]}
            await send(message)

        await self.app(scope, receive, send_with_header)


@serve.deployment(name=DEPLOYMENT_NAME)
@serve.ingress()
class MavDeployment:
    """One replica: loads the default model in its constructor, so Serve routes to it only once the
    weights are in memory, and a restarted replica loads them again before taking runs."""

    def __init__(self, runs_per_replica: int, env: dict[str, str] | None = None) -> None:
        settings = settings_from_env({**os.environ, **(env or {})})
        # A slot a client has just left frees at the end of its token step, which can be after Serve
        # hands the replica its next run: that run waits for it rather than getting 429.
        settings = dataclasses.replace(
            settings,
            max_concurrent_runs=runs_per_replica,
            preload=True,
            slot_wait_seconds=max(settings.slot_wait_seconds, REPLICA_SLOT_WAIT_SECONDS),
        )
        registry = ModelRegistry.from_settings(settings)
        registry.get(registry.default_id)
        self._app = create_app(settings, registry)
        self._app.add_middleware(ReplicaHeader, replica=serve.get_replica_context().replica_tag)

    def __serve_build_asgi_app__(self) -> Any:
        return self._app


def build_app(args: dict[str, Any] | ServeArgs | None = None) -> Application:
    """The Serve application: `serve run mav_server.ray_serve:build_app num_replicas=2`."""
    args = args if isinstance(args, ServeArgs) else ServeArgs.model_validate(args or {})
    return MavDeployment.options(**args.deployment_options()).bind(args.runs(), args.env)
