"""`mav-server`: serve `/api/*` with uvicorn."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from typing import Any

from .config import (
    DEVICES,
    DTYPES,
    ENGINES,
    LOOPBACK_HOSTS,
    ConfigError,
    Settings,
    is_loopback,
    settings_from_env,
)
from .recordings import RecordingSettings, RecordingStore


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mav-server",
        description="Stream a language model's internals (protocol mav/1) to MAV web components.",
        epilog="Other settings come from MAV_* environment variables (see the package README). "
        "`mav-server ray --help`: several replicas on Ray Serve.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--model",
        action="append",
        metavar="ID",
        help="allow this model id (repeatable; the first is the default). Default: MAV_MODELS or the "
        "bundled smollm2-135m-instruct",
    )
    parser.add_argument("--preload", action="store_true", help="load the default model before serving")
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        help="what runs the models (default MAV_ENGINE or auto: numpy for a GGUF file it can run, torch "
        "for other models and on a GPU)",
    )
    parser.add_argument("--device", choices=DEVICES, help="torch device (default auto: cuda, mps, then cpu)")
    parser.add_argument("--dtype", choices=DTYPES, help="torch weights dtype (default auto: float32 on CPU)")
    parser.add_argument("--max-concurrent-runs", type=int, metavar="N", help="runs at once before 429")
    parser.add_argument(
        "--cors-origin", action="append", metavar="ORIGIN", help="allow this origin cross-origin (repeatable)"
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        metavar="NAME",
        help="answer requests for this host name (repeatable; `*` for any). Default: MAV_ALLOWED_HOSTS, "
        "else localhost, 127.0.0.1 and ::1 when --host is a loopback address",
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ray"]:
        from .ray_cli import main as ray_main

        return ray_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from_env()
        overrides: dict[str, object] = {}
        if args.model:
            overrides["models"] = tuple(args.model)
            if settings.default_model not in args.model:
                overrides["default_model"] = None
        for key in ("engine", "device", "dtype", "max_concurrent_runs"):
            if getattr(args, key) is not None:
                overrides[key] = getattr(args, key)
        if args.cors_origin:
            overrides["cors_origins"] = tuple(args.cors_origin)
        if args.preload:
            overrides["preload"] = True
        if args.allowed_host:
            overrides["allowed_hosts"] = tuple(host.lower() for host in args.allowed_host)
        elif settings.allowed_hosts is None and is_loopback(args.host):
            # Only pages of this machine can reach it; a DNS-rebound name must not.
            overrides["allowed_hosts"] = LOOPBACK_HOSTS
        settings = dataclasses.replace(settings, **overrides).validate()  # type: ignore[arg-type]
        recordings = RecordingStore(RecordingSettings.from_env())
    except ConfigError as exc:
        print(f"mav-server: {exc}", file=sys.stderr)
        return 2

    from .app import create_app

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    app = create_app(settings, recordings=recordings)
    models = ", ".join(settings.models)
    print(f"mav-server: http://{args.host}:{args.port}{settings.base_path} (models: {models})")
    serve(app, settings, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def serve(app: Any, settings: Settings, *, host: str, port: int, log_level: str = "info") -> None:
    """Run `app` with uvicorn until SIGTERM/SIGINT; open streams get `shutdown_timeout_seconds` to end."""
    import uvicorn

    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        # A stalled reader never closes its own stream: past this, shutdown ends the streams still open.
        timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout_seconds)),
    )


if __name__ == "__main__":
    raise SystemExit(main())
