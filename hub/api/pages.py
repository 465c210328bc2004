"""The readable API reference page, in the reader's language, from the OpenAPI document.

The OpenAPI document itself stays in English (a machine's description, read by code
generators and by the tests' Schemathesis run); this page gives what it says in vi, en and ja:
each operation's summary and each parameter's meaning from the tables below, keyed by the
document's own operations and parameter names. An operation or parameter the tables do not know
yet is shown in English, marked ``lang="en"``.
"""

import json

from flask import Blueprint, render_template
from flask_babel import format_number, gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from hub.api.errors import ERRORS, SPECIFIC
from hub.api.openapi import build_spec
from hub.api.spec_schemas import COLLECTIONS, RECORD_NAMES
from hub.i18n import current_language
from hub.publishing.queries import MAX_WORDS_LENGTH
from hub.search.queries import SHORT_WINDOW
from hub.urls import base_url

bp = Blueprint("api_docs", __name__, url_prefix="/<lang>")

ENTRY_LIST = "/api/v1/{collection}"
ENTRY = "/api/v1/{collection}/{id}"
ENTRY_RESTORE = ENTRY + "/restore"
ENTRY_REVISIONS = ENTRY + "/revisions"
ENTRY_MEDIA = ENTRY + "/media"
ENTRY_MEDIUM = ENTRY_MEDIA + "/{media_id}"
# (method, path): what it does. The four collections share ENTRY_LIST, ENTRY, ENTRY_RESTORE,
# ENTRY_REVISIONS, ENTRY_MEDIA and ENTRY_MEDIUM.
SUMMARIES = {
    ("get", ENTRY_LIST): _l("The published entries of this kind, newest first"),
    ("post", ENTRY_LIST): _l("Create an entry of this kind for your country"),
    ("get", ENTRY): _l("One published entry"),
    ("patch", ENTRY): _l("Change an entry's fields, its texts (only those sent) or its status"),
    ("delete", ENTRY): _l("Delete an entry (a tombstone in the changes feed)"),
    ("post", ENTRY_RESTORE): _l(
        "Restore a deleted entry from the trash (it comes back in the changes feed)"
    ),
    ("get", ENTRY_REVISIONS): _l(
        "An entry's revisions, newest first: who changed what, when, with the old and new values"
    ),
    ("get", ENTRY_MEDIA): _l("An entry's photos and documents, the cover first"),
    ("post", ENTRY_MEDIA): _l(
        "Upload a photo or a PDF to an entry of your country (the answer comes at once; the "
        "variants follow)"
    ),
    ("get", ENTRY_MEDIUM): _l("One photo or document, with its status"),
    ("patch", ENTRY_MEDIUM): _l(
        "Change a photo's or document's alternative texts, its position, or make it the cover"
    ),
    ("delete", ENTRY_MEDIUM): _l("Remove a photo or document (final: there is no trash)"),
    ("get", "/api/v1/changes"): _l("Every change to every entry ever published, in order"),
    ("post", "/api/v1/ingest"): _l("Push a batch of records for your token's country"),
    ("get", "/api/v1/countries"): _l("The registry's countries"),
    ("get", "/api/v1/countries/{code}"): _l(
        "One country with its programmes, its dated history and its sources"
    ),
    ("get", "/api/v1/countries/{code}/revisions"): _l(
        "The revisions of a country's facts, newest first: who changed which fact, when, with "
        "the old and new values"
    ),
    ("get", "/api/v1/programmes"): _l("The countries' programmes"),
    ("get", "/api/v1/programmes/{id}"): _l("One programme"),
    ("post", "/api/v1/validate"): _l(
        "Check a document for your token's country; nothing is stored"
    ),
    ("get", "/api/v1/search"): _l(
        "Search the countries, programmes and published entries, best first, as the search "
        "page does"
    ),
}
# name: (meaning, {placeholder: code shown as it is, or a number})
PARAMETERS = {
    "lang": (
        _l(
            "The language of the texts (%(langs)s), or %(all)s for every translation. Refusals "
            "come in the language named, too."
        ),
        {"langs": "vi, en, ja", "all": "all"},
    ),
    "limit": (_l("How many items one page holds."), {}),
    "cursor": (_l("The %(next_cursor)s of the previous page."), {"next_cursor": "next_cursor"}),
    "country": (
        _l(
            "A country's ISO 3166 code; the changes feed takes up to 50, separated by commas. A "
            "code with nothing filed under it gives an empty page; an empty value, every country."
        ),
        {},
    ),
    "group": (_l("Only products of this product group."), {}),
    "stars": (_l("Only products with at least this number of stars."), {}),
    "valid": (
        _l("%(yes)s or %(true)s: only products whose rating is still valid."),
        {"yes": "1", "true": "true"},
    ),
    "when": (
        _l("Upcoming trade fairs soonest first (the default), or past ones latest first."),
        {},
    ),
    "status": (_l("Only countries with this membership status."), {}),
    "q": (
        _l(
            "Words, at most %(max)s characters: only what holds every one of them, whatever the "
            "case and the diacritics (Japanese: any part of a text). Entries are found by their "
            "texts in any language, countries by their name, programmes by their names and "
            "acronym. Words of one or two characters only are looked for in the %(window)s "
            "newest entries (the answer's %(short)s says so)."
        ),
        {"max": MAX_WORDS_LENGTH, "window": SHORT_WINDOW, "short": "short"},
    ),
    "since": (
        _l("The %(next_since)s of the previous page: the changes after it."),
        {"next_since": "next_since"},
    ),
    "epoch": (
        _l(
            "The %(epoch)s of the pages read before. A cursor of another epoch, or past the "
            "newest change, is answered 410 with the baseline to start again from (the hub was "
            "restored from a backup)."
        ),
        {"epoch": "epoch"},
    ),
    "exclude_origin": (
        _l(
            "A hub's base URL: leave out the entries first published there (a hub that follows "
            "this one gives its own)."
        ),
        {},
    ),
    "id": (_l("The number of the entry or programme."), {}),
    "code": (_l("The country's ISO 3166 code."), {}),
    "media_id": (_l("The number of the photo or document."), {}),
    "kind": (
        _l("The document's kind: %(default)s (the default), %(others)s."),
        {"default": "exchange", "others": "jsonfeed, ical, csv"},
    ),
    "settings": (_l("A JSON object: the settings of a source of that kind."), {}),
    "source": (
        _l(
            "One of your country's sources: its kind and settings are used, and the document is "
            "compared with its entries."
        ),
        {},
    ),
}


def _generic_path(path):
    for collection in COLLECTIONS:
        for generic in (
            ENTRY_LIST,
            ENTRY,
            ENTRY_RESTORE,
            ENTRY_REVISIONS,
            ENTRY_MEDIA,
            ENTRY_MEDIUM,
        ):
            if path == generic.replace("{collection}", collection):
                return generic
    return path


def _translated(table, key, english):
    """``(text, lang)``: the page's text for ``key``, and "en" when it is left in English."""
    text = table.get(key)
    if text is None:
        return english, "en" if current_language() != "en" else None
    if isinstance(text, tuple):
        text, codes = text
        marked = {  # a number in the reader's way, anything else as code
            name: format_number(code) if isinstance(code, int) else Markup("<code>%s</code>") % code
            for name, code in codes.items()
        }
        return Markup(escape(str(text))) % marked if marked else str(text), None
    return str(text), None


def _values(schema):
    if "enum" in schema:
        return ", ".join(str(value) for value in schema["enum"])
    if "minimum" in schema and "maximum" in schema:
        return f"{schema['minimum']}–{schema['maximum']}"
    return ""


def _operations(spec):
    rows = []
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method not in ("get", "post", "patch", "delete"):
                continue
            text, lang = _translated(
                SUMMARIES, (method, _generic_path(path)), op.get("summary", "")
            )
            names = [p["name"] for p in [*shared, *op.get("parameters", [])]]
            rows.append((method.upper(), path, text, lang, names, bool(op.get("security"))))
    return rows


def _parameters(spec):
    """``(name, where, values, meaning, lang)`` for each parameter name, in order of first use;
    values joined when endpoints differ ("1–200 · 1–1000")."""
    found = {}
    for item in spec["paths"].values():
        for op in [item, *(v for k, v in item.items() if isinstance(v, dict))]:
            for param in op.get("parameters", []):
                entry = found.setdefault(param["name"], (param["in"], [], param))
                if (values := _values(param["schema"])) and values not in entry[1]:
                    entry[1].append(values)
    rows = []
    for name, (where, values, param) in found.items():
        text, lang = _translated(PARAMETERS, name, param.get("description", ""))
        rows.append((name, where, " · ".join(values), text, lang))
    return rows


def _error_example():
    """A refusal as the API would give it in the reader's language."""
    body = {
        "code": 422,
        "reason": ERRORS[422][0],
        "message": str(ERRORS[422][1]),
        "details": {
            "limit": [gettext("A whole number from %(low)s to %(high)s.", low=1, high=200)]
        },
    }
    return json.dumps({"error": body}, ensure_ascii=False, indent=2)


@bp.route("/api")
def reference():
    spec = build_spec()
    errors = [(status, code, meaning) for status, (code, meaning) in ERRORS.items()]
    errors += [(status, code, meaning) for code, (status, meaning) in SPECIFIC.items()]
    return render_template(
        "api/reference.html",
        operations=_operations(spec),
        parameters=_parameters(spec),
        errors=sorted(errors, key=lambda row: row[0]),
        error_example=_error_example(),
        api_base=base_url().rstrip("/") + "/api/v1",
        kinds=list(RECORD_NAMES),
    )
