"""Reading SSE text back, for the tests: the HTML SSE parsing rules (BOM, CR/LF/CRLF line ends,
comments, multi-line `data`, `id`), and protocol events validated from it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from mav_server.protocol import Event, parse_event


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


@dataclass(frozen=True)
class Decoded:
    """One message read back: the validated event, or why it is not one."""

    name: str
    event: Event | None
    problem: str | None
    raw: Any = None


def decode_stream(text: str) -> list[Decoded]:
    """Parse and validate every protocol event of an SSE stream; unknown event names are skipped."""
    out: list[Decoded] = []
    for msg in iter_sse(text):
        if msg.event not in ("meta", "status", "step", "error", "done"):
            continue
        try:
            raw = json.loads(msg.data)
        except json.JSONDecodeError as exc:
            out.append(Decoded(msg.event, None, f"data is not JSON: {exc}", msg.data))
            continue
        try:
            out.append(Decoded(msg.event, parse_event(msg.event, raw), None, raw))
        except ValidationError as exc:
            out.append(Decoded(msg.event, None, f"data does not match the schema: {exc}", raw))
    return out
