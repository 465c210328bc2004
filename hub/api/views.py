"""What the API answers for each kind of thing: the resolved view in one language, or the
exchange format with every translation (``lang=all``)."""

from hub.publishing import services as publishing
from hub.publishing.exchange import KIND_FIELDS, dump_record
from hub.publishing.routes import COLLECTION_OF
from hub.registry.regions import territory_name

LANGS = ("vi", "en", "ja")


def entry_view(entry, lang):
    head = {
        "id": entry.id,
        "collection": COLLECTION_OF[entry.kind],
        "country": entry.country_code,
        "origin": entry.origin,
        "published_dt": entry.published_dt.isoformat() if entry.published_dt else None,
        "updated_dt": entry.updated_dt.isoformat(),
    }
    if lang == "all":
        return {**head, "record": dump_record(entry)}
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
    }


def country_view(country, lang, history=False):
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
        "programmes": [programme_view(p) for p in country.programmes],
    }
    if history:
        view["membership_history"] = [
            {
                "status": e.status,
                "previous_status": e.previous_status,
                "effective_on": e.effective_on.isoformat(),
                "note": e.note,
            }
            for e in country.membership_events
        ]
        view["sources"] = country.sources
    return view


def programme_view(programme):
    return {
        "id": programme.id,
        "country": programme.country_code,
        "name": programme.name,
        "local_name": programme.local_name,
        "acronym": programme.acronym,
        "start_year": programme.start_year,
        "lead_agency": programme.lead_agency,
        "website": programme.website,
        "rating_scheme": programme.rating_scheme,
        "verified": programme.verified,
    }
