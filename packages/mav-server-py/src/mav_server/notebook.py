"""The standalone player of `@mav/react` from Python: `to_html(recording)` gives one self-contained page,
`show(recording)` puts it in a Jupyter output, and `show(stream(prompt))` fills it while a run goes.

The page is `@mav/react`'s own build (`dist/player/mav-player.html`), copied into this package as
`mav_server/player/mav-player.html` by the repository's set-up and carried in its wheel; the recording
fills its data slot as script-safe JSON. In a notebook the page sits in a sandboxed `<iframe srcdoc>`,
so its scripts and styles never touch the notebook's, and its content security policy allows no network.
"""

from __future__ import annotations

import html
import json
import os
import queue
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .errors import ApiError
from .protocol import EVENT_NAMES, PROTOCOL, parse_event
from .recordings.validate import RECORDING_FORMAT, check_recording
from .sse import iter_sse

PLAYER_FILE = "mav-player.html"
DATA_SLOT = "<!--MAV_DATA-->"
TITLE_SLOT = "<!--MAV_TITLE-->"
PANELS = ("generated_text", "top_predictions", "mlp_activations", "attention_entropy", "output_distribution")
THEMES = ("auto", "light", "dark")
# A checkout of the repository: @mav/react's build, for when the set-up has not copied it here yet.
_CHECKOUT_PLAYER = Path(__file__).resolve().parents[3] / "mav-react" / "dist" / "player" / PLAYER_FILE
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}

Recording = str | bytes | os.PathLike[str] | Iterable[Mapping[str, Any] | BaseModel]


def player_template() -> str:
    """The player page with its two empty slots."""
    packaged = resources.files("mav_server") / "player" / PLAYER_FILE
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    if _CHECKOUT_PLAYER.is_file():
        return _CHECKOUT_PLAYER.read_text(encoding="utf-8")
    raise FileNotFoundError(
        f"the MAV player ({PLAYER_FILE}) is missing from this install of mav-server: in a checkout run "
        "`npm run setup`, which builds @mav/react and copies it in; released wheels carry it"
    )


def _event_dict(event: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    if isinstance(event, BaseModel):
        name = EVENT_NAMES.get(type(event))
        if name is None:
            raise TypeError(f"{type(event).__name__} is not a mav/1 event")
        return {"type": name, **event.model_dump(exclude_none=True)}
    if "type" not in event:
        raise ValueError(
            f"an event needs its 'type' (meta, status, step, error or done); got {dict(event)!r:.80}"
        )
    return dict(event)


def recording_text(events: Iterable[Mapping[str, Any] | BaseModel], **extra: Any) -> str:
    """Events as a `.mavrec.jsonl` recording, as `serializeRecording` of `@mav/client` writes it."""
    lines = [_event_dict(event) for event in events]
    created = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    header = {
        **extra,
        "format": RECORDING_FORMAT,
        "protocol": PROTOCOL,
        "created_at": created,
        "events": len(lines),
    }
    return "".join(
        json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in [header, *lines]
    )


def _text_of(recording: Recording) -> str:
    if isinstance(recording, bytes):
        return recording.decode("utf-8")
    if isinstance(recording, str):
        # One line that names a file is a path; a recording has at least two lines.
        one_line = "\n" not in recording.strip() and len(recording) < 4096
        if one_line and (recording.endswith(".jsonl") or Path(recording).is_file()):
            return Path(recording).read_text(encoding="utf-8")
        return recording
    if isinstance(recording, os.PathLike):
        return Path(recording).read_text(encoding="utf-8")
    return recording_text(recording, source="mav_server.notebook")


def _title(text: str, title: str | None) -> str:
    if title:
        return title
    for line in text.split("\n")[1:]:
        event = json.loads(line) if line.strip() else {}
        if event.get("type") == "meta":
            prompt = " ".join(str(event.get("request", {}).get("prompt", "")).split())
            return prompt if len(prompt) <= 80 else prompt[:79] + "…"
    return "MAV recording"


def script_safe_json(value: Any) -> str:
    """JSON that can sit inside a `<script>` element (no `<`, `>`, `&`, U+2028 or U+2029 as such)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return "".join(_SCRIPT_UNSAFE.get(char, char) for char in text)


def to_html(
    recording: Recording,
    *,
    panels: Iterable[str] | None = None,
    step: int | None = None,
    theme: str = "auto",
    scale: str | None = None,
    title: str | None = None,
) -> str:
    """One self-contained HTML page playing `recording`: a `.mavrec.jsonl` path or text, or events.

    The recording is checked against protocol mav/1 first (`ValueError` naming the line).
    """
    text = _text_of(recording)
    try:
        check_recording(text.encode("utf-8"))
    except ApiError as exc:
        raise ValueError(f"not a mav/1 recording: {exc.message}") from None
    options: dict[str, Any] = {}
    if panels is not None:
        options["panels"] = list(panels)
        unknown = [name for name in options["panels"] if name not in PANELS]
        if unknown:
            raise ValueError(f"unknown panels {unknown}; expected some of {list(PANELS)}")
    if step is not None:
        if type(step) is not int or step < 0:
            raise ValueError(f"step must be an integer >= 0; got {step!r}")
        options["step"] = step
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {THEMES}; got {theme!r}")
    options["theme"] = theme
    if scale is not None:
        options["scale"] = scale
    if title is not None:
        options["title"] = title
    data = script_safe_json({"recording": text, "options": options})
    page = player_template()
    page = page.replace(TITLE_SLOT, html.escape(_title(text, title), quote=True), 1)
    return page.replace(DATA_SLOT, data, 1)


def iframe(page: str, height: int = 960) -> str:
    """`page` in a sandboxed iframe: scripts run, but in an origin of their own, away from the notebook."""
    return (
        f'<iframe srcdoc="{html.escape(page, quote=True)}" sandbox="allow-scripts" title="MAV recording" '
        f'style="width:100%;height:{int(height)}px;border:0"></iframe>'
    )


def show(
    recording: Recording | Iterator[Mapping[str, Any]],
    *,
    height: int = 960,
    every: float = 1.0,
    **options: Any,
) -> list[dict[str, Any]] | None:
    """Shows a recording in Jupyter. Given an iterator of events (`stream(...)`), shows the run as it
    goes, redrawn at most every `every` seconds, and returns its events. Options as `to_html`."""
    from IPython.display import HTML, display

    if not isinstance(recording, Iterator):
        display(HTML(iframe(to_html(recording, **options), height)))  # type: ignore[no-untyped-call]
        return None
    events: list[dict[str, Any]] = []
    handle = display(HTML("<p>Waiting for the run's first event…</p>"), display_id=True)  # type: ignore[no-untyped-call]
    shown = 0.0
    for event in recording:
        events.append(_event_dict(event))
        if time.monotonic() - shown >= every and any(e["type"] == "step" for e in events):
            handle.update(HTML(iframe(to_html(events, **options), height)))  # type: ignore[no-untyped-call]
            shown = time.monotonic()
    handle.update(HTML(iframe(to_html(events, **options), height)))  # type: ignore[no-untyped-call]
    return events


def _over_http(server: str, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    body = json.dumps(request).encode("utf-8")
    headers = {"content-type": "application/json", "accept": "text/event-stream"}
    token = os.environ.get("MAV_API_TOKEN")
    if token:
        headers["authorization"] = f"Bearer {token}"
    call = urllib.request.Request(server.rstrip("/") + "/run", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(call) as response:
        block: list[str] = []
        for raw in response:
            line = raw.decode("utf-8").rstrip("\r\n")
            if line:
                block.append(line)
                continue
            for message in iter_sse("\n".join(block) + "\n\n"):
                if message.event in ("meta", "status", "step", "error", "done"):
                    event = parse_event(message.event, json.loads(message.data))
                    yield _event_dict(event)  # type: ignore[arg-type]
            block = []


def _in_process(request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    from .config import settings_from_env
    from .models import ModelRegistry
    from .runs import execute_run, parse_request, plan_run

    global _registry
    settings = settings_from_env()
    if _registry is None:
        _registry = ModelRegistry.from_settings(settings)
    registry = _registry
    plan = plan_run(registry, parse_request(request, settings))
    events: queue.Queue[Any] = queue.Queue()
    worker = threading.Thread(
        target=lambda: (
            execute_run(registry, plan, events.put, started=time.perf_counter()),
            events.put(None),
        ),
        daemon=True,
        name="mav-notebook-run",
    )
    worker.start()
    while (event := events.get()) is not None:
        yield _event_dict(event)


_registry: Any = None


def stream(prompt: str, *, server: str | None = None, **request: Any) -> Iterator[dict[str, Any]]:
    """The events of a run, as they come: from a mav-server (`server="http://127.0.0.1:8000/api"`),
    or from the model loaded in this process (the `MAV_*` settings' default model). Other keyword
    arguments are request fields (`max_new_tokens`, `temperature`, `model`, ...)."""
    body = {"prompt": prompt, **request}
    return _over_http(server, body) if server else _in_process(body)
