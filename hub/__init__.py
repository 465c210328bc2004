"""The OVOP/OCOP exchange hub: ``create_app`` builds the Flask application."""

import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from hub import cache, i18n, request_limits, urls
from hub.config import DEFAULT_BASE_URL, check_secret_key, instance_path, load_settings
from hub.db import IdConverter
from hub.extensions import babel, csrf, db, limiter, login_manager
from hub.sessions import SessionInterface


class Hub(Flask):
    """Flask, with every absolute link made under ``HUB_BASE_URL`` (``hub.urls``) and request
    JSON refused when too deep (``hub.request_limits``)."""

    json_provider_class = request_limits.JSONProvider

    def create_url_adapter(self, request):
        base = self.config.get("BASE_URL")
        if request is not None:
            request.trusted_hosts = urls.trusted_hosts(self.config)
            adapter = super().create_url_adapter(request)  # refuses a host not trusted (400)
            return urls.bind(self.url_map, base, adapter) if base and adapter else adapter
        return urls.bind(self.url_map, base or DEFAULT_BASE_URL)


def create_app(config=None):
    """Create the application.

    Settings come from the environment (``HUB_*``, see ``hub.config``); ``config`` overrides them
    (tests). Outside debug and test mode a missing, short or well-known secret key stops it here.
    """
    app = Hub(__name__, instance_relative_config=True, instance_path=instance_path())
    load_settings(app)
    if config:
        app.config.update(config)
    check_secret_key(app)
    os.makedirs(app.instance_path, exist_ok=True)

    # JSON answers in UTF-8 as it is: Vietnamese and Japanese texts are a third the size of
    # their \u escapes, and quicker to write and to read.
    app.json.ensure_ascii = False
    app.session_interface = SessionInterface()
    request_limits.init_app(app)  # the first hook: nothing may read the body before it
    db.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    from hub.media.routes import init_app as serve_media_files

    serve_media_files(app)  # in front of the answer cache: immutable files need none
    if proxies := app.config["PROXY_COUNT"]:
        # Outermost, so that the answer cache sees the client's host and scheme.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    from hub.ops import metrics, observe

    metrics.init_app(app)
    # Outside everything else: requests answered before Flask are counted and logged too.
    observe.init_app(app)
    _register_template_helpers(app)
    app.url_map.converters["id"] = IdConverter

    from hub import accounts, admin, api, feeds, media, publishing, registry, search, site, sync
    from hub.accounts.auth import user_language
    from hub.cli import hub_cli

    app.extensions["hub.user_language"] = user_language
    app.register_blueprint(site.bp)
    from hub.ops.routes import bp as ops

    app.register_blueprint(ops)  # /readyz, /metrics
    app.register_blueprint(registry.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(publishing.bp)
    app.register_blueprint(publishing.manage_bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(sync.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(media.bp)
    from hub.publishing import media_changes

    media_changes.init_app(app)  # a media change gives its entry a new change number
    from hub import verification

    app.register_blueprint(verification.bp)
    from hub import seo

    app.register_blueprint(seo.bp)  # robots.txt, the sitemaps, the pages' <head> (hub/seo)
    from hub import digests, enquiries

    app.register_blueprint(enquiries.bp)
    app.register_blueprint(enquiries.manage_bp)
    app.register_blueprint(digests.bp)  # following a country or a collection by e-mail
    from hub.api.pages import bp as api_docs

    app.register_blueprint(api_docs)
    from hub.ops import config_cli  # noqa: F401  (attach hub config check)

    app.cli.add_command(hub_cli)
    return app


def _register_template_helpers(app):
    from flask_babel import format_date, format_datetime, format_number

    from hub.i18n import language_name
    from hub.publishing import vocabulary
    from hub.publishing.markdown import render_markdown
    from hub.registry.regions import territory_name
    from hub.registry.services import shown_status, status_label

    app.jinja_env.globals.update(
        format_date=format_date,
        format_datetime=format_datetime,
        format_number=format_number,
        territory_name=territory_name,
        status_label=status_label,
        shown_status=shown_status,
        vocabulary=vocabulary,
        language_name=language_name,
    )
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
