"""Load a TOML config into typed settings, reporting every problem at once.

Each problem names its key path, file and line, and for a misspelt key the closest valid one.
Secrets are never in the file: a literal `password`, `token`, `api_key` ... is refused without
echoing it, and `*_env` keys name environment variables read when the secret is first needed.
"""

from __future__ import annotations

import difflib
import os
import shlex
import tomllib
import types
import typing
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from itsm_bridge import platforms
from itsm_bridge.config_schema import PlatformMapping, Settings, default_states
from itsm_bridge.config_tables import settings_model
from itsm_bridge.errors import ConfigError, ConfigProblem
from itsm_bridge.mapping.fields import StateMap, public_status_map
from itsm_bridge.mapping.priority import PriorityMatrix, matrix_problems
from itsm_bridge.mapping.rules import VENDOR_RULES, RequiredRule
from itsm_bridge.mapping.taxonomy import Taxonomy, Term, Vocabulary
from itsm_bridge.model import PublicStatus, State
from itsm_bridge.toml_lines import key_lines

DEFAULT_PATH = "itsm-bridge.toml"
SECRET_KEYS = {"password", "token", "api_key", "apikey", "secret", "client_secret", "pat", "api_token"}


@dataclass(frozen=True)
class Config:
    """Validated settings plus the mapping objects derived from them."""

    settings: Settings
    path: Path | None = None

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    @cached_property
    def matrix(self) -> PriorityMatrix:
        return PriorityMatrix(dict(self.settings.priority.matrix))

    @cached_property
    def taxonomy(self) -> Taxonomy:
        t = self.settings.taxonomy
        categories = [
            Term(
                name,
                tuple(c.aliases),
                c.platform_values(),
                Vocabulary(
                    "subcategory",
                    [Term(s, tuple(sc.aliases), sc.platform_values()) for s, sc in c.subcategories.items()],
                ),
            )
            for name, c in t.categories.items()
        ]
        m = self.settings.mapping
        return Taxonomy(
            categories=Vocabulary("category", categories, default=t.default_category),
            services=Vocabulary(
                "service", [Term(n, tuple(s.aliases), s.platform_values()) for n, s in t.services.items()]
            ),
            resolution_codes=Vocabulary(
                "resolution_code",
                [Term(n, tuple(s.aliases), s.platform_values()) for n, s in t.resolution_codes.items()],
            ),
            groups=Vocabulary(
                "assignment_group",
                [Term(n, tuple(g.aliases), g.platform_values()) for n, g in t.groups.items()],
                default=t.default_group,
            ),
            policies={p: section.unmapped for p in platforms.names() if (section := m.platform(p)) is not None},
        )

    def state_map(self, platform: str) -> StateMap:
        """Canonical states <-> `platform`'s values: its `[mapping.NAME] states`, else its spec's defaults."""
        section = self.settings.mapping.platform(platform)
        names = section.states if isinstance(section, PlatformMapping) and section.states else default_states(platform)
        return StateMap.from_names(platform, names)

    @cached_property
    def public_status(self) -> dict[State, PublicStatus]:
        return public_status_map(self.settings.mapping.statuspage.public_status)

    @cached_property
    def rules(self) -> tuple[RequiredRule, ...]:
        own = tuple(
            RequiredRule(r.step, tuple(r.fields), tuple(r.platforms), r.severity, major_only=r.major_only)
            for r in self.settings.rules.required
        )
        return VENDOR_RULES + own

    @cached_property
    def people_map(self) -> dict[str, dict[str, str]]:
        """E-mail address -> platform -> user id: the CSV file's rows, then `[people.map]` over them."""
        from itsm_bridge.people_csv import read_people_csv

        people = self.settings.people
        out = read_people_csv(self.base_dir / people.csv) if people.csv else {}
        for email, ids in people.map.items():
            out.setdefault(email, {}).update(ids)
        return out

    def people_of(self, platform: str) -> dict[str, str]:
        """E-mail address -> `platform`'s user id, as the map says."""
        return {email: ids[platform] for email, ids in self.people_map.items() if ids.get(platform)}

    @property
    def state_url(self) -> str:
        """The store URL, with a relative SQLite path taken from the config file's folder."""
        url = self.settings.state.url
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            relative = url[len("sqlite:///") :]
            if relative != ":memory:":
                return "sqlite:///" + str((self.base_dir / relative).resolve())
        return url

    def secret(self, section: str, key: str) -> str:
        """The value of the environment variable that `section.key` names (e.g. servicenow.password_env)."""
        table = getattr(self.settings, section)
        name = getattr(table, key, None) if table is not None else None
        if not name:
            raise ConfigError([ConfigProblem(f"{section}.{key}", "is not set", self._file())])
        value = os.environ.get(name)
        if not value:
            raise ConfigError(
                [
                    ConfigProblem(
                        f"{section}.{key}", f"names the environment variable {name}, which is not set", self._file()
                    )
                ]
            )
        from itsm_bridge.log import register_secret

        user = getattr(table, "user", None) or getattr(table, "email", None)
        register_secret(value, user)
        return value

    def _file(self) -> str | None:
        return str(self.path) if self.path else None


def default_path() -> Path:
    return Path(os.environ.get("ITSM_BRIDGE_CONFIG") or DEFAULT_PATH)


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate a config file; raise ConfigError listing every problem."""
    file = Path(path) if path else default_path()
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        found = f"config file not found (looked for {file}); create one with: itsm-bridge init {shlex.quote(str(file))}"
        raise ConfigError([ConfigProblem("", found, str(file))]) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem("", f"cannot read config file: {exc.strerror}", str(file))]) from None
    return parse(_decode(data, file), file)


def _decode(data: bytes, file: Path) -> str:
    """The file's text: TOML is UTF-8, so a binary or Latin-1 file is refused, with the line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        if b"\0" in data:
            message = "is a binary file, not a TOML config"
        else:
            message = f"is not UTF-8 (TOML files are UTF-8; byte 0x{data[exc.start]:02x}); save it as UTF-8"
        raise ConfigError([ConfigProblem("", message, str(file), line)]) from None


def parse(text: str, file: Path | None = None) -> Config:
    name = str(file) if file else "<config>"
    try:
        return _parse(text, file, name)
    except RecursionError:  # tomllib and the validators recurse once per level of nesting
        raise ConfigError([ConfigProblem("", "nested too deeply to be a config", name)]) from None


def _parse(text: str, file: Path | None, name: str) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message names line and column, never more of the file than the bad token.
        raise ConfigError([ConfigProblem("", f"not valid TOML: {exc}", name)]) from None
    lines = key_lines(text)
    problems = _refuse_literal_secrets(data, (), name, lines)
    settings: Settings | None = None
    try:
        settings = settings_model().model_validate(data)
    except ValidationError as exc:
        problems += [_problem(err, name, lines) for err in exc.errors(include_input=False, include_url=False)]
    matrix = data.get("priority", {}).get("matrix") if isinstance(data.get("priority"), dict) else None
    if isinstance(matrix, dict):
        for cell, message in matrix_problems({k: str(v) for k, v in matrix.items()}):
            path = f"priority.matrix.{cell}"
            problems.append(ConfigProblem(path, message, name, lines.get(path) or lines.get("priority.matrix")))
    if settings is not None:
        problems += setting_problems(settings, name, lines)
    if problems or settings is None:
        raise ConfigError(_dedupe(problems))
    return Config(settings, file)


def setting_problems(settings: Settings, file: str, lines: dict[str, int]) -> list[ConfigProblem]:
    """Values the schema accepts but a run could not use: a regular expression or a template
    that does not compile, a CA bundle that is not there, PostgreSQL without its driver."""
    import re

    from itsm_bridge.mapping.templates import template_problems

    problems: list[ConfigProblem] = []

    def add(path: str, message: str) -> None:
        line = lines.get(path) or lines.get(re.sub(r"\[\d+\]$", "", path)) or lines.get(path.rsplit(".", 1)[0])
        problems.append(ConfigProblem(path, message, file, line))

    for i, pattern in enumerate(settings.publish.internal_host_patterns):
        try:
            re.compile(pattern)
        except re.error as exc:
            add(f"publish.internal_host_patterns[{i}]", f"not a valid regular expression: {exc}")
    for key in ("name_template", "body_template"):
        for message in template_problems(getattr(settings.publish, key)):
            add(f"publish.{key}", message)
    for message in template_problems(settings.communication.update_template, scheduled=True):
        add("communication.update_template", message)
    for name in platforms.names():
        section = settings.section(name)
        bundle = section.ca_bundle if section is not None else None
        if bundle and not Path(bundle).is_file():
            add(f"{name}.ca_bundle", f"no such file: {bundle} (a relative path is taken from the working directory)")
    if settings.state.url.startswith("postgresql"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            add("state.url", "PostgreSQL needs the psycopg driver: pip install 'itsm-bridge[postgres]'")
    return problems


def _refuse_literal_secrets(
    data: dict[str, Any], prefix: tuple[str, ...], file: str, lines: dict[str, int]
) -> list[ConfigProblem]:
    """Remove literal secrets from `data` (so nothing downstream can echo them) and report each."""
    problems: list[ConfigProblem] = []
    for key in list(data):
        value = data[key]
        path = ".".join((*prefix, key))
        if key.lower() in SECRET_KEYS:
            del data[key]
            problems.append(
                ConfigProblem(
                    path,
                    f"secrets are not read from the config file; put it in an environment variable "
                    f'and write {key}_env = "VARIABLE_NAME" instead',
                    file,
                    lines.get(path),
                )
            )
        elif isinstance(value, dict):
            problems += _refuse_literal_secrets(value, (*prefix, key), file, lines)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    problems += _refuse_literal_secrets(item, (*prefix, f"{key}[{i}]"), file, lines)
    return problems


def _problem(err: Any, file: str, lines: dict[str, int]) -> ConfigProblem:
    loc = [part for part in err["loc"] if not (isinstance(part, str) and part.startswith("function-"))]
    path = _key_path(loc)
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        valid = _valid_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.6)
        message = "unknown key" + (
            f"; did you mean {close[0]!r}?" if close else f"; valid keys here: {', '.join(valid)}"
        )
    elif err["type"] == "missing":
        message = "required key is missing"
    elif message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    line = lines.get(path)
    probe = path
    while line is None and "." in probe:
        probe = probe.rsplit(".", 1)[0]
        line = lines.get(probe)
    return ConfigProblem(path, message, file, line)


def _key_path(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _valid_keys(loc: list[Any]) -> list[str]:
    """The keys allowed at `loc`, found by walking the settings models."""
    node: Any = settings_model()
    for part in loc:
        node = _unwrap(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(str(part))
            if field is None:
                return []
            node = field.annotation
        elif typing.get_origin(node) in (dict, list):
            node = typing.get_args(node)[-1]
        else:
            return []
    node = _unwrap(node)
    if isinstance(node, type) and issubclass(node, BaseModel):
        return list(node.model_fields)
    return []


def _unwrap(node: Any) -> Any:
    """Optional[X] -> X."""
    if isinstance(node, types.UnionType) or typing.get_origin(node) is typing.Union:
        args = [a for a in typing.get_args(node) if a is not type(None)]
        return args[0] if len(args) == 1 else node
    return node


def _dedupe(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    seen: set[tuple[str, str]] = set()
    out = []
    for p in problems:
        if (p.key_path, p.message) not in seen:
            seen.add((p.key_path, p.message))
            out.append(p)
    return out
