"""``hub config check``: every setting as the server reads it, secrets never printed, each
unsafe combination flagged at its level, the exit status, and the operator's language. Run as
an operator runs it: the ``hub`` group with nothing but the variables given."""

import json
import os

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from hub import create_app
from hub.cli import hub_cli
from hub.ops import config_cli  # noqa: F401  (attach hub config check)

GOOD_KEY = "k3Y-" + "9f2c6d1e8a7b4c3d2e1f0a9b8c7d6e5f" + "Zq"
OTHER_KEY = "prev-" + "0a1b2c3d4e5f60718293a4b5c6d7e8f9" + "Xy"
# Variables of the shell the tests run in that the check reads, besides HUB_*.
# Loopback: rate limits shared by every process of this machine (never connected to here).
REDIS_URL = "redis://127.0.0.1:6379/15"
AROUND = ("LC_", "LANG", "FLASK_", "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY", "AWS_")


@pytest.fixture
def check(monkeypatch, tmp_path, base_app, database_url):
    """``check(*options, VARIABLE=value or None)`` → (exit code, output): a sound production
    configuration on the migrated test database, changed by the variables given."""
    for name in list(os.environ):
        if name.startswith(("HUB_", *AROUND)):
            monkeypatch.delenv(name)
    instance = tmp_path / "instance"
    instance.mkdir()
    sound = {
        "HUB_INSTANCE_PATH": str(instance),
        "HUB_DATABASE_URL": database_url,
        "HUB_SECRET_KEY": GOOD_KEY,
        "HUB_BASE_URL": "https://hub.example.org",
        "HUB_PROXY_COUNT": "1",
        "HUB_RATELIMIT_STORAGE_URL": REDIS_URL,
        "HUB_MAIL_URL": "smtp://127.0.0.1:2525",
        "LANG": "C.UTF-8",
    }

    def run(*options, **variables):
        result = CliRunner().invoke(
            hub_cli,
            ["config", "check", *options],
            env={**sound, **variables},
            obj=ScriptInfo(create_app=create_app),
        )
        return result.exit_code, result.output

    run.instance = instance
    return run


def problems(check, *options, **variables):
    """{code: level} of the problems found, and the exit code."""
    code, output = check("--json", *options, **variables)
    report = json.loads(output)
    return {problem["code"]: problem["level"] for problem in report["problems"]}, code


def test_a_sound_configuration_is_shown_with_where_each_value_comes_from(check):
    code, output = check()
    assert code == 0, output
    assert "No problems found." in output
    lines = {line.split()[0]: line for line in output.splitlines() if line.startswith("  ")}
    assert "https://hub.example.org" in lines["HUB_BASE_URL"]
    assert lines["HUB_BASE_URL"].endswith("[environment]")
    assert lines["HUB_INVITATION_DAYS"].split()[1:] == ["7", "[default]"]
    assert f"hidden ({len(GOOD_KEY)} characters)" in lines["HUB_SECRET_KEY"]
    # Every setting the server reads is listed, whoever added it to load_settings.
    assert {"HUB_INSTANCE_PATH", "HUB_MEDIA_MAX_PIXELS", "HUB_TRUSTED_HOSTS"} <= set(lines)
    assert lines["workers"].split()[1:] == ["2", "[deploy/gunicorn.conf.py]"]


def test_the_instance_folders_files_are_a_source(check):
    (check.instance / "secret_key").write_text(GOOD_KEY + "\n")
    (check.instance / "secret_key").chmod(0o600)
    (check.instance / "base_url").write_text("https://files.example.org\n")
    code, output = check(HUB_SECRET_KEY=None, HUB_BASE_URL=None)
    assert code == 0, output
    assert "https://files.example.org  [instance folder: base_url]" in output
    assert "[instance folder: secret_key]" in output
    assert GOOD_KEY not in output


def test_secrets_are_never_printed(check):
    variables = {
        "HUB_SECRET_KEY_PREVIOUS": OTHER_KEY,
        "HUB_DATABASE_URL": "postgresql+psycopg://hub:db-Pa55word@127.0.0.1:1/hub",
        "HUB_MAIL_URL": "smtp://hub%40example.org:mail-Pa55@smtp.example.org:587?starttls=1",
        "HUB_RATELIMIT_STORAGE_URL": "redis://:redis-Pa55@10.0.0.5:6379/0",
        "HUB_MEDIA_URL": "s3://bucket/hub",
        "AWS_SECRET_ACCESS_KEY": "aws-Secret-Value",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
    }
    for options in ((), ("--json",)):
        _code, output = check(*options, **variables)
        for secret in (GOOD_KEY, OTHER_KEY, "db-Pa55word", "mail-Pa55", "redis-Pa55"):
            assert secret not in output
        assert "aws-Secret-Value" not in output
        assert "postgresql+psycopg://hub:***@127.0.0.1:1/hub" in output
        assert "smtp://hub%40example.org:***@smtp.example.org:587?starttls=1" in output
        assert "AKIAEXAMPLE" in output  # an identifier, not a secret


def test_a_refused_value_with_a_password_is_not_printed_either(check):
    code, output = check(HUB_MAIL_URL="imap://hub:mail-Pa55@mail.example.org")
    assert code == 1
    assert "mail-Pa55" not in output
    assert "HUB_MAIL_URL must be smtp://" in output


def test_a_refused_value_is_an_error_and_the_others_are_still_read(check):
    found, code = problems(check, HUB_INVITATION_DAYS="a week", HUB_TRASH_DAYS="0")
    assert found == {"refused": "error"} and code == 1
    code, output = check(HUB_INVITATION_DAYS="a week", HUB_TRASH_DAYS="0")
    assert "HUB_INVITATION_DAYS must be a whole number of 1 or more, not “a week”." in output
    assert "HUB_TRASH_DAYS must be a whole number of 1 or more, not “0”." in output
    assert "[environment, refused]" in output
    assert "HUB_SITEMAP_ENTRIES" in output and "Errors: 2, warnings: 0." in output


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"HUB_BASE_URL": None}, {"no_trusted_hosts": "error"}),
        ({"HUB_BASE_URL": "http://hub.example.org"}, {"plain_http": "error"}),
        ({"FLASK_DEBUG": "1"}, {"debug": "error"}),
        ({"HUB_SECRET_KEY": None}, {"secret_key": "error"}),
        ({"HUB_SECRET_KEY": "secret"}, {"secret_key": "error"}),
        ({"HUB_PROXY_COUNT": None}, {"no_proxy_count": "warning"}),
        ({"HUB_MAIL_URL": None}, {"mail_not_sent": "warning"}),
        ({"HUB_RATELIMIT_STORAGE_URL": None}, {"memory_rate_limits": "warning"}),
        (
            {"HUB_RATELIMIT_STORAGE_URL": "memory://", "GUNICORN_CMD_ARGS": "-w 3 --threads 4"},
            {"memory_rate_limits": "warning"},
        ),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, dict) else None,
)
def test_each_unsafe_combination_is_flagged(check, variables, expected):
    found, code = problems(check, "--no-database", **variables)
    assert found == expected
    assert code == (1 if "error" in expected.values() else 0)


def test_loopback_addresses_are_no_unsafe_http(check):
    for base in ("http://127.0.0.1:5000", "http://localhost:8000", "http://[::1]:5000"):
        found, code = problems(check, "--no-database", HUB_BASE_URL=base)
        assert found == {} and code == 0, base


def test_memory_rate_limits_are_fine_with_one_process(check):
    found, _code = problems(check, "--no-database", "--workers", "1", HUB_RATELIMIT_STORAGE_URL="")
    assert found == {}
    found, _code = problems(
        check, "--no-database", HUB_RATELIMIT_STORAGE_URL="", GUNICORN_CMD_ARGS="--workers=1"
    )
    assert found == {}
    _code, output = check("--no-database", HUB_RATELIMIT_STORAGE_URL="memory://")
    assert "memory:// with 2 web server processes (deploy/gunicorn.conf.py)" in output


@pytest.mark.parametrize(
    ("variables", "sign"),
    [
        ({"HUB_MEDIA_URL": "s3://bucket/hub"}, "HUB_MEDIA_URL (s3://)"),
        ({"HUB_RATELIMIT_STORAGE_URL": "redis://10.0.0.5:6379"}, "(10.0.0.5)"),
    ],
)
def test_sqlite_with_signs_of_several_machines_is_flagged(check, tmp_path, variables, sign):
    database = f"sqlite:///{tmp_path}/hub.sqlite3"
    found, code = problems(check, "--no-database", HUB_DATABASE_URL=database, **variables)
    assert found == {"sqlite_several_machines": "warning"} and code == 0
    _code, output = check("--no-database", HUB_DATABASE_URL=database, **variables)
    assert sign in output
    found, _code = problems(check, "--no-database", HUB_DATABASE_URL=database)
    assert found == {}  # SQLite on one machine is the embedded mode


def test_strict_fails_on_warnings(check):
    assert check(HUB_MAIL_URL=None)[0] == 0
    code, output = check("--strict", HUB_MAIL_URL=None)
    assert code == 1 and "Warning: HUB_MAIL_URL is not set" in output


def test_a_secret_key_file_others_can_read_is_flagged(check):
    key = check.instance / "secret_key"
    key.write_text(GOOD_KEY)
    key.chmod(0o644)
    found, _code = problems(check, "--no-database", HUB_SECRET_KEY=None)
    assert found == {"secret_key_file_mode": "warning"}
    key.chmod(0o600)
    assert problems(check, "--no-database", HUB_SECRET_KEY=None)[0] == {}


def test_a_database_out_of_reach_is_a_problem_not_a_failure(check):
    code, output = check(HUB_DATABASE_URL="postgresql+psycopg://127.0.0.1:1/nowhere")
    assert code == 1
    assert "Error: The database cannot be reached:" in output
    assert "Traceback" not in output


def test_a_missing_sqlite_file_is_said_and_not_made(check, tmp_path):
    path = tmp_path / "absent.sqlite3"
    code, output = check(HUB_DATABASE_URL=f"sqlite:///{path}")
    assert code == 1
    assert f"There is no database at {path} yet: run “hub migrate” first." in output
    assert not path.exists()


def test_an_empty_database_needs_migrating(check, tmp_path):
    path = tmp_path / "empty.sqlite3"
    path.touch()
    code, output = check(HUB_DATABASE_URL=f"sqlite:///{path}")
    assert code == 1 and "run “hub migrate” first" in output


def test_the_json_report_is_for_tools(check):
    code, output = check("--json", HUB_MAIL_URL=None)
    report = json.loads(output)
    assert code == 0
    assert report["errors"] == 0 and report["warnings"] == 1
    names = {setting["name"]: setting for setting in report["settings"]}
    assert names["HUB_BASE_URL"] == {
        "name": "HUB_BASE_URL",
        "value": "https://hub.example.org",
        "source": "environment",
        "refused": False,
    }
    assert names["HUB_TRASH_DAYS"]["source"] == "default"


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("vi_VN.UTF-8", "HUB_INVITATION_DAYS phải là"),
        ("ja_JP.UTF-8", "HUB_INVITATION_DAYS には 1 以上の整数"),
    ],
)
def test_problems_are_said_in_the_operators_language(check, lang, said):
    code, english = check(HUB_INVITATION_DAYS="x")
    code, output = check(HUB_INVITATION_DAYS="x", LANG=lang)
    assert code == 1 and said in output
    refused = next(line for line in english.splitlines() if "HUB_INVITATION_DAYS must" in line)
    assert refused not in output  # the line the server would log, in the operator's words
