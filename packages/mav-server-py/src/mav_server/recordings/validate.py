"""A `.mavrec.jsonl` upload checked against protocol mav/1 before anything is stored.

What `@mav/client`'s `parseRecording` accepts is accepted here (the tests hold both to the committed
JSON Schema): a `mavrec/1` header for `mav/1`, then one event per line with its `type`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import ApiError
from ..protocol import PROTOCOL, DoneEvent, ErrorEvent, MetaEvent, RunRequest, StatusEvent, StepEvent

RECORDING_FORMAT = "mavrec/1"
MAX_SAFE_INTEGER = 2**53 - 1


class RecordedMeta(MetaEvent):
    # The zod schema holds a recorded request to the request schema, not the server's resolved one.
    request: RunRequest  # type: ignore[assignment]


class EventIssue(BaseModel):
    path: str
    message: str


class RecordedError(ErrorEvent):
    # What `@mav/client` adds to an error it made from a broken server event.
    raw: str | None = None
    issues: list[EventIssue] | None = None


RECORDED_EVENTS: dict[str, type[BaseModel]] = {
    "meta": RecordedMeta,
    "status": StatusEvent,
    "step": StepEvent,
    "error": RecordedError,
    "done": DoneEvent,
}


@dataclass(frozen=True)
class RecordingSummary:
    events: int
    steps: int
    model_id: str


def _invalid(line: int, message: str, code: str = "invalid_recording") -> ApiError:
    return ApiError(400, code, f"line {line}: {message}", field=f"line {line}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _number(text: str) -> int | float:
    # JSON has one number type: `1.0` is the integer 1 to the zod schema, so it is here.
    value = float(text)
    return int(value) if value.is_integer() and abs(value) <= MAX_SAFE_INTEGER else value


def _parse(line: str, number: int) -> Any:
    try:
        return json.loads(line, parse_float=_number, parse_constant=_reject_constant)
    except ValueError as exc:
        raise _invalid(number, f"not JSON ({exc})") from None


def _problem(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "the event"
    if first["type"] == "missing":
        return f"{where} is required"
    shown = json.dumps(first.get("input"), ensure_ascii=False)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return f"{where}: {first['msg']}; got {shown}"


def _check_header(header: Any) -> int | None:
    if not isinstance(header, dict):
        raise _invalid(1, f"expected a {RECORDING_FORMAT} header object")
    fmt, protocol = header.get("format"), header.get("protocol")
    if fmt != RECORDING_FORMAT:
        if fmt is None:
            raise _invalid(1, f'the header has no format; expected "{RECORDING_FORMAT}"')
        raise _invalid(
            1, f"format is {json.dumps(fmt)}; this server stores {RECORDING_FORMAT}", "wrong_protocol"
        )
    if protocol != PROTOCOL:
        raise _invalid(
            1, f"protocol is {json.dumps(protocol)}; this server stores {PROTOCOL}", "wrong_protocol"
        )
    if "created_at" in header and not isinstance(header["created_at"], str):
        raise _invalid(1, "created_at must be a string")
    count = header.get("events")
    if count is not None and (type(count) is not int or abs(count) > MAX_SAFE_INTEGER):
        raise _invalid(1, f"events must be an integer; got {json.dumps(count)}")
    return count


def check_recording(body: bytes) -> RecordingSummary:
    """The recording's summary, or an `ApiError` (400) naming the line and the problem."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise _invalid(line, f"not UTF-8 (byte {exc.start})") from None
    text = text.removeprefix("\ufeff")
    if text.strip() == "":
        raise ApiError(400, "invalid_recording", "the recording is empty; expected a mavrec/1 header line")
    lines = text.split("\n")
    # A body cut short mid-line (no final newline, and the last line is not JSON) was truncated on the way.
    last = len(lines)
    if lines[-1].strip() != "":
        try:
            json.loads(lines[-1])
        except ValueError:
            raise _invalid(
                last, "the recording ends in the middle of a line", "truncated_recording"
            ) from None

    declared = _check_header(_parse(lines[0], 1))
    events = steps = 0
    model_id = ""
    done_line = None
    for index in range(1, len(lines)):
        raw = lines[index].removesuffix("\r")
        number = index + 1
        if raw.strip() == "":
            continue
        data = _parse(raw, number)
        if not isinstance(data, dict):
            raise _invalid(number, "expected an event object")
        kind = data.get("type")
        model = RECORDED_EVENTS.get(kind) if isinstance(kind, str) else None
        if model is None:
            raise _invalid(
                number, f"type is {json.dumps(kind)}; expected one of {', '.join(RECORDED_EVENTS)}"
            )
        if events == 0 and kind != "meta":
            raise _invalid(
                number, f"the first event is {kind!r}; a recording starts with its run's meta event"
            )
        if done_line is not None:
            raise _invalid(number, f"a {kind!r} event after the done event of line {done_line}")
        try:
            event = model.model_validate(data, strict=True)
        except ValidationError as exc:
            raise _invalid(number, f"not a mav/1 {kind} event: {_problem(exc)}") from None
        if isinstance(event, RecordedMeta):
            model_id = event.model.id
        elif kind == "step":
            steps += 1
        elif kind == "done":
            done_line = number
        events += 1
    if events == 0:
        raise ApiError(400, "invalid_recording", "the recording has a header but no events", field="line 2")
    if declared is not None and declared != events:
        if declared > events:
            raise ApiError(
                400,
                "truncated_recording",
                f"the header announces {declared} events but the recording holds {events}",
                field="line 1",
            )
        raise _invalid(1, f"the header announces {declared} events but the recording holds {events}")
    return RecordingSummary(events=events, steps=steps, model_id=model_id)
