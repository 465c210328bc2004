"""``jsonfeed``: a JSON Feed, version 1 or 1.1 (https://jsonfeed.org/version/1.1), its items as
experiences or policies. Settings: ``{"collection": "experiences" | "policies", "language":
"en", "max_pages": 20}``. ``next_url`` pages are followed.

Read as the feed's authors meant it:

* the version may be ``https://jsonfeed.org/version/1`` or ``…/1.1``, also written with
  ``http://`` (as many publishers do);
* an item's ``language`` (else the feed's) says what its texts are written in. One of the hub's
  languages (``vi-VN`` → ``vi``) is the record's ``source_language``; any other (``de-DE``) is kept
  as written in ``partner_metadata.language`` and the texts go in the slot of the setting's
  language, so that the hub shows them labelled with their true language, never as English;
* ``title`` is optional in JSON Feed: an item without one takes the start of its text as its
  title, and ``partner_metadata.title_from_text`` says so;
* ``content_html`` becomes Markdown (links, lists, emphasis, headings, quotes, tables kept);
  ``content_text`` is taken as it is;
* ``date_published``, ``date_modified``, ``authors`` (1.1; ``author`` in version 1; the feed's
  when the item has none), ``tags`` and ``external_url`` travel in ``partner_metadata``;
* ``image`` (the cover) and the ``attachments`` that are photos or PDFs become the record's
  ``media`` (an attachment's ``title`` its alternative text), which the hub fetches.
"""

import json
import re

from connectors._util import (
    check_keys,
    check_language,
    check_number,
    html_to_markdown,
    html_to_text,
    language_of,
    language_tag,
    media_list,
    title_from_text,
)
from connectors.base import (
    Connector,
    ConnectorError,
    Record,
    SettingsError,
    incomplete,
    register,
)

VERSION = re.compile(r"^https?://jsonfeed\.org/version/1(\.\d+)?/?$")


def _authors(container):
    """A feed's or an item's authors: ``authors`` (1.1) or ``author`` (1), as {name, url}."""
    found = container.get("authors")
    if not isinstance(found, list):
        found = [container["author"]] if isinstance(container.get("author"), dict) else []
    authors = []
    for author in found:
        if not isinstance(author, dict):
            continue
        person = {
            key: " ".join(author[key].split())
            for key in ("name", "url")
            if isinstance(author.get(key), str) and author[key].strip()
        }
        if person:
            authors.append(person)
    return authors


def _text(value):
    return value if isinstance(value, str) else ""


def _media(item, language):
    """The item's ``image`` and its photo and PDF ``attachments``, the image first."""
    candidates = [(item.get("image"), None, None)]
    attachments = item.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else ():
        if isinstance(attachment, dict):
            candidates.append(
                (attachment.get("url"), attachment.get("mime_type"), attachment.get("title"))
            )
    return media_list(candidates, language)


def item_record(item, settings, feed_language, feed_authors):
    """The record of one feed item."""
    tag = language_tag(item.get("language"), feed_language)
    language = language_of(tag, default=settings["language"])
    html = _text(item.get("content_html"))
    plain = _text(item.get("content_text"))
    body = html_to_markdown(html) if html else plain
    summary = _text(item.get("summary")).strip()
    title = _text(item.get("title")).strip()
    metadata = {}
    if not title:
        title = title_from_text(plain or html_to_text(html), summary)
        if title:
            metadata["title_from_text"] = True
    if tag and tag.lower() != language:
        metadata["language"] = tag
    for key, name in (("date_published", "published"), ("date_modified", "modified")):
        if isinstance(item.get(key), str) and item[key].strip():
            metadata[name] = item[key].strip()
    if authors := _authors(item) or feed_authors:
        metadata["authors"] = authors
    if isinstance(item.get("tags"), list):
        tags = [" ".join(t.split()) for t in item["tags"] if isinstance(t, str) and t.strip()]
        if tags:
            metadata["tags"] = list(dict.fromkeys(tags))
    data = {
        "source_language": language,
        "translations": {language: {"title": title, "summary": summary, "body": body}},
    }
    link = item.get("url") or item.get("external_url")
    if settings["collection"] == "policies" and isinstance(link, str) and link:
        data["link"] = link
    if metadata:
        data["partner_metadata"] = metadata
    if media := _media(item, language):
        data["media"] = media
    return Record(
        partner_id=str(item.get("id") or ""), collection=settings["collection"], data=data
    )


@register
class JsonFeedConnector(Connector):
    kind = "jsonfeed"

    def validate_settings(self, settings):
        check_keys(settings, ("collection", "language", "max_pages"), self.kind)
        collection = settings.get("collection", "experiences")
        if collection not in ("experiences", "policies"):
            raise SettingsError(
                "collection must be experiences or policies",
                code="setting_choice",
                setting="collection",
                choices=["experiences", "policies"],
            )
        max_pages = check_number(settings, "max_pages", 20, 1, 1000)
        return {
            "collection": collection,
            "language": check_language(settings),
            "max_pages": max_pages,
        }

    def read(self, client, settings, state):
        url, seen_pages = settings["url"], set()
        for page in range(settings["max_pages"]):
            response = client.get(url, conditional=page == 0)
            try:
                feed = json.loads(response.text())
            except json.JSONDecodeError as exc:
                raise ConnectorError(
                    f"not JSON: {exc.msg} at line {exc.lineno}",
                    url,
                    code="not_json",
                    error=exc.msg,
                    url=url,
                    line=exc.lineno,
                ) from None
            if not isinstance(feed, dict) or not VERSION.match(str(feed.get("version", ""))):
                raise ConnectorError(
                    "not a JSON Feed (no jsonfeed.org version 1 or 1.x)",
                    url,
                    code="not_jsonfeed",
                    url=url,
                )
            items = feed.get("items")
            if not isinstance(items, list):
                raise ConnectorError(
                    "a JSON Feed needs an items list", url, code="jsonfeed_no_items", url=url
                )
            feed_language = feed.get("language")
            feed_authors = _authors(feed)
            for item in items:
                if isinstance(item, dict):
                    yield item_record(item, settings, feed_language, feed_authors)
            seen_pages.add(url)
            next_url = feed.get("next_url")
            if not next_url or next_url in seen_pages:
                return {}
            url = next_url
        return incomplete("max_pages", pages=settings["max_pages"])
