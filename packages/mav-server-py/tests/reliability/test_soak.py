"""A soak of `mav-server` with the bundled model: many runs of every kind (whole, abandoned, refused,
GET), with memory measured before and after, and nothing left running."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import httpx
import pytest

from .conftest import QUICK, ServerProcess, wait_for_active

pytestmark = pytest.mark.timeout(900)
TIMEOUT = httpx.Timeout(60.0)
RSS_GROWTH_BOUND_MB = 64


def one_run(url: str, index: int) -> int:
    """Run number `index` of the soak: every fourth is abandoned, refused, sent by GET, or whole."""
    body = {"prompt": f"Soak run {index}: the weather today is", "top_n": 100, "aggregation": "max_abs"}
    kind = index % 4
    if kind == 0:
        with httpx.stream("POST", f"{url}/api/run", json=body, timeout=TIMEOUT) as response:
            next(response.iter_raw(), None)
            return response.status_code
    if kind == 1:
        return httpx.post(f"{url}/api/run", json={**body, "top_n": 0}, timeout=TIMEOUT).status_code
    if kind == 2:
        params = urllib.parse.quote(json.dumps(body))
        response = httpx.get(f"{url}/api/run?params={params}", timeout=TIMEOUT)
        assert "event: done" in response.text
        return response.status_code
    response = httpx.post(f"{url}/api/run", json=body, timeout=TIMEOUT)
    assert "event: done" in response.text
    return response.status_code


def test_soak_keeps_memory_flat(bundled_server: ServerProcess, figures: dict[str, Any]) -> None:
    url = bundled_server.url
    for index in range(3, 15, 4):  # warm-up: whole runs, so caches and arenas are at their working size
        one_run(url, index)
    start = bundled_server.rss_mb()
    runs = 20 if QUICK else 80
    statuses = [one_run(url, index) for index in range(runs)]
    wait_for_active(url, 0, within=5)
    growth = bundled_server.rss_mb() - start
    assert set(statuses) == {200, 400}, statuses
    figures["soak_runs"] = runs
    figures["soak_rss_start_mb"] = round(start, 1)
    figures["soak_rss_growth_mb"] = round(growth, 1)
    assert growth < RSS_GROWTH_BOUND_MB, f"RSS grew {growth:.1f} MB over {runs} runs"
