"""Fixtures for the browser tests: the hub served on loopback by a real HTTP server, and Debian's
Chromium driven by Playwright.

The browser tests run on SQLite only: they are about what a person sees and does in a browser,
which the rest of the suite already checks on both databases through the test client. One
database is migrated and seeded (registry, sample entries, the test users, one entry of each kind
and a partner source) for the whole session, and the tests' writes stay in it, so each test
makes what it changes itself (a policy of its own, say) or restores it.

Chromium is Debian's (``apt-get install chromium``; ``HUB_TEST_CHROMIUM`` points elsewhere);
Playwright never downloads a browser of its own. Without it the browser tests are skipped with
the reason, except under ``CI=true``, where that is a failure.
"""

import os
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import sync_playwright
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from hub.accounts.services import create_user
from hub.db import upgrade
from hub.extensions import db
from hub.media import services as media
from hub.publishing.demo import PHOTOS, seed_demo
from hub.publishing.models import Entry
from hub.registry.seeding import seed_registry
from tests.support import PASSWORD, USERS, make_test_app, sample_entries

CHROMIUM = os.environ.get("HUB_TEST_CHROMIUM", "/usr/bin/chromium")
LANGS = ("vi", "en", "ja")
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1440, "height": 900}
SCREENSHOTS = Path(__file__).parent.parent / "screenshots"


@pytest.fixture(scope="session")
def chromium_path():
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true requires Chromium for the browser tests; " + reason, pytrace=False)
        pytest.skip(reason + ": the browser tests cannot run")
    return CHROMIUM


@pytest.fixture(scope="session")
def site(chromium_path, tmp_path_factory):
    """The hub on ``http://127.0.0.1:<free port>``, with what the pages need to show:
    ``site.url``, ``site.entries`` ({kind: id} of Viet Nam's published entries; the demo's
    tea with its photos and its upcoming fair, given a photo),
    ``site.source`` (a partner source's id), ``site.invitation`` (an invitation's token)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('browser')}/hub.sqlite3"
    # Every browser test signs in from the same address: the login limit would refuse them.
    app = make_test_app(url, LOGIN_RATE_LIMIT="1000 per minute")
    with app.app_context():
        upgrade(db.engine)
        seed_registry()
        seed_demo()
        for email, (role, country) in USERS.items():
            create_user(email, PASSWORD, role, country)
        with app.test_request_context("/"):
            from hub.accounts.services import invite
            from hub.sync.services import add_source

            invitation = invite(None, "invited@hub.test", "coordinator", "MW")
            entries = {kind: entry.id for kind, entry in sample_entries().items()}
            # A sample product with photos (the seed's illustrations, processed at once).
            entries["photo_product"] = db.session.scalar(
                select(Entry.id).where(Entry.partner_id == "demo:vn-thai-nguyen-tea")
            )
            # The upcoming sample fair with a cover: its card's photo on a phone (one of the
            # seed's illustrations).
            entries["photo_fair"] = db.session.scalar(
                select(Entry.id).where(Entry.partner_id == "demo:vn-ocop-week-upcoming")
            )
            media.add(
                entries["photo_fair"],
                "tea-hills.jpg",
                (PHOTOS / "thai-nguyen-tea-hills.jpg").read_bytes(),
                alts={"en": "Illustration: green hills lined with rows of tea bushes."},
            )
            media.process_pending()
            source = add_source(
                "VN",
                "csv",
                "https://partner.example/products.csv",
                {
                    "language": "vi",
                    "mapping": {"partner_id": "id", "title": "name"},
                    "defaults": {"product_group": "food"},
                },
            ).id
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="hub-test-server", daemon=True)
    thread.start()
    try:
        yield Site(app, f"http://127.0.0.1:{server.server_port}", entries, source, invitation)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        db.binding(app).engine.dispose()


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args):
        pass  # hundreds of requests: a failing test's report would show nothing else


class Site:
    def __init__(self, app, url, entries, source, invitation):
        self.app, self.url, self.entries = app, url, entries
        self.source, self.invitation = source, invitation

    def text(self, lang, message, **variables):
        """A UI message as the hub says it in ``lang`` (from the catalogues)."""
        with self.app.test_request_context("/"), force_locale(lang):
            return gettext(message, **variables)


@contextmanager
def _browser_on_its_own_clock():
    """Under faketime (.ci/faketime) the hub's clock is moved, not the browser's: with
    libfaketime preloaded, Chromium and Playwright's driver crawl until pages time out. They
    are started without it; the hub, served from this process, keeps the faked clock."""
    preload = os.environ.pop("LD_PRELOAD", None) if "FAKETIME" in os.environ else None
    try:
        yield
    finally:
        if preload is not None:
            os.environ["LD_PRELOAD"] = preload


@pytest.fixture(scope="session")
def browser(chromium_path):
    with _browser_on_its_own_clock():  # the driver, and the Chromium it starts
        playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            # Root (CI, containers) cannot use Chromium's sandbox; the browser only ever
            # opens the hub on loopback.
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="session")
def signed_in(browser, site):
    """``signed_in(email)``: the cookies of a session signed in through the form, made once per
    account, for tests about something else than signing in."""
    states = {}

    def state(email):
        if email not in states:
            context = browser.new_context(base_url=site.url)
            page = context.new_page()
            sign_in(page, email)
            states[email] = context.storage_state()
            context.close()
        return states[email]

    return state


@pytest.fixture
def new_page(browser, site, signed_in):
    """Open a page in a fresh browser context: ``new_page(viewport=..., javascript=False,
    user="admin@hub.test")``, without cookies unless signed in as ``user``. The test fails if
    the server answered any request with a 5xx."""
    contexts, failures = [], []

    def open_page(viewport=None, javascript=True, user=None):
        context = browser.new_context(
            viewport=viewport or DESKTOP,
            java_script_enabled=javascript,
            base_url=site.url,
            storage_state=signed_in(user) if user else None,
        )
        contexts.append(context)
        page = context.new_page()
        page.on(
            "response",
            lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 500 else None,
        )
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not failures, failures


@pytest.fixture
def page(new_page):
    return new_page()


def sign_in(page, email, lang="en", password=PASSWORD):
    """Sign in through the login form, as a person would with a mouse."""
    page.goto(f"/{lang}/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)
