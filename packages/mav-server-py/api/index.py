"""Vercel Python runtime entry: exposes the ASGI `app` (settings from MAV_* environment variables)."""

import sys
from pathlib import Path

try:
    from mav_server.app import create_app
except ImportError:  # deployed from the repository without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from mav_server.app import create_app

app = create_app()
