"""schemathesis against a real `mav-server` (bundled model, 2-token cap) from its own OpenAPI document:
valid and invalid requests to every route. Fails on any 5xx, any answer that does not match the document
(status, content type, headers, body, every SSE event), and any stream whose events do not validate
against the protocol's JSON Schema from @mav/client."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ..conftest import SCHEMA_PATH
from ..sse_reader import iter_sse
from .conftest import QUICK, ServerProcess

# Generous: the bundled model loads in this module's first test, and a shared machine can be slow.
pytestmark = pytest.mark.timeout(900)

CASES = {"positive": 40, "negative": 20} if QUICK else {"positive": 200, "negative": 100}
STATUSES: Counter[int] = Counter()
PROTOCOL = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
EVENT_VALIDATORS = {
    name: Draft202012Validator({"$defs": PROTOCOL["$defs"], "$ref": f"#/$defs/{name}_event"})
    for name in ("meta", "status", "step", "error", "done")
}


@pytest.fixture(scope="module")
def api(bundled_server: ServerProcess) -> Any:
    return schemathesis.openapi.from_url(f"{bundled_server.url}/api/openapi.json")


def events_follow_the_protocol(ctx: Any, response: Any, case: Any) -> None:
    """Every event of a stream validates against the protocol's JSON Schema, in the protocol's order."""
    STATUSES[response.status_code] += 1
    if response.status_code != 200 or not response.headers.get("content-type", [""])[0].startswith(
        "text/event-stream"
    ):
        return
    names = []
    for message in iter_sse(response.content.decode("utf-8")):
        names.append(message.event)
        validator = EVENT_VALIDATORS.get(message.event)
        assert validator is not None, f"unknown event {message.event!r}"
        problems = [error.message for error in validator.iter_errors(json.loads(message.data))]
        assert not problems, f"{message.event} event does not match the protocol: {problems[:3]}"
    assert names[0] == "meta" and names[-1] == "done", names
    assert names.count("done") == 1 and names.count("meta") == 1, names


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    events_follow_the_protocol,
]


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_fuzz(api: Any, mode: str) -> None:
    @given(case=api.as_strategy(GenerationMode(mode)))
    @settings(
        max_examples=CASES[mode],
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def one(case: Any) -> None:
        case.call_and_validate(checks=CHECKS, timeout=60)

    one()


def test_fuzz_figures(figures: dict[str, Any]) -> None:
    """Runs after the fuzzing (pytest keeps file order): what it sent and what came back."""
    assert STATUSES, "no case was fuzzed"
    figures["fuzz_cases"] = sum(STATUSES.values())
    figures["fuzz_5xx"] = sum(count for status, count in STATUSES.items() if status >= 500)
    figures["fuzz_statuses"] = dict(sorted(STATUSES.items()))
    assert figures["fuzz_5xx"] == 0
