"""What the API answers for each kind of thing: the resolved view in one language, or the
exchange format with every translation (``lang=all``)."""

from hub.media import services as media_services
from hub.publishing import services as publishing
from hub.publishing.exchange import KIND_FIELDS, dump_record
from hub.publishing.routes import COLLECTION_OF
from hub.registry.facts import FIELDS
from hub.registry.regions import territory_name

LANGS = ("vi", "en", "ja")


def entries_media(entries):
    """The ready media of a page of ``entries``, in one query: ``{entry_id: [item, …]}``."""
    return media_services.for_records([e.id for e in entries])


def entry_view(entry, lang, media=None):
    """The entry in ``lang`` (its media's alternative texts too), or in the exchange format
    with every translation (``all``). ``media``: ``entries_media`` of the page it is on (read
    for this entry alone when not given)."""
    if media is None:
        media = entries_media([entry])
    items = media.get(entry.id, [])
    head = {
        "id": entry.id,
        "collection": COLLECTION_OF[entry.kind],
        "country": entry.country_code,
        "origin": entry.origin,
        "published_dt": entry.published_dt.isoformat() if entry.published_dt else None,
        "updated_dt": entry.updated_dt.isoformat(),
    }
    if lang == "all":
        return {**head, "record": dump_record(entry, items)}
    shown = publishing.shown(entry, lang)
    translation, source = shown.text, shown.outdated_against
    record = dump_record(entry)
    fields = {name: record.get(name) for name in KIND_FIELDS[entry.kind]}
    if entry.kind == "fair":
        fields.update(
            {k: record.get(k) for k in ("start_date", "end_date", "start_time", "end_time")}
        )
    return {
        **head,
        "language": shown.language,
        "requested_language": lang,
        "fallback": shown.language != lang,
        "outdated": source is not None,
        "source_language": entry.source_language,
        # When the source text changed after the served translation was made (else None).
        "source_changed": source.changed_dt.isoformat() if source is not None else None,
        "title": translation.title if translation else "",
        "summary": translation.summary if translation else "",
        "body": translation.body if translation else "",
        "lessons": translation.lessons if translation else "",
        **fields,
        "media": [media_services.with_alt(item, lang, entry.source_language) for item in items],
    }


def fact_fields(found, subject, key, lang):
    """A fact's translated fields (``hub.registry.facts.FIELDS``) from its texts ``found``: each
    in ``lang`` (else as ``hub.texts`` falls back), with ``text_languages`` (the language each
    is served in) and ``outdated_texts`` (those translated from an older source text: its
    language and when it changed); with ``lang=all``, each field in every language."""
    names = FIELDS[subject]
    if lang == "all":
        return {name: found.every_language(subject, key, name) or None for name in names}
    view, languages, outdated = {}, {}, {}
    for name in names:
        shown = found.shown(subject, key, name, lang)
        view[name] = shown.text
        if shown.text is not None:
            languages[name] = shown.language
        if (source := shown.outdated_against) is not None:
            outdated[name] = {
                "source_language": source.language,
                "source_changed": source.changed_dt.isoformat(),
            }
    return {**view, "text_languages": languages, "outdated_texts": outdated}


def country_view(country, lang, found, history=False):
    """A country in ``lang`` (or ``all``); ``found``: the texts of its facts, as
    ``hub.registry.facts.country_texts`` reads them (its programmes' at least)."""
    names = {code: territory_name(country.code, code) for code in LANGS}
    view = {
        "code": country.code,
        "name": names if lang == "all" else names[lang],
        "region": country.region,
        "membership_status": country.membership_status,
        "status_since_on": country.status_since_on.isoformat(),
        "founding_member": country.founding_member,
        "founding_member_verified": country.founding_verified,
        "verified": country.verified,
        "programmes": [programme_view(p, lang, found) for p in country.programmes],
    }
    if history:
        view.update(fact_fields(found, "country", country.code, lang))
        view["membership_history"] = [
            {
                "status": e.status,
                "previous_status": e.previous_status,
                "effective_on": e.effective_on.isoformat(),
                **fact_fields(found, "membership_event", e.id, lang),
            }
            for e in country.membership_events
        ]
        view["sources"] = [
            {
                **source,
                "original_title": source["title"],
                **fact_fields(found, "source", source.get("id"), lang),
            }
            for source in country.sources
        ]
    return view


def programme_view(programme, lang, found):
    """A programme, its translated fields in ``lang`` (or ``all``) from its texts ``found``."""
    return {
        "id": programme.id,
        "country": programme.country_code,
        "local_name": programme.local_name,
        "acronym": programme.acronym,
        "start_year": programme.start_year,
        "website": programme.website,
        "verified": programme.verified,
        **fact_fields(found, "programme", programme.id, lang),
    }
