"""The production-shaped compose file (infra/deploy), read as docker compose reads it:
YAML with merge keys, ``${VAR}`` taken from okrgov.env. Docker cannot run where these
tests run, so they check its shape: what starts after what, health checks, one signing
key for every okrgov process, an API on loopback without a fixed host port, and okrgov
commands that exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from services.cli.db import _NAME
from services.cli.main import app as cli

DEPLOY = Path(__file__).resolve().parents[2] / "infra" / "deploy"
OKRGOV_IMAGE = "okrgov:local"
STREAM = ("relay", "projector-1", "projector-2")
_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


class Unset(Exception):
    """A ``${VAR:?message}`` whose variable is unset or empty: compose refuses to start."""


def env_file() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "okrgov.env").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's substitution: ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(found: re.Match[str]) -> str:
        name, op, arg = found["name"], found["op"], found["arg"]
        if env.get(name):
            return env[name]
        if op == ":?":
            raise Unset(f"{name}: {arg}")
        return arg if op == ":-" else ""

    return _VAR.sub(one, value)


def raw() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    resolved: dict[str, Any] = interpolate(raw(), env_file() if env is None else env)
    return resolved


def okrgov_services(services: dict[str, Any]) -> dict[str, Any]:
    return {name: s for name, s in services.items() if s.get("image") == OKRGOV_IMAGE}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def test_every_long_running_service_has_a_health_check() -> None:
    services = compose()["services"]
    one_shots = {name for name, s in services.items() if s.get("restart") == "no"}
    assert one_shots == {"db-init", "policy-check"}
    for name, service in services.items():
        if name in one_shots:
            continue
        check = service.get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), name
    # A one-shot is waited for to have exited 0, by everything that needs it.
    waited = {
        dependency
        for service in services.values()
        for dependency, how in (service.get("depends_on") or {}).items()
        if how.get("condition") == "service_completed_successfully"
    }
    assert one_shots <= waited


def test_the_api_and_stream_processes_check_their_own_healthz() -> None:
    services = compose()["services"]
    assert ":8000/healthz" in " ".join(services["api"]["healthcheck"]["test"])
    for name in STREAM:
        env = environment(services[name])
        assert env["OKRGOV_METRICS_PORT"] == "9100", name
        assert env["OKRGOV_METRICS_HOST"] == "0.0.0.0", name  # reachable by Prometheus
        assert "127.0.0.1:9100/healthz" in " ".join(services[name]["healthcheck"]["test"])
        assert "ports" not in services[name]  # metrics stay on the compose network
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert "/health" in " ".join(services["opa"]["healthcheck"]["test"])


def test_workers_and_the_relay_start_after_their_schema_exists() -> None:
    services = compose()["services"]
    assert services["db-init"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    command = services["db-init"]["command"]
    schema = command[command.index("--read-models-schema") + 1]
    for name in (*STREAM, "api"):
        depends = services[name]["depends_on"]
        assert depends["db-init"]["condition"] == "service_completed_successfully", name
    for name in STREAM:
        assert services[name]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("projector-1", "projector-2"):
        assert environment(services[name])["OKRGOV_DATABASE_SCHEMA"] == schema
    assert services["api"]["depends_on"]["opa"]["condition"] == "service_healthy"


def test_every_okrgov_process_signs_with_the_one_key_of_okrgov_env() -> None:
    services = okrgov_services(raw()["services"])
    assert set(services) == {"db-init", "api", *STREAM}
    written = {name: environment(s).get("OKRGOV_SIGNING_KEY") for name, s in services.items()}
    assert len(set(written.values())) == 1, written
    assert next(iter(written.values())).startswith("${OKRGOV_SIGNING_KEY:?")
    env = env_file()
    resolved = okrgov_services(compose(env)["services"])
    assert {environment(s)["OKRGOV_SIGNING_KEY"] for s in resolved.values()} == {
        env["OKRGOV_SIGNING_KEY"]
    }
    # Without it compose refuses to start, rather than each process making a key.
    with pytest.raises(Unset, match="OKRGOV_SIGNING_KEY"):
        compose({k: v for k, v in env.items() if k != "OKRGOV_SIGNING_KEY"})


def test_the_api_is_on_loopback_without_a_fixed_host_port() -> None:
    env = {k: v for k, v in env_file().items() if k != "OKRGOV_API_BIND"}
    for given in (env, env_file()):
        api = compose(given)["services"]["api"]
        assert "container_name" not in api  # --scale api=2 names them itself
        assert api["ports"], "the API is published"
        for port in api["ports"]:
            host_ip, host_port, container_port = str(port).rsplit(":", 2)
            assert host_ip == "127.0.0.1"
            assert host_port == ""  # docker picks one per replica
            assert container_port == "8000"
    assert "--host" in api["command"] and api["command"][-1] == "8000"


def test_the_roles_are_named_once_and_valid() -> None:
    env = env_file()
    for name in ("OKRGOV_DB_OWNER", "OKRGOV_DB_APP_ROLE"):
        assert _NAME.fullmatch(env[name]), name
    services = compose(env)["services"]
    app_role = env["OKRGOV_DB_APP_ROLE"]
    for name, service in okrgov_services(services).items():
        url = environment(service)["OKRGOV_DATABASE_URL"]
        assert url.startswith(f"postgresql://{app_role}:"), name
    admin = environment(services["db-init"])["OKRGOV_DB_ADMIN_URL"]
    assert admin.startswith("postgresql://postgres:")
    # The passwords go into URLs unescaped: the shipped ones must be URL-safe.
    for name in ("POSTGRES_PASSWORD", "OKRGOV_DB_OWNER_PASSWORD", "OKRGOV_DB_APP_PASSWORD"):
        assert re.fullmatch(r"[A-Za-z0-9._~-]+", env[name]), name


@pytest.mark.parametrize("service", ["db-init", "api", *STREAM])
def test_each_okrgov_command_exists(service: str) -> None:
    command = compose()["services"][service]["command"]
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
