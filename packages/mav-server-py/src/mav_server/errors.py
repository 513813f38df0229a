"""Errors answered before a stream starts: `{ "error": { "code", "message", "field"? } }`.

Messages are for the person who sent the request: what was wrong and what is expected, never a path or
an exception's text (those go to the server log).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from .protocol import ErrorBody, ErrorDetail


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        # A lone surrogate echoed from the request could not be written as UTF-8: escape it instead.
        message = message.encode("utf-8", "backslashreplace").decode("utf-8")
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        detail = ErrorDetail(code=self.code, message=self.message, field=self.field)
        return ErrorBody(error=detail).model_dump(exclude_none=True)


def show_value(value: Any) -> str:
    """A short rendering of a value a client sent, for an error message."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _expected(kind: str, ctx: dict[str, Any]) -> str | None:
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "less_than_equal": ("at most", "le"),
        "greater_than": ("greater than", "gt"),
        "less_than": ("less than", "lt"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"{words} {ctx.get(key)}"
    return {
        "int_type": "an integer",
        "int_from_float": "an integer",
        "float_type": "a number",
        "finite_number": "a finite number",
        "string_type": "a string",
        "string_unicode": "Unicode text (it has a lone surrogate)",
        "bool_type": "true or false",
        "string_too_short": "a non-empty string",
        "literal_error": f"one of {ctx.get('expected')}",
    }.get(kind)


def from_validation_error(exc: ValidationError) -> ApiError:
    """The first problem of a request, naming the field, the value sent and what was expected."""
    first = exc.errors(include_url=False)[0]
    loc = [str(part) for part in first["loc"]]
    if not loc:
        return ApiError(400, "invalid_request", "the request must be a JSON object")
    field = ".".join(loc)
    if first["type"] == "missing":
        return ApiError(400, "invalid_request", f"{field} is required", field=field)
    ctx = dict(first.get("ctx") or {})
    expected = _expected(first["type"], ctx)
    if first["type"] == "value_error":  # our own validators word their rule as "must ..."
        message = f"{field} {ctx.get('error')}; got {show_value(first.get('input'))}"
    elif expected is None:
        message = f"{field}: {first['msg']}; got {show_value(first.get('input'))}"
    else:
        message = f"{field} must be {expected}; got {show_value(first.get('input'))}"
    # `field` names the field (`detail`, `forced.token_ids`), the message the item within it (`detail.0`).
    while len(loc) > 1 and loc[-1].isdigit():
        loc.pop()
    return ApiError(400, "invalid_request", message, field=".".join(loc))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(text: str | bytes, *, field: str | None = None) -> Any:
    """Strict JSON (no NaN/Infinity); a syntax error becomes a 400 `invalid_json`."""
    where = f"{field} is" if field else "the request body is"
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", f"{where} not UTF-8 text", field=field) from None
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"{where} not valid JSON: {exc}", field=field) from None
    except RecursionError:
        raise ApiError(400, "invalid_json", f"{where} nested too deeply", field=field) from None
