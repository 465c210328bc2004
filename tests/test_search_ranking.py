"""Ranking as a reader expects it, on both databases: the title itself, then the words as whole
words of a title, then the start of a title or of one of its words, then anywhere in a title,
then the texts; newest first within each; products, policies, experiences and fairs above the
registry's pages for a product word, countries first for a country's name."""

import pytest
from sqlalchemy import select

from hub.accounts.models import User
from hub.extensions import db
from hub.publishing import services
from hub.search import queries


@pytest.fixture
def vn(app):
    with app.test_request_context("/"):
        yield db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))


def publish(vn, language, title, body="", kind="product"):
    fields = {"product_group": "beverages"} if kind == "product" else {}
    entry = services.create_entry(vn, kind, language, {"title": title, "body": body}, fields)
    services.set_status(vn, entry.id, "published")
    return entry.id


def ids(app, query, lang="en", **kwargs):
    with app.test_request_context(f"/{lang}/"):
        return [e.id for e in queries.search(query, **kwargs).entries]


def test_title_tiers_then_texts_newest_first(app, vn):
    in_text = publish(vn, "en", "Highland products", "A green tea of the north.")
    inside = publish(vn, "en", "Steamed teacakes")  # "tea" starts a word: prefix
    anywhere = publish(vn, "en", "Instead of coffee")  # "tea" inside a word
    word_old = publish(vn, "en", "Green tea of Thai Nguyen")
    exact = publish(vn, "en", "Tea")
    word_new = publish(vn, "en", "Lotus tea")
    newer_text = publish(vn, "en", "Mountain herbs", "Served as a tea.")
    assert ids(app, "tea") == [exact, word_new, word_old, inside, anywhere, newer_text, in_text]
    assert ids(app, "TEA") == ids(app, "tea")


def test_every_word_must_be_found_and_the_phrase_ranks_first(app, vn):
    apart = publish(vn, "en", "Green jasmine and black tea")
    phrase = publish(vn, "en", "Black tea of Yunnan")
    publish(vn, "en", "Black pepper")
    assert ids(app, "black tea") == [phrase, apart]


def test_a_product_word_lists_products_before_the_registry(app, vn, client):
    tea = publish(vn, "vi", "Trà Tân Cương", "Trà búp Thái Nguyên.")
    publish(vn, "vi", "Gốm Bát Tràng")  # "tra" inside a word of the title
    with app.test_request_context("/vi/"):
        found = queries.search("trà")
    assert found.entries[0].id == tea
    assert not found.registry_first
    page = client.get("/vi/search", query_string={"q": "trà"}).get_data(as_text=True)
    entries_at = page.index('id="found-entries"')
    for registry in ('id="found-countries"', 'id="found-programmes"'):
        if registry in page:
            assert page.index(registry) > entries_at


def test_a_country_name_lists_the_country_first(app, vn, client):
    publish(vn, "en", "Coffee from Viet Nam", "Grown in the highlands of Viet Nam.")
    with app.test_request_context("/en/"):
        found = queries.search("Việt Nam")
    assert [c.code for c in found.countries] == ["VN"] and found.registry_first
    page = client.get("/en/search", query_string={"q": "viet nam"}).get_data(as_text=True)
    assert page.index('id="found-countries"') < page.index('id="found-entries"')


@pytest.mark.parametrize(
    ("lang", "query", "title"), [("ja", "お茶", "静岡のお茶"), ("en", "silk", "Silk of Isan")]
)
def test_product_words_in_every_language(app, vn, lang, query, title):
    product = publish(vn, lang, title)
    assert ids(app, query, lang=lang)[0] == product


def test_one_or_two_characters_read_the_newest_entries(app, vn, monkeypatch):
    old = publish(vn, "ja", "古い茶")
    monkeypatch.setattr(queries, "SHORT_WINDOW", 3)
    newer = [publish(vn, "ja", f"新茶 {n}") for n in range(3)]
    with app.test_request_context("/ja/"):
        found = queries.search("茶")
    assert found.short
    assert [e.id for e in found.entries] == list(reversed(newer))
    assert old not in [e.id for e in found.entries]
    # One longer word and the index reads them all, the short word checked on each.
    assert ids(app, "茶 古い茶", lang="ja") == [old]


def test_pages_follow_the_ranking_without_repeats(app, vn):
    made = [publish(vn, "en", f"Honey {n}", "honey") for n in range(5)]
    made += [publish(vn, "en", f"Jar {n}", "Wild honey.") for n in range(6)]
    seen, cursor = [], None
    with app.test_request_context("/en/"):
        while True:
            found = queries.search("honey", cursor=cursor, limit=4)
            seen += [e.id for e in found.entries]
            cursor = found.next_cursor
            if not cursor:
                break
    assert seen == list(reversed(made[:5])) + list(reversed(made[5:]))
