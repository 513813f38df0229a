"""Vercel Python function of the one-project deployment: the mav/1 backend serving `/api/*`.

next.config.ts rewrites every `/api/*` path to this function when the app is built on Vercel without
MAV_BACKEND_URL; the ASGI app sees the original path (`/api/run`, ...). Settings come from `MAV_*`
environment variables (see packages/mav-server-py).
"""

import sys
from pathlib import Path

try:
    from mav_server.app import create_app
except ImportError:  # the package was not installed from pyproject.toml: use the repository's copy
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "packages" / "mav-server-py" / "src"))
    from mav_server.app import create_app

app = create_app()
