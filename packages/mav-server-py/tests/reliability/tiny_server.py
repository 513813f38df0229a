"""A real server process on tiny GPT-2 models, started the way `mav-server` starts (same settings from
`MAV_*`, same shutdown), for the tests that stop or kill a server: it is up in seconds, where the
bundled model takes tens of seconds to load. Usage: `python tiny_server.py PORT`."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the package root, for `tests.tiny`

from mav_server.app import create_app
from mav_server.cli import serve
from mav_server.config import LOOPBACK_HOSTS, settings_from_env
from mav_server.engines import ModelSource
from mav_server.models import ModelRegistry
from tests.tiny import TINY_GPT2_ID, build_tiny_gpt2, tiny_gpt2_source

SLOW_ID = "tiny-slow"
SECONDS_PER_FORWARD = 0.03


def _slow_source() -> ModelSource:
    def build() -> tuple[Any, Any]:
        model, tokenizer = build_tiny_gpt2()
        model.register_forward_hook(lambda *_: time.sleep(SECONDS_PER_FORWARD))
        return model, tokenizer

    return ModelSource(SLOW_ID, "Tiny GPT-2, 30 ms per forward pass", build=build)


def main(port: int) -> None:
    settings = dataclasses.replace(
        settings_from_env(), models=(TINY_GPT2_ID, SLOW_ID), allowed_hosts=LOOPBACK_HOSTS
    ).validate()
    registry = ModelRegistry([tiny_gpt2_source(), _slow_source()], device="cpu", max_loaded=2)
    registry.get(SLOW_ID)
    serve(create_app(settings, registry), settings, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(int(sys.argv[1]))
