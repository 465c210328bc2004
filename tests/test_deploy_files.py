"""deploy/: what the compose file, the systemd units, the Containerfile and its entrypoint run
exists in the ``hub`` command line, the settings they set are documented, and the properties
the deployment relies on are there (non-root, read-only root, health checks, hardening). No
image is built: there is no container engine in CI. The health check script is run for real,
against the app served on loopback."""

import configparser
import os
import re
import runpy
import shlex
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from hub import create_app
from hub.cli import hub_cli
from tests.test_configuration_reference import REFERENCE, reference_rows

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
# The entrypoint's own commands (deploy/entrypoint.sh); anything else is a hub command.
ENTRYPOINT_COMMANDS = {"web", "serve", "scheduler"}
HUB_SERVICES = {"migrate", "web1", "web2", "scheduler"}


@pytest.fixture(scope="module")
def commands():
    """The ``hub`` command line as the console script has it (every package's commands)."""
    create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    return hub_cli


def _resolves(group, words):
    """Whether ``hub <words…>`` names a command (a group's subcommand included)."""
    command = group.commands.get(words[0]) if words else None
    if command is not None and hasattr(command, "commands") and len(words) > 1:
        return words[1] in command.commands
    return command is not None


def _hub_invocations(text):
    """Every ``hub <command> [<subcommand>]`` a shell or unit line runs."""
    found = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for match in re.finditer(r"(?:^|[\s/=])hub ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", line):
            found.append([word for word in match.groups() if word])
    return found


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_runs_the_hub_beside_postgresql_redis_minio_and_caddy(compose):
    services = compose["services"]
    assert {"postgres", "redis", "minio", "minio-bucket", "proxy"} | HUB_SERVICES <= set(services)
    for name in HUB_SERVICES:
        service = services[name]
        assert service["read_only"] is True, name
        assert "/tmp" in service["tmpfs"], name
        assert service["depends_on"], name
    for name in ("postgres", "redis", "minio", "web1", "web2"):
        assert services[name]["healthcheck"]["test"], name
    for web in ("web1", "web2"):
        assert services[web]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["proxy"]["depends_on"]["web1"]["condition"] == "service_healthy"


def test_compose_wires_the_settings_of_several_processes(compose):
    environment = compose["services"]["web1"]["environment"]
    assert environment["HUB_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert environment["HUB_REDIS_URL"].startswith("redis://")
    assert environment["HUB_MEDIA_URL"].startswith("s3://")
    assert environment["HUB_PROXY_COUNT"] == "1"
    assert {"HUB_BASE_URL", "HUB_TRUSTED_HOSTS", "AWS_ENDPOINT_URL"} <= set(environment)
    documented = reference_rows(REFERENCE.read_text(encoding="utf-8"))
    assert (
        sorted(name for name in environment if name.startswith("HUB_") and name not in documented)
        == []
    )
    # Secrets come from deploy/.env, named in deploy/env.example, never written in the file.
    example = (DEPLOY / "env.example").read_text(encoding="utf-8")
    for secret in ("HUB_SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "MINIO_ROOT_PASSWORD"):
        assert re.search(rf"^{secret}=$", example, re.M), secret
        assert f"${{{secret}" in (DEPLOY / "compose.yaml").read_text(encoding="utf-8")


def test_what_the_deployment_runs_exists_in_the_hub_command_line(compose, commands):
    invocations = []
    for name in HUB_SERVICES:
        words = compose["services"][name]["command"]
        if words[0] not in ENTRYPOINT_COMMANDS:
            invocations.append(words)
    for path in [DEPLOY / "entrypoint.sh", *sorted((DEPLOY / "systemd").glob("*.service"))]:
        invocations += _hub_invocations(path.read_text(encoding="utf-8"))
    assert ["migrate"] in invocations and ["scheduler"] in invocations
    assert [words for words in invocations if not _resolves(commands, words)] == []


def test_the_entrypoint_runs_migrate_then_gunicorn_with_the_config_file():
    entrypoint = DEPLOY / "entrypoint.sh"
    assert os.access(entrypoint, os.X_OK)
    text = entrypoint.read_text(encoding="utf-8")
    assert re.search(r"web\) hub migrate && serve", text)
    assert "gunicorn --config deploy/gunicorn.conf.py" in text
    result = subprocess.run(["sh", "-n", str(entrypoint)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _unit(name):
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read(DEPLOY / "systemd" / name, encoding="utf-8")
    return parser


def _graceful_timeout():
    return runpy.run_path(str(DEPLOY / "gunicorn.conf.py")).get("graceful_timeout", 30)


@pytest.mark.parametrize("name", ["hub-web.service", "hub-scheduler.service"])
def test_the_systemd_units_are_hardened_and_stop_cleanly(name):
    unit = _unit(name)
    service = unit["Service"]
    assert service["User"] == "hub"
    assert service["EnvironmentFile"].startswith("/etc/hub/")
    assert service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    assert "/var/lib/hub" in service["ReadWritePaths"].split()
    assert "HUB_INSTANCE_PATH=/var/lib/hub" in service["Environment"].split()
    assert service["KillSignal"] == "SIGTERM" and service["KillMode"] == "mixed"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert shlex.split(service["ExecStart"])[0].startswith("/srv/hub/.venv/bin/")


def test_the_units_give_each_process_time_to_stop():
    web = int(_unit("hub-web.service")["Service"]["TimeoutStopSec"])
    scheduler = int(_unit("hub-scheduler.service")["Service"]["TimeoutStopSec"])
    assert web > _graceful_timeout()
    assert scheduler >= 120  # the jobs under way end before it exits (a sync run)
    web_start = _unit("hub-web.service")["Service"]["ExecStart"]
    assert "--config deploy/gunicorn.conf.py" in web_start
    assert "--bind 127.0.0.1:5000" in web_start  # where deploy/nginx.conf and Caddyfile proxy


def test_the_image_runs_unprivileged_with_a_health_check():
    lines = [
        line.strip()
        for line in (DEPLOY / "Containerfile").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    froms = [line for line in lines if line.startswith("FROM ")]
    assert len(froms) == 2 and all(line.startswith("FROM python:3.12-slim") for line in froms)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(line.startswith("HEALTHCHECK") for line in lines)
    assert any("healthcheck.py" in line for line in lines)
    assert any("--require-hashes" in line for line in lines)
    assert any("pybabel compile" in line for line in lines)
    assert any(line.startswith("ENTRYPOINT") and "entrypoint.sh" in line for line in lines)


def test_the_proxies_pass_on_the_clients_address_and_scheme():
    nginx = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert "proxy_set_header X-Forwarded-For   $remote_addr;" in nginx
    assert "proxy_pass http://127.0.0.1:5000;" in nginx
    assert "ssl_certificate " in nginx and "return 301 https://" in nginx
    caddy = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    assert "reverse_proxy {$UPSTREAMS:127.0.0.1:5000}" in caddy


@pytest.fixture
def served():
    """The app on a loopback port, trusting only its public host, as in production."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": "sqlite://",
            "BASE_URL": "https://hub.example.org",
            "TRUSTED_HOSTS": ["hub.example.org"],
        }
    )
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join()


def _health_check(port, **variables):
    env = {"PATH": os.environ["PATH"], "PORT": str(port), **variables}
    return subprocess.run(
        [sys.executable, str(DEPLOY / "healthcheck.py")], env=env, capture_output=True, text=True
    )


def test_the_health_check_asks_for_the_trusted_host(served):
    assert _health_check(served, HUB_BASE_URL="https://hub.example.org").returncode == 0
    # Any other host name is refused (400): the check names the base URL's.
    failed = _health_check(served)
    assert failed.returncode == 1 and "400" in failed.stderr


def test_the_health_check_fails_without_a_server():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = _health_check(port, HUB_BASE_URL="https://hub.example.org")
    assert result.returncode == 1 and "/healthz" in result.stderr
