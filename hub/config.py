"""Settings, read from the environment (``HUB_*``) when the app is created.

Nothing here runs at import time: ``load_settings`` is called by the app factory, so a test or a
CLI command can create an app with other settings in the same process.
"""

import ipaddress
import os
import re
import secrets
from urllib.parse import parse_qs, unquote, urlsplit

import click

# Keys that ship in tutorials, templates and .env examples: a deployment using one is as good as
# unprotected, however long the key is.
WELL_KNOWN_SECRET_KEYS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "changethis",
        "default",
        "dev",
        "development",
        "flask",
        "hub",
        "insecure",
        "key",
        "password",
        "please-change-me",
        "s3cr3t",
        "secret",
        "secret-key",
        "secret_key",
        "secretkey",
        "super-secret",
        "supersecret",
        "super-secret-key",
        "test",
        "your-secret-key",
        "your_secret_key",
        "yoursecretkey",
        "you-will-never-guess",
    }
)
MIN_SECRET_KEY_LENGTH = 32
SECRET_KEY_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
# Where links point when HUB_BASE_URL is not set and no request says otherwise (make run's port).
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
# Files in the instance folder that stand in for a variable that is not set: make run writes
# both, so that the command line beside it reads what the server reads.
SECRET_KEY_FILE = "secret_key"
BASE_URL_FILE = "base_url"


def N_(message):
    """Marks a message for the catalogues; it is translated where it is shown (``hub.cli``)."""
    return message


class ConfigError(click.ClickException):
    """Starting would be unsafe or impossible; the message says which setting and why.

    ``str()`` is the English text (server logs); ``template`` and ``params`` let the command
    line show it in the operator's language. A click exception, so that ``flask --app wsgi …``,
    which builds the app before any of our commands runs, answers it in one line too.
    """

    def __init__(self, template, **params):
        super().__init__(template % params)
        self.template = template
        self.params = params

    def show(self, file=None):
        from hub.cli import config_error_line

        click.echo(config_error_line(self), file=file, err=file is None)


def load_settings(app, env=None):
    """Apply the ``HUB_*`` environment variables, with embedded-mode defaults, to ``app.config``.

    ``env`` stands in for ``os.environ``: ``hub config check`` passes a copy that notes what is
    read, and leaves out a value refused, to show the rest (``hub.ops.config_check``)."""
    env = os.environ if env is None else env
    default_db = "sqlite:///" + os.path.join(app.instance_path, "hub.sqlite3")
    media_max = _positive_number(env, "HUB_MEDIA_MAX_BYTES", 20 * 1024 * 1024)
    app.config.update(
        SECRET_KEY=env.get("HUB_SECRET_KEY") or _instance_file(app, SECRET_KEY_FILE),
        # Keys signed with before the current one, still accepted while visitors' cookies and
        # open forms move to the new key (docs/security.md, "Changing the secret key").
        SECRET_KEY_FALLBACKS=_list(env, "HUB_SECRET_KEY_PREVIOUS"),
        # Where to report a vulnerability, for /.well-known/security.txt (none: no such file).
        SECURITY_CONTACT=check_security_contact(env.get("HUB_SECURITY_CONTACT")),
        DATABASE_URL=env.get("HUB_DATABASE_URL") or default_db,
        # Seconds a writer waits for SQLite's write lock before giving up ("database is locked").
        SQLITE_BUSY_TIMEOUT=_positive_number(env, "HUB_SQLITE_BUSY_TIMEOUT", 30),
        # Where the hub is reached: every absolute link the hub writes (hub.urls). None: links
        # made in a request follow its host (HUB_TRUSTED_HOSTS), others DEFAULT_BASE_URL.
        BASE_URL=check_base_url(env.get("HUB_BASE_URL") or _instance_file(app, BASE_URL_FILE)),
        # How long an invitation link can be used.
        INVITATION_DAYS=_positive_number(env, "HUB_INVITATION_DAYS", 7),
        # How long a deleted entry stays in the trash, restorable, before the scheduler purges it.
        TRASH_DAYS=_positive_number(env, "HUB_TRASH_DAYS", 30),
        # How many entry ids each of a collection's sitemap files covers (hub/seo/routes.py).
        SITEMAP_ENTRIES=_positive_number(env, "HUB_SITEMAP_ENTRIES", 10000),
        LANGUAGES=("vi", "en", "ja"),
        DEFAULT_LANGUAGE="en",
        # Flask-Babel reads these two.
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES=os.path.join(app.root_path, os.pardir, "translations"),
        # Redis shared by the processes: cache invalidation (hub.invalidation), and the rate
        # limits' counters unless HUB_RATELIMIT_STORAGE_URL names another store.
        REDIS_URL=env.get("HUB_REDIS_URL") or None,
        RATELIMIT_STORAGE_URI=env.get("HUB_RATELIMIT_STORAGE_URL")
        or env.get("HUB_REDIS_URL")
        or "memory://",
        RATELIMIT_HEADERS_ENABLED=True,
        LOGIN_RATE_LIMIT="10 per minute;50 per hour",
        # Asks for a password reset link, and new passwords sent with one, per client address.
        PASSWORD_RESET_RATE_LIMIT=env.get(
            "HUB_PASSWORD_RESET_RATE_LIMIT", "5 per 15 minutes;20 per day"
        ),
        # Trade enquiries sent per client address (then 429 with Retry-After).
        ENQUIRY_RATE_LIMIT=env.get("HUB_ENQUIRY_RATE_LIMIT", "5 per 10 minutes;20 per day"),
        # Asks to follow a country or a collection by e-mail, per client address.
        FOLLOW_RATE_LIMIT=env.get("HUB_FOLLOW_RATE_LIMIT", "5 per 10 minutes;20 per day"),
        # "required": administrators sign in in two steps (hub.accounts.totp), and one without
        # it turns it on before any page; "optional": each account chooses.
        ADMIN_TOTP=_choice(env, "HUB_ADMIN_TOTP", ("optional", "required")),
        API_RATE_LIMIT=env.get("HUB_API_RATE_LIMIT", "600 per minute"),
        # How many reverse proxies stand in front of the app and set X-Forwarded-For/-Proto:
        # the rate limits then count the client's address, and cookies are Secure over https.
        PROXY_COUNT=int(env.get("HUB_PROXY_COUNT", "0") or 0),
        FETCH_ALLOW=[h.strip() for h in env.get("HUB_FETCH_ALLOW", "").split(",") if h.strip()],
        # A sync run past this many records prepares its batches in a worker process of its
        # own, beside the one that writes them (hub.sync.prepare); "off": never.
        SYNC_WORKER_AFTER=_records_or_off(env.get("HUB_SYNC_WORKER_AFTER", "1000")),
        # A webhook whose partner fails waits these seconds before its next attempts (the last
        # one again after that), and is stopped after so many failures in a row: about a day.
        WEBHOOK_RETRY_DELAYS=_seconds(
            env, "HUB_WEBHOOK_RETRY_DELAYS", (30, 120, 600, 3600, 7200, 14400, 28800)
        ),
        WEBHOOK_MAX_FAILURES=_positive_number(env, "HUB_WEBHOOK_MAX_FAILURES", 9),
        # Mail (hub.outbox, docs/mail.md): the relay, as smtp://user:password@host:port with
        # ?starttls=1, or smtps://… (None: each message is written as an .eml file in the
        # instance folder's outbox/), the sender's address (None: no-reply@ the base URL's
        # host), a CA bundle the relay's certificate is checked against (None: the system's),
        # the waits after a failed attempt (the last one again after that) and how long a
        # message is tried before it is marked failed.
        MAIL_URL=check_mail_url(env.get("HUB_MAIL_URL")),
        MAIL_FROM=check_mail_from(env.get("HUB_MAIL_FROM")),
        MAIL_CA_FILE=(env.get("HUB_MAIL_CA_FILE") or "").strip() or None,
        MAIL_RETRY_DELAYS=_seconds(env, "HUB_MAIL_RETRY_DELAYS", (60, 300, 900, 3600, 7200)),
        MAIL_GIVE_UP_HOURS=_positive_number(env, "HUB_MAIL_GIVE_UP_HOURS", 24),
        # The largest request body, in bytes (a 413 beyond); pushed and posted documents have
        # a limit of their own (hub.request_limits).
        MAX_CONTENT_LENGTH=_positive_number(env, "HUB_MAX_CONTENT_LENGTH", 4 * 1024 * 1024),
        # Photos and documents (hub.media, docs/media.md): where they are stored (None: the
        # instance folder's media/; a folder; s3://bucket/prefix), where a public copy of the
        # variants is reached (a CDN, a public bucket), the largest file, the most pixels an
        # image may declare (Pillow's MAX_IMAGE_PIXELS), the largest upload request, and how
        # long a failed upload stays visible before the cleanup removes it.
        MEDIA_URL=check_media_url(env.get("HUB_MEDIA_URL")),
        MEDIA_PUBLIC_URL=(env.get("HUB_MEDIA_PUBLIC_URL") or "").strip().rstrip("/") or None,
        MEDIA_MAX_BYTES=media_max,
        MEDIA_MAX_PIXELS=_positive_number(env, "HUB_MEDIA_MAX_PIXELS", 50_000_000),
        MEDIA_MAX_REQUEST_BYTES=_positive_number(
            env, "HUB_MEDIA_MAX_REQUEST_BYTES", media_max + 1024 * 1024
        ),
        MEDIA_FAILED_DAYS=_positive_number(env, "HUB_MEDIA_FAILED_DAYS", 7),
        # Partners' photos and documents a sync run fetches at most (the rest on later runs).
        SYNC_MEDIA_PER_RUN=_positive_number(env, "HUB_SYNC_MEDIA_PER_RUN", 200),
        # The Ed25519 keys that sign rating attestations (hub.verification.keys): a file made
        # once, mode 0600; None: the instance folder's signing_keys.json. Several hosts share it.
        SIGNING_KEYS_FILE=(env.get("HUB_SIGNING_KEYS_FILE") or "").strip() or None,
        # A signed-in session ends after this long unused, and this long after signing in.
        SESSION_IDLE_HOURS=_positive_number(env, "HUB_SESSION_IDLE_HOURS", 12),
        SESSION_MAX_DAYS=_positive_number(env, "HUB_SESSION_MAX_DAYS", 30),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # The per-process cache of public answers (hub.cache); 0 entries turns it off.
        ANSWER_CACHE_ENTRIES=int(env.get("HUB_ANSWER_CACHE_ENTRIES", "2000") or 0),
        ANSWER_CACHE_MB=int(env.get("HUB_ANSWER_CACHE_MB", "64") or 0),
        ANSWER_CACHE_FRESH_MS=int(env.get("HUB_ANSWER_CACHE_FRESH_MS", "1000") or 0),
        # The most rows one export of a list (CSV, XLSX) holds (hub.tabular).
        EXPORT_MAX_ROWS=int(env.get("HUB_EXPORT_MAX_ROWS", "100000") or 0),
        # Who may read /metrics (hub.ops.metrics): a bearer token (None: none), and the client
        # addresses allowed without one (loopback unless set; "none": none).
        METRICS_TOKEN=check_metrics_token(env.get("HUB_METRICS_TOKEN")),
        METRICS_ALLOW=check_networks("HUB_METRICS_ALLOW", env.get("HUB_METRICS_ALLOW")),
        # /readyz fails once the scheduler's heartbeat is older than this (None, "off": a
        # deployment without a scheduler).
        READY_SCHEDULER_SECONDS=_seconds_or_off(env, "HUB_READY_SCHEDULER_SECONDS", 120),
        # The log lines' form (hub.ops.logs): "json", "text", or "auto" (text in a terminal).
        LOG_FORMAT=log_format(env),
        LANGUAGE_COOKIE="hub_lang",
        LANGUAGE_COOKIE_MAX_AGE=365 * 24 * 3600,
    )
    # Host names the site answers to, others get a 400 (hub.urls.trusted_hosts): the base URL's
    # among them, so that listing the loopback names for a local check keeps the public one.
    app.config["TRUSTED_HOSTS"] = _trusted_hosts(
        env.get("HUB_TRUSTED_HOSTS", ""), app.config["BASE_URL"]
    )


def _trusted_hosts(value, base):
    hosts = [host.strip() for host in value.split(",") if host.strip()]
    if hosts and base and (base_host := urlsplit(base).hostname) not in hosts:
        hosts.append(base_host)
    return hosts or None


def instance_path():
    """The instance folder: ``HUB_INSTANCE_PATH``, else ``instance/`` beside the ``hub`` package
    (where make run keeps the database, the secret key and the served address)."""
    if path := os.environ.get("HUB_INSTANCE_PATH"):
        return os.path.abspath(path)
    return None  # Flask's default: <checkout>/instance


def _instance_file(app, name):
    try:
        with open(os.path.join(app.instance_path, name), encoding="utf-8") as file:
            return file.read().strip() or None
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        path = os.path.join(app.instance_path, name)
        message = N_("%(path)s cannot be read: %(reason)s")
        raise ConfigError(message, path=path, reason=exc) from None


def check_base_url(value):
    """``value`` without its trailing slash, or None; refuses anything but an http(s) URL with
    a host and no query or fragment."""
    value = (value or "").strip().rstrip("/")
    if not value:
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError for a port that is no number)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise ConfigError(
            N_(
                "HUB_BASE_URL must be where the hub is reached, as http(s)://host[:port][/path], "
                "not “%(value)s”."
            ),
            value=value,
        )
    return value


def check_media_url(value):
    """``HUB_MEDIA_URL``: None (the instance folder's ``media/``), ``s3://bucket[/prefix]``, a
    ``file://`` URL or a folder's path."""
    value = (value or "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if (parts.scheme == "s3" and not parts.netloc) or parts.scheme not in ("", "s3", "file"):
        raise ConfigError(
            N_(
                "HUB_MEDIA_URL must be s3://bucket/prefix, file:///folder or a folder's path, "
                "not “%(value)s”."
            ),
            value=value,
        )
    return value


MAIL_SCHEMES = {"smtp": 25, "smtps": 465}
# One mailbox: no display name, comment, list or group (an address is never a header's end).
MAILBOX = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$"
)


def check_mail_url(value):
    """``HUB_MAIL_URL`` as ``{"scheme", "host", "port", "username", "password", "starttls"}``,
    or None (the outbox folder): ``smtp://[user:password@]host[:port][?starttls=1]`` (port 25
    unless given; 587 is the usual one with STARTTLS) or ``smtps://…`` (TLS from the start,
    port 465 unless given). The user and password are URL-encoded."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        parts, port, query = None, None, {}
    starttls = query.pop("starttls", ["0"])
    if (
        parts is None
        or parts.scheme not in MAIL_SCHEMES
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.fragment
        or query
        or len(starttls) != 1
        or starttls[0] not in ("0", "1")
        or (parts.scheme == "smtps" and starttls[0] == "1")
    ):
        raise ConfigError(
            N_(
                "HUB_MAIL_URL must be smtp://user:password@host:port (with ?starttls=1 to "
                "encrypt the connection) or smtps://user:password@host:port, not “%(value)s”."
            ),
            value=_without_password(value),
        )
    return {
        "scheme": parts.scheme,
        "host": parts.hostname,
        "port": port or MAIL_SCHEMES[parts.scheme],
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "starttls": starttls[0] == "1",
    }


def _without_password(url):
    parts = urlsplit(url)
    if not parts.password:
        return url
    return url.replace(":" + parts.password + "@", ":***@", 1)


def check_mail_from(value):
    """``HUB_MAIL_FROM``: one address the hub's mail comes from, or None."""
    value = (value or "").strip()
    if not value:
        return None
    if not MAILBOX.match(value) or len(value) > 254:
        raise ConfigError(
            N_(
                "HUB_MAIL_FROM must be one e-mail address, such as hub@example.org, "
                "not “%(value)s”."
            ),
            value=value,
        )
    return value


# Clients allowed to read /metrics without a token when HUB_METRICS_ALLOW is not set.
LOOPBACK_NETWORKS = ("127.0.0.0/8", "::1/128")
MIN_METRICS_TOKEN_LENGTH = 32


def check_metrics_token(value):
    """``HUB_METRICS_TOKEN``: None, or a token long enough not to be guessed."""
    value = (value or "").strip()
    if not value:
        return None
    if len(value) < MIN_METRICS_TOKEN_LENGTH or _guessable(value):
        raise ConfigError(
            N_(
                "HUB_METRICS_TOKEN is too short or trivial (at least %(min)s random characters "
                "are needed): use one from %(hint)s"
            ),
            min=MIN_METRICS_TOKEN_LENGTH,
            hint=SECRET_KEY_HINT,
        )
    return value


def check_networks(name, value):
    """Addresses and networks, comma-separated, as ``ipaddress`` networks: loopback when
    ``value`` is None (unset), none for "none" or an empty value."""
    if value is None:
        value = ",".join(LOOPBACK_NETWORKS)
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if [part.lower() for part in parts] == ["none"]:
        return ()
    networks = []
    for part in parts:
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(
                N_(
                    "%(name)s must be addresses or networks (such as 10.0.0.0/8), separated by "
                    "commas, or none, not “%(value)s”."
                ),
                name=name,
                value=part,
            ) from None
    return tuple(networks)


def log_format(env=None):
    """``HUB_LOG_FORMAT``: "auto" (text on a terminal, else JSON), "json" or "text"; read by the
    app and, before any app exists, by gunicorn (hub.serving)."""
    return _choice(os.environ if env is None else env, "HUB_LOG_FORMAT", ("auto", "json", "text"))


def _list(env, name):
    return [part.strip() for part in env.get(name, "").split(",") if part.strip()]


def check_security_contact(value):
    """The ``Contact`` lines of security.txt: each ``mailto:``, ``https://`` or a bare e-mail
    address (made a ``mailto:``), comma-separated; an empty list when unset."""
    contacts = []
    for part in (value or "").split(","):
        part = part.strip()
        if not part:
            continue
        if "@" in part and ":" not in part and " " not in part:
            part = "mailto:" + part
        scheme, _, rest = part.partition(":")
        if (
            scheme.lower() not in ("mailto", "https")
            or not rest.strip("/")
            or any(c.isspace() for c in part)
        ):
            raise ConfigError(
                N_(
                    "HUB_SECURITY_CONTACT must be e-mail addresses or https:// addresses, "
                    "separated by commas, not “%(value)s”."
                ),
                value=part,
            )
        contacts.append(part)
    return contacts


def _positive_number(env, name, default):
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(
            N_("%(name)s must be a whole number of 1 or more, not “%(value)s”."),
            name=name,
            value=value,
        )
    return int(value)


def _choice(env, name, choices):
    """The variable's value, one of ``choices`` (the first when it is not set)."""
    value = env.get(name, "").strip().lower() or choices[0]
    if value not in choices:
        raise ConfigError(
            N_("%(name)s must be one of %(choices)s, not “%(value)s”."),
            name=name,
            choices=", ".join(choices),
            value=value,
        )
    return value


def _seconds(env, name, default):
    value = env.get(name, "").strip()
    if not value:
        return default
    parts = [part.strip() for part in value.split(",")]
    if not all(part.isdigit() and int(part) >= 1 for part in parts):
        raise ConfigError(
            N_(
                "%(name)s must be whole numbers of seconds, each 1 or more, separated by commas, "
                "not “%(value)s”."
            ),
            name=name,
            value=value,
        )
    return tuple(int(part) for part in parts)


def _seconds_or_off(env, name, default):
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("off", "never"):
        return None
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(
            N_("%(name)s must be a number of seconds or off, not “%(value)s”."),
            name=name,
            value=value,
        )
    return int(value)


def _records_or_off(value):
    value = value.strip().lower()
    if value in ("off", "never", ""):
        return None
    if not value.isdigit():
        raise ConfigError(
            N_("HUB_SYNC_WORKER_AFTER must be a number of records or off, not “%(value)s”."),
            value=value,
        )
    return int(value)


def check_secret_key(app):
    """Refuse to run outside debug and test mode with a missing, short or well-known secret key,
    current or previous (a previous key still signs in whoever holds a cookie made with it)."""
    if app.debug or app.testing:
        if not app.config.get("SECRET_KEY"):
            # A throwaway key keeps sessions working in debug runs; it dies with the process.
            app.config["SECRET_KEY"] = secrets.token_urlsafe(48)
        return
    for key in app.config.get("SECRET_KEY_FALLBACKS") or ():
        if _weak(key):
            raise ConfigError(
                N_(
                    "HUB_SECRET_KEY_PREVIOUS holds a key that is short, well-known or trivial, "
                    "with which anyone could make a session cookie: remove it."
                )
            )
    key = app.config.get("SECRET_KEY")
    if not key:
        raise ConfigError(
            N_(
                "HUB_SECRET_KEY is not set, and there is no %(path)s (make run creates it): set "
                "it to a random string of at least %(min)s characters, e.g. from %(hint)s"
            ),
            path=os.path.join(app.instance_path, SECRET_KEY_FILE),
            min=MIN_SECRET_KEY_LENGTH,
            hint=SECRET_KEY_HINT,
        )
    if _guessable(key):
        raise ConfigError(
            N_(
                "HUB_SECRET_KEY is a well-known or trivial value that anyone can guess: replace "
                "it with a random one, e.g. from %(hint)s"
            ),
            hint=SECRET_KEY_HINT,
        )
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            N_(
                "HUB_SECRET_KEY is too short (%(length)s characters, at least %(min)s needed): use "
                "a random one, e.g. from %(hint)s"
            ),
            length=len(key),
            min=MIN_SECRET_KEY_LENGTH,
            hint=SECRET_KEY_HINT,
        )


def _guessable(key):
    return key.strip().lower() in WELL_KNOWN_SECRET_KEYS or len(set(key)) < 8


def _weak(key):
    return _guessable(key) or len(key) < MIN_SECRET_KEY_LENGTH
