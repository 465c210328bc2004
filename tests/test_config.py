"""The app factory and its settings, the secret-key refusal among them."""

import runpy
from pathlib import Path

import pytest

from hub import create_app
from hub.config import ConfigError

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "k3Y-" + "9f2c6d1e8a7b4c3d2e1f0a9b8c7d6e5f"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for name in (
        "HUB_SECRET_KEY",
        "HUB_DATABASE_URL",
        "FLASK_DEBUG",
        "HUB_FETCH_ALLOW",
        "HUB_TRUSTED_HOSTS",
        "HUB_PROXY_COUNT",
        "HUB_BASE_URL",
        "HUB_SYNC_WORKER_AFTER",
        "HUB_INVITATION_DAYS",
        "HUB_SQLITE_BUSY_TIMEOUT",
        "HUB_WEBHOOK_RETRY_DELAYS",
        "HUB_WEBHOOK_MAX_FAILURES",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path}/config.sqlite3")
    # An instance folder of the test's own: never the checkout's, which make run fills.
    monkeypatch.setenv("HUB_INSTANCE_PATH", str(tmp_path / "instance"))


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path}/elsewhere.sqlite3"
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setenv("HUB_SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv("HUB_FETCH_ALLOW", "127.0.0.1, partner.example ")
    app = create_app()
    assert app.config["DATABASE_URL"] == url
    assert app.config["SECRET_KEY"] == GOOD_KEY
    assert app.config["FETCH_ALLOW"] == ["127.0.0.1", "partner.example"]
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


@pytest.mark.parametrize(
    ("value", "after"), [(None, 1000), ("0", 0), ("250000", 250000), ("off", None), (" OFF ", None)]
)
def test_the_sync_worker_starts_after_the_records_set(monkeypatch, value, after):
    monkeypatch.setenv("HUB_SECRET_KEY", GOOD_KEY)
    if value is not None:
        monkeypatch.setenv("HUB_SYNC_WORKER_AFTER", value)
    assert create_app().config["SYNC_WORKER_AFTER"] == after


@pytest.mark.parametrize("value", ["-1", "many", "1e3"])
def test_a_worker_threshold_that_is_no_count_stops_the_app(monkeypatch, value):
    monkeypatch.setenv("HUB_SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv("HUB_SYNC_WORKER_AFTER", value)
    with pytest.raises(ConfigError, match="HUB_SYNC_WORKER_AFTER"):
        create_app()


def test_embedded_default_is_a_sqlite_file_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("HUB_DATABASE_URL")
    app = create_app({"TESTING": True})
    assert app.instance_path == str(tmp_path / "instance")
    assert app.config["DATABASE_URL"] == "sqlite:///" + str(Path(app.instance_path) / "hub.sqlite3")


def test_the_instance_folder_defaults_to_the_checkouts(monkeypatch):
    monkeypatch.delenv("HUB_INSTANCE_PATH")
    assert create_app({"TESTING": True}).instance_path == str(ROOT / "instance")


def test_without_variables_the_instance_folder_holds_the_key_and_the_address(tmp_path):
    """What make run writes is what every process reads: gunicorn, the scheduler, the CLI."""
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "secret_key").write_text(GOOD_KEY + "\n")
    (tmp_path / "instance" / "base_url").write_text("http://127.0.0.1:8123/\n")
    app = create_app()
    assert app.secret_key == GOOD_KEY
    assert app.config["BASE_URL"] == "http://127.0.0.1:8123"


def test_variables_win_over_the_instance_folder(monkeypatch, tmp_path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "secret_key").write_text("x" * 48)
    (tmp_path / "instance" / "base_url").write_text("http://127.0.0.1:8123")
    monkeypatch.setenv("HUB_SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv("HUB_BASE_URL", "https://hub.example.org/ocop/")
    app = create_app()
    assert app.secret_key == GOOD_KEY
    assert app.config["BASE_URL"] == "https://hub.example.org/ocop"


@pytest.mark.parametrize(
    "value", ["hub.example.org", "ftp://hub.example.org", "https://", "https://h.example?x=1",
              "https://user:pw@h.example", "http://h.example:port"],
)  # fmt: skip
def test_a_base_url_that_is_no_address_stops_the_app(monkeypatch, value):
    monkeypatch.setenv("HUB_SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv("HUB_BASE_URL", value)
    with pytest.raises(ConfigError, match="HUB_BASE_URL"):
        create_app()


@pytest.mark.parametrize(("value", "days"), [(None, 7), ("14", 14), ("1", 1)])
def test_invitations_last_the_days_set(monkeypatch, value, days):
    if value:
        monkeypatch.setenv("HUB_INVITATION_DAYS", value)
    assert create_app({"TESTING": True}).config["INVITATION_DAYS"] == days


@pytest.mark.parametrize("value", ["0", "-3", "a week"])
def test_invitation_days_that_are_no_count_stop_the_app(monkeypatch, value):
    monkeypatch.setenv("HUB_INVITATION_DAYS", value)
    with pytest.raises(ConfigError, match="HUB_INVITATION_DAYS"):
        create_app({"TESTING": True})


@pytest.mark.parametrize(
    ("delays", "failures", "config"),
    [
        (None, None, ((30, 120, 600, 3600, 7200, 14400, 28800), 9)),
        ("5, 60,3600", "3", ((5, 60, 3600), 3)),
        ("90", "1", ((90,), 1)),
    ],
)
def test_webhooks_retry_as_set(monkeypatch, delays, failures, config):
    if delays:
        monkeypatch.setenv("HUB_WEBHOOK_RETRY_DELAYS", delays)
    if failures:
        monkeypatch.setenv("HUB_WEBHOOK_MAX_FAILURES", failures)
    app = create_app({"TESTING": True})
    assert (app.config["WEBHOOK_RETRY_DELAYS"], app.config["WEBHOOK_MAX_FAILURES"]) == config


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HUB_WEBHOOK_RETRY_DELAYS", "30,,120"),
        ("HUB_WEBHOOK_RETRY_DELAYS", "30, 0"),
        ("HUB_WEBHOOK_RETRY_DELAYS", "30s,2m"),
        ("HUB_WEBHOOK_RETRY_DELAYS", "-30"),
        ("HUB_WEBHOOK_MAX_FAILURES", "0"),
        ("HUB_WEBHOOK_MAX_FAILURES", "a day"),
    ],
)
def test_webhook_retries_that_are_no_counts_stop_the_app(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name) as refused:
        create_app({"TESTING": True})
    assert f"“{value}”" in str(refused.value)


def test_a_refused_retry_schedule_is_said_in_the_operators_language(monkeypatch):
    from flask_babel import force_locale

    from hub.cli import config_error_line

    monkeypatch.setenv("HUB_WEBHOOK_RETRY_DELAYS", "30s")
    with pytest.raises(ConfigError) as refused:
        create_app({"TESTING": True})
    monkeypatch.delenv("HUB_WEBHOOK_RETRY_DELAYS")
    with create_app({"TESTING": True}).app_context(), force_locale("vi"):
        line = config_error_line(refused.value)
    assert "HUB_WEBHOOK_RETRY_DELAYS phải là các số giây nguyên" in line and "“30s”" in line


def test_explicit_config_overrides_the_environment(monkeypatch):
    monkeypatch.setenv("HUB_SECRET_KEY", GOOD_KEY)
    app = create_app({"DATABASE_URL": "sqlite://"})
    assert app.config["DATABASE_URL"] == "sqlite://"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (None, "is not set"),
        ("", "is not set"),
        ("short-but-random-Q7x", "too short (20 characters"),
        ("changeme", "well-known"),
        ("you-will-never-guess", "well-known"),
        ("a" * 64, "well-known or trivial"),
    ],
)
def test_refuses_to_start_without_a_strong_secret_key(monkeypatch, key, reason):
    if key is not None:
        monkeypatch.setenv("HUB_SECRET_KEY", key)
    with pytest.raises(ConfigError) as excinfo:
        create_app()
    message = str(excinfo.value)
    assert reason in message
    assert "HUB_SECRET_KEY" in message
    assert "\n" not in message  # says why in one line
    if key is None:
        assert str(Path(create_app({"TESTING": True}).instance_path) / "secret_key") in message


def test_debug_and_test_modes_run_without_a_secret_key(monkeypatch):
    assert create_app({"TESTING": True}).config["SECRET_KEY"]
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app()
    assert app.debug and len(app.config["SECRET_KEY"]) >= 32


def test_a_strong_key_starts_the_app(monkeypatch):
    monkeypatch.setenv("HUB_SECRET_KEY", GOOD_KEY)
    app = create_app()
    assert not app.debug and not app.testing
    assert app.secret_key == GOOD_KEY
    assert app.test_client().get("/healthz").status_code == 200


def test_trusted_hosts_refuse_a_forged_host_header(monkeypatch):
    monkeypatch.setenv("HUB_TRUSTED_HOSTS", "hub.example, localhost")
    monkeypatch.setenv("HUB_SECRET_KEY", GOOD_KEY)
    app = create_app()
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/healthz", headers={"Host": "evil.example"}).status_code == 400


def test_wsgi_module_builds_the_app_from_the_environment(monkeypatch):
    monkeypatch.setenv("HUB_SECRET_KEY", GOOD_KEY)
    namespace = runpy.run_path(str(ROOT / "wsgi.py"))
    assert namespace["app"].name == "hub"
    monkeypatch.delenv("HUB_SECRET_KEY")
    with pytest.raises(ConfigError):
        runpy.run_path(str(ROOT / "wsgi.py"))


def test_health_check_answers_without_the_database(monkeypatch):
    monkeypatch.setenv("HUB_DATABASE_URL", "postgresql+psycopg://127.0.0.1:1/nowhere")
    app = create_app({"TESTING": True})
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_behind_a_proxy_the_clients_address_and_scheme_count(monkeypatch):
    monkeypatch.setenv("HUB_PROXY_COUNT", "1")
    app = create_app({"TESTING": True})
    seen = {}

    @app.route("/whoami")
    def whoami():
        from flask import request

        seen.update(addr=request.remote_addr, secure=request.is_secure)
        return ""

    app.test_client().get(
        "/whoami", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    )
    assert seen == {"addr": "203.0.113.7", "secure": True}
