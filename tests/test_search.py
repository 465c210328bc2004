"""Search: every language, case and Vietnamese diacritics folded, Japanese by substring."""

import re

import pytest
from sqlalchemy import select

from hub.accounts.models import User
from hub.extensions import db
from hub.publishing import services
from tests.support import sample_entries


@pytest.fixture
def vn(app):
    with app.test_request_context("/"):
        yield db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))


def publish(vn, language, text, kind="product", fields=None):
    fields = fields if fields is not None else {"product_group": "food"}
    entry = services.create_entry(vn, kind, language, text, fields)
    services.set_status(vn, entry.id, "published")
    return entry


def found_entries(page):
    return re.findall(r'<h2 class="entry-title"><a href="/\w\w/\w+/(\d+)">', page)


@pytest.mark.parametrize("query", ["viet nam", "VIET NAM", "Việt Nam", "vietnam", "ベトナム"])
def test_countries_are_found_by_their_name_in_any_language(client, query):
    page = client.get("/vi/search", query_string={"q": query}).get_data(as_text=True)
    assert '<a href="/vi/countries/VN">Việt Nam</a>' in page


def test_programmes_are_found_by_acronym_and_local_name(client):
    page = client.get("/en/search?q=otop").get_data(as_text=True)
    assert 'href="/en/countries/TH"' in page
    page = client.get("/en/search", query_string={"q": "moi xa mot san pham"}).get_data(
        as_text=True
    )
    assert "One Commune One Product" in page


def test_entries_are_found_without_diacritics(vn, client):
    cake = publish(vn, "vi", {"title": "Bánh đa Kế", "body": "Bánh đa nướng của Bắc Giang."})
    page = client.get("/en/search?q=banh").get_data(as_text=True)
    assert found_entries(page) == [str(cake.id)]
    assert 'lang="vi"' in page and "Shown in Vietnamese" in page
    assert found_entries(client.get("/en/search?q=BANH DA").get_data(as_text=True)) == [
        str(cake.id)
    ]


def test_japanese_is_found_by_substring(vn, client):
    tea = publish(vn, "ja", {"title": "八女茶の緑茶", "body": "福岡県の伝統的な茶。"})
    page = client.get("/ja/search", query_string={"q": "緑茶"}).get_data(as_text=True)
    assert found_entries(page) == [str(tea.id)]
    page = client.get("/ja/search", query_string={"q": "伝統"}).get_data(as_text=True)
    assert found_entries(page) == [str(tea.id)]


def test_title_matches_rank_before_text_matches(vn, client):
    in_title = publish(vn, "en", {"title": "Honey from Hà Giang", "body": "Mountain flowers."})
    in_body = publish(vn, "en", {"title": "Forest products", "body": "Wild honey and herbs."})
    newer_in_body = publish(vn, "en", {"title": "Bee keeping", "body": "The honey season."})
    page = client.get("/en/search?q=honey").get_data(as_text=True)
    assert found_entries(page) == [str(in_title.id), str(newer_in_body.id), str(in_body.id)]


def test_only_published_entries_are_found(vn, client):
    draft = services.create_entry(
        vn, "product", "en", {"title": "Quokka sauce"}, {"product_group": "food"}
    )
    gone = publish(vn, "en", {"title": "Quokka recipe"})
    services.delete_entry(vn, gone.id)
    page = client.get("/en/search?q=quokka").get_data(as_text=True)
    assert found_entries(page) == []
    assert "Nothing found for “quokka”." in page
    assert str(draft.id) not in found_entries(page)


def test_like_wildcards_in_the_query_are_taken_literally(vn, client):
    publish(vn, "en", {"title": "Ordinary rice"})
    assert found_entries(client.get("/en/search?q=%25").get_data(as_text=True)) == []
    assert found_entries(client.get("/en/search?q=_").get_data(as_text=True)) == []


def test_results_are_paginated(vn, client):
    ids = [publish(vn, "en", {"title": f"Lotus tea {n}"}).id for n in range(23)]
    first = client.get("/en/search?q=lotus").get_data(as_text=True)
    assert found_entries(first) == [str(i) for i in reversed(ids)][:20]
    more = (
        re.search(r'href="(/en/search\?q=lotus&amp;after=[^"]+)"', first)
        .group(1)
        .replace("&amp;", "&")
    )
    second = client.get(more).get_data(as_text=True)
    assert found_entries(second) == [str(i) for i in reversed(ids)][20:]
    assert "Countries" not in re.sub(r"<header.*?</header>", "", second, flags=re.S)


def test_every_language_finds_the_same_entry(app, client):
    with app.test_request_context("/"):
        policy = sample_entries()["policy"]
    for lang, query in (("vi", "chuong trinh moi xa"), ("en", "490"), ("ja", "一村一品")):
        page = client.get(f"/{lang}/search", query_string={"q": query}).get_data(as_text=True)
        assert str(policy.id) in found_entries(page), lang


def test_an_empty_search_shows_the_form(client):
    page = client.get("/ja/search?q=+++").get_data(as_text=True)
    assert '<input id="search-q" name="q" type="search"' in page
    assert "見つかりません" not in page


def test_folding_strips_every_combining_mark_and_nothing_else():
    """``fold`` against the plain definition, over every code point up to U+2FFFF (past the end
    of its table too) in runs of a thousand."""
    import unicodedata

    from hub.i18n import fold

    def plainly(text):
        decomposed = unicodedata.normalize("NFKD", text)
        kept = "".join(c for c in decomposed if not unicodedata.combining(c))
        return kept.replace("Đ", "D").replace("đ", "d").casefold()

    for start in range(0, 0x30000, 1000):
        text = "".join(chr(c) for c in range(start, start + 1000) if not 0xD800 <= c < 0xE000)
        assert fold(text) == plainly(text), hex(start)
    assert fold("Chè Thái Nguyên, Đà Lạt") == "che thai nguyen, da lat"
