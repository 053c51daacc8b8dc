"""deploy/: every file parses, and every itsm-bridge command line in it names commands and flags
the CLI has (walked on the click command tree, each value converted by the option's own type).

Covers the systemd units (ini, as systemd reads them), the compose file, the Kubernetes manifests
(yaml), the Dockerfile's entrypoint, and the config they share (`config validate`).
"""

from __future__ import annotations

import configparser
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from itsm_bridge.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
PORT = "8080"


# --- the CLI walk -----------------------------------------------------------------------------


def check_command_line(args: list[str]) -> list[str]:
    """The command path of an `itsm-bridge ARGS...` line; AssertionError naming what does not exist."""
    command: click.Command = main
    path: list[str] = []
    rest = list(args)
    while True:
        rest = _options(command, rest, stop_at_word=isinstance(command, click.Group))
        if not isinstance(command, click.Group):
            break
        assert rest, f"{args}: no command after {' '.join(['itsm-bridge', *path])}"
        name = rest.pop(0)
        sub = command.commands.get(name)
        assert sub is not None, f"{args}: no command {' '.join(['itsm-bridge', *path, name])!r}"
        command, path = sub, [*path, name]
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    assert len(rest) <= sum(1 if a.nargs == 1 else len(rest) for a in arguments), f"{args}: extra arguments {rest}"
    return path


def _options(command: click.Command, tokens: list[str], stop_at_word: bool) -> list[str]:
    """Consume the options `command` takes from the front (or all, for a leaf); return the rest."""
    options = {opt: p for p in command.params if isinstance(p, click.Option) for opt in p.opts + p.secondary_opts}
    left: list[str] = []
    tokens = list(tokens)
    while tokens:
        token = tokens.pop(0)
        if not token.startswith("-"):
            if stop_at_word:
                return [token, *tokens]
            left.append(token)
            continue
        name, eq, inline = token.partition("=")
        param = options.get(name)
        assert param is not None, f"{command.name}: no option {name}"
        if param.is_flag or param.count:
            assert not eq, f"{name} takes no value"
            continue
        value = inline if eq else tokens.pop(0)
        param.type.convert(value, param, None)  # click.BadParameter for a value the option refuses
    return left


def test_the_walk_refuses_what_the_cli_does_not_have():
    assert check_command_line(["--config", "x.toml", "sync", "--json"]) == ["sync"]
    assert check_command_line(["config", "validate", "x.toml"]) == ["config", "validate"]
    for wrong in (["synk"], ["sync", "--forever"], ["--log-format", "xml", "sync"], ["status", "extra"]):
        with pytest.raises((AssertionError, click.BadParameter)):
            check_command_line(wrong)


# --- systemd ----------------------------------------------------------------------------------


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(path.read_text("utf-8"), source=str(path))
    return parser


def bridge_args(exec_start: str) -> list[str]:
    argv = shlex.split(exec_start.replace("%i", PORT))
    assert Path(argv[0]).name == "itsm-bridge", exec_start
    return argv[1:]


def test_systemd_units_run_existing_commands_and_the_timer_starts_the_sync_unit():
    folder = DEPLOY / "systemd"
    serve = unit(folder / "itsm-bridge-serve@.service")
    sync = unit(folder / "itsm-bridge-sync.service")
    timer = unit(folder / "itsm-bridge-sync.timer")
    assert check_command_line(bridge_args(serve["Service"]["ExecStart"])) == ["serve"]
    assert "--port" in bridge_args(serve["Service"]["ExecStart"])
    assert check_command_line(bridge_args(sync["Service"]["ExecStart"])) == ["sync"]
    assert sync["Service"]["Type"] == "oneshot" and "143" in serve["Service"]["SuccessExitStatus"]
    assert timer["Timer"]["Unit"] == "itsm-bridge-sync.service" and (folder / timer["Timer"]["Unit"]).exists()
    assert re.fullmatch(r"\*:0/\d+", timer["Timer"]["OnCalendar"])
    for parsed in (serve, sync):
        assert parsed["Service"]["EnvironmentFile"] == "/etc/itsm-bridge/itsm-bridge.env"
        assert "ITSM_BRIDGE" not in parsed["Service"].get("Environment", "")  # secrets only in the file


# --- compose ----------------------------------------------------------------------------------


def entrypoint() -> list[str]:
    found = re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", (DEPLOY / "Dockerfile").read_text("utf-8"), re.M)
    assert found
    return list(yaml.safe_load(found.group(1)))


def test_compose_runs_postgres_two_serve_workers_and_the_receiver_in_front_of_them():
    compose = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text("utf-8"))
    services: dict[str, Any] = compose["services"]
    assert entrypoint() == ["itsm-bridge"]
    bridge = {name: s for name, s in services.items() if s.get("image") == "itsm-bridge:latest"}
    paths = {name: check_command_line(s["command"]) for name, s in bridge.items()}
    workers = sorted(name for name, path in paths.items() if path == ["serve"])
    assert workers == ["serve-1", "serve-2"] and paths["sync"] == ["sync"]
    assert services["postgres"]["image"].startswith("postgres:")
    for name in workers:
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "ports" not in services[name]  # reachable through the receiver only
        assert services[name]["command"][services[name]["command"].index("--port") + 1] == PORT
    receiver = services["receiver"]
    assert receiver["image"].startswith("nginx:") and set(receiver["depends_on"]) == set(workers)
    nginx = (DEPLOY / "compose" / "nginx.conf").read_text("utf-8")
    assert re.findall(r"server (serve-\d):(\d+)", nginx) == [(w, PORT) for w in workers]
    assert "/webhooks/(jira|servicenow)" in nginx and "client_max_body_size 1m;" in nginx
    for mount in bridge["serve-1"]["volumes"]:
        source = mount.split(":")[0]
        assert (DEPLOY / "compose" / source).resolve().exists(), mount


# --- Kubernetes -------------------------------------------------------------------------------


def manifests() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text("utf-8")):
            found[f"{doc['kind']}/{doc['metadata'].get('name', path.stem)}"] = doc
    return found


def test_kubernetes_runs_two_probed_serve_replicas_and_a_polling_cronjob():
    docs = manifests()
    deployment = docs["Deployment/itsm-bridge-serve"]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert check_command_line(container["args"]) == ["serve"]
    port = container["args"][container["args"].index("--port") + 1]
    assert [p["containerPort"] for p in container["ports"]] == [int(port)]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert docs["Service/itsm-bridge-serve"]["spec"]["selector"] == selector
    cron = docs["CronJob/itsm-bridge-sync"]["spec"]
    assert cron["concurrencyPolicy"] == "Forbid" and len(cron["schedule"].split()) == 5
    (job,) = cron["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert check_command_line(job["args"]) == ["sync"]
    secret_keys = set(docs["Secret/itsm-bridge-secrets"]["stringData"])
    for spec in (pod, cron["jobTemplate"]["spec"]["template"]["spec"]):
        (c,) = spec["containers"]
        assert c["envFrom"] == [{"secretRef": {"name": "itsm-bridge-secrets"}}]
        (mount,) = c["volumeMounts"]
        assert spec["volumes"][0]["configMap"]["name"] == "itsm-bridge-config"
        assert mount["mountPath"] + "/itsm-bridge.toml" == c["args"][c["args"].index("--config") + 1]
    kustomized = yaml.safe_load((DEPLOY / "kubernetes" / "kustomization.yaml").read_text("utf-8"))
    assert all((DEPLOY / "kubernetes" / r).exists() for r in kustomized["resources"])
    assert secret_keys == env_names(DEPLOY / "itsm-bridge.toml")


# --- the shared config ------------------------------------------------------------------------


def env_names(config: Path) -> set[str]:
    """Every variable a config's *_env keys name."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("_env") and isinstance(value, str):
                    names.add(value)
                walk(value)

    walk(tomllib.loads(config.read_text("utf-8")))
    return names


def test_the_shared_config_validates_and_every_secret_it_names_has_a_place(tmp_path: Path):
    # The shared config's store is PostgreSQL, and a config naming it validates only with the
    # driver: the `postgres` extra, which `.ci/run` installs (the README's `.[test]` does not).
    pytest.importorskip("psycopg", reason="the deploy config names PostgreSQL: needs the postgres extra")
    from itsm_bridge import config as bridge_config

    config = DEPLOY / "itsm-bridge.toml"
    bridge_config.load(config)  # ConfigError naming key, file and line when it does not validate
    configmap = manifests()["ConfigMap/itsm-bridge-config"]["data"]["itsm-bridge.toml"]
    bridge_config.parse(configmap, tmp_path / "itsm-bridge.toml")
    strip = re.compile(r"^#.*\n|^\s*\n|\s+#.*$", re.M)
    assert strip.sub("", configmap).replace('postgres.itsm-bridge.svc"', 'postgres"') == strip.sub(
        "", config.read_text("utf-8")
    ).replace("postgres:5432", "postgres.itsm-bridge.svc:5432").replace('postgres.itsm-bridge.svc"', 'postgres"')
    example = {
        line.split("=", 1)[0]
        for line in (DEPLOY / "itsm-bridge.env.example").read_text("utf-8").splitlines()
        if line and not line.startswith("#")
    }
    assert example == env_names(config)


def test_every_file_under_deploy_is_one_of_those_checked():
    checked = {
        "Dockerfile",
        "itsm-bridge.toml",
        "itsm-bridge.env.example",
        "README.md",
        "systemd/itsm-bridge-serve@.service",
        "systemd/itsm-bridge-sync.service",
        "systemd/itsm-bridge-sync.timer",
        "compose/compose.yaml",
        "compose/nginx.conf",
        *(f"kubernetes/{p.name}" for p in (DEPLOY / "kubernetes").glob("*.yaml")),
    }
    present = {str(p.relative_to(DEPLOY)) for p in DEPLOY.rglob("*") if p.is_file()}
    assert present == checked
