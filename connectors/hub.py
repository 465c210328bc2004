"""``hub``: another hub's changes feed (``/api/v1/changes``), incremental by change sequence,
tombstones applied: how hubs federate.

The source's URL is the other hub's root (``https://hub.example``). Settings:
``{"country": "VN", "countries": ["JP", "TH"], "limit": 500, "max_pages": 200}``: the country
whose entries to follow (the source's own), the other countries whose entries it may carry
(none unless listed), how many changes a page, how many pages a run. The saved state is the
last change sequence number read and the feed's epoch, so each run reads only what changed
since.

The epoch names the feed's history: a hub restored from a backup starts a new one, and
answers a cursor of the old one 410 with the baseline to start again from. The run then reads
the whole feed again from there and says so (``resynced``): if it reads it to its end, what
the source holds that the feed no longer lists is settled as after a complete snapshot (deleted,
or held for review when that would take away much of the source).

Each record goes on with the country the feed files it under (``"country"``) and the origin it
gives (``"origin"``; an older hub's record that gives none was first published there: that
hub's root URL and its id). The pipeline files it under that country if the source may carry
it, and refuses it, saying why, if not. The feed is asked to leave out what this hub sent it
(``exclude_origin``, with the hub's own address, ``client.hub_url``).
"""

import json
from urllib.parse import urlencode

from connectors._util import check_keys, check_number
from connectors.base import (
    Connector,
    ConnectorError,
    Record,
    SettingsError,
    Tombstone,
    incomplete,
    register,
    resynced,
)

MAX_COUNTRIES = 50


def _is_country(value):
    return isinstance(value, str) and len(value) == 2 and value.isascii() and value.isalpha()


@register
class HubConnector(Connector):
    kind = "hub"
    full_snapshot = False  # incremental: deletions come as tombstones

    def validate_settings(self, settings):
        check_keys(settings, ("country", "countries", "limit", "max_pages"), self.kind)
        country = settings.get("country")
        if not _is_country(country):
            raise SettingsError(
                "country must be the two-letter code of the country to follow",
                code="hub_country",
            )
        countries = settings.get("countries", [])
        if (
            not isinstance(countries, list)
            or len(countries) > MAX_COUNTRIES
            or not all(_is_country(c) for c in countries)
        ):
            raise SettingsError(
                f"countries must be a list of at most {MAX_COUNTRIES} two-letter country codes",
                code="hub_countries",
                most=MAX_COUNTRIES,
            )
        countries = [c.upper() for c in countries]
        countries = [c for c in dict.fromkeys(countries) if c != country.upper()]
        limit = check_number(settings, "limit", 500, 1, 1000)
        max_pages = check_number(settings, "max_pages", 200, 1, 10000)
        checked = {"country": country.upper(), "limit": limit, "max_pages": max_pages}
        if countries:
            checked["countries"] = countries
        return checked

    def read(self, client, settings, state):
        root = settings["url"].rstrip("/")
        since = state.get("since", 0)
        if not isinstance(since, int) or since < 0:
            since = 0
        epoch = state.get("epoch") if isinstance(state.get("epoch"), str) else None
        countries = ",".join([settings["country"], *settings.get("countries", ())])
        own = getattr(client, "hub_url", None)
        again = False  # the feed answered 410: this run reads it all again
        for _page in range(settings["max_pages"]):
            query = {"since": since, "limit": settings["limit"], "country": countries}
            if epoch and since:
                query["epoch"] = epoch
            if own:
                query["exclude_origin"] = own
            url = f"{root}/api/v1/changes?{urlencode(query)}"
            response = client.get(url, accept=(410,))
            if getattr(response, "status", 200) == 410:
                if again:
                    raise ConnectorError(
                        "the feed started a new history again during the run",
                        url,
                        code="feed_restarted_again",
                        url=url,
                    )
                # The baseline to start again from: next_since (0) and the new epoch.
                try:
                    page = json.loads(response.text())
                except Exception:  # not JSON, not UTF-8: 0, and the epoch the next page gives
                    page = {}
                again, epoch = True, _epoch(page)
                since = page.get("next_since") if isinstance(page, dict) else 0
                since = since if isinstance(since, int) and since >= 0 else 0
                continue
            page = _json(response, url)
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise ConnectorError(
                    "not a changes feed (no items list)", url, code="not_changes_feed", url=url
                )
            epoch = _epoch(page) or epoch
            yield from _items(page["items"], root)
            next_since = page.get("next_since")
            if not isinstance(next_since, int) or next_since < since:
                raise ConnectorError(
                    "the feed's next_since went backwards", url, code="feed_went_back", url=url
                )
            if not page.get("more"):
                return _state(next_since, epoch, again)
            if next_since == since:  # "more", and the same place again: it would never end
                raise ConnectorError(
                    f"the feed says there is more but stays at {since}",
                    url,
                    code="feed_stuck",
                    since=since,
                    url=url,
                )
            since = next_since
        # Pages left for the next run, which goes on from here.
        return {
            **_state(since, epoch, False),
            **incomplete("max_pages", pages=settings["max_pages"]),
        }


def _json(response, url):
    try:
        return json.loads(response.text())
    except json.JSONDecodeError as exc:
        raise ConnectorError(
            f"not JSON: {exc.msg}", url, code="not_json", error=exc.msg, url=url
        ) from None


def _epoch(page):
    epoch = page.get("epoch") if isinstance(page, dict) else None
    return epoch if isinstance(epoch, str) and epoch else None


def _state(since, epoch, again):
    """The state to save: where to go on from, in which epoch (an older hub's feed has none),
    and whether this run read everything again."""
    return {"since": since, **({"epoch": epoch} if epoch else {}), **(resynced() if again else {})}


def _items(items, root):
    """The feed's items as records and tombstones."""
    for item in items:
        if not isinstance(item, dict):
            continue
        partner_id, collection = (
            str(item.get("id") or ""),
            str(item.get("collection") or ""),
        )
        if item.get("deleted"):
            yield Tombstone(partner_id, collection)
            continue
        record = item.get("record")
        record = dict(record) if isinstance(record, dict) else {}
        if "country" not in record and item.get("country") is not None:
            record["country"] = item["country"]
        if "origin" not in record and partner_id:
            record["origin"] = {"hub": root, "id": partner_id}
        yield Record(partner_id, collection, record)
