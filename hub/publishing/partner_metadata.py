"""What a partner says about an entry beyond the hub's own fields (the exchange format's
``partner_metadata``): the texts' true language tag, whether the title was taken from the text,
dates, authors, tags, a dataset's files and links and its licence.

It is cleaned here (every value checked, reasons per field like the hub's other rules), stored
as one JSON value on the entry, and shown on the entry's page. Nothing in it changes how the
hub files the entry: lists and filters go by the hub's own fields.

The language: an entry's ``source_language`` is always one of the hub's languages (the slot its
texts are kept in, what readers of that language are served). A partner that writes in another
language (``de-DE``) keeps its tag here, and the pages label the text with that language's name
in the reader's language (Babel: "German", "tiếng Đức", "ドイツ語") and mark it up with
``lang="de-DE"``, rather than calling it English.
"""

import re
from datetime import datetime
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from flask_babel import gettext as _

from hub.publishing.plain import short_text as _short

LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
_NOT_IN_URL = re.compile(r"[\x00-\x20\x7f]")
LIMITS = {"authors": 50, "tags": 100, "resources": 500}
FIRST_YEAR, LAST_YEAR = 1900, 2200


def _url(value, errors, field, required=False, limit=2000):
    value = (value or "").strip()
    if not value:
        if required:
            errors[field] = _("Enter a web address starting with http:// or https://.")
        return None
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or len(value) > limit
        or _NOT_IN_URL.search(value)
    ):
        errors[field] = _("Enter a web address starting with http:// or https://.")
    return value


def _moment(value, errors, field):
    value = (value or "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or not FIRST_YEAR <= moment.year <= LAST_YEAR:
        errors[field] = _("Enter a date and time such as 2026-12-04T15:00:00Z.")
        return None
    return moment.isoformat()


def _items(metadata, key, errors, prefix):
    values = metadata.get(key) or []
    if len(values) > LIMITS[key]:
        errors[f"{prefix}.{key}"] = _("At most %(max)s items.", max=LIMITS[key])
        return []
    return values


def clean(metadata, errors, prefix="partner_metadata"):
    """``metadata`` (as the exchange-format schema loads it) checked and cleaned: a dict with
    only the keys that have a value, or None. Reasons go in ``errors`` under
    ``partner_metadata.<key>`` (``…authors.0.url`` for one author's)."""
    if not metadata:
        return None
    found = {}
    tag = (metadata.get("language") or "").strip()
    if tag:
        if len(tag) > 35 or not LANGUAGE_TAG.match(tag):
            errors[f"{prefix}.language"] = _(
                "“%(value)s” is not a language tag (such as de-DE).", value=tag
            )
        else:
            found["language"] = tag
    if metadata.get("title_from_text"):
        found["title_from_text"] = True
    for key in ("published", "modified"):
        if (moment := _moment(metadata.get(key), errors, f"{prefix}.{key}")) is not None:
            found[key] = moment
    authors = []
    for index, person in enumerate(_items(metadata, "authors", errors, prefix)):
        where = f"{prefix}.authors.{index}"
        kept = {
            "name": _short(person.get("name"), errors, f"{where}.name"),
            "url": _url(person.get("url"), errors, f"{where}.url"),
        }
        if kept := {k: v for k, v in kept.items() if v}:
            authors.append(kept)
    tags = []
    for index, tag_text in enumerate(_items(metadata, "tags", errors, prefix)):
        if (tag_text := _short(tag_text, errors, f"{prefix}.tags.{index}", 100)) is not None:
            tags.append(tag_text)
    resources = []
    listed = _items(metadata, "resources", errors, prefix)
    for index, resource in enumerate(listed):
        where = f"{prefix}.resources.{index}"
        kept = {
            "name": _short(resource.get("name"), errors, f"{where}.name"),
            "url": _url(resource.get("url"), errors, f"{where}.url", required=True),
            "format": _short(resource.get("format"), errors, f"{where}.format", 50),
        }
        resources.append({k: v for k, v in kept.items() if v})
    licence = metadata.get("licence") or {}
    licence = {
        "title": _short(licence.get("title"), errors, f"{prefix}.licence.title"),
        "url": _url(licence.get("url"), errors, f"{prefix}.licence.url"),
        "id": _short(licence.get("id"), errors, f"{prefix}.licence.id", 100),
    }
    for key, value in (
        ("authors", authors),
        ("tags", list(dict.fromkeys(tags))),
        ("resources", resources),
        ("licence", {k: v for k, v in licence.items() if v}),
    ):
        if value:
            found[key] = value
    return found or None


# ---------------------------------------------------------------------------------------------
# Showing it.


def text_language(entry, served):
    """The language tag of the text served in ``served`` (one of the hub's languages): the
    partner's own tag when the source text came with one ("de-DE"), else ``served``."""
    metadata = getattr(entry, "partner_metadata", None) or {}
    if served and served == entry.source_language and metadata.get("language"):
        return metadata["language"]
    return served


def base_language(tag):
    """ "de" for "de-DE", "vi" for "vi"."""
    return (tag or "").split("-")[0].split("_")[0].lower()


def tag_name(tag, in_language):
    """A language tag's name in ``in_language`` as it reads in a sentence ("German (Germany)"
    for "de-DE" in English, "tiếng Đức (Đức)" in Vietnamese), from CLDR; the tag itself when
    CLDR does not know it."""
    name = None
    for parse in (lambda: Locale.parse(tag, sep="-"), lambda: Locale.parse(base_language(tag))):
        try:
            name = parse().get_display_name(in_language)
            break
        except (ValueError, TypeError, LookupError, UnknownLocaleError):
            continue
    if not name:
        return tag
    if base_language(in_language) == "vi":  # "tiếng Đức" mid-sentence (CLDR capitalises it)
        name = name[:1].lower() + name[1:]
    return name


def published_moment(value):
    """A stored ISO date and time as a ``datetime`` (for formatting), or None."""
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
