"""A reader of /vi/ and /ja/ sees no English: every page of the seeded site (with the sample
content, a source and its run, a webhook, an invitation, a token), walked in each language as an
anonymous reader and as an administrator, with the error pages (404, 403) and forms sent with
mistakes, shows no English word outside a proper name, code, or an element marked with its real
language (``lang="en"``).

English is recognised by vocabulary: the words the English catalogue's msgids write in lower
case. Pages are reached from the home page and the menus by their own same-language links, at
most a few per route and shape of arguments, so the walk covers every kind of page and stays
fast.
"""

import re
from collections import Counter
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qsl, urldefrag, urlsplit

import pyotp
import pytest
from babel import Locale
from babel.messages.pofile import read_po
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from hub.accounts.models import User
from hub.accounts.services import invite
from hub.api.auth import issue_token
from hub.db import utcnow
from hub.extensions import db
from hub.publishing import services
from hub.publishing.demo import seed_demo
from hub.publishing.models import Fair, Product
from hub.registry.fact_texts import translate_fact
from hub.sync.models import SyncRun
from hub.sync.services import add_source
from hub.webhooks.services import register
from tests.support import USERS, csrf_token, sample_entries, sign_in

ROOT = Path(__file__).resolve().parent.parent
PAGES_PER_SHAPE = 3
# Endpoints that answer with something other than an HTML page.
NOT_PAGES = {"publishing.export", "registry.countries_export"}
# Route arguments whose value picks another page layout rather than another record.
LAYOUT_ARGS = {"collection", "kind"}

# Words of the English msgids that Vietnamese writes too: loanwords (menu, web, e-mail) and
# syllables without a mark (Hạ Long, "may mặc"). Japanese writes no Latin word of its own.
NOT_TELLING = {"vi": {"menu", "web", "mail", "long", "may"}, "ja": set(), "en": set()}
# Proper names and tokens that stand as they are in every language.
# The vocabulary holds only words a msgid writes in lower case, so acronyms (OCOP, API, JSON)
# never count; they are listed for the day a msgid writes one in lower case.
ALLOWED = {
    # Programmes, as the glossary keeps them
    "ocop", "ovop", "otop", "odop",
    # Formats and protocols, as written in every language
    "api", "json", "csv", "ical", "ics", "webcal", "rss", "url", "http", "https", "utc", "iso",
    # A technical term both translations keep in Latin letters (and the Standard Webhooks spec)
    "webhook", "webhooks",
}  # fmt: skip
# Names of formats, as written in every language.
ALLOWED_PHRASES = ("JSON Feed", "JSON Schema")
# Elements that show codes where HTML allows no <code>: the connector kinds a source is added
# with (ckan, csv, hub, …), the values docs/sync.md and the API name.
CODES = ("select#source-kind > option",)


def _english_vocabulary():
    with (ROOT / "translations/en/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f, locale="en")
    words = set()
    for message in catalog:
        for msgid in message.id if isinstance(message.id, tuple) else (message.id,):
            text = re.sub(r"%\(\w+\)[sd]|<[^>]+>|\{\w+\}", " ", msgid or "")
            # Only words the msgids write in lower case somewhere: a name (Ho Chi Minh, Unicode)
            # is always capitalised, and is the same in the other languages.
            words.update(w for w in re.findall(r"[a-z]+", text) if len(w) >= 3)
    return words - ALLOWED


def _territory_words(lang):
    """The Latin words of the country names Babel gives in ``lang`` (Thái Lan, New Zealand):
    proper names, shown as CLDR writes them."""
    names = " ".join(Locale.parse(lang).territories.values())
    return {w.lower() for w in re.findall(r"[A-Za-z]+", names)}


# English's own, to show on /en/ that the walk sees what it should.
VOCABULARY = {
    lang: _english_vocabulary() - NOT_TELLING[lang] - _territory_words(lang)
    for lang in ("vi", "ja", "en")
}
# A Latin word, with Vietnamese letters, so that "Việt" is one word rather than "Vi" and "t".
WORD = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]+")
# Addresses: e-mail, web, paths and host names (iovoppa.org), the same in every language.
ADDRESS = re.compile(r"\S+@\S+|https?://\S+|/[\w./-]+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b")


def english_words(text, lang):
    text = ADDRESS.sub(" ", text)
    for phrase in ALLOWED_PHRASES:
        text = text.replace(phrase, " ")
    words = WORD.findall(text)
    # Latin words with Vietnamese marks make a Vietnamese name (Hạ Long) on any page.
    if any(not w.isascii() for w in words):
        lang = "vi"
    return [w for w in words if w.isascii() and w.lower() in VOCABULARY[lang]]


class _Texts(HTMLParser):
    """The texts a reader sees or hears (text and the title, aria-label, alt and placeholder
    attributes), each with its element path, leaving out code and what is marked with another
    language than the page's."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
            "track", "wbr"}  # fmt: skip
    CODE = {"script", "style", "code", "pre", "kbd", "samp", "template"}
    ATTRIBUTES = ("title", "aria-label", "alt", "placeholder")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.page_lang, self.stack, self.texts, self.marked = None, [], [], set()

    def _code(self):
        return any(tag in self.CODE for tag, _, _ in self.stack)

    def _skipped(self):
        return self._code() or any(other for _, other, _ in self.stack)

    def _path(self):
        return " > ".join(name for _, _, name in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.page_lang = attrs.get("lang")
        lang = attrs.get("lang")
        other = lang is not None and lang != self.page_lang
        name = tag + (f"#{attrs['id']}" if attrs.get("id") else "")
        name += "".join(f".{c}" for c in (attrs.get("class") or "").split()[:2])
        if not (self._skipped() or other or tag in self.CODE):
            path = " > ".join(filter(None, (self._path(), name)))
            for attribute in self.ATTRIBUTES:
                if attrs.get(attribute):
                    self.texts.append((f"{path}[{attribute}]", attrs[attribute]))
        if tag not in self.VOID:
            self.stack.append((tag, other, name))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID or all(open_tag != tag for open_tag, _, _ in self.stack):
            return
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        text = " ".join(data.split())
        if text and not self._skipped():
            self.texts.append((self._path(), text))
        elif text and not self._code():
            self.marked.add(text)


def page_texts(page):
    """The page's language and its (element path, text) pairs. The document title cannot mark
    a part of itself: an entry's title marked with its language in the page is taken out of it."""
    parser = _Texts()
    parser.feed(page)
    parser.close()
    texts = []
    for path, text in parser.texts:
        if path == "html > head > title":
            for marked in sorted(parser.marked, key=len, reverse=True):
                text = text.replace(marked, " ")
        texts.append((path, text))
    return parser.page_lang, texts


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        if tag == "a" and (href := dict(attrs).get("href")):
            self.links.append(href)


class Walk:
    """Pages visited in one language, by route and shape of arguments, and what they showed."""

    def __init__(self, site, client, lang):
        self.client, self.lang = client, lang
        self.adapter = site.app.url_map.bind("localhost")
        self.seen, self.per_shape, self.found = set(), Counter(), []

    def shape(self, url):
        parts = urlsplit(url)
        try:
            rule, args = self.adapter.match(parts.path, return_rule=True)
        except HTTPException:
            return None, None
        if rule.endpoint in NOT_PAGES or args.get("lang") != self.lang:
            return rule.endpoint, None
        arguments = tuple(
            sorted((k, v if k in LAYOUT_ARGS else type(v).__name__) for k, v in args.items())
        )
        query = tuple(sorted({k for k, _ in parse_qsl(parts.query)}))
        return rule.endpoint, (rule.rule, arguments, query)

    def check(self, url, response, expected=200):
        assert response.status_code == expected, (url, response.status_code)
        assert response.mimetype == "text/html", url
        page = response.get_data(as_text=True)
        page_lang, texts = page_texts(page)
        assert page_lang == self.lang, (url, page_lang)
        for path, text in texts:
            words = english_words(text, self.lang)
            if words and not path.endswith(CODES):
                self.found.append(f"{url}\n    {path}\n    {text!r} (English: {', '.join(words)})")
        return page

    def visit(self, url):
        url = urldefrag(url)[0]
        if url in self.seen:
            return
        self.seen.add(url)
        _, shape = self.shape(url)
        if shape is None or self.per_shape[shape] >= PAGES_PER_SHAPE:
            return
        self.per_shape[shape] += 1
        response = self.client.get(url)
        if response.status_code in (301, 302, 303):
            return
        page = self.check(url, response)
        links = _Links()
        links.feed(page)
        for href in links.links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path.startswith(f"/{self.lang}/"):
                continue
            self.visit(parts.path + (f"?{parts.query}" if parts.query else ""))

    def walk(self, *starts):
        for url in starts:
            self.visit(url)
        return self


@pytest.fixture
def site(app):
    """The seeded site with its sample content and something on every administrator's page;
    the app, the invitation's token and the sample entries' ids by kind."""
    with app.test_request_context("/"):
        seed_demo()
        entries = {kind: entry.id for kind, entry in sample_entries().items()}
        _change_things(entries)
        source = add_source("VN", "jsonfeed", "https://partner.example/vn.json", {"language": "vi"})
        db.session.add(
            SyncRun(source_id=source.id, status="ok", finished_dt=utcnow(), fetched=3, created=3)
        )
        register(None, "https://partner.example/hook", "VN")
        token = invite(None, "new.coordinator@hub.test", "coordinator", "MW", "vi")
        issue_token("Công cụ đối tác", "VN")
        db.session.commit()
    return SimpleNamespace(app=app, invitation=token, entries=entries)


def _change_things(entries):
    """Give the history, trash and "what changed" pages something to show: entries edited once
    (vocabulary codes, dates, lists, outcomes, links), one in the trash, a translation older
    than its original, and a country's fact changed."""
    vn = db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))
    admin = db.session.scalar(select(User).where(User.email == "admin@hub.test"))
    policy, fair = entries["policy"], entries["fair"]
    services.update_fields(vn, policy, {"instrument": "decree", "issued_on": date(2019, 5, 7)})
    held = db.session.get(Fair, fair)
    services.update_fields(
        vn, fair,
        {"timezone": held.timezone, "start_date": held.starts_local.date(),
         "end_date": held.ends_local.date(), "city": held.city, "location_country": "LA",
         "product_groups": ["herbal", "food"], "all_day": True},
    )  # fmt: skip
    services.update_fields(
        vn, entries["experience"],
        {"outcomes": [{"metric": "jobs", "value": 40, "unit": ""}],
         "policy_ids": [str(policy)]},
    )  # fmt: skip
    rated = db.session.get(Product, entries["product"])
    services.update_fields(
        vn, entries["product"],
        {"producer_type": "enterprise", "rating_scheme": "otop", "stars": 5,
         "product_group": "herbal", "rated_on": rated.rated_on,
         "producer_name": rated.producer_name, "locality": rated.locality},
    )  # fmt: skip
    # The Vietnamese original changes after its Japanese translation: "what changed".
    services.save_text(
        vn, policy, "vi",
        {"title": "Chương trình Mỗi xã một sản phẩm", "summary": "Phê duyệt Chương trình OCOP.",
         "body": "Quyết định **490/QĐ-TTg** ngày 7/5/2018 của Thủ tướng."},
    )  # fmt: skip
    gone = services.create_entry(vn, "policy", "vi", {"title": "Chính sách đã xoá"}, {})
    services.delete_entry(vn, gone.id)
    translate_fact(admin, "country", "VN", "ja", {"note": "OCOPの国。"})
    translate_fact(admin, "country", "VN", "ja", {"note": "OCOPプログラムの国。"})


STARTS = ("/{lang}/", "/{lang}/search?q=OCOP", "/{lang}/api")


def _report(walk):
    return f"{len(walk.found)} English texts on /{walk.lang}/:\n" + "\n".join(walk.found[:60])


@pytest.mark.parametrize("lang", ["vi", "ja"])
def test_a_reader_sees_no_english(site, lang):
    client = site.app.test_client()
    walk = Walk(site, client, lang).walk(*(s.format(lang=lang) for s in STARTS))
    assert sum(walk.per_shape.values()) > 15
    url = f"/{lang}/no-such-page"
    walk.check(url, client.get(url), 404)
    url = f"/{lang}/invitations/{site.invitation}"
    walk.check(url, client.get(url))
    url = f"/{lang}/invitations/no-such-link"
    response = client.get(url)
    walk.check(url, response, response.status_code)
    url = f"/{lang}/login"
    token = csrf_token(client, url)
    response = client.post(
        url, data={"email": "admin@hub.test", "password": "x", "csrf_token": token}
    )
    walk.check(url, response, response.status_code)
    assert not walk.found, _report(walk)


# Values every kind's form refuses: a date that is none, stars out of range, unknown codes.
MISTAKES = {
    "issued_on": "x", "start_date": "x", "end_date": "x", "rated_on": "x", "stars": "9",
    "product_group": "x", "instrument": "x", "timezone": "x", "outcomes-0-metric": "x",
    "outcomes-0-value": "x",
}  # fmt: skip


def _post_invalid(client, walk, url, data):
    """A form sent with a mistake: the page that says so is checked like any other."""
    data = {"csrf_token": csrf_token(client, url.split("?")[0]), **data}
    response = client.post(url, data=data)
    assert 400 <= response.status_code < 500 or response.status_code == 200, (url, response)
    walk.check(url, response, response.status_code)


@pytest.mark.parametrize("lang", ["vi", "ja"])
def test_an_administrator_sees_no_english(site, lang):
    client = site.app.test_client()
    assert sign_in(client, "admin@hub.test", lang=lang).status_code == 302
    walk = Walk(site, client, lang)
    # What _change_things gave them, first, before the walk spends its visits of each shape:
    # the edited entries' histories, the trash, what changed in an original, a country's history.
    policy = site.entries["policy"]
    starts = [f"/{lang}/manage/entries/{entry_id}/history" for entry_id in site.entries.values()]
    starts += [
        f"/{lang}/manage/trash",
        f"/{lang}/manage/entries/{policy}/translations/ja/changes",
        f"/{lang}/manage/entries/{policy}/delete",
        f"/{lang}/manage/countries/VN/history",
    ]
    starts += [s.format(lang=lang) for s in STARTS]
    starts += [
        f"/{lang}/manage/",
        f"/{lang}/manage/translations",
        f"/{lang}/admin/users",
        f"/{lang}/admin/audit",
        f"/{lang}/admin/tokens",
        f"/{lang}/admin/webhooks",
        f"/{lang}/admin/sources/",
        f"/{lang}/account",
    ]
    starts += [f"/{lang}/manage/{kind}/new" for kind in ("policy", "experience", "fair", "product")]
    walk.walk(*starts)
    assert sum(walk.per_shape.values()) > 30
    shown = {url: client.get(url).get_data(as_text=True) for url in starts[:8]}
    assert "<del>" in shown[starts[0]] and "Chính sách đã xoá" in shown[starts[4]]
    assert 'class="text-diff"' in shown[starts[5]] and "<ins>" in shown[starts[7]]
    for kind in ("policy", "experience", "fair", "product"):
        _post_invalid(client, walk, f"/{lang}/manage/{kind}/new", {"title": ""})
    _post_invalid(client, walk, f"/{lang}/admin/sources/", {"url": "not an address"})
    _post_invalid(client, walk, f"/{lang}/admin/webhooks", {"url": "ftp://nowhere"})
    _post_invalid(client, walk, f"/{lang}/admin/tokens", {"name": ""})
    url = f"/{lang}/admin/countries/VN/membership"
    _post_invalid(client, walk, url, {"status": "applicant", "on": "2020-01-01"})
    for entry_id in site.entries.values():
        _post_invalid(client, walk, f"/{lang}/manage/entries/{entry_id}", MISTAKES)
        _post_invalid(client, walk, f"/{lang}/manage/entries/{entry_id}/text/ja", {"title": ""})
    url = f"/{lang}/search?q=zzzz"
    walk.check(url, client.get(url))
    _post_invalid(client, walk, f"/{lang}/account", {"language": "xx"})
    _post_invalid(client, walk, f"/{lang}/account", {})
    assert not walk.found, _report(walk)


@pytest.mark.parametrize("lang", ["vi", "ja"])
def test_two_step_sign_in_reads_in_the_language(site, lang, time_machine):
    time_machine.move_to(datetime(2027, 3, 28, 1, 30, 10, tzinfo=UTC), tick=False)
    client = site.app.test_client()
    sign_in(client, "admin@hub.test", lang=lang)
    walk = Walk(site, client, lang)
    url = f"/{lang}/account/two-step"
    page = walk.check(url, client.get(url))
    secret = re.search(r"<code>([A-Z2-7]{32})</code>", page).group(1)
    _post_invalid(client, walk, url, {"code": "1"})
    token = csrf_token(client, url)
    response = client.post(url, data={"code": pyotp.TOTP(secret).now(), "csrf_token": token})
    walk.check(url, response)
    walk.check(url, client.get(url))
    _post_invalid(client, walk, f"/{lang}/account/two-step/off", {"off-proof": "x"})
    client = site.app.test_client()
    sign_in(client, "admin@hub.test", lang=lang)
    url = f"/{lang}/login/code"
    walk.check(url, client.get(url))
    _post_invalid(client, walk, url, {"code": "000000"})
    assert not walk.found, _report(walk)


@pytest.mark.parametrize("lang", ["vi", "ja"])
def test_a_coordinator_refused_an_administrator_page_reads_why(site, lang):
    client = site.app.test_client()
    coordinator = next(email for email, (role, _) in USERS.items() if role == "coordinator")
    sign_in(client, coordinator, lang=lang)
    walk = Walk(site, client, lang)
    url = f"/{lang}/admin/users"
    walk.check(url, client.get(url), 403)
    walk.walk(f"/{lang}/manage/")
    assert not walk.found, _report(walk)


def test_the_walk_finds_the_english_of_the_english_site(site):
    walk = Walk(site, site.app.test_client(), "en").walk("/en/")
    assert len(walk.found) > 100


def test_the_detector_finds_english_and_leaves_the_rest():
    assert english_words("Chính sách đã được duyệt (pending)", "vi") == ["pending"]
    assert english_words("Việt Nam – Thái Lan, 4 sao OCOP, Hạ Long", "vi") == []
    assert english_words("この取組事例はDraftです", "ja") == ["Draft"]
    assert english_words("Long", "ja") == ["Long"]
    assert english_words("Hạ Long, Quảng Ninh", "ja") == []
    assert english_words("admin@hub.test https://partner.example/published", "vi") == []
    page = (
        '<html lang="vi"><body><p title="Published">Đã xuất bản <span lang="en">Published</span>'
        "<code>published</code></p><img alt='Draft'><p>Tin</p></body></html>"
    )
    lang, texts = page_texts(page)
    assert lang == "vi"
    assert [t for _, t in texts] == ["Published", "Đã xuất bản", "Draft", "Tin"]
    assert texts[0][0] == "html > body > p[title]"
    page = '<html lang="ja"><head><title>A fair · OCOP</title></head><h1 lang="en">A fair</h1>'
    assert [t.strip() for _, t in page_texts(page)[1]] == ["· OCOP"]


def test_an_entrys_own_words_carry_its_source_language(app, client):
    with app.app_context():
        product = sample_entries()["product"].id  # written in Vietnamese
    page = client.get(f"/ja/products/{product}").get_data(as_text=True)
    assert '<dd lang="vi">Thái Nguyên</dd>' in page
    assert '<span lang="vi">HTX Tân Cương</span>' in page
    page = client.get(f"/vi/products/{product}").get_data(as_text=True)
    assert "<dd>Thái Nguyên</dd>" in page
