"""``/feeds/<collection>.json`` and ``/feeds/countries/<XX>/<collection>.json`` (JSON Feed 1.1,
``?lang=`` and paging by ``next_url``); ``/fairs.ics``, ``/countries/<XX>/fairs.ics`` and each
fair's ``/fairs/<id>.ics`` (``?lang=`` too: texts and the calendar's name)."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import icalendar
from flask import abort, current_app, jsonify, make_response, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hub.db import ID_RULE, utcnow
from hub.extensions import db
from hub.feeds import bp
from hub.i18n import current_language
from hub.media import services as media_services
from hub.publishing import services as publishing
from hub.publishing.exchange import COLLECTION_KINDS
from hub.publishing.fairs import ical_status
from hub.publishing.models import EntryStatus, Fair
from hub.publishing.queries import list_turned_dt, newest_change_dt, public_list
from hub.publishing.vocabulary import KIND_NAMES
from hub.registry.models import Country
from hub.registry.regions import territory_name
from hub.urls import base_host

FEED_PAGE = 50
CALENDAR_LIMIT = 2000
CALENDAR_PAST = timedelta(days=365)
COLLECTION_RULE = "<any(policies, experiences, fairs, products):collection>"


def _conditional(response, turned=None):
    """Cacheable for five minutes, with an ETag and as Last-Modified the newest change to any
    entry, or ``turned``, when the passing of time last changed the answer; 304 on a match."""
    response.cache_control.public = True
    response.cache_control.max_age = 300
    response.add_etag()
    if moments := [m for m in (newest_change_dt(), turned) if m is not None]:
        response.last_modified = max(moments)
    return response.make_conditional(request)


def _feed_language():
    lang = request.args.get("lang") or current_language()
    return (
        lang if lang in current_app.config["LANGUAGES"] else current_app.config["DEFAULT_LANGUAGE"]
    )


def _country_or_404(code):
    code = code.upper()
    if len(code) != 2 or db.session.get(Country, code) is None:
        abort(404)
    return code


def _fair_extension(fair):
    """A fair's item's ``_hub`` object (a JSON Feed extension: its key starts with ``_``): its
    dates and times as the venue's (``YYYY-MM-DD``, ``HH:MM``, no times when all-day), its IANA
    zone, venue and status, as the exchange format gives them."""
    timed = not fair.all_day
    return {
        "start_date": fair.starts_local.date().isoformat(),
        "end_date": fair.ends_local.date().isoformat(),
        "start_time": fair.starts_local.strftime("%H:%M") if timed else None,
        "end_time": fair.ends_local.strftime("%H:%M") if timed else None,
        "all_day": fair.all_day,
        "timezone": fair.timezone,
        "venue": fair.venue,
        "fair_status": fair.fair_status,
    }


def _outdated_extension(source):
    """What an item's ``_hub`` says when its text is a translation made before the source
    text last changed (``source``, a ``hub.texts.core.SourceVersion``): as the API's view says
    it (``outdated``, ``source_language``, ``source_changed``)."""
    return {
        "outdated": True,
        "source_language": source.language,
        "source_changed": source.changed_dt.isoformat(),
    }


def _cover_image(items):
    """The URL of the image that stands for an entry: its cover, or its first photo when the
    cover is a document (then the document's preview is not taken for a photo); None."""
    for item in items:
        if item["type"] == "image":
            return item["url"]
    return None


def _attachments(items, lang, source_language):
    """An item's media as JSON Feed ``attachments``: url, mime_type, size_in_bytes, and as
    title the alternative text in ``lang`` (else in another language; left out when none)."""
    attachments = []
    for item in items:
        attachment = {"url": item["url"], "mime_type": item["mime"]}
        if item["size"] is not None:
            attachment["size_in_bytes"] = item["size"]
        alt = media_services.with_alt(item, lang, source_language)["alt"]
        if alt:
            attachment["title"] = alt
        attachments.append(attachment)
    return attachments


def _json_feed(collection, country=None):
    kind = COLLECTION_KINDS[collection]
    lang = _feed_language()
    page = public_list(kind, country=country, cursor=request.args.get("after"), limit=FEED_PAGE)
    with force_locale(lang):
        name = str(KIND_NAMES[kind][1])
        title = _("OCOP Exchange Hub: %(collection)s", collection=name)
        if country:
            title = _(
                "OCOP Exchange Hub: %(collection)s of %(country)s",
                collection=name,
                country=territory_name(country, lang),
            )
    items = []
    media = media_services.for_records([e.id for e in page.items])  # one query for the page
    for entry in page.items:
        shown = publishing.shown(entry, lang)
        text = shown.text
        link = url_for(
            "publishing.detail", lang=lang, collection=collection, entry_id=entry.id, _external=True
        )
        item = {
            "id": link,
            "url": link,
            "title": text.title,
            "content_text": text.body or text.summary or text.title,
            "date_published": (entry.published_dt or entry.created_dt).isoformat(),
            "date_modified": entry.updated_dt.isoformat(),
            "language": shown.language,
            "tags": [entry.country_code],
        }
        if text.summary:  # JSON Feed has no null: a missing summary is left out
            item["summary"] = text.summary
        if entry_media := media.get(entry.id):
            if image := _cover_image(entry_media):
                item["image"] = image
            item["attachments"] = _attachments(entry_media, lang, entry.source_language)
        if kind == "fair" and entry.starts_local is not None:
            item["_hub"] = _fair_extension(entry)
        if shown.outdated_against is not None:
            item.setdefault("_hub", {}).update(_outdated_extension(shown.outdated_against))
        items.append(item)
    args = {"collection": collection, "lang": lang}
    endpoint = "feeds.country_feed" if country else "feeds.feed"
    if country:
        args["code"] = country
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": url_for(
            "publishing.collection",
            collection=collection,
            lang=lang,
            _external=True,
            **({"country": country} if country else {}),
        ),
        "feed_url": url_for(endpoint, _external=True, **args),
        "language": lang,
        "items": items,
    }
    if page.next_cursor:
        feed["next_url"] = url_for(endpoint, _external=True, after=page.next_cursor, **args)
    response = jsonify(feed)
    response.mimetype = "application/feed+json"
    return _conditional(response, list_turned_dt(kind))


@bp.route(f"/feeds/{COLLECTION_RULE}.json")
def feed(collection):
    return _json_feed(collection)


@bp.route(f"/feeds/countries/<code>/{COLLECTION_RULE}.json")
def country_feed(code, collection):
    return _json_feed(collection, _country_or_404(code))


def calendar_statement(country=None):
    """The fairs of the calendar (of one ``country``): published ones that ended less than
    ``CALENDAR_PAST`` ago or are to come, soonest first, at most ``CALENDAR_LIMIT``."""
    stmt = (
        select(Fair)
        .where(
            Fair.status == EntryStatus.PUBLISHED,
            Fair.deleted_dt.is_(None),
            Fair.ends_utc >= utcnow() - CALENDAR_PAST,
        )
        .options(selectinload(Fair.translations))
        .order_by(Fair.starts_utc, Fair.id)
        .limit(CALENDAR_LIMIT)
    )
    if country:
        stmt = stmt.where(Fair.country_code == country)
    return stmt


def _calendar(country=None):
    lang = _feed_language()
    with force_locale(lang):
        name = _("OCOP trade fairs")
    fairs = db.session.scalars(calendar_statement(country)).all()
    response = _ical_response(fairs, lang, name)
    return _conditional(response, list_turned_dt("fair", keep=CALENDAR_PAST))


def _ical_response(fairs, lang, name):
    """The iCalendar file of ``fairs``, its texts in ``lang``, named ``name`` (X-WR-CALNAME)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//OCOP Exchange Hub//Fairs//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    host = base_host()  # HUB_BASE_URL's: a fair's UID is the same whatever host was asked
    media = media_services.for_records([f.id for f in fairs])  # one query for the calendar
    for fair in fairs:
        calendar.add_component(_event(fair, lang, host, media.get(fair.id, ())))
    if fairs:
        # Each zone's rules over the days the fairs span (icalendar's default stops in 2038).
        calendar.add_missing_timezones(
            first_date=min(f.starts_local for f in fairs).date() - timedelta(days=1),
            last_date=max(f.ends_local for f in fairs).date() + timedelta(days=2),
        )
    response = make_response(calendar.to_ical())
    response.mimetype = "text/calendar"
    response.charset = "utf-8"
    return response


def _event(fair, lang, host, media):
    """One fair as a VEVENT, its texts in ``lang``."""
    text = publishing.shown(fair, lang).text
    event = icalendar.Event()
    # Stable: the same fair updates the subscriber's event instead of adding another.
    event.add("uid", f"fair-{fair.id}@{host}")
    event.add("summary", text.title)
    if text.body:
        event.add("description", text.body)
    location = ", ".join(
        x
        for x in (
            fair.venue,
            fair.city,
            territory_name(fair.location_country, lang) if fair.location_country else None,
        )
        if x
    )
    if location:
        event.add("location", location)
    if fair.all_day:
        event.add("dtstart", fair.starts_local.date())
        event.add("dtend", fair.ends_local.date() + timedelta(days=1))  # exclusive
    else:
        zone = ZoneInfo(fair.timezone)
        event.add("dtstart", fair.starts_local.replace(tzinfo=zone))
        if fair.ends_local != fair.starts_local:  # else no DTEND: it takes no time
            event.add("dtend", fair.ends_local.replace(tzinfo=zone))
    event.add("status", ical_status(fair))
    event.add("dtstamp", fair.updated_dt)
    event.add("last-modified", fair.updated_dt)
    event.add("sequence", fair.change_seq)
    event.add(
        "url",
        url_for(
            "publishing.detail", lang=lang, collection="fairs", entry_id=fair.id, _external=True
        ),
    )
    _add_media(event, media)
    return event


def _add_media(event, items):
    """A fair's media: each as ``ATTACH;FMTTYPE=…`` (RFC 5545), and its cover photo as
    ``IMAGE;VALUE=URI;DISPLAY=FULLSIZE`` (RFC 7986)."""
    for item in items:
        event.add("attach", item["url"], parameters={"FMTTYPE": item["mime"]})
    if image := _cover_image(items):
        mime = next(i["mime"] for i in items if i["url"] == image)
        event.add(
            "image",
            icalendar.vUri(image),
            parameters={"VALUE": "URI", "DISPLAY": "FULLSIZE", "FMTTYPE": mime},
        )


@bp.route("/fairs.ics")
def fairs_calendar():
    return _calendar()


@bp.route(f"/fairs/<{ID_RULE}:fair_id>.ics")
def fair_calendar(fair_id):
    """One published fair as an iCalendar file (its event's UID is the one the whole
    calendar gives it, so importing both never doubles it)."""
    lang = _feed_language()
    fair = db.session.scalars(
        select(Fair)
        .where(Fair.id == fair_id, Fair.status == EntryStatus.PUBLISHED, Fair.deleted_dt.is_(None))
        .options(selectinload(Fair.translations))
    ).one_or_none()
    if fair is None:
        abort(404)
    response = _ical_response([fair], lang, publishing.shown(fair, lang).text.title)
    return _conditional(response)


@bp.route("/countries/<code>/fairs.ics")
def country_calendar(code):
    return _calendar(_country_or_404(code))
