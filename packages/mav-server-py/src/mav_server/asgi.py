"""The ASGI app with settings from `MAV_*` variables: `uvicorn mav_server.asgi:app`, or a Vercel Python
function's entry (`from mav_server.asgi import app`)."""

from .app import create_app

app = create_app()
