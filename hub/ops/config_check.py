"""``hub config check``: the configuration the server would run with, and what is unsafe in it.

The settings are read by ``hub.config.load_settings`` itself, as the server reads them, from a
copy of the environment that notes which variables are read: every setting the code reads is
shown, one added tomorrow too, with no list to keep here. A value the server would refuse is a
problem, and is left out so that the rest can still be read and shown. Secrets are never shown:
a secret setting by its length only, a password inside a URL as ``***``.

Nothing here needs the database: whether it can be reached, and has the schema this code
expects, is one more check, made last, with a short deadline.
"""

import ast
import ipaddress
import os
import re
import shlex
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from babel.lists import format_list
from flask import Flask

from hub import config as settings
from hub.cli import (
    CommandError,
    _,
    _database_message,
    check_schema,
    config_error_line,
    operator_language,
)

ERROR, WARNING = "error", "warning"
ENVIRONMENT, INSTANCE_FILE, DEFAULT = "environment", "instance", "default"
# The gunicorn settings the web server is started with (deploy/README.md, the systemd unit and
# the container all use this file).
GUNICORN_CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"
# Variables that a file in the instance folder stands in for (hub.config).
INSTANCE_FILES = {
    "HUB_SECRET_KEY": settings.SECRET_KEY_FILE,
    "HUB_BASE_URL": settings.BASE_URL_FILE,
}
# Settings whose default is a path in the instance folder (None in app.config).
INSTANCE_DEFAULTS = {"MEDIA_URL": "media", "SIGNING_KEYS_FILE": "signing_keys.json"}
# The app.config key of each variable is its name without HUB_, but for these.
CONFIG_KEYS = {
    "HUB_SECRET_KEY_PREVIOUS": "SECRET_KEY_FALLBACKS",
    "HUB_RATELIMIT_STORAGE_URL": "RATELIMIT_STORAGE_URI",
}
# Settings whose value is a secret, shown by their length only: HUB_SECRET_KEY(_PREVIOUS),
# AWS_SECRET_ACCESS_KEY, any …_KEY, …_PASSWORD or …_TOKEN (not HUB_PASSWORD_RESET_RATE_LIMIT).
SECRET_NAME = re.compile(r"SECRET|(?:KEY|PASSWORD|TOKEN)$")
# A URL's user information (greedy: a password may hold an unencoded "@"), and query parameters
# that carry a secret (?password=…, ?sslpassword=…, ?token=…).
URL_USERINFO = re.compile(r"(://)([^/?#]*)@")
SECRET_PARAMETER = re.compile(r"([?&][^=&#]*(?:pass|secret|token|key)[^=&#]*=)[^&#]*", re.I)
# What boto3 reads for S3 media (docs/media.md), shown beside HUB_MEDIA_URL when it is s3://.
AWS_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)
# Seconds to wait for the database server before saying it cannot be reached.
DATABASE_DEADLINE = 5


@dataclass
class Setting:
    name: str
    value: str
    source: str  # ENVIRONMENT, INSTANCE_FILE, DEFAULT, or where gunicorn reads its workers
    refused: bool = False


@dataclass
class Problem:
    level: str  # ERROR: the hub would not start, or be unsafe; WARNING: likely a mistake
    code: str  # stable, for tools (--json)
    message: str  # one line, in the operator's language


@dataclass
class Report:
    instance_path: str
    settings: list
    problems: list

    def count(self, level):
        return sum(problem.level == level for problem in self.problems)

    def failed(self, strict=False):
        """Whether the check fails: an error, or with ``strict`` any problem at all."""
        return bool(self.problems) if strict else self.count(ERROR) > 0

    def as_dict(self):
        return {
            "instance_path": self.instance_path,
            "settings": [asdict(setting) for setting in self.settings],
            "problems": [asdict(problem) for problem in self.problems],
            "errors": self.count(ERROR),
            "warnings": self.count(WARNING),
        }


class _NotingEnvironment(dict):
    """A copy of the environment that notes the names read, and the last one (the one a
    refusal is about when its message names none)."""

    def __init__(self, environ):
        super().__init__(environ)
        self.read = []
        self.last = None

    def _note(self, name):
        self.last = name
        if name not in self.read:
            self.read.append(name)

    def get(self, name, default=None):
        self._note(name)
        return super().get(name, default)

    def __getitem__(self, name):
        self._note(name)
        return super().__getitem__(name)


def check(workers=None, database=True):
    """The effective configuration and its problems, read from ``os.environ`` and the instance
    folder as the server reads them. ``workers``: the web server's processes when it is not
    started with deploy/gunicorn.conf.py's; ``database``: also try the database."""
    app = Flask("hub", instance_relative_config=True, instance_path=settings.instance_path())
    debug = app.debug  # FLASK_DEBUG, as Flask reads it for the server
    env = _NotingEnvironment(os.environ)
    problems, refused = [], []
    loaded = _load(app, env, problems, refused)
    if loaded:
        app.config["DEBUG"] = False  # the server's own refusal, whatever FLASK_DEBUG says
        try:
            settings.check_secret_key(app)
        except settings.ConfigError as exc:
            problems.append(Problem(ERROR, "secret_key", config_error_line(exc)))
    names = ["HUB_INSTANCE_PATH", *sorted(set(env.read) - {"HUB_INSTANCE_PATH"})]
    shown = [_setting(name, app, refused) for name in names]
    if str(app.config.get("MEDIA_URL") or "").startswith("s3://"):
        shown += [_setting(name, app, refused) for name in AWS_VARIABLES]
    processes, where = web_workers(os.environ, workers)
    shown.append(Setting("workers", str(processes), where))
    if debug:
        shown.append(Setting("FLASK_DEBUG", os.environ.get("FLASK_DEBUG", ""), ENVIRONMENT))
    if loaded:
        problems += _combinations(app, debug, processes, where)
        if database and (problem := database_problem(app.config)):
            problems.append(problem)
    return Report(app.instance_path, shown, problems)


def _load(app, env, problems, refused):
    """``load_settings`` until it reads every value: each refused one is a problem, and is left
    out (its default stands in) to read the others. False when a refusal cannot be left out (an
    instance folder's file that cannot be read)."""
    while True:
        try:
            settings.load_settings(app, env)
            return True
        except settings.ConfigError as exc:
            problems.append(Problem(ERROR, "refused", config_error_line(exc)))
            name = _named(exc) or env.last
            if name not in env or name in refused:
                return False
            refused.append(name)
            del env[name]


def _named(exc):
    if str(exc.params.get("name", "")).startswith("HUB_"):
        return exc.params["name"]
    match = re.search(r"HUB_[A-Z0-9_]+", exc.template)
    return match.group() if match else None


def _setting(name, app, refused):
    """Where ``name``'s value comes from, and the value, hidden if it is a secret."""
    given = os.environ.get(name, "").strip()
    if given:
        return Setting(name, shown_value(name, given), ENVIRONMENT, name in refused)
    if name == "HUB_INSTANCE_PATH":
        return Setting(name, app.instance_path, DEFAULT)
    key = CONFIG_KEYS.get(name, name.removeprefix("HUB_"))
    value = app.config.get(key)
    if name in INSTANCE_FILES and value:
        source = f"{INSTANCE_FILE}:{INSTANCE_FILES[name]}"
        return Setting(name, shown_value(name, str(value)), source)
    return Setting(name, shown_value(name, _default_text(key, value, app)), DEFAULT)


def _default_text(key, value, app):
    if key == "TRUSTED_HOSTS" and not value:
        # Unset: the base URL's host or any (links never follow the Host header), else loopback.
        return "*" if app.config.get("BASE_URL") else "localhost, 127.0.0.1"
    if value is None and key in INSTANCE_DEFAULTS:
        return os.path.join(app.instance_path, INSTANCE_DEFAULTS[key])
    if value is None or value == [] or value == ():
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(part) for part in value)
    return str(value)


def shown_value(name, value):
    """``value`` as it may be shown: a secret setting by its length, a password in a URL and
    secret query parameters as ``***``."""
    if value == "—":
        return value
    if SECRET_NAME.search(name):
        return _("hidden (%(length)s characters)", length=len(value))
    value = URL_USERINFO.sub(_masked_userinfo, value)
    return SECRET_PARAMETER.sub(r"\1***", value)


def _masked_userinfo(match):
    user, colon, _password = match.group(2).partition(":")
    return f"{match.group(1)}{user}{':***' if colon else ''}@"


def web_workers(environ, given=None):
    """gunicorn's worker processes and where the number comes from, as gunicorn settles it:
    its command line (``given``), ``GUNICORN_CMD_ARGS``, deploy/gunicorn.conf.py,
    ``WEB_CONCURRENCY``, else 1."""
    if given:
        return given, "--workers"
    if count := _workers_option(environ.get("GUNICORN_CMD_ARGS", "")):
        return count, "GUNICORN_CMD_ARGS"
    if count := _configured_workers(GUNICORN_CONF):
        return count, "deploy/gunicorn.conf.py"
    if (count := environ.get("WEB_CONCURRENCY", "").strip()).isdigit() and int(count) > 0:
        return int(count), "WEB_CONCURRENCY"
    return 1, "gunicorn"


def _workers_option(arguments):
    try:
        words = shlex.split(arguments)
    except ValueError:
        return None
    for index, word in enumerate(words):
        value = None
        if word in ("-w", "--workers") and index + 1 < len(words):
            value = words[index + 1]
        elif word.startswith("--workers="):
            value = word.partition("=")[2]
        elif word.startswith("-w") and word[2:].isdigit():
            value = word[2:]
        if value and value.isdigit():
            return int(value)
    return None


def _configured_workers(path):
    """The ``workers = N`` of a gunicorn config file, when it is a plain number."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "workers" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, int)
        ):
            return node.value.value
    return None


def is_loopback(host):
    """Whether ``host`` names this machine only (localhost, 127.0.0.0/8, ::1)."""
    host = (host or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _combinations(app, debug, workers, where):
    """The problems of the settings taken together (each documented in docs/configuration.md,
    "Checking the configuration")."""
    config = app.config
    base = urlsplit(config["BASE_URL"] or "")
    public = bool(base.hostname) and not is_loopback(base.hostname)
    problems = []

    def found(level, code, message):
        problems.append(Problem(level, code, message))

    if not config["BASE_URL"] and not config["TRUSTED_HOSTS"]:
        found(
            ERROR,
            "no_trusted_hosts",
            _(
                "Neither HUB_BASE_URL nor HUB_TRUSTED_HOSTS is set: the hub answers only "
                "requests for localhost and 127.0.0.1, and its links outside a request point to "
                "%(default)s. Set HUB_BASE_URL to the address the hub is reached at.",
                default=settings.DEFAULT_BASE_URL,
            ),
        )
    if public and base.scheme == "http":
        found(
            ERROR,
            "plain_http",
            _(
                "HUB_BASE_URL is a plain http:// address of another machine (%(host)s): "
                "passwords and session cookies would cross the network unencrypted. Serve the "
                "hub over https:// behind a reverse proxy (deploy/README.md).",
                host=base.hostname,
            ),
        )
    if debug:
        found(
            ERROR,
            "debug",
            _(
                "Debug mode is on (FLASK_DEBUG): the secret key is not checked and errors show "
                "the code's details. Turn it off on a server."
            ),
        )
    if public and base.scheme == "https" and not config["PROXY_COUNT"]:
        found(
            WARNING,
            "no_proxy_count",
            _(
                "HUB_BASE_URL is https:// but HUB_PROXY_COUNT is 0: behind a reverse proxy, the "
                "rate limits take the proxy's address for every client's and cookies are not "
                "marked Secure. Set HUB_PROXY_COUNT=1 for one proxy in front."
            ),
        )
    if config["RATELIMIT_STORAGE_URI"].startswith("memory://") and workers > 1:
        found(
            WARNING,
            "memory_rate_limits",
            _(
                "HUB_RATELIMIT_STORAGE_URL is memory:// with %(workers)s web server processes "
                "(%(source)s): each counts on its own, so every rate limit is %(workers)s times "
                "as high. Share the counts in Redis (redis://host:6379).",
                workers=workers,
                source=where,
            ),
        )
    if config["DATABASE_URL"].startswith("sqlite") and (signs := _several_machines(config)):
        found(
            WARNING,
            "sqlite_several_machines",
            _(
                "The database is SQLite, a file on this machine, but %(signs)s suggest several "
                "machines, which would each have a database of their own. Use PostgreSQL "
                "(HUB_DATABASE_URL) for more than one machine.",
                signs=format_list(signs, locale=operator_language()),
            ),
        )
    if public and not config["MAIL_URL"]:
        found(
            WARNING,
            "mail_not_sent",
            _(
                "HUB_MAIL_URL is not set: invitations, password resets and notices are written "
                "to %(folder)s instead of being sent.",
                folder=os.path.join(app.instance_path, "outbox"),
            ),
        )
    if problem := _secret_key_file_problem(app):
        problems.append(problem)
    return problems


def _several_machines(config):
    """The settings that suggest the hub runs on several machines: media in S3 (shared by
    every host), rate limits counted in Redis on another machine."""
    signs = []
    if str(config["MEDIA_URL"] or "").startswith("s3://"):
        signs.append("HUB_MEDIA_URL (s3://)")
    for name, value in (
        ("HUB_REDIS_URL", config.get("REDIS_URL")),
        ("HUB_RATELIMIT_STORAGE_URL", config["RATELIMIT_STORAGE_URI"]),
    ):
        shared = urlsplit(value or "")
        if shared.scheme.startswith("redis") and not is_loopback(shared.hostname):
            signs.append(f"{name} ({shared.hostname})")
            break  # the same server, named once
    return signs


def _secret_key_file_problem(app):
    path = os.path.join(app.instance_path, settings.SECRET_KEY_FILE)
    if os.environ.get("HUB_SECRET_KEY") or not os.path.exists(path):
        return None
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if not mode & 0o077:
        return None
    return Problem(
        WARNING,
        "secret_key_file_mode",
        _(
            "%(path)s can be read by other users of this machine (mode %(mode)s): chmod 600 it.",
            path=path,
            mode=f"{mode:o}",
        ),
    )


def database_problem(config):
    """Whether the database can be reached and has this code's schema, as a problem or None;
    never creates anything (no SQLite file where there is none)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from hub.db import make_engine

    engine = None
    try:
        url = make_url(config["DATABASE_URL"])
        database = url.database or ""
        sqlite_file = url.get_backend_name() == "sqlite" and database not in ("", ":memory:")
        if sqlite_file and not os.path.exists(database):
            return Problem(
                ERROR,
                "database",
                _("There is no database at %(path)s yet: run “hub migrate” first.", path=database),
            )
        options = {}
        if url.get_backend_name() == "postgresql":
            options["connect_args"] = {"connect_timeout": DATABASE_DEADLINE}
        engine = make_engine(url, busy_timeout_s=config["SQLITE_BUSY_TIMEOUT"], **options)
        check_schema(engine)
    except CommandError as exc:
        return Problem(ERROR, "database", exc.format_message())
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        message = _database_message(exc) or _(
            "The database cannot be reached: %(reason)s",
            reason=str(getattr(exc, "orig", exc)).strip().splitlines()[0],
        )
        return Problem(ERROR, "database", shown_value("HUB_DATABASE_URL", message))
    finally:
        if engine is not None:
            engine.dispose()
    return None
