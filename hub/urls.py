"""Where the hub is reached: the one source of every absolute link it writes.

``HUB_BASE_URL`` (``BASE_URL``), when set, is used for every link, inside a request or not, so
that no link depends on the ``Host`` or ``X-Forwarded-*`` headers a client sends. Unset, a
request's links follow its own host, which is then always one of ``trusted_hosts`` (any other is
refused with a 400 before routing), and links made outside a request (the command line, jobs) use
``DEFAULT_BASE_URL``. ``Hub.create_url_adapter`` applies both to ``url_for``.
"""

from urllib.parse import urlsplit

from flask import current_app, has_request_context, request

from hub.config import DEFAULT_BASE_URL

# The host names a request may name when neither HUB_TRUSTED_HOSTS nor HUB_BASE_URL is set.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")


def trusted_hosts(config):
    """The host names the hub answers to (others get a 400 before routing): ``HUB_TRUSTED_HOSTS``
    (with the host of ``HUB_BASE_URL``, ``hub.config``); unset, any when ``HUB_BASE_URL`` is set
    (no link depends on the host), else the loopback names only: no link is ever made of a host
    a client made up."""
    if configured := config.get("TRUSTED_HOSTS"):
        return configured
    return None if config.get("BASE_URL") else list(LOOPBACK_HOSTS)


def base_url():
    """The hub's address without a trailing slash, e.g. ``https://hub.example.org``."""
    if configured := current_app.config.get("BASE_URL"):
        return configured
    if has_request_context() and request.trusted_hosts:  # request.host is one of them
        return request.root_url.rstrip("/")
    return DEFAULT_BASE_URL


def base_host():
    """The host name of ``base_url`` (iCalendar UIDs are made with it)."""
    return urlsplit(base_url()).hostname


def bind(url_map, base, adapter=None):
    """A URL adapter that builds links under ``base``; ``adapter`` (a request's) keeps matching
    the request as it came."""
    parts = urlsplit(base)
    if adapter is None:
        return url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    adapter.server_name = parts.netloc
    adapter.script_name = (parts.path or "") + "/"
    adapter.url_scheme = parts.scheme
    return adapter


def origin_url():
    """The hub's address as the origin of the entries first published here (see
    docs/exchange-format.md, "Origin"), or None when ``HUB_BASE_URL`` is not set: an address
    guessed from a request or the default could be another hub's too, and hubs that took
    each other's entries for their own would never exchange them."""
    configured = current_app.config.get("BASE_URL")
    return configured.rstrip("/") if configured else None
