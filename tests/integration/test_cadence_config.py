"""`[communication]` is validated like every table: each problem names its key, file and line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import ROOT


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "itsm_bridge.cli", "config", "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_bad_cadences_are_each_named_with_their_key_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[communication.cadence]\nP1 = "30x"\nP2 = "2d"\nmajor = 0\nP9 = 5\n')
    r = validate(path)
    assert r.returncode == 2
    assert f"{path}:2: communication.cadence.P1: '30x' is not a duration" in r.stderr
    assert f"{path}:3: communication.cadence.P2: '2d' is longer than a day" in r.stderr
    assert f"{path}:4: communication.cadence.major: must be more than 0 minutes" in r.stderr
    assert f"{path}:5: communication.cadence.P9: unknown key" in r.stderr


def test_an_update_template_naming_a_field_outside_the_allow_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    example = (ROOT / "config.example.toml").read_text()
    start = example.index("update_template = ")
    line = example[:start].count("\n") + 1
    end = example.index("\n", start)
    path.write_text(
        example[:start] + 'update_template = "Owner: {{ assignee }}. By {{ next_update_at }}."' + example[end:]
    )
    r = validate(path)
    assert r.returncode == 2
    assert f"{path}:{line}: communication.update_template: publish template cannot be rendered" in r.stderr
    assert "'assignee' is undefined" in r.stderr


def test_the_example_config_keeps_a_cadence_for_major_incidents_p1_and_p2() -> None:
    r = validate(ROOT / "config.example.toml")
    assert r.returncode == 0, r.stderr
    text = (ROOT / "config.example.toml").read_text()
    assert "[communication.cadence]" in text and 'P1 = "30m"' in text and "next_update_at" in text
