"""``ckan``: a CKAN portal's datasets through its ``package_search`` API, paged, as policies.

Settings: ``{"language": "en", "rows": 100, "fq": "organization:ocop", "max_pages": 50}``. The
source's URL is the portal's root (``https://data.example.gov``).

A dataset's resources (its files and links: ``name``, ``url``, ``format``) and its licence
(``license_title``, ``license_url``, ``license_id``) travel in the record's
``partner_metadata`` (``resources``, ``licence``); the hub shows them on the entry's page.

The resources that are photos or PDFs (by their ``mimetype``, else their ``format``, else their
URL's extension: JPEG, PNG, WebP, HEIC, PDF) are also the record's ``media``, in the portal's
order, each with its ``name`` (else its ``description``) as the alternative text; the hub
fetches them. A dataset with none says it has none (the hub then removes the portal's media it
held for it).
"""

import json
import posixpath
from urllib.parse import urlencode, urlsplit

from connectors._util import check_keys, check_language, check_number, media_list
from connectors.base import (
    Connector,
    ConnectorError,
    Record,
    SettingsError,
    incomplete,
    register,
)


def _organisation(value):
    return value.get("title") if isinstance(value, dict) else None


def _text(value):
    """A short text on one line (names, formats, addresses): spaces and line breaks collapsed."""
    return " ".join(value.split()) if isinstance(value, str) else ""


def _resources(package):
    """A dataset's files and links: ``[{"name", "url", "format"}]``, those with a URL."""
    resources = []
    for resource in package.get("resources") or []:
        if not isinstance(resource, dict) or not _text(resource.get("url")):
            continue
        found = {key: _text(resource.get(key)) for key in ("name", "url", "format")}
        found["url"] = found["url"].replace(" ", "%20")  # portals keep file names as uploaded
        resources.append({key: value for key, value in found.items() if value})
    return resources


# A resource's format, or its URL's extension, as the hub's media types (lower case).
MEDIA_FORMATS = {
    "jpeg": "image/jpeg", "jpg": "image/jpeg", "png": "image/png", "webp": "image/webp",
    "heic": "image/heic", "heif": "image/heif", "pdf": "application/pdf",
}  # fmt: skip


def _media_type(resource):
    """The resource's type if it is a photo or a PDF the hub takes, else None."""
    mimetype = _text(resource.get("mimetype")).lower()
    if mimetype:
        return mimetype if mimetype in MEDIA_FORMATS.values() else None
    kind = _text(resource.get("format")).lower().lstrip(".")
    if kind:
        return MEDIA_FORMATS.get(kind)
    path = urlsplit(_text(resource.get("url"))).path
    return MEDIA_FORMATS.get(posixpath.splitext(path)[1].lower().lstrip("."))


def media(package, language):
    """The dataset's photos and PDFs as the record's ``media`` (a list, maybe empty), in the
    portal's order, named by the resource's name or description."""
    candidates = []
    for resource in package.get("resources") or []:
        if not isinstance(resource, dict) or not (url := _text(resource.get("url"))):
            continue
        if (mime := _media_type(resource)) is not None:
            title = _text(resource.get("name")) or _text(resource.get("description"))
            candidates.append((url.replace(" ", "%20"), mime, title or None))
    return media_list(candidates, language) or []


def _licence(package):
    """A dataset's licence: ``{"title", "url", "id"}`` as far as the portal gives them."""
    found = {
        "title": _text(package.get("license_title")),
        "url": _text(package.get("license_url")),
        "id": _text(package.get("license_id")),
    }
    return {key: value for key, value in found.items() if value}


def partner_metadata(package):
    metadata = {}
    if resources := _resources(package):
        metadata["resources"] = resources
    if licence := _licence(package):
        metadata["licence"] = licence
    return metadata


@register
class CkanConnector(Connector):
    kind = "ckan"

    def validate_settings(self, settings):
        check_keys(settings, ("language", "rows", "fq", "max_pages"), self.kind)
        rows = check_number(settings, "rows", 100, 1, 1000)
        max_pages = check_number(settings, "max_pages", 50, 1, 1000)
        fq = settings.get("fq", "")
        if not isinstance(fq, str):
            raise SettingsError("fq must be text", code="setting_text", setting="fq")
        return {
            "language": check_language(settings),
            "rows": rows,
            "fq": fq,
            "max_pages": max_pages,
        }

    def read(self, client, settings, state):
        root = settings["url"].rstrip("/")
        language, rows = settings["language"], settings["rows"]
        start = 0
        for _page in range(settings["max_pages"]):
            query = {
                "rows": rows,
                "start": start,
                **({"fq": settings["fq"]} if settings["fq"] else {}),
            }
            url = f"{root}/api/3/action/package_search?{urlencode(query)}"
            try:
                answer = json.loads(client.get(url).text())
            except json.JSONDecodeError as exc:
                raise ConnectorError(
                    f"not JSON: {exc.msg}", url, code="not_json", error=exc.msg, url=url
                ) from None
            if not isinstance(answer, dict) or answer.get("success") is not True:
                raise ConnectorError(
                    "the portal did not answer success", url, code="portal_failed", url=url
                )
            result = answer.get("result")
            if not isinstance(result, dict) or not isinstance(result.get("results", []), list):
                raise ConnectorError(
                    "the portal's answer has no list of results",
                    url,
                    code="portal_no_results",
                    url=url,
                )
            packages = result.get("results") or []
            for package in packages:
                if not isinstance(package, dict):
                    continue
                name = package.get("name") or package.get("id")
                data = {
                    "source_language": language,
                    "translations": {
                        language: {
                            "title": str(package.get("title") or name or ""),
                            "body": str(package.get("notes") or ""),
                        }
                    },
                    "instrument": "other",
                    "issuing_body": _organisation(package.get("organization")),
                    "link": f"{root}/dataset/{name}" if name else None,
                }
                if metadata := partner_metadata(package):
                    data["partner_metadata"] = metadata
                if isinstance(package.get("resources", []), list):
                    data["media"] = media(package, language)
                yield Record(
                    partner_id=str(package.get("id") or ""), collection="policies", data=data
                )
            start += len(packages)
            count = result.get("count")
            if not isinstance(count, int) or start >= count:
                return {}
            if not packages:  # fewer datasets than the portal counts: some were not listed
                return incomplete("short", expected=count, read=start)
        return incomplete("max_pages", pages=settings["max_pages"])
