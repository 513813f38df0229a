"""Vercel Python function of the one-project deployment: the mav/1 backend serving `/api/*`.

next.config.ts rewrites every `/api/*` path to this function when the app is built on Vercel without
MAV_BACKEND_URL; the ASGI app sees the original path (`/api/run`, ...). `mav-server` comes from
pyproject.toml (bundled into the function by Vercel's builder, without torch: the numpy engine serves);
settings come from `MAV_*` environment variables (see packages/mav-server-py).
"""

from mav_server.asgi import app

__all__ = ["app"]
