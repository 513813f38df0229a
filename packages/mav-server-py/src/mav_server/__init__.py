"""mav-server: reference backend of MAV web, streaming a model's internals as protocol mav/1 over SSE."""

import os

# Models load from the bundled file or the local Hugging Face cache, never implicitly from the hub: this
# must be set before transformers is first imported. Deployments that may download set it to 0.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from .notebook import recording_text, show, stream, to_html
from .protocol import PROTOCOL

__version__ = "0.1.0"
__all__ = ["PROTOCOL", "__version__", "recording_text", "show", "stream", "to_html"]
