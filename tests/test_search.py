"""Search: every language, case and Vietnamese diacritics folded, Japanese by substring."""

import re
from datetime import date

import pytest
from flask import g, url_for
from sqlalchemy import func, select

from hub.accounts.models import User
from hub.extensions import db
from hub.publishing import services
from hub.publishing.models import Entry
from hub.search.routes import _linker
from tests.support import run_clock_from_awkward_instant, sample_entries


# Their data is dated from "now": the clock stands at an awkward instant, whatever the day.
@pytest.fixture(autouse=True)
def clock(request, time_machine):
    """Their data is dated from now: time-machine runs the clock from an awkward instant."""
    return run_clock_from_awkward_instant(request, time_machine)


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


# Filters, facets and counts, highlighted extracts, "did you mean" (issue 21 §2).


@pytest.fixture
def th(app):
    with app.test_request_context("/"):
        yield db.session.scalar(select(User).where(User.email == "coordinator.th@hub.test"))


def rated(stars, group="food"):
    return {
        "product_group": group,
        "rating_scheme": "ocop",
        "stars": stars,
        "rated_on": date(2025, 1, 1),
    }


def facet_links(page, name):
    """``{label: (href, count)}`` of the facet ``name`` (kind, country, group, stars)."""
    part = re.search(
        rf'<ul class="facet-list" aria-labelledby="facet-{name}">(.*?)</ul>', page, re.S
    )
    if part is None:
        return {}
    return {
        label: (href.replace("&amp;", "&"), count)
        for href, label, count in re.findall(
            r'<li><a href="([^"]+)">(.*?)</a> <span class="facet-count">([^<]+)</span></li>',
            part.group(1),
        )
    }


def result_count(page):
    found = re.search(r'<p class="result-count" role="status">([^<]+)</p>', page)
    return found.group(1) if found else None


def test_filters_narrow_the_results_and_stay_in_the_next_pages(vn, th, client):
    policy = publish(vn, "en", {"title": "Lotus policy"}, kind="policy", fields={})
    thai = publish(th, "en", {"title": "Lotus silk"}, fields={"product_group": "textiles"})
    products = [publish(vn, "en", {"title": f"Lotus tea {n}"}).id for n in range(22)]
    page = client.get("/en/search?q=lotus&kind=policy").get_data(as_text=True)
    assert found_entries(page) == [str(policy.id)]
    page = client.get("/en/search?q=lotus&country=TH").get_data(as_text=True)
    assert found_entries(page) == [str(thai.id)]
    page = client.get("/en/search?q=lotus&group=textiles&kind=product").get_data(as_text=True)
    assert found_entries(page) == [str(thai.id)]
    first = client.get("/en/search?q=lotus&kind=product&country=VN").get_data(as_text=True)
    assert found_entries(first) == [str(i) for i in reversed(products)][:20]
    more = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "kind=product" in more and "country=VN" in more and "q=lotus" in more
    second = client.get(more).get_data(as_text=True)
    assert found_entries(second) == [str(i) for i in reversed(products)][20:]
    # The form shows the filters in use, and each can be taken off.
    assert '<option value="product" selected>Products</option>' in first
    assert '<option value="VN" selected>Vietnam</option>' in first
    assert '<a href="/en/search?q=lotus&amp;country=VN">Remove “Products”</a>' in first


def test_the_stars_filter_means_at_least_that_many(vn, client):
    three = publish(vn, "en", {"title": "Pepper three"}, fields=rated(3))
    five = publish(vn, "en", {"title": "Pepper five"}, fields=rated(5))
    publish(vn, "en", {"title": "Pepper unrated"})
    page = client.get("/en/search?q=pepper&stars=3").get_data(as_text=True)
    assert found_entries(page) == [str(five.id), str(three.id)]
    page = client.get("/en/search?q=pepper&stars=4").get_data(as_text=True)
    assert found_entries(page) == [str(five.id)]
    assert result_count(page) == "1 result"


def test_a_bad_filter_is_reported_and_not_applied(vn, client):
    tea = publish(vn, "en", {"title": "Lotus tea"})
    answer = client.get("/en/search?q=lotus&kind=recipe&stars=9&country=XX")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert found_entries(page) == [str(tea.id)]
    assert "“recipe” is not one of the options." in page
    assert "A rating has 1 to 5 stars." in page
    assert "“XX” is not a country." in page


LONG = "The search text must be at most 100 characters, without control characters."


@pytest.mark.parametrize(
    ("lang", "q", "message"),
    [
        ("en", "lotus" * 21, LONG),
        ("en", "lotus%00tea", LONG),
        ("en", "lotus%ED%A0%80", "This text is not valid Unicode (it has a lone surrogate)."),
        ("vi", "lotus" * 21, "Nội dung tìm kiếm tối đa 100 ký tự và không chứa ký tự điều khiển."),
    ],
)
def test_refused_words_are_reported_beside_their_field_and_not_searched(
    vn, client, lang, q, message
):
    publish(vn, "en", {"title": "Lotus tea"})
    answer = client.get(f"/{lang}/search?q={q}")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert f'<p class="field-error" id="q-error">{message}</p>' in page
    assert 'aria-describedby="q-error"' in page
    assert found_entries(page) == []


def test_registry_pages_are_left_out_under_a_filter(client):
    page = client.get("/en/search?q=viet+nam").get_data(as_text=True)
    assert '<a href="/en/countries/VN">Vietnam</a>' in page
    page = client.get("/en/search?q=viet+nam&kind=product").get_data(as_text=True)
    assert '<a href="/en/countries/VN">Vietnam</a>' not in page


def test_facets_count_the_results_and_each_adds_its_filter(vn, th, client):
    publish(vn, "en", {"title": "Ginger candy"}, fields=rated(4))
    publish(vn, "en", {"title": "Ginger tea"}, fields=rated(5, "beverages"))
    publish(th, "en", {"title": "Ginger paste"}, fields=rated(2))
    publish(vn, "en", {"title": "Ginger policy"}, kind="policy", fields={})
    page = client.get("/en/search?q=ginger").get_data(as_text=True)
    assert result_count(page) == "4 results"
    assert facet_links(page, "kind") == {
        "Products": ("/en/search?q=ginger&kind=product", "3"),
        "Policies": ("/en/search?q=ginger&kind=policy", "1"),
    }
    assert facet_links(page, "country") == {
        "Vietnam": ("/en/search?q=ginger&country=VN", "3"),
        "Thailand": ("/en/search?q=ginger&country=TH", "1"),
    }
    assert facet_links(page, "group") == {
        "Food": ("/en/search?q=ginger&group=food", "2"),
        "Beverages": ("/en/search?q=ginger&group=beverages", "1"),
    }
    assert facet_links(page, "stars") == {
        "5 stars or more": ("/en/search?q=ginger&stars=5", "1"),
        "4 stars or more": ("/en/search?q=ginger&stars=4", "2"),
        "2 stars or more": ("/en/search?q=ginger&stars=2", "3"),
    }
    # A facet's link keeps the filters in use; the facet of a filter in use is not offered.
    page = client.get("/en/search?q=ginger&country=VN").get_data(as_text=True)
    assert result_count(page) == "3 results"
    assert facet_links(page, "country") == {}
    assert facet_links(page, "kind")["Products"] == (
        "/en/search?q=ginger&kind=product&country=VN",
        "2",
    )
    page = client.get("/en/search?q=ginger&stars=4").get_data(as_text=True)
    assert list(facet_links(page, "stars")) == ["5 stars or more"]


def bulk_products(count, title):
    """``count`` published products titled ``title``, written as a sync would (fast)."""
    from hub.db import utcnow
    from hub.publishing.models import Entry, EntryTranslation
    from hub.sync.rows import insert_rows

    now = utcnow()
    first = (db.session.scalar(select(func.max(Entry.id))) or 0) + 1
    seqs = list(services.reserve_change_seqs(count))
    insert_rows(Entry.__table__, [
        {"id": first + k, "kind": "product", "country_code": "VN", "status": "published",
         "source_language": "en", "origin": "local", "created_dt": now, "updated_dt": now,
         "published_dt": now, "change_seq": seqs[k], "product_group": "food"}
        for k in range(count)
    ])  # fmt: skip
    text = {"title": title, "summary": "", "body": "", "lessons": ""}
    insert_rows(EntryTranslation.__table__, [
        {"entry_id": first + k, "language": "en", **text, "fingerprint": "f",
         "source_fingerprint": None, **services.search_values(text), "updated_dt": now}
        for k in range(count)
    ])  # fmt: skip
    db.session.commit()


@pytest.mark.parametrize(
    ("lang", "capped", "counted"),
    [
        ("en", "More than 1,000 results", "Counted among the 1,000 newest results."),
        ("vi", "Hơn 1.000 kết quả", "Đếm trong 1.000 kết quả mới nhất."),
        ("ja", "1,000件を超える結果", "新しい順に1,000件までで数えています。"),
    ],
)
def test_a_count_past_the_cap_says_more_than(app, client, lang, capped, counted):
    with app.test_request_context("/"):
        bulk_products(1001, "Cashew nuts")
    page = client.get(f"/{lang}/search?q=cashew").get_data(as_text=True)
    assert result_count(page) == capped
    assert counted in page
    assert (
        facet_links(page, "kind")[{"en": "Products", "vi": "Sản phẩm", "ja": "産品"}[lang]][1]
        == {"en": "1,000", "vi": "1.000", "ja": "1,000"}[lang]
    )
    with app.test_request_context("/"):
        services.delete_entry(
            db.session.scalar(select(User).where(User.role == "admin").limit(1)),
            db.session.scalar(select(func.max(Entry.id))),
        )
    page = client.get(f"/{lang}/search?q=cashew").get_data(as_text=True)
    assert (
        result_count(page) == {"en": "1,000 results", "vi": "1.000 kết quả", "ja": "1,000件"}[lang]
    )


def test_a_query_of_short_words_is_counted_in_its_window(vn, client):
    tea = publish(vn, "ja", {"title": "緑茶"})
    page = client.get("/ja/search", query_string={"q": "茶"}).get_data(as_text=True)
    assert found_entries(page) == [str(tea.id)]
    assert result_count(page) == "1件"


def shown_result(page, entry_id):
    """The title link's text and the extract of the result ``entry_id``."""
    found = re.search(
        rf'<a href="/\w\w/\w+/{entry_id}">(.*?)</a></h2>.*?(?:<p class="extract">(.*?)</p>|</article>)',
        page,
        re.S,
    )
    return found.group(1), found.group(2)


def test_the_words_are_marked_in_the_original_text(vn, client):
    cake = publish(vn, "vi", {
        "title": "Bánh đa Kế <Bắc Giang> & bánh chưng",
        "body": "Bánh đa **nướng** giòn.\n\nLàm từ gạo của [Bắc Giang](http://banh.example).",
    })  # fmt: skip
    page = client.get("/en/search?q=BANH+bac").get_data(as_text=True)
    title, extract = shown_result(page, cake.id)
    assert title == (
        "<mark>Bánh</mark> đa Kế &lt;<mark>Bắc</mark> Giang&gt; &amp; <mark>bánh</mark> chưng"
    )
    # The body's words without their Markdown, the block holding the most of the query's
    # words; the word in the link's address is not marked, nor shown.
    assert extract == "Làm từ gạo của <mark>Bắc</mark> Giang."
    page = client.get("/en/search?q=nuong").get_data(as_text=True)
    assert shown_result(page, cake.id)[1] == "Bánh đa <mark>nướng</mark> giòn."


def test_marks_cover_decomposed_letters_and_expansions():
    from hub.search.highlight import marked, spans

    decomposed = "Che\u0300 Tha\u0301i"  # "Chè Thái" in NFD
    assert spans(decomposed, ["che", "thai"]) == [(0, 4), (5, 10)]
    assert marked(decomposed, ["che"]) == "<mark>Che\u0300</mark> Tha\u0301i"
    assert marked("Straße", ["strasse"]) == "<mark>Straße</mark>"
    assert marked("ﬁne silk", ["fine"]) == "<mark>ﬁne</mark> silk"
    assert marked("Đà Lạt", ["da lat"]) == "<mark>Đà Lạt</mark>"
    assert (
        marked("<mark>x</mark>", ["mark"]) == "&lt;<mark>mark</mark>&gt;x&lt;/<mark>mark</mark>&gt;"
    )


def test_the_extract_is_in_the_language_shown(app, client):
    # Written in a context of its own, closed before the pages are asked for in two languages.
    with app.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))
        tea = publish(vn, "vi", {"title": "Chè Tân Cương", "body": "Chè xanh của Thái Nguyên."})
        services.save_text(vn, tea.id, "en", {
            "title": "Tân Cương tea", "body": "Green tea from Thái Nguyên province.",
        })  # fmt: skip
        honey = publish(vn, "vi", {"title": "Mật ong", "body": "Mật ong rừng Thái Nguyên."})
    page = client.get("/en/search", query_string={"q": "thai nguyen"}).get_data(as_text=True)
    assert shown_result(page, tea.id) == (
        "Tân Cương tea",
        "Green tea from <mark>Thái</mark> <mark>Nguyên</mark> province.",
    )
    # No English text: the Vietnamese one, marked as such, as the lists show it.
    assert shown_result(page, honey.id)[1] == "Mật ong rừng <mark>Thái</mark> <mark>Nguyên</mark>."
    page = client.get("/vi/search", query_string={"q": "green"}).get_data(as_text=True)
    assert shown_result(page, tea.id) == ("Chè Tân Cương", "Chè xanh của Thái Nguyên.")


def test_a_long_text_is_cut_around_the_first_match(vn, client):
    body = " ".join(f"word{n}" for n in range(100)) + " saffron " + "tail " * 100
    entry = publish(vn, "en", {"title": "Spices", "body": body})
    page = client.get("/en/search?q=saffron").get_data(as_text=True)
    extract = shown_result(page, entry.id)[1]
    assert extract.startswith("…") and extract.endswith("…")
    assert "<mark>saffron</mark>" in extract
    assert len(re.sub(r"</?mark>", "", extract)) <= 202


def test_did_you_mean_proposes_a_close_title_word(vn, client):
    publish(vn, "en", {"title": "Wild honey from Hà Giang"})
    for query in ("hony", "hoeny", "honney", "HONY"):
        page = client.get("/en/search", query_string={"q": query}).get_data(as_text=True)
        assert found_entries(page) == []
        assert 'Did you mean “<a href="/en/search?q=honey" class="suggestion">honey</a>”?' in page
    page = client.get("/en/search?q=wild+hony").get_data(as_text=True)
    assert '<a href="/en/search?q=wild+honey" class="suggestion">wild honey</a>' in page
    # It keeps the filters, and is only proposed when it finds something under them.
    page = client.get("/en/search?q=hony&kind=product").get_data(as_text=True)
    assert 'href="/en/search?q=honey&amp;kind=product"' in page
    page = client.get("/en/search?q=hony&kind=policy").get_data(as_text=True)
    assert "Did you mean" not in page
    # A word spelt right that the filters leave without result is not "corrected".
    page = client.get("/en/search?q=honey&kind=policy").get_data(as_text=True)
    assert "Nothing found for “honey”." in page and "Did you mean" not in page


def test_did_you_mean_proposes_a_country_or_programme(client):
    page = client.get("/en/search?q=thailnd").get_data(as_text=True)
    assert '<a href="/en/search?q=Thailand" class="suggestion">Thailand</a>' in page
    page = client.get("/vi/search", query_string={"q": "viet nma"}).get_data(as_text=True)
    assert 'class="suggestion">Việt Nam</a>' in page
    page = client.get("/en/search?q=otpo").get_data(as_text=True)
    assert 'class="suggestion">OTOP</a>' in page


def test_nothing_is_proposed_when_nothing_is_close(vn, client):
    publish(vn, "en", {"title": "Wild honey"})
    page = client.get("/en/search?q=zzyzx").get_data(as_text=True)
    assert "Nothing found for “zzyzx”." in page and "Did you mean" not in page
    page = client.get("/en/search?q=<b>hony</b>").get_data(as_text=True)
    assert "<b>hony" not in page


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"q": ""},
        {"q": "trà sen", "kind": "product"},
        {"q": "a&b=c?d/e#f+g h%20", "country": "VN", "stars": 4},
        {"q": "お茶 100%", "group": "beverages", "after": "3_120"},
        {"q": "'!$()*,;:@~", "kind": None},
    ],
)
def test_the_pages_links_are_written_as_url_for_writes_them(app, args):
    with app.test_request_context("/vi/search"):
        g.lang = "vi"
        assert _linker()(**args) == url_for("search.search", **args)
