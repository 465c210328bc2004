"""The vocabularies' names read like every other text in several languages: per-language
versions from the gettext catalogues, served by ``hub.texts.core.resolve``, a missing
translation shown in English with its real language and a marker."""

import io
import re

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.support import Translations
from flask import render_template_string

from hub.publishing import vocabulary
from hub.registry.models import MembershipStatus
from hub.registry.services import shown_status, status_label
from hub.texts.catalogue import message_versions, shown_in, shown_message
from tests.support import sample_entries

VOCABULARIES = {
    "INSTRUMENTS": vocabulary.INSTRUMENTS,
    "PRODUCT_GROUPS": vocabulary.PRODUCT_GROUPS,
    "PRODUCER_TYPES": vocabulary.PRODUCER_TYPES,
    "RATING_SCHEMES": vocabulary.RATING_SCHEMES,
    "FAIR_STATUSES": vocabulary.FAIR_STATUSES,
    "OUTCOME_METRICS": vocabulary.OUTCOME_METRICS,
    "ENTRY_STATUSES": vocabulary.ENTRY_STATUSES,
}
FACT = '{% from "_texts.html" import fact %}{{ fact(shown) }}'


def compiled(locale, messages, fuzzy=()):
    """A compiled catalogue of ``messages`` (``{msgid: msgstr}``), those in ``fuzzy`` marked
    fuzzy, as the hub's are: through a .mo file."""
    catalog = Catalog(locale=locale)
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr, flags=("fuzzy",) if msgid in fuzzy else ())
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


@pytest.mark.parametrize("lang", ["vi", "en", "ja"])
@pytest.mark.parametrize("name", sorted(VOCABULARIES))
def test_every_vocabulary_value_is_served_in_the_readers_language(app, name, lang):
    with app.test_request_context(f"/{lang}/", headers={"Accept-Language": lang}):
        for value, message in VOCABULARIES[name].items():
            shown = vocabulary.shown_label(VOCABULARIES[name], value)
            assert (shown.language, shown.fallback, shown.outdated) == (lang, False, False), value
            assert shown.text == str(message) == vocabulary.label(VOCABULARIES[name], value)
            assert vocabulary.shown_label(VOCABULARIES[name], value, "ja").language == "ja"


def test_an_unknown_value_is_itself_in_no_language(ctx):
    shown = vocabulary.shown_label(vocabulary.PRODUCT_GROUPS, "spices")
    assert (shown.text, shown.language, shown.fallback) == ("spices", None, False)


def test_a_message_a_catalogue_lacks_falls_back_to_english_visibly(app):
    catalogues = {
        "en": compiled("en", {"Food": "Food", "Beverages": "Beverages"}),
        "vi": compiled("vi", {"Food": "Thực phẩm"}),
    }
    versions = message_versions("Beverages", catalogues)
    assert [v.language for v in versions] == ["en"]
    shown = shown_in(versions, "vi")
    assert (shown.text, shown.language, shown.fallback, shown.outdated) == (
        "Beverages",
        "en",
        True,
        False,
    )
    assert shown_in(message_versions("Food", catalogues), "vi").text == "Thực phẩm"
    with app.test_request_context("/vi/", headers={"Accept-Language": "vi"}):
        html = render_template_string(FACT, shown=shown)
        assert html == (
            '<span lang="en">Beverages</span> <span class="muted fallback-marker">'
            "(bằng Tiếng Anh)</span>"
        )
        assert render_template_string(FACT, shown=shown_in(versions, "en")) == "Beverages"
        # A msgid no catalogue of the hub has: its English, marked, in every other language.
        missing = shown_message("A message no catalogue has", "vi")
        assert (missing.text, missing.language, missing.fallback) == (
            "A message no catalogue has",
            "en",
            True,
        )


def test_a_fuzzy_outdated_translation_is_never_shown_as_current(app):
    catalogues = {
        "en": compiled("en", {"Food": "Food"}),
        "ja": compiled("ja", {"Food": "古い訳"}, fuzzy={"Food"}),
    }
    shown = shown_in(message_versions("Food", catalogues), "ja")
    assert (shown.text, shown.language, shown.fallback) == ("Food", "en", True)


def test_the_product_page_shows_the_product_group_in_japanese(app, client):
    with app.app_context():
        product = sample_entries()["product"]
    page = client.get(f"/ja/products/{product.id}").get_data(as_text=True)
    group = re.search(r"<dt>産品分野</dt><dd>(.*?)</dd>", page).group(1)
    assert group == "飲料"
    producer = re.search(r"<dt>生産者</dt><dd>(.*?)</dd>", page).group(1)
    assert producer.endswith("(協同組合)")


def test_a_page_marks_a_name_its_catalogue_lacks(app, client, monkeypatch):
    with app.app_context():
        product = sample_entries()["product"]
    catalogues = {
        "vi": compiled("vi", {"Food": "Thực phẩm"}),
        "en": compiled("en", {"Beverages": "Beverages"}),
        "ja": compiled("ja", {"Beverages": "飲料"}),
    }
    monkeypatch.setitem(app.extensions, "hub.texts.catalogue", (catalogues, {}))
    page = client.get(f"/vi/products/{product.id}").get_data(as_text=True)
    assert (
        '<span lang="en">Beverages</span> <span class="muted fallback-marker">(bằng Tiếng Anh)'
        "</span>"
    ) in page


@pytest.mark.parametrize("lang", ["vi", "en", "ja"])
def test_membership_statuses_are_served_in_the_readers_language(app, lang):
    with app.test_request_context(f"/{lang}/", headers={"Accept-Language": lang}):
        for status in MembershipStatus:
            shown = shown_status(status)
            assert (shown.language, shown.fallback) == (lang, False)
            assert shown.text == status_label(status)
