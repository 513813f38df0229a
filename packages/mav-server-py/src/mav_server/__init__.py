"""mav-server: reference backend of MAV web, streaming a model's internals as protocol mav/1 over SSE."""

from .notebook import recording_text, show, stream, to_html
from .protocol import PROTOCOL

__version__ = "0.1.0"
__all__ = ["PROTOCOL", "__version__", "recording_text", "show", "stream", "to_html"]
