"""What a source's owner is told about a run, in the reader's language: one catalogue.

A run keeps what happened to it as facts, never as sentences: ``{"code": "http_status",
"status": 503, "url": "…"}`` (``SyncRun.detail``). The connectors' and the fetcher's errors carry
such a code and its facts (``ConnectorError.code``/``params``, ``FetchError.code``/``params``),
and so does the account of a run cut short or held (``{"reason": "max_pages", "pages": 3}``).
``describe`` puts them into words in the current language: on the source's page, in the
"Sync now" notice, in the answer of a dry run, in the command line's summary. A code this
catalogue does not know is not put into words (``describe`` gives None): the page then shows
the English sentence kept beside it (``SyncRun.error``), marked as English, as it shows the
runs recorded before messages had codes.
"""

import re
from datetime import datetime
from typing import NamedTuple

from babel.lists import format_list
from flask import current_app
from flask_babel import format_datetime, format_number, get_locale, ngettext
from flask_babel import gettext as _

PLACE_KEYS = ("url", "line", "after_line")


def _n(value):
    return format_number(value) if isinstance(value, int | float) else value


def _columns(names):
    return format_list([_("«%(column)s»", column=name) for name in names], locale=get_locale())


def _fields(names):
    from hub.publishing import vocabulary as v
    from hub.publishing.exports import FIELD_COLUMNS

    labels = {"partner_id": _("ID")}
    labels.update({field: str(FIELD_COLUMNS[field][0]) for field in FIELD_COLUMNS})
    labels.update({field: v.text_label("product", field) for field in ("title", "body")})
    return _columns([labels.get(name, name) for name in names])


def _moment(text):
    try:
        return format_datetime(datetime.fromisoformat(text))
    except (TypeError, ValueError):
        return text


def _no_answer(p):
    if p.get("last"):
        return ngettext(
            "No answer within %(count)s second; the last attempt: %(last)s",
            "No answer within %(count)s seconds; the last attempt: %(last)s",
            p["seconds"],
            count=_n(p["seconds"]),
            last=describe(p["last"]) or "?",
        )
    return ngettext(
        "No answer within %(count)s second",
        "No answer within %(count)s seconds",
        p["seconds"],
        count=_n(p["seconds"]),
    )


# code → its sentence, made from the facts ``p`` (numbers as they were stored).
MESSAGES = {
    # Fetching the partner's documents (hub.sync.fetcher, hub.sync.pipeline)
    "run_deadline": lambda p: _("The run took longer than its deadline"),
    "not_utf8": lambda p: (
        _("The document is not UTF-8 text (byte %(byte)s)", byte=_n(p["byte"]))
        if p.get("byte") is not None
        else _("The document is not UTF-8 text")
    ),
    "blocked": lambda p: _(
        "The hub may not connect to %(host)s at %(ip)s: it is not a public address",
        host=p.get("host"),
        ip=p.get("ip"),
    ),
    "unresolved": lambda p: _("The name %(host)s cannot be resolved", host=p.get("host")),
    "retry_later": lambda p: _(
        "The server answered %(status)s and asked to be asked again at %(moment)s",
        status=p.get("status"),
        moment=_moment(p.get("at")),
    ),
    "asked_to_wait": lambda p: ngettext(
        "The server answered %(status)s and asked to wait %(count)s second",
        "The server answered %(status)s and asked to wait %(count)s seconds",
        p.get("seconds", 0),
        status=p.get("status"),
        count=_n(p.get("seconds", 0)),
    ),
    "no_answer": _no_answer,
    "too_slow": lambda p: ngettext(
        "No complete answer within %(count)s second",
        "No complete answer within %(count)s seconds",
        p["seconds"],
        count=_n(p["seconds"]),
    ),
    "short_read": lambda p: _(
        "The server sent %(got)s of the %(expected)s bytes it announced and closed the connection",
        got=_n(p["got"]),
        expected=_n(p["expected"]),
    ),
    "broken_off": lambda p: _("The connection broke off before the end of the document"),
    "connection_failed": lambda p: _("The connection failed (%(error)s)", error=p.get("error")),
    "not_http": lambda p: _("Only http and https addresses can be fetched"),
    "redirects": lambda p: _("More than %(count)s redirects", count=_n(p["count"])),
    "http_status": lambda p: _("The server answered %(status)s", status=p["status"]),
    "too_large": lambda p: ngettext(
        "The document is larger than %(count)s byte",
        "The document is larger than %(count)s bytes",
        p["bytes"],
        count=_n(p["bytes"]),
    ),
    # Reading them (connectors)
    "not_json": lambda p: _("The document is not JSON (%(error)s)", error=p.get("error")),
    "not_changes_feed": lambda p: _(
        "The document is not a hub's changes feed: it has no list of items"
    ),
    "feed_went_back": lambda p: _("The changes feed went back to an earlier change number"),
    "feed_stuck": lambda p: _(
        "The changes feed says there is more but stays at change %(since)s", since=p["since"]
    ),
    "feed_restarted_again": lambda p: _(
        "The changes feed started a new history twice during the run (the other hub was "
        "restored again meanwhile)"
    ),
    "portal_failed": lambda p: _("The portal did not answer with success"),
    "portal_no_results": lambda p: _("The portal's answer has no list of results"),
    "not_jsonfeed": lambda p: _("The document is not a JSON Feed (version 1 or 1.x)"),
    "jsonfeed_no_items": lambda p: _("The JSON Feed has no list of items"),
    "not_icalendar": lambda p: _(
        "The document is not an iCalendar file (%(error)s)", error=p.get("error")
    ),
    "csv_unreadable": lambda p: _("The CSV file cannot be read (%(error)s)", error=p.get("error")),
    "csv_missing_columns": lambda p: ngettext(
        "The file has no column %(columns)s",
        "The file has no columns %(columns)s",
        len(p["columns"]),
        columns=_columns(p["columns"]),
    ),
    "csv_missing_fields": lambda p: ngettext(
        "The file has no column %(columns)s: name a column so (in any of the hub's languages) "
        "or map one to it in the settings",
        "The file has no columns %(columns)s: name columns so (in any of the hub's languages) "
        "or map them in the settings",
        len(p["fields"]),
        columns=_fields(p["fields"]),
    ),
    "csv_no_language": lambda p: _(
        "The file's headers do not say which language its texts are in: give its language in "
        "the settings"
    ),
    # The run itself (hub.sync.pipeline, hub.sync.scheduler)
    "invalid_settings": lambda p: _(
        "The source's settings are not valid: %(error)s",
        error=describe(p.get("reason")) or p.get("error"),
    ),
    "unknown_kind": lambda p: _("“%(kind)s” is not a kind of source", kind=p.get("kind")),
    "lease_lost": lambda p: _("Another scheduler took the source over; this run stopped"),
    "internal_error": lambda p: _(
        "The hub failed (%(error)s); the error is logged", error=p.get("error")
    ),
    "interrupted": lambda p: _(
        "The process running this sync ended before the run finished (it was stopped or "
        "killed); the run was closed when the next one began"
    ),
    # A run cut short or held (SyncRun.detail's "reason")
    "max_pages": lambda p: ngettext(
        "The run read its limit of %(count)s page without reaching the end, so nothing was "
        "deleted.",
        "The run read its limit of %(count)s pages without reaching the end, so nothing was "
        "deleted.",
        p.get("pages", 0),
        count=_n(p.get("pages", "?")),
    ),
    "short": lambda p: _(
        "The partner counts %(expected)s records but listed only %(read)s, so nothing was deleted.",
        expected=_n(p.get("expected", "?")),
        read=_n(p.get("read", "?")),
    ),
    "cut_short": lambda p: _("The run did not read the whole dataset, so nothing was deleted."),
    "held_nothing_taken": lambda p: _(
        "The document had no record the hub could take. The %(held)s entries it no longer "
        "lists are kept until an administrator decides.",
        held=_n(p.get("held", "?")),
    ),
    "shrink": lambda p: _(
        "This run would delete %(held)s of the source's %(alive)s entries, more than its "
        "limit of %(limit)s%%. Nothing was deleted: confirm the deletion or keep the "
        "entries.",
        held=_n(p.get("held", "?")),
        alive=_n(p.get("alive", "?")),
        limit=_n(p.get("limit", "?")),
    ),
}


def _settings(names):
    return format_list([_("“%(name)s”", name=name) for name in names], locale=get_locale())


def _values(values):
    return format_list([str(value) for value in values], "or", get_locale())


# A connector's refusal of a source's settings (``connectors.base.SettingsError``): the facts
# name the setting (its JSON key, as the owner writes it) and the hub's fields (by the names
# the pages give them).
SETTINGS_MESSAGES = {
    "unknown_settings": lambda p: ngettext(
        "There is no setting %(names)s",
        "There are no settings %(names)s",
        len(p["names"]),
        names=_settings(p["names"]),
    ),
    "setting_language": lambda p: _(
        "The setting %(setting)s must be one of the hub's languages: %(languages)s",
        setting=_settings([p["setting"]]),
        languages=_values(p["languages"]),
    ),
    "setting_number": lambda p: _(
        "The setting %(setting)s must be a whole number from %(least)s to %(most)s",
        setting=_settings([p["setting"]]),
        least=_n(p["least"]),
        most=_n(p["most"]),
    ),
    "setting_days": lambda p: _(
        "The setting %(setting)s must be a whole number of days from %(least)s to %(most)s",
        setting=_settings([p["setting"]]),
        least=_n(p["least"]),
        most=_n(p["most"]),
    ),
    "setting_text": lambda p: _(
        "The setting %(setting)s must be a text", setting=_settings([p["setting"]])
    ),
    "setting_choice": lambda p: _(
        "The setting %(setting)s must be one of: %(choices)s",
        setting=_settings([p["setting"]]),
        choices=_values(p["choices"]),
    ),
    "hub_country": lambda p: _(
        "The setting “country” must be the two-letter code of the country to follow"
    ),
    "hub_countries": lambda p: _(
        "The setting “countries” must be a list of at most %(count)s two-letter country codes",
        count=_n(p["most"]),
    ),
    "ical_timezone": lambda p: _(
        "“%(timezone)s” is not a time zone of the IANA database (such as Asia/Ho_Chi_Minh)",
        timezone=p.get("timezone"),
    ),
    "csv_mapping": lambda p: _(
        "The setting “mapping” must map the hub's fields to the file's column names"
    ),
    "csv_mapping_unknown": lambda p: ngettext(
        "The mapping names a field the hub does not have: %(names)s",
        "The mapping names fields the hub does not have: %(names)s",
        len(p["names"]),
        names=_settings(p["names"]),
    ),
    "csv_mapping_missing": lambda p: ngettext(
        "The mapping needs a column for %(fields)s",
        "The mapping needs columns for %(fields)s",
        len(p["fields"]),
        fields=_fields(p["fields"]),
    ),
    "csv_mapping_language": lambda p: _(
        "With a mapping, give the language of the file's texts in “language”: %(languages)s",
        languages=_values(p["languages"]),
    ),
    "csv_defaults": lambda p: _("The setting “defaults” may give only a product's fields"),
    "csv_product_group": lambda p: _(
        "Give %(fields)s as a column of the mapping or in “defaults”",
        fields=_fields(p["fields"]),
    ),
    "csv_delimiter": lambda p: _("The setting “delimiter” must be one character"),
    "csv_values": lambda p: _(
        "The setting “values” must map fields to tables of {partner's value: hub's value}"
    ),
    "csv_values_no_column": lambda p: ngettext(
        "“values” gives a table for a field without a column: %(fields)s",
        "“values” gives tables for fields without a column: %(fields)s",
        len(p["fields"]),
        fields=_fields(p["fields"]),
    ),
    "csv_values_fixed": lambda p: _(
        "“values” cannot change %(fields)s: the hub takes it as it is written",
        fields=_fields(p["fields"]),
    ),
    "csv_values_texts": lambda p: _(
        "The table of “values” for %(fields)s must map texts to texts",
        fields=_fields(p["fields"]),
    ),
}
MESSAGES.update(SETTINGS_MESSAGES)


def settings_refusal(exc, kind):
    """Why a connector of ``kind`` refused a source's settings (``exc``, the ``ValueError`` its
    ``validate_settings`` raised), as a sentence in the current language."""
    error = describe(of(exc)) if getattr(exc, "code", None) in SETTINGS_MESSAGES else None
    return _("The settings do not suit a %(kind)s source: %(error)s", kind=kind, error=error or exc)


def json_refusal(exc):
    """Why the settings box's text is not JSON (``exc``, the ``ValueError`` of reading it),
    with where, as a sentence in the current language."""
    import json

    if isinstance(exc, json.JSONDecodeError):
        return _(
            "The settings are not valid JSON: something is wrong at line %(line)s, "
            "column %(column)s.",
            line=_n(exc.lineno),
            column=_n(exc.colno),
        )
    return _("The settings are not valid JSON: they are nested too deeply.")


def _place(p):
    url = p.get("url")
    if not url:
        return None
    if p.get("line") is not None:
        return _("%(url)s, line %(line)s", url=url, line=_n(p["line"]))
    if p.get("after_line") is not None:
        return _("%(url)s, after line %(line)s", url=url, line=_n(p["after_line"]))
    return url


def _media_refused(p):
    from hub.media.services import failure_message

    return _(
        "The file is not one the hub takes (%(reason)s)", reason=failure_message(p.get("reason"))
    )


def _media_fetch(p):
    return _(
        "The file could not be fetched: %(error)s",
        error=describe(p.get("error") or {}) or (p.get("error") or {}).get("text") or "?",
    )


# A partner's photo or document that a run could not take (hub.sync.media): the record is kept.
MEDIA_MESSAGES = {
    "media_unreadable": lambda p: _("The record's list of photos and documents cannot be read"),
    "media_fetch": _media_fetch,
    "media_sha256": lambda p: _("The file fetched does not have the SHA-256 the partner gave"),
    "media_refused": _media_refused,
}
MESSAGES.update(MEDIA_MESSAGES)


def media_report(facts, pending=None):
    """A run's account of its partner media (``SyncRun.detail["media"]``) in the reader's
    language: a sentence of counts, then one line a failed file (record, URL, why).
    ``pending``: a push's lists still waiting to be fetched (``detail["media_pending"]``)."""
    facts = facts if isinstance(facts, dict) else {}
    lines = []
    if isinstance(pending, dict) and (
        waiting := sum(len(v) if isinstance(v, list) else 1 for v in pending.values())
    ):
        lines.append(
            ngettext(
                "%(count)s photo or document of these records is waiting to be fetched.",
                "%(count)s photos or documents of these records are waiting to be fetched.",
                waiting,
                count=_n(waiting),
            )
        )
    if failures := facts.get("failures"):
        lines.append(
            ngettext(
                "%(count)s photo or document of the partner could not be taken; its record "
                "was kept as it is.",
                "%(count)s photos or documents of the partner could not be taken; their "
                "records were kept as they are.",
                failures,
                count=_n(failures),
            )
        )
    if left := facts.get("left"):
        lines.append(
            ngettext(
                "%(count)s photo or document is left for the next run.",
                "%(count)s photos or documents are left for the next run.",
                left,
                count=_n(left),
            )
        )
    for failed in facts.get("failed") or ():
        said = MEDIA_MESSAGES.get(failed.get("code"), lambda p: None)(failed)
        if said:
            lines.append(
                _(
                    "Record %(id)s, %(url)s: %(reason)s",
                    id=failed.get("id"),
                    url=failed.get("url") or "?",
                    reason=said,
                )
            )
    return lines


def describe(message):
    """``message`` (``{"code": …, facts…}``) as a sentence in the current language, with the
    document and line it is about; None for a message without a code this catalogue knows."""
    if not isinstance(message, dict):
        return None
    say = MESSAGES.get(message.get("code"))
    if say is None:
        return None
    try:
        text = say(message)
    except (KeyError, TypeError, ValueError):  # facts missing or of another shape
        return None
    place = _place(message)
    return _("%(message)s (%(place)s)", message=text, place=place) if place else text


def of(exc):
    """What ``exc`` (an error that ended a run, or a check) says, as ``{"code": …, facts…}``:
    the facts its code names, or, for an error without one, ``{"code": None, "text": …}``
    (its English sentence)."""
    code = getattr(exc, "code", None)
    if code in MESSAGES:
        return {"code": code, **_plain(getattr(exc, "params", {}))}
    return {"code": None, "text": str(exc)}


def _plain(params):
    """The facts as JSON keeps them: texts, numbers, lists and mappings of those."""
    if isinstance(params, dict):
        return {str(k): _plain(v) for k, v in params.items() if v is not None}
    if isinstance(params, list | tuple):
        return [_plain(v) for v in params]
    if isinstance(params, str | int | float | bool):
        return params
    return str(params)


# ---------------------------------------------------------------------------------------------
# Refused records. Their reasons are checked by the hub's rules, whose messages are sentences
# made at the moment of the check: a run keeps them in each of the hub's languages
# (``RejectedRecord.reasons``: ``{language: {field: [messages]}}``), a dry run in the language it
# answers in. What they are about is said here, when they are shown: the partner's own column
# for a record that named its columns (a CSV's header: ``"columns": {field: column}`` beside
# the languages), else the field's label in the reader's language.


class Reason(NamedTuple):
    field: str  # the key, as the exchange format names it: "stars", "translations.vi.title"
    name: str | None  # what the reader knows it by; None: the key is all there is
    column: bool  # whether ``name`` is the partner's own column
    text: str  # the messages, in the current language
    sent: str | int | float | None  # the value the record gave, where it is one


def _label(field):
    from hub.publishing import vocabulary as v
    from hub.publishing.exports import FIELD_COLUMNS

    if field in FIELD_COLUMNS:
        return str(FIELD_COLUMNS[field][0])
    if field in v.TEXT_LABELS:
        return str(v.TEXT_LABELS[field])
    own = {
        "partner_id": _("ID"),
        "country": _("Country"),
        "source_language": _("Source language"),
        "status": _("Status"),
        "partner_metadata": _("Partner metadata"),
    }
    if field in own:
        return own[field]
    return _form_label(field)


def _form_label(field):
    """The label a coordinator's form gives ``field`` (a fair's "First day"), or None."""
    from wtforms.fields.core import UnboundField

    from hub.publishing import forms

    for form in (forms.PolicyForm, forms.ExperienceForm, forms.FairForm, forms.ProductForm):
        unbound = getattr(form, field, None)
        if isinstance(unbound, UnboundField):
            label = unbound.args[0] if unbound.args else unbound.kwargs.get("label")
            return str(label) if label is not None else None
    return None


def field_name(field, columns=None):
    """How the reader knows ``field`` (a key of a refusal's reasons): ``(name, column)``, the
    partner's own column (``column`` True) where ``columns`` names it, else the field's label
    in the current language, else ``(None, False)``."""
    from hub.i18n import language_name

    parts = str(field).split(".")
    language = None
    if parts[0] == "translations" and len(parts) >= 3:
        language, base = parts[1], parts[2]
    else:
        base = re.sub(r"-\d+$", "", parts[0])  # a row of a list: "outcomes-0"
    base = "partner_id" if base == "id" else base
    if base in (columns or {}):
        return str(columns[base]), True
    label = _label(base)
    if label is None:
        return None, False
    if language in current_app.config["LANGUAGES"]:
        name = language_name(language, str(get_locale()))
        label = _("%(field)s (%(language)s)", field=label, language=name)
    return label, False


def _flat(reasons, prefix=""):
    for key, value in reasons.items():
        here = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            yield from _flat(value, here)
        elif isinstance(value, list | tuple):
            yield here, " ".join(str(m) for m in value)
        else:
            yield here, str(value)


def _sent(record, field):
    value = record
    for part in str(field).split("."):
        if not isinstance(value, dict):
            return None
        value = value.get("partner_id" if part == "id" and "id" not in value else part)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return value


def stored_reasons(stored):
    """A refused record's stored reasons in the current language, else in the default one:
    ``({field: [messages]}, columns, the language they are in)``."""
    if not isinstance(stored, dict):
        return {}, {}, None
    language = str(get_locale())
    if language not in stored:
        language = current_app.config["DEFAULT_LANGUAGE"]
    columns = stored.get("columns")
    return stored.get(language) or {}, columns if isinstance(columns, dict) else {}, language


def reason_lines(reasons, columns=None, record=None):
    """``reasons`` (``{field: [messages]}``, nested as marshmallow nests them) as ``Reason``
    lines, each field named as the reader knows it, with the value ``record`` gave it."""
    record = record if isinstance(record, dict) else {}
    lines = []
    for field, text in sorted(_flat(reasons or {})):
        name, column = field_name(field, columns)
        lines.append(Reason(field, name, column, text, _sent(record, field)))
    return lines
