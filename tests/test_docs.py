"""Every command has help text and a row in the README's command reference."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

from itsm_bridge.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    out = []
    for name, cmd in group.commands.items():
        path = (*prefix, name)
        if isinstance(cmd, click.Group):
            out += commands(cmd, path)
        else:
            out.append((path, cmd))
    return out


def test_every_command_has_help_and_is_in_the_readme():
    missing = []
    for path, cmd in commands(main):
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, path
        assert (cmd.help or "").strip(), f"{' '.join(path)} has no help"
        if f"`itsm-bridge {' '.join(path)}" not in README:
            missing.append(" ".join(path))
    assert not missing, f"commands missing from the README reference: {missing}"


def test_readme_first_screen_has_the_two_commands():
    first_screen = "\n".join(README.splitlines()[:25])
    assert "itsm-bridge" in first_screen and "pytest" in first_screen
