"""`itsm-bridge init`: a commented starter config, and what to set before the first run.

The starter is `config.example.toml` as shipped inside the package (package data, read with
importlib.resources so it is found however the package was installed). The repository's root copy
stays the documented source; a test keeps the two identical.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from itsm_bridge.cli_errors import UnusablePath, check_writable

EXAMPLE = "config.example.toml"


def example_text() -> str:
    """The example config shipped with the package."""
    return files("itsm_bridge").joinpath(EXAMPLE).read_text(encoding="utf-8")


@dataclass
class Started:
    """What `init` wrote: the file, and the environment variables its secrets are read from."""

    path: Path
    secrets: dict[str, str] = field(default_factory=dict)  # key path (servicenow.password_env) -> variable

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "file": str(self.path),
            "secrets": [{"key": k, "env": v, "set": bool(os.environ.get(v))} for k, v in self.secrets.items()],
        }


def write_starter(path: Path, force: bool = False) -> Started:
    """Write the example config to `path`; refuse (UnusablePath, exit 2) when it exists, unless `force`."""
    check_writable(str(path), "PATH")
    if path.exists() and not force:
        raise UnusablePath(f"{path} already exists; pass --force to overwrite it")
    text = example_text()
    # "x" creates only: a file that appeared since the check above is still never overwritten.
    with path.open("w" if force else "x", encoding="utf-8") as out:
        out.write(text)
    from itsm_bridge.config import parse

    return Started(path, secret_variables(parse(text, path).settings.model_dump(mode="json", exclude_none=True)))


def secret_variables(node: Any, prefix: str = "") -> dict[str, str]:
    """Every `*_env` key of the settings with the variable it names, by key path."""
    found: dict[str, str] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}{key}"
            if key.endswith("_env") and isinstance(value, str):
                found[path] = value
            else:
                found.update(secret_variables(value, path + "."))
    return found
