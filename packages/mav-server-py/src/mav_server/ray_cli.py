"""`mav-server ray`: serve the app with N replicas on Ray Serve, on a local Ray or a running cluster."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

from .config import DEVICES, DTYPES

APP_NAME = "mav"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mav-server ray",
        description="Serve mav/1 from several replicas on Ray Serve (needs `pip install 'mav-server[ray]'`).",
        epilog="MAV_* variables of this shell go to every replica. For a config file instead of flags: "
        "`serve run serve/mav.yaml` (see DEPLOY.md).",
    )
    parser.add_argument(
        "--address",
        help="Ray cluster to deploy to (`auto` on a node of a running cluster). Default: start a local one",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface of Serve's HTTP proxy (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port of Serve's HTTP proxy (default 8000)")
    replicas = parser.add_mutually_exclusive_group()
    replicas.add_argument("--replicas", type=int, metavar="N", help="a fixed number of replicas")
    replicas.add_argument(
        "--max-replicas", type=int, metavar="N", help="autoscale up to N replicas (default 2, from 1)"
    )
    parser.add_argument(
        "--min-replicas", type=int, metavar="N", help="autoscale down to N replicas (default 1)"
    )
    parser.add_argument(
        "--runs-per-replica",
        type=int,
        metavar="N",
        help="runs one replica streams at once (default 2, 4 on GPU)",
    )
    parser.add_argument("--num-cpus", type=float, metavar="X", help="CPUs reserved per replica (default 1)")
    parser.add_argument("--num-gpus", type=float, metavar="X", help="GPUs per replica (default 0)")
    parser.add_argument("--model", action="append", metavar="ID", help="allow this model id (repeatable)")
    parser.add_argument("--device", choices=DEVICES, help="device of every replica (default auto)")
    parser.add_argument("--dtype", choices=DTYPES, help="weights dtype (default auto)")
    return parser


def serve_args_from(args: argparse.Namespace, environ: dict[str, str]) -> Any:
    """`ServeArgs` from the flags; the replicas get this shell's MAV_* variables with the flags on top."""
    from .ray_serve import ServeArgs

    env = {key: value for key, value in environ.items() if key.startswith("MAV_")}
    if args.model:
        env["MAV_MODELS"] = ",".join(args.model)
    if args.device:
        env["MAV_DEVICE"] = args.device
    if args.dtype:
        env["MAV_DTYPE"] = args.dtype
    values: dict[str, Any] = {"env": env}
    for key in ("runs_per_replica", "min_replicas", "max_replicas", "num_cpus", "num_gpus"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    if args.replicas is not None:
        values["num_replicas"] = args.replicas
    return ServeArgs.model_validate(values)


def deploy(serve_args: Any, *, host: str, port: int) -> None:
    """Start Serve's proxy on `host:port` and the app at `/`, on the Ray this process is connected to;
    returns once every replica has loaded its model."""
    from ray import serve

    from .ray_serve import build_app

    serve.start(http_options={"host": host, "port": port})
    serve.run(build_app(serve_args), name=APP_NAME, route_prefix="/")


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        import ray
        from pydantic import ValidationError
        from ray import serve
    except ImportError:
        print("mav-server ray: needs Ray Serve: pip install 'mav-server[ray]'", file=sys.stderr)
        return 2
    try:
        serve_args = serve_args_from(args, dict(os.environ))
        serve_args.deployment_options()
    except (ValidationError, ValueError) as exc:
        print(f"mav-server ray: {exc}", file=sys.stderr)
        return 2

    ray.init(address=args.address)
    stop = threading.Event()
    # After ray.init, which installs a SIGTERM handler of its own; SIGINT too, as a background job has
    # it ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        deploy(serve_args, host=args.host, port=args.port)
        base = os.environ.get("MAV_BASE_PATH", "/api")
        print(f"mav-server ray: http://{args.host}:{args.port}{base} (Ctrl-C stops)", flush=True)
        stop.wait()
    finally:
        if args.address is None:
            serve.shutdown()
        else:
            serve.delete(APP_NAME)
        ray.shutdown()
    return 0
