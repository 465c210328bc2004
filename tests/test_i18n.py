"""Choosing the language, switching it, and the catalogues behind it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LANGS = ("vi", "en", "ja")


def test_root_redirects_to_the_accept_language_choice(client):
    response = client.get("/", headers={"Accept-Language": "ja,en;q=0.5"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/ja/"
    assert {"Accept-Language", "Cookie"} <= set(response.vary)


def test_root_falls_back_to_english(client):
    assert client.get("/").headers["Location"] == "/en/"
    assert (
        client.get("/", headers={"Accept-Language": "de-DE,fr;q=0.8"}).headers["Location"] == "/en/"
    )


def test_regional_variants_choose_their_language(client):
    assert client.get("/", headers={"Accept-Language": "vi-VN"}).headers["Location"] == "/vi/"


def test_cookie_beats_accept_language(client):
    client.set_cookie("hub_lang", "vi")
    assert client.get("/", headers={"Accept-Language": "ja"}).headers["Location"] == "/vi/"


def test_an_unsupported_cookie_is_ignored(client):
    client.set_cookie("hub_lang", "xx")
    assert client.get("/", headers={"Accept-Language": "ja"}).headers["Location"] == "/ja/"


def test_url_prefix_beats_cookie_and_accept_language(client):
    client.set_cookie("hub_lang", "vi")
    page = client.get("/ja/countries", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="ja">' in page
    assert "<h1>国・地域</h1>" in page


def test_opening_a_page_in_a_language_remembers_it(client):
    response = client.get("/vi/countries", headers={"Accept-Language": "ja"})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("hub_lang=vi;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/", headers={"Accept-Language": "ja"}).headers["Location"] == "/vi/"


def test_language_switcher_keeps_the_page_and_its_filters(client):
    page = client.get("/en/countries?status=member&region=142").get_data(as_text=True)
    nav = re.search(r'<nav class="language-nav".*?</nav>', page, re.S).group(0)
    links = dict(re.findall(r'<a href="([^"]+)" hreflang="(\w+)"', nav))
    by_lang = {lang: url for url, lang in links.items()}
    for lang in LANGS:
        assert by_lang[lang].startswith(f"http://localhost/{lang}/countries?")
        assert "status=member" in by_lang[lang] and "region=142" in by_lang[lang]
    # Each language by its own name (shortened to its code where the header is short of room).
    assert 'lang="en" aria-current="true"><span class="long">English</span>' in nav
    assert 'lang="vi"><span class="long">Tiếng Việt</span>' in nav
    assert 'lang="ja"><span class="long">日本語</span>' in nav


def test_every_page_links_its_other_language_versions(client):
    page = client.get("/vi/countries/TH").get_data(as_text=True)
    alternates = dict(
        re.findall(r'<link rel="alternate" hreflang="([\w-]+)" href="([^"]+)">', page)
    )
    assert alternates == {
        "vi": "http://localhost/vi/countries/TH",
        "en": "http://localhost/en/countries/TH",
        "ja": "http://localhost/ja/countries/TH",
        "x-default": "http://localhost/en/countries/TH",
    }


@pytest.mark.parametrize("lang", LANGS)
def test_catalogue_has_no_empty_or_fuzzy_entry(lang):
    with open(ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(s.strip() for s in strings):
            problems.append(f"untranslated: {message.id!r}")
    assert problems == []


def test_catalogues_hold_every_message_of_the_code(tmp_path):
    """The catalogues are up to date: extracting the messages anew finds none they lack."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with open(pot, "rb") as f:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    assert wanted, "extraction found no message at all"
    for lang in LANGS:
        with open(ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
            have = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
        assert sorted(wanted - have) == [], f"{lang} lacks these messages: run make catalogues"
