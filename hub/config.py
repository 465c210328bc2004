"""Settings, read from the environment (``HUB_*``) when the app is created.

Nothing here runs at import time: ``load_settings`` is called by the app factory, so a test or a
CLI command can create an app with other settings in the same process.
"""

import os
import secrets

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


class ConfigError(RuntimeError):
    """Starting would be unsafe or impossible; the message says which setting and why."""


def load_settings(app):
    """Apply the ``HUB_*`` environment variables, with embedded-mode defaults, to ``app.config``."""
    env = os.environ
    default_db = "sqlite:///" + os.path.join(app.instance_path, "hub.sqlite3")
    app.config.update(
        SECRET_KEY=env.get("HUB_SECRET_KEY"),
        DATABASE_URL=env.get("HUB_DATABASE_URL") or default_db,
        # Where the hub is reached, for links made outside a request (the CLI's invitations).
        BASE_URL=env.get("HUB_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        LANGUAGES=("vi", "en", "ja"),
        DEFAULT_LANGUAGE="en",
        # Flask-Babel reads these two.
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES=os.path.join(app.root_path, os.pardir, "translations"),
        RATELIMIT_STORAGE_URI=env.get("HUB_RATELIMIT_STORAGE_URL", "memory://"),
        # Host names the site answers to; absolute links (hreflang) are built from the request's
        # Host header, which must not be anything a client cares to send.
        TRUSTED_HOSTS=[h.strip() for h in env.get("HUB_TRUSTED_HOSTS", "").split(",") if h.strip()]
        or None,
        RATELIMIT_HEADERS_ENABLED=True,
        LOGIN_RATE_LIMIT="10 per minute;50 per hour",
        API_RATE_LIMIT=env.get("HUB_API_RATE_LIMIT", "600 per minute"),
        # How many reverse proxies stand in front of the app and set X-Forwarded-For/-Proto:
        # the rate limits then count the client's address, and cookies are Secure over https.
        PROXY_COUNT=int(env.get("HUB_PROXY_COUNT", "0") or 0),
        FETCH_ALLOW=[h.strip() for h in env.get("HUB_FETCH_ALLOW", "").split(",") if h.strip()],
        # A sync run past this many records prepares its batches in a worker process of its
        # own, beside the one that writes them (hub.sync.prepare); "off": never.
        SYNC_WORKER_AFTER=_records_or_off(env.get("HUB_SYNC_WORKER_AFTER", "1000")),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # The per-process cache of public answers (hub.cache); 0 entries turns it off.
        ANSWER_CACHE_ENTRIES=int(env.get("HUB_ANSWER_CACHE_ENTRIES", "2000") or 0),
        ANSWER_CACHE_MB=int(env.get("HUB_ANSWER_CACHE_MB", "64") or 0),
        ANSWER_CACHE_FRESH_MS=int(env.get("HUB_ANSWER_CACHE_FRESH_MS", "1000") or 0),
        LANGUAGE_COOKIE="hub_lang",
        LANGUAGE_COOKIE_MAX_AGE=365 * 24 * 3600,
    )


def _records_or_off(value):
    value = value.strip().lower()
    if value in ("off", "never", ""):
        return None
    if not value.isdigit():
        raise ConfigError(f"HUB_SYNC_WORKER_AFTER must be a number of records or off, not {value}")
    return int(value)


def check_secret_key(app):
    """Refuse to run outside debug and test mode with a missing, short or well-known secret key."""
    if app.debug or app.testing:
        if not app.config.get("SECRET_KEY"):
            # A throwaway key keeps sessions working in debug runs; it dies with the process.
            app.config["SECRET_KEY"] = secrets.token_urlsafe(48)
        return
    key = app.config.get("SECRET_KEY")
    if not key:
        raise ConfigError(
            "HUB_SECRET_KEY is not set: set it to a random string of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters, e.g. from {SECRET_KEY_HINT}"
        )
    if key.strip().lower() in WELL_KNOWN_SECRET_KEYS or len(set(key)) < 8:
        raise ConfigError(
            "HUB_SECRET_KEY is a well-known or trivial value that anyone can guess: "
            f"replace it with a random one, e.g. from {SECRET_KEY_HINT}"
        )
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            f"HUB_SECRET_KEY is too short ({len(key)} characters, at least {MIN_SECRET_KEY_LENGTH} "
            f"needed): use a random one, e.g. from {SECRET_KEY_HINT}"
        )
