"""Protocol events validated from SSE text, for the tests (`iter_sse` itself is the package's)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from mav_server.protocol import Event, parse_event
from mav_server.sse import iter_sse


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
