"""Server-sent events: protocol events as SSE frames, and SSE text read back (the HTML parsing rules:
BOM, CR/LF/CRLF line ends, comments, multi-line `data`, `id`), as the notebook view reads a live run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

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


@dataclass(frozen=True)
class SseMessage:
    event: str
    data: str
    id: str | None


def iter_sse(text: str) -> Iterator[SseMessage]:
    """Dispatch SSE messages from a complete stream text, as a browser's EventSource would."""
    if text.startswith("\ufeff"):
        text = text[1:]
    event, data_lines, last_id = "", [], None
    has_data = False
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line == "":
            if has_data:
                yield SseMessage(event or "message", "\n".join(data_lines), last_id)
            event, data_lines, has_data = "", [], False
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "event":
            event = value
        elif field == "data":
            data_lines.append(value)
            has_data = True
        elif field == "id" and "\0" not in value:
            last_id = value
    # A message without its terminating blank line is never dispatched (the stream was cut).
