"""Server-sent events: protocol events as SSE frames."""

from __future__ import annotations

from .protocol import Event, event_name
from .wire import event_data

PING = b": ping\n\n"


def encode_event(event: Event) -> bytes:
    """One SSE frame; a `step` event carries its step number as the SSE `id`."""
    name = event_name(event)
    head = f"event: {name}\n"
    if name == "step":
        head += f"id: {event.step}\n"  # type: ignore[union-attr]
    return (head + "data: " + event_data(event) + "\n\n").encode("utf-8")
