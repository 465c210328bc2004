"""The command line as an operator uses it: ``hub …`` and ``flask --app wsgi hub …`` read the
server's configuration, and every mistake is one line in the operator's language."""

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from hub import create_app
from hub.cli import hub_cli
from hub.db import upgrade
from hub.extensions import db
from tests.support import PASSWORD, TEST_SECRET_KEY, sign_in

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TIMEOUT = 120  # seconds any one command may take; none comes near it


def operator_env(instance, **extra):
    """The environment of an operator's shell: no HUB_* variable but the instance folder the
    test stands in for the checkout's (the default one when nothing is set)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "LC_", "LANG"))}
    return {**env, "HUB_INSTANCE_PATH": str(instance), "LANG": "C.UTF-8", **extra}


def hub(*args, env, command=(str(BIN / "hub"),)):
    return subprocess.run(
        [*command, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT
    )


def test_the_hub_command_is_installed_and_lists_the_commands():
    result = hub("--help", env=operator_env("/nonexistent"))
    assert result.returncode == 0, result.stderr
    for name in ("migrate", "seed", "create-user", "invite", "sync", "issue-token"):
        assert name in result.stdout


def test_an_account_made_on_the_command_line_signs_in_on_the_server(tmp_path, monkeypatch):
    """No variable set: the CLI and the server both take instance/secret_key and
    instance/hub.sqlite3, as make run leaves them."""
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "secret_key").write_text("k" + TEST_SECRET_KEY + "\n")
    env = operator_env(instance)
    assert hub("migrate", env=env).returncode == 0
    assert hub("seed", "--no-demo", env=env).returncode == 0
    made = hub("create-user", "--email", "Ops@Hub.Test", "--password", PASSWORD, "--role", "admin",
               env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "Account created: ops@hub.test (admin)."
    # The Flask spelling of the same command works the same way.
    flask = (str(BIN / "flask"), "--app", "wsgi", "hub")
    made = hub("create-user", "--email", "coord@hub.test", "--password", PASSWORD, "--role",
               "coordinator", "--country", "JP", env=env, command=flask)  # fmt: skip
    assert made.returncode == 0, made.stderr

    monkeypatch.setenv("HUB_INSTANCE_PATH", str(instance))
    server = create_app()  # what gunicorn builds from wsgi.py, with the same environment
    assert not server.testing
    for email in ("ops@hub.test", "coord@hub.test"):
        client = server.test_client()
        response = sign_in(client, email)
        assert response.status_code == 302, response.get_data(as_text=True)
        assert client.get("/en/manage/").status_code == 200


def _one_line(result):
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


# What a new operator gets wrong, and the line each language answers.
MISTAKES = {
    "missing option": (
        ["create-user", "--password", PASSWORD, "--role", "admin"],
        {
            "en": "--email is missing: “hub create-user --help” lists what the command needs.",
            "vi": "Thiếu --email: “hub create-user --help” liệt kê những gì lệnh cần.",
            "ja": "--email がありません。必要なものは「hub create-user --help」で確認できます。",
        },
    ),
    "unknown role": (
        ["create-user", "--email", "a@hub.test", "--password", PASSWORD, "--role", "boss"],
        {
            "en": "--role must be admin or coordinator.",
            "vi": "--role phải là admin hoặc coordinator.",
            "ja": "--role は adminまたはcoordinator のいずれかにしてください。",
        },
    ),
    "unknown country": (
        ["invite", "--email", "a@hub.test", "--role", "coordinator", "--country", "ZZ"],
        {
            "en": "A coordinator needs the country they coordinate, as a registry country code.",
        },
    ),
    "bad e-mail": (
        ["create-user", "--email", "nobody", "--password", PASSWORD, "--role", "admin"],
        {"en": "“nobody” is not an e-mail address."},
    ),
    "unknown command": (
        ["crate-user"],
        {
            "en": "There is no command “crate-user”: “hub --help” lists them.",
            "ja": "「crate-user」というコマンドはありません。一覧は「hub --help」で確認できます。",
        },
    ),
    "unknown option": (
        ["sync", "--every", "5"],
        {"en": "There is no option --every: “hub sync --help” lists the options."},
    ),
    "not a number": (
        ["sync", "five"],
        {"en": "SOURCE_ID must be a whole number.", "vi": "SOURCE_ID phải là một số nguyên."},
    ),
}


@pytest.mark.parametrize(
    ("args", "lang", "expected"),
    [
        pytest.param(args, lang, text, id=f"{name}-{lang}")
        for name, (args, texts) in MISTAKES.items()
        for lang, text in texts.items()
    ],
)
def test_a_mistake_is_one_line_in_the_operators_language(app, args, lang, expected):
    locale = {"en": "C.UTF-8", "vi": "vi_VN.UTF-8", "ja": "ja_JP.UTF-8"}[lang]
    result = app.test_cli_runner().invoke(args=["hub", *args], env={"LANG": locale})
    assert _one_line(result) == expected
    assert result.exit_code in (1, 2)


def test_the_hub_script_answers_mistakes_in_one_line(tmp_path):
    env = operator_env(tmp_path / "instance", LANG="vi_VN.UTF-8")
    result = hub("create-user", "--role", "admin", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "Thiếu --email: “hub create-user --help” liệt kê những gì lệnh cần."
    )
    # No secret key anywhere: the reason, not a traceback.
    result = hub("create-user", "--email", "a@hub.test", "--password", PASSWORD, "--role",
                 "admin", env={**env, "LANG": "C.UTF-8"})  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("The hub cannot start: HUB_SECRET_KEY is not set, and there is")
    assert len(result.stderr.strip().splitlines()) == 1
    # flask --app wsgi builds the app before any command of ours runs: the same one line.
    flask = (str(BIN / "flask"), "--app", "wsgi", "hub")
    result = hub("create-user", "--email", "a@hub.test", "--password", PASSWORD, "--role",
                 "admin", env={**env, "LANG": "ja_JP.UTF-8"}, command=flask)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("ハブを起動できません: HUB_SECRET_KEY が設定されておらず")
    assert len(result.stderr.strip().splitlines()) == 1


def _fresh_app(tmp_path, **config):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": TEST_SECRET_KEY,
            "DATABASE_URL": f"sqlite:///{tmp_path}/fresh.sqlite3",
            **config,
        }
    )


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("C.UTF-8", "The database has no schema yet: run “hub migrate” first."),
        ("ja_JP.UTF-8", "データベースにまだスキーマがありません。先に「hub migrate」を実行してください。"),
    ],
)  # fmt: skip
def test_a_database_that_is_not_migrated_is_named_as_such(tmp_path, lang, expected):
    app = _fresh_app(tmp_path)
    result = app.test_cli_runner().invoke(
        args=["hub", "create-user", "--email", "a@hub.test", "--password", PASSWORD, "--role",
              "admin"], env={"LANG": lang},
    )  # fmt: skip
    assert _one_line(result) == expected
    with app.app_context():
        upgrade(db.engine, "0001")
    result = app.test_cli_runner().invoke(args=["hub", "seed"], env={"LANG": "C.UTF-8"})
    assert re.fullmatch(
        r"The database's schema is at revision 0001, this hub needs \w+: run “hub migrate” first\.",
        _one_line(result),
    )


def test_a_locked_database_is_a_line_not_a_traceback(tmp_path):
    app = _fresh_app(tmp_path, SQLITE_BUSY_TIMEOUT=0.2)
    with app.app_context():
        upgrade(db.engine)
    holder = sqlite3.connect(tmp_path / "fresh.sqlite3", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process writing: a sync, a migration
        result = app.test_cli_runner().invoke(
            args=["hub", "create-user", "--email", "a@hub.test", "--password", PASSWORD,
                  "--role", "admin"], env={"LANG": "vi_VN.UTF-8"},
        )  # fmt: skip
    finally:
        holder.close()
    assert _one_line(result) == (
        "Cơ sở dữ liệu đang bận với một tiến trình khác (đồng bộ, di chuyển lược đồ); hãy thử "
        "lại sau giây lát."
    )


def test_a_database_out_of_reach_is_a_line_not_a_traceback(tmp_path):
    app = _fresh_app(tmp_path, DATABASE_URL="postgresql+psycopg://127.0.0.1:1/nowhere")
    result = app.test_cli_runner().invoke(args=["hub", "remove-demo"], env={"LANG": "C.UTF-8"})
    assert _one_line(result).startswith("The database cannot be reached: ")


def test_every_command_answers_its_help():
    from click.testing import CliRunner

    for name in hub_cli.list_commands(None):
        result = CliRunner().invoke(hub_cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_readme_commands_work_beside_make_run_on_any_port(tmp_path):
    """PORT=… make run, then the README's command lines pasted in another shell: the account
    signs in on that server and the invitation link opens on it."""
    instance = tmp_path / "instance"
    port = _free_port()
    env = operator_env(instance)
    server = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=ROOT,
        env={**env, "MAKEFLAGS": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:  # bounded: until the server answers or the deadline passes
            assert server.poll() is None, server.stderr.read().decode()
            assert time.monotonic() < deadline, "make run did not start serving"
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.3)
        made = hub("create-user", "--email", "admin@ops.test", "--password", PASSWORD, "--role",
                   "admin", env=env)  # fmt: skip
        assert made.returncode == 0, made.stderr
        invited = hub("invite", "--email", "coord@ops.test", "--role", "coordinator",
                      "--country", "TH", env=env)  # fmt: skip
        assert invited.returncode == 0, invited.stderr
        link = next(w for w in invited.stdout.split() if w.startswith("http"))
        assert link.startswith(f"{base}/en/invitations/")
        assert requests.get(link, timeout=10).status_code == 200

        session = requests.Session()
        form = session.get(f"{base}/en/login", timeout=10).text
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', form).group(1)
        response = session.post(
            f"{base}/en/login",
            data={"email": "admin@ops.test", "password": PASSWORD, "csrf_token": token},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302
        assert session.get(f"{base}/en/admin/users", timeout=10).status_code == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        server.stderr.close()
