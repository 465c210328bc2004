"""Registry facts in every language: one model with the entries' texts (hub.texts), the seed's
translations complete, and each fact shown in the reader's language with a visible fallback
and the outdated notice."""

import html
from datetime import date

from flask_babel import force_locale
from sqlalchemy import event, select

from hub.extensions import db
from hub.registry.facts import FIELDS, country_texts, seed_facts, seed_translations
from hub.registry.models import Country, MembershipEvent
from hub.registry.queries import get_country
from hub.registry.seeding import load_seed
from hub.registry.services import change_membership
from hub.texts import core
from hub.texts import facts as texts
from hub.texts.models import FactText

TRANSLATIONS = seed_translations()


def _vn_programme():
    return db.session.get(Country, "VN").programmes[0]


def _seed_text(language, key):
    return TRANSLATIONS[language][key]


# ---------------------------------------------------------------------------------------------
# The one mechanism.


def test_a_fact_resolves_falls_back_and_goes_out_of_date(app, ctx):
    key = "ZZ"
    names = FIELDS["country"]
    source, _ = texts.write("country", key, "en", {"note": "First version."}, names)
    texts.write("country", key, "ja", {"note": "第一版。"}, names, source=source)
    db.session.flush()
    found = texts.load([("country", key)])

    ja = found.shown("country", key, "note", "ja")
    assert (ja.text, ja.language, ja.fallback, ja.outdated_against) == (
        "第一版。",
        "ja",
        False,
        None,
    )
    vi = found.shown("country", key, "note", "vi")
    assert (vi.text, vi.language, vi.fallback) == ("First version.", "en", True)

    source, changed = texts.write("country", key, "en", {"note": "Second version."}, names)
    assert changed
    db.session.flush()
    ja = texts.load([("country", key)]).shown("country", key, "note", "ja")
    assert ja.text == "第一版。" and not ja.fallback
    assert ja.outdated_against == core.SourceVersion("en", source.updated_dt)

    # Translated again from the current source: up to date.
    texts.write("country", key, "ja", {"note": "第二版。"}, names, source=source)
    db.session.flush()
    ja = texts.load([("country", key)]).shown("country", key, "note", "ja")
    assert (ja.text, ja.outdated_against) == ("第二版。", None)


def test_entries_and_facts_share_the_fingerprint():
    from hub.publishing.services import fingerprint

    text = {"title": "Mật ong", "summary": "", "body": "Rừng", "lessons": None}
    assert fingerprint(text) == core.fingerprint(text, ("title", "summary", "body", "lessons"))
    assert core.fingerprint({"note": "a"}, ("note",)) != core.fingerprint({"note": "b"}, ("note",))


def test_a_country_page_reads_its_texts_in_one_query(app, ctx):
    country = get_country("VN")  # with its programmes and history
    statements = []

    def count(*_args):
        statements.append(1)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        found = country_texts(country)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    programme = country.programmes[0]
    assert found.shown("programme", programme.id, "name", "vi").language == "vi"


# ---------------------------------------------------------------------------------------------
# The seed.


def test_every_seed_fact_has_its_vietnamese_and_japanese_text():
    keys = {key for key, *_rest in seed_facts(load_seed())}
    for language in ("vi", "ja"):
        found = TRANSLATIONS[language]
        missing = sorted(key for key in keys if not (found.get(key) or "").strip())
        assert not missing, f"{language}: no text for {missing}"
        unknown = sorted(set(found) - keys)
        assert not unknown, f"{language}: the seed has no fact {unknown}"


def test_the_seed_writes_english_as_the_source_and_the_translations_from_it(app, ctx):
    programme = _vn_programme()
    rows = {
        row.language: row
        for row in db.session.scalars(
            select(FactText).where(
                FactText.subject == "programme", FactText.subject_key == str(programme.id)
            )
        )
    }
    assert set(rows) == {"vi", "en", "ja"}
    assert rows["en"].source_fingerprint is None
    assert rows["en"].fields["name"] == programme.name
    assert rows["vi"].source_fingerprint == rows["ja"].source_fingerprint == rows["en"].fingerprint
    assert rows["ja"].fields["name"] == _seed_text("ja", "countries.VN.programmes.0.name")


# ---------------------------------------------------------------------------------------------
# Pages.


def test_the_country_page_shows_the_facts_in_the_readers_language(client):
    for language in ("vi", "ja"):
        page = client.get(f"/{language}/countries/VN").get_data(as_text=True)
        for field in ("name", "note"):
            text = _seed_text(language, f"countries.VN.programmes.0.{field}")
            assert html.escape(text, quote=False) in page, (language, field)
        assert html.escape(_seed_text(language, "countries.VN.note"), quote=False) in page
        assert "Note (in English)" not in page
        assert 'lang="en">One Commune One Product Programme' not in page


def test_a_source_title_is_translated_beside_the_original(client):
    page = client.get("/ja/countries/TH").get_data(as_text=True)
    translated = _seed_text("ja", "sources.fao-rap-thailand.title")
    assert f">{html.escape(translated, quote=False)}</a>" in page
    assert '<span lang="en">OCOP in RAP – Thailand</span>' in page


def test_a_fact_not_yet_translated_is_shown_in_english_and_says_so(app, client):
    with app.app_context():
        programme = _vn_programme()
        db.session.execute(
            FactText.__table__.delete().where(
                FactText.subject == "programme",
                FactText.subject_key == str(programme.id),
                FactText.language == "vi",
            )
        )
        db.session.commit()
    page = client.get("/vi/countries/VN").get_data(as_text=True)
    assert '<span lang="en">One Commune One Product Programme</span>' in page
    assert 'fallback-marker">(bằng Tiếng Anh)' in page  # CLDR's name of English in Vietnamese
    page = client.get("/ja/countries/VN").get_data(as_text=True)
    assert "（英語）" not in page.split('id="programmes"')[1].split("</section>")[0]


def test_a_translation_of_an_older_fact_shows_the_outdated_notice(app, client):
    with app.test_request_context("/"):
        programme = _vn_programme()
        texts.write(
            "programme",
            programme.id,
            "en",
            {"name": programme.name, "note": "A newer note."},
            FIELDS["programme"],
        )
        db.session.commit()
    page = client.get("/ja/countries/VN").get_data(as_text=True)
    assert "outdated-note" in page
    assert html.escape(_seed_text("ja", "countries.VN.programmes.0.note"), quote=False) in page
    assert 'hreflang="en"' in page and "/en/countries/VN" in page


def test_a_source_title_shows_its_outdated_and_fallback_states_as_every_fact(app, client):
    """On the country page, a cited source's title is shown with the ``fact`` macro: its
    English original marked "(in English)" when untranslated, and the outdated notice when its
    translation is older than the original."""
    import re

    outdated, untranslated = "fao-rap-ocop-vietnam", "vns-ocop-12075"
    with app.test_request_context("/"):
        texts.write(
            "source", outdated, "en", {"title": "OCOP in Viet Nam, revised"}, FIELDS["source"]
        )
        db.session.delete(db.session.get(FactText, ("source", untranslated, "ja")))
        db.session.commit()
    page = client.get("/ja/countries/VN").get_data(as_text=True)
    sources = page[page.index('<ul class="sources">') :]
    items = re.findall(r"<li>(.*?)</li>", sources[: sources.index("</ul>")], re.S)
    english = load_seed()["sources"][untranslated]["title"]
    (fallback,) = [item for item in items if html.escape(english, quote=False) in item]
    assert '<span lang="en">' in fallback and "（英語）" in fallback
    assert "outdated-note" not in fallback
    translated = html.escape(_seed_text("ja", f"sources.{outdated}.title"), quote=False)
    (older,) = [item for item in items if translated in item]
    assert "outdated-note" in older and "（英語）" not in older
    assert 'hreflang="en"' in older
    assert sum("outdated-note" in item for item in items) == 1


# ---------------------------------------------------------------------------------------------
# The API.


def test_the_api_serves_the_registry_facts_in_japanese(client):
    body = client.get("/api/v1/countries/VN?lang=ja").get_json()
    programme = body["programmes"][0]
    assert programme["name"] == _seed_text("ja", "countries.VN.programmes.0.name")
    assert programme["note"] == _seed_text("ja", "countries.VN.programmes.0.note")
    assert programme["text_languages"]["name"] == "ja"
    assert programme["outdated_texts"] == {}
    assert body["note"] == _seed_text("ja", "countries.VN.note")
    source = next(s for s in body["sources"] if s["id"] == "fao-rap-ocop-vietnam")
    assert source["title"] == _seed_text("ja", "sources.fao-rap-ocop-vietnam.title")
    assert source["original_title"] == "One Commune One Product in Viet Nam"

    listed = client.get("/api/v1/programmes?country=VN&lang=ja").get_json()["items"][0]
    assert listed["name"] == programme["name"]
    every = client.get("/api/v1/countries/VN?lang=all").get_json()["programmes"][0]
    assert set(every["name"]) == {"vi", "en", "ja"}


# ---------------------------------------------------------------------------------------------
# Membership notes: written in the writer's language.


def test_a_membership_note_is_kept_in_the_writers_language(app, client):
    with app.test_request_context("/"), force_locale("ja"):
        event = change_membership("MW", "applicant", date(2025, 3, 1), "加盟申請を受理。")
        rows = db.session.scalars(
            select(FactText).where(
                FactText.subject == "membership_event", FactText.subject_key == str(event.id)
            )
        ).all()
        assert [(r.language, r.fields, r.source_fingerprint) for r in rows] == [
            ("ja", {"note": "加盟申請を受理。"}, None)
        ]
        assert db.session.get(MembershipEvent, event.id).note == "加盟申請を受理。"

    page = client.get("/ja/countries/MW").get_data(as_text=True)
    assert "加盟申請を受理。" in page and 'lang="ja">加盟申請を受理。' not in page
    page = client.get("/vi/countries/MW").get_data(as_text=True)
    assert '<span lang="ja">加盟申請を受理。</span>' in page
    assert 'fallback-marker">(bằng Tiếng Nhật)' in page

    history = client.get("/api/v1/countries/MW?lang=en").get_json()["membership_history"]
    assert history[0]["note"] == "加盟申請を受理。"
    assert history[0]["text_languages"] == {"note": "ja"}


def test_a_note_from_the_command_line_is_in_the_operators_language(app, runner):
    result = runner.invoke(
        args=[
            "hub",
            "membership",
            "MW",
            "--status",
            "applicant",
            "--on",
            "2025-03-01",
            "--note",
            "Đã nhận đơn.",
        ],
        env={"LANG": "vi_VN.UTF-8"},
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        row = db.session.scalars(
            select(FactText).where(FactText.subject == "membership_event")
        ).one()
        assert (row.language, row.fields) == ("vi", {"note": "Đã nhận đơn."})
