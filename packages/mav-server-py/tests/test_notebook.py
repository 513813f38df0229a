"""`mav_server.notebook`: the standalone player page from Python, in Jupyter, and the example notebook
executed in a real kernel (nbclient + ipykernel)."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from mav_server.config import Settings
from mav_server.models import ModelRegistry
from mav_server.notebook import iframe, player_template, recording_text, to_html

from .conftest import REPO

HOSTILE = REPO / "fixtures" / "recordings" / "hostile.mavrec.jsonl"
RECORDING = REPO / "packages" / "mav-react" / "src" / "__fixtures__" / "smollm2-demo.mavrec.jsonl"
NOTEBOOK = REPO / "packages" / "mav-server-py" / "examples" / "notebook.ipynb"
DATA = re.compile(r'<script type="application/json" id="mav-player-data">(.*?)</script>', re.S)


def page_data(page: str) -> dict:
    found = DATA.findall(page)
    assert len(found) == 1, "one data element, and nothing in the data closes it"
    return json.loads(found[0])


def test_the_page_is_react_players_own_build() -> None:
    template = player_template()
    assert "<!--MAV_DATA-->" in template and "<!--MAV_TITLE-->" in template
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', template)
    assert csp and "default-src 'none'" in csp.group(1) and "connect-src" not in csp.group(1)
    built = REPO / "packages" / "mav-react" / "dist" / "player" / "mav-player.html"
    if built.is_file():
        assert template == built.read_text(encoding="utf-8"), "the packaged copy is the current build"


def test_a_hostile_recording_stays_data() -> None:
    text = HOSTILE.read_text(encoding="utf-8")
    page = to_html(HOSTILE, theme="dark", step=2)
    data = page_data(page)
    assert data == {"recording": text, "options": {"theme": "dark", "step": 2}}
    raw = DATA.search(page).group(1)  # type: ignore[union-attr]
    for unsafe in ("<", ">", "&", "\u2028", "\u2029"):
        assert unsafe not in raw
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)  # type: ignore[union-attr]
    assert "<" not in title and "&lt;/script&gt;" in title
    # In a notebook: the whole page is one attribute of a sandboxed iframe, and reads back unchanged.
    frame = iframe(page)
    assert frame.count("<") == 1 + frame.count("</iframe>") and 'sandbox="allow-scripts"' in frame
    srcdoc = re.search(r'srcdoc="([^"]*)"', frame).group(1)  # type: ignore[union-attr]
    assert html.unescape(srcdoc) == page


def test_to_html_checks_the_recording_and_the_options(tmp_path: Path) -> None:
    lines = RECORDING.read_text(encoding="utf-8").splitlines()
    broken = tmp_path / "broken.mavrec.jsonl"
    broken.write_text("\n".join([lines[0], lines[1], '{"type":"step"}']) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 3"):
        to_html(broken)
    with pytest.raises(ValueError, match="unknown panels"):
        to_html(RECORDING, panels=["everything"])
    with pytest.raises(ValueError, match="theme"):
        to_html(RECORDING, theme="neon")
    events = [json.loads(line) for line in lines[1:]]
    recorded = page_data(to_html(events))["recording"].split("\n")
    assert json.loads(recorded[0])["events"] == len(events)
    assert recorded[1:] == recording_text(events).split("\n")[1:], "events as serializeRecording writes them"


def test_the_example_notebook_runs_and_shows_the_player(
    tmp_path: Path, smol_registry: ModelRegistry, serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The live run streams from a real server holding the session's bundled model, so the kernel does
    # not load it a second time.
    server = serve(Settings(), smol_registry)
    monkeypatch.setenv("MAV_SERVER_URL", f"{server.url}/api")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # The same machinery with a hostile recording: the output is the page, the page holds it as data.
    notebook.cells.append(nbformat.v4.new_code_cell(f"show({str(HOSTILE)!r})"))
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    html_outputs = [
        (index, output["data"]["text/html"])
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if "text/html" in output.get("data", {})
    ]
    assert [index for index, _ in html_outputs] == [2, 4, 7], "live run, saved run, hostile run"
    for _, output in html_outputs:
        assert output.startswith("<iframe srcdoc=") and 'sandbox="allow-scripts"' in output

    live = page_data(html.unescape(re.search(r'srcdoc="([^"]*)"', html_outputs[0][1]).group(1)))  # type: ignore[union-attr]
    steps = [json.loads(line) for line in live["recording"].split("\n") if '"type":"step"' in line]
    assert len(steps) == 8 and all(len(step["activations"]) == 31 for step in steps), "the bundled model ran"
    saved = (tmp_path / "printing-press.mavrec.jsonl").read_text(encoding="utf-8")
    options = page_data(html.unescape(re.search(r'srcdoc="([^"]*)"', html_outputs[1][1]).group(1)))["options"]  # type: ignore[union-attr]
    assert options == {"panels": ["generated_text", "top_predictions"], "step": 3, "theme": "dark"}
    assert (tmp_path / "printing-press.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    assert saved.count('"type":"step"') == 8

    hostile = html.unescape(re.search(r'srcdoc="([^"]*)"', html_outputs[2][1]).group(1))  # type: ignore[union-attr]
    assert hostile == to_html(HOSTILE)


def test_the_wheel_carries_the_player(tmp_path: Path) -> None:
    package = REPO / "packages" / "mav-server-py"
    if not (package / "src" / "mav_server" / "player" / "mav-player.html").is_file():
        pytest.fail(
            "src/mav_server/player/mav-player.html is missing: run `npm run setup` (it copies the build)"
        )
    source = tmp_path / "src"
    shutil.copytree(package, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            ".",
        ],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=180,
    )
    wheel = next(tmp_path.glob("mav_server-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        assert "mav_server/player/mav-player.html" in archive.namelist()
        assert archive.read("mav_server/player/mav-player.html").decode("utf-8") == player_template()
