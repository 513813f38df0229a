"""`mav-server`: serve `/api/*` with uvicorn."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from .config import DEVICES, DTYPES, ConfigError, settings_from_env
from .recordings import RecordingSettings, RecordingStore


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mav-server",
        description="Stream a language model's internals (protocol mav/1) to MAV web components.",
        epilog="Other settings come from MAV_* environment variables (see the package README).",
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
    parser.add_argument("--device", choices=DEVICES, help="device (default auto: cuda, mps, then cpu)")
    parser.add_argument("--dtype", choices=DTYPES, help="weights dtype (default auto: float32 on CPU)")
    parser.add_argument("--max-concurrent-runs", type=int, metavar="N", help="runs at once before 429")
    parser.add_argument(
        "--cors-origin", action="append", metavar="ORIGIN", help="allow this origin cross-origin (repeatable)"
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from_env()
        overrides: dict[str, object] = {}
        if args.model:
            overrides["models"] = tuple(args.model)
            if settings.default_model not in args.model:
                overrides["default_model"] = None
        for key in ("device", "dtype", "max_concurrent_runs"):
            if getattr(args, key) is not None:
                overrides[key] = getattr(args, key)
        if args.cors_origin:
            overrides["cors_origins"] = tuple(args.cors_origin)
        if args.preload:
            overrides["preload"] = True
        settings = dataclasses.replace(settings, **overrides).validate()  # type: ignore[arg-type]
        recordings = RecordingStore(RecordingSettings.from_env())
    except ConfigError as exc:
        print(f"mav-server: {exc}", file=sys.stderr)
        return 2

    import uvicorn

    from .app import create_app

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    app = create_app(settings, recordings=recordings)
    models = ", ".join(settings.models)
    print(f"mav-server: http://{args.host}:{args.port}{settings.base_path} (models: {models})")
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
