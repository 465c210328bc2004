"""The glossary (docs/glossary.md, as data in translations/glossary.json) holds in the catalogues
and the seed (the registry's and the sample content's, and the registry's translated facts in
hub/registry/seed/texts/): no msgstr and no seed text uses a variant the glossary avoids for its
language."""

import json
import re
import unicodedata
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from hub.publishing.demo import DEMO_FILE
from hub.registry.seeding import SEED_FILE

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY_FILE = ROOT / "translations" / "glossary.json"
GLOSSARY_DOC = ROOT / "docs" / "glossary.md"
LANGUAGES = ("vi", "en", "ja")
# Languages written with spaces between words: a variant is matched as whole words there.
SPACED = {"vi", "en"}


def _nfc(text):
    return unicodedata.normalize("NFC", text)


def _words(phrase):
    return re.compile(r"(?<!\w)" + re.escape(_nfc(phrase)) + r"(?!\w)", re.IGNORECASE)


def _load_rules():
    data = json.loads(GLOSSARY_FILE.read_text(encoding="utf-8"))
    rules = []
    for concept in data["concepts"]:
        for lang, variants in concept["avoid"].items():
            for v in variants:
                rules.append(
                    {
                        "concept": concept,
                        "lang": lang,
                        "variant": _nfc(v["variant"]),
                        "pattern": _words(v["variant"]) if lang in SPACED else None,
                        "scope": [_words(w) for w in v.get("only_where_en_has", [])],
                        "except_inside": [_nfc(e) for e in v.get("except_inside", [])],
                    }
                )
    return rules


RULES = _load_rules()


def _occurrences(rule, text):
    """Where the rule's variant stands in text, leaving out the places inside an allowed word."""
    if rule["pattern"] is not None:
        spans = [m.span() for m in rule["pattern"].finditer(text)]
    else:
        variant, spans, at = rule["variant"], [], text.find(rule["variant"])
        while at != -1:
            spans.append((at, at + len(variant)))
            at = text.find(variant, at + 1)
    allowed = []
    for longer in rule["except_inside"]:
        at = text.find(longer)
        while at != -1:
            allowed.append((at, at + len(longer)))
            at = text.find(longer, at + 1)
    return [s for s in spans if not any(a <= s[0] and s[1] <= b for a, b in allowed)]


def violations(lang, text, english, where):
    """The glossary rules ``text`` (in ``lang``) breaks; ``english`` is its English source
    (msgid, the English text of the same field), which decides the scoped variants."""
    text, english = _nfc(text or ""), _nfc(english or "")
    found = []
    for rule in RULES:
        if rule["lang"] != lang:
            continue
        if rule["scope"] and not any(p.search(english) for p in rule["scope"]):
            continue
        if _occurrences(rule, text):
            concept = rule["concept"]
            found.append(
                f"{where}: {lang} uses {rule['variant']!r} for the glossary's "
                f"{concept['en']!r} ({concept['concept']}), whose {lang} term is "
                f"{concept[lang]!r}: {text!r}"
            )
    return found


def _catalogue_violations(lang):
    path = ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    found = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        where = f"{path.relative_to(ROOT)}:{message.lineno} (msgid {ids[0]!r})"
        for string in strings:
            found += violations(lang, string, " ".join(ids), where)
    return found


def _walk_strings(value, where):
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk_strings(item, f"{where}[{i}]")


def _seed_violations(path):
    """Texts tagged with a language (an entry's ``texts``) are checked against that language's
    rules, with the English text of the same field as their source; any other string (names,
    notes, fields) against every language's rules, as its own source."""
    data = json.loads(path.read_text(encoding="utf-8"))
    where_file = str(path.relative_to(ROOT))
    found = []

    def visit(value, where):
        if isinstance(value, dict) and "texts" in value and isinstance(value["texts"], dict):
            texts = value["texts"]
            english = texts.get("en") or {}
            for lang, fields in texts.items():
                for field, text in fields.items():
                    if isinstance(text, str):
                        source = english.get(field) if isinstance(english.get(field), str) else ""
                        found.extend(
                            violations(lang, text, source, f"{where}.texts.{lang}.{field}")
                        )
            rest = {k: v for k, v in value.items() if k != "texts"}
            for w, text in _walk_strings(rest, where):
                for lang in LANGUAGES:
                    found.extend(violations(lang, text, text, w))
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(item, f"{where}.{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                visit(item, f"{where}[{i}]")
        elif isinstance(value, str):
            for lang in LANGUAGES:
                found.extend(violations(lang, value, value, where))

    visit(data, where_file)
    return found


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_uses_the_glossary_terms(lang):
    found = _catalogue_violations(lang)
    assert not found, "\n".join(found)


def _seed_value(data, key):
    """The value at a dotted key of the seed ("countries.VN.programmes.0.name"): a list's item by
    its index or by its ``code``; None where the key leads nowhere."""
    for part in key.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list):
            by_code = [item for item in data if isinstance(item, dict) and item.get("code") == part]
            data = by_code[0] if by_code else data[int(part)] if part.isdigit() else None
        else:
            return None
    return data


def _translated_facts_violations(path):
    """A file of the registry's translated facts (``seed/texts/<lang>.json``: dotted key of the
    seed → text), checked against its language's rules with the seed's English as source."""
    lang = path.stem
    english = json.loads(SEED_FILE.read_text(encoding="utf-8"))
    where_file = str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name)
    found = []
    for where, text in _walk_strings(json.loads(path.read_text(encoding="utf-8")), where_file):
        key = where.removeprefix(where_file + ".")
        source = _seed_value(english, key)
        found.extend(violations(lang, text, source if isinstance(source, str) else "", where))
    return found


@pytest.mark.parametrize("path", [SEED_FILE, DEMO_FILE], ids=["registry", "demo"])
def test_seed_uses_the_glossary_terms(path):
    found = _seed_violations(path)
    assert not found, "\n".join(found)


def test_translated_facts_use_the_glossary_terms():
    """The registry's facts in other languages, one file per language (the folder may hold none
    yet)."""
    found = []
    for path in sorted((SEED_FILE.parent / "texts").glob("*.json")):
        assert path.stem in LANGUAGES, f"{path.name}: not a language of the hub"
        found += _translated_facts_violations(path)
    assert not found, "\n".join(found)


def test_translated_facts_are_checked_in_their_language_against_the_seed(tmp_path):
    english = json.loads(SEED_FILE.read_text(encoding="utf-8"))
    country = next(c for c in english["countries"] if c["programmes"])
    assert (
        _seed_value(english, f"countries.{country['code']}.programmes.0.name")
        == (country["programmes"][0]["name"])
    )
    assert _seed_value(english, "countries.ZZ.note") is None
    path = tmp_path / "ja.json"
    path.write_text(json.dumps({"network.name": "製品", "network.note": "産品"}), encoding="utf-8")
    assert [v.split(":")[0] for v in _translated_facts_violations(path)] == ["ja.json.network.name"]


def test_the_matching_follows_words_scopes_and_exceptions():
    assert violations("vi", "Chưa xếp hạng", "Not rated", "t")
    # Whole words in Vietnamese, in any case: "Nhật ký kiểm tra" is matched, a longer word is not.
    assert violations("vi", "Nhật ký kiểm tra", "Audit log", "t")
    assert not violations("vi", "nhật ký kiểm trang", "x", "t")
    # A scoped variant is a right word for another concept: "chạy lại" is "run again".
    assert violations("vi", "Chạy lại", "Resume", "t")
    assert not violations("vi", "Chạy lại", "Run again", "t")
    assert violations("ja", "全体", "All countries", "t")
    assert not violations("ja", "ネットワーク全体", "The whole network", "t")
    assert not violations("ja", "未認証のプログラム", "Unverified programme", "t")
    # Japanese variants match inside longer runs of text, except inside an allowed word.
    assert violations("ja", "認証製品数", "Products certified", "t")
    rule = next(r for r in RULES if r["variant"] == "製品")
    assert _occurrences({**rule, "except_inside": ["乳製品"]}, "乳製品と製品") == [(4, 6)]
    assert _occurrences({**rule, "except_inside": ["乳製品"]}, "乳製品") == []


def _doc_table():
    rows = [line for line in GLOSSARY_DOC.read_text(encoding="utf-8").splitlines()]
    rows = [line for line in rows if line.startswith("|")][2:]
    for line in rows:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        yield cells


def test_the_data_file_and_the_glossary_page_agree():
    """docs/glossary.md is what translators read; translations/glossary.json is what this test
    reads: a row changed in one is changed in the other."""
    data = json.loads(GLOSSARY_FILE.read_text(encoding="utf-8"))["concepts"]
    table = list(_doc_table())
    assert len(table) == len(data)
    for cells, concept in zip(table, data, strict=True):
        _, en, vi, ja, avoid_vi, avoid_ja, _ = cells
        assert (en, vi, ja) == (concept["en"], concept["vi"], concept["ja"]), cells
        for lang, cell in (("vi", avoid_vi), ("ja", avoid_ja)):
            listed = [v.strip() for v in re.split(r"[,、]", cell) if v.strip()]
            in_data = [v["variant"] for v in concept["avoid"].get(lang, [])]
            assert listed == in_data, (concept["en"], lang)


# One English word, two concepts: each has its message context and its own term (the rows
# "source (partner)" / "source (cited)" of the glossary, and the two "Change" columns).
CONTEXTS = {
    ("partner source", "Source"): {"vi": "Nguồn", "ja": "ソース"},
    ("cited source", "Source"): {"vi": "Nguồn trích dẫn", "ja": "出典"},
    ("cited sources", "Sources"): {"vi": "Nguồn trích dẫn", "ja": "出典"},
    ("what a revision changed", "Change"): {"vi": "Thay đổi", "ja": "変更内容"},
    ("change number", "Change"): {"vi": "Số thay đổi", "ja": "変更番号"},
}


@pytest.mark.parametrize("lang", ["vi", "ja"])
def test_a_word_with_two_meanings_has_a_context_and_a_term_each(app, lang):
    from flask_babel import force_locale, pgettext

    with app.test_request_context("/"), force_locale(lang):
        said = {key: pgettext(*key) for key in CONTEXTS}
    assert said == {key: terms[lang] for key, terms in CONTEXTS.items()}
    assert said[("partner source", "Source")] != said[("cited source", "Source")]
    assert said[("what a revision changed", "Change")] != said[("change number", "Change")]


def test_the_pages_use_each_meanings_context(app, client):
    """The sources list says ソース, the country page's cited sources 出典, in ja."""
    from hub.sync import services
    from tests.support import sign_in

    with app.test_request_context("/"):
        services.add_source("VN", "csv", "https://partner.example/p.csv", {})
    sign_in(client, "admin@hub.test")
    sources = client.get("/ja/admin/sources/").get_data(as_text=True)
    assert '<th scope="col">ソース</th>' in sources
    country = client.get("/ja/countries/VN").get_data(as_text=True)
    assert '<h2 id="sources">出典</h2>' in country
