"""Small helpers the connectors share (no hub imports here either)."""

import html

import nh3

from connectors.base import SettingsError

LANGUAGES = ("vi", "en", "ja")


def language_of(*candidates, default="en"):
    """The first of ``candidates`` that names one of the hub's languages ("vi-VN" → "vi")."""
    for candidate in candidates:
        code = str(candidate or "").split("-")[0].split("_")[0].lower()
        if code in LANGUAGES:
            return code
    return default


def html_to_text(fragment):
    """Plain text from an HTML fragment: tags dropped, entities decoded."""
    return html.unescape(nh3.clean(fragment or "", tags=set())).strip()


def check_keys(settings, allowed, kind):
    unknown = sorted(set(settings) - set(allowed) - {"url"})
    if unknown:
        raise SettingsError(
            f"unknown {kind} settings: {', '.join(unknown)}", code="unknown_settings", names=unknown
        )


def check_number(settings, key, default, least, most, *, days=False):
    """``settings[key]``, a whole number from ``least`` to ``most`` (``default`` when absent);
    ``days``: a number of days."""
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        what = "a whole number of days" if days else "a number"
        raise SettingsError(
            f"{key} must be {what} from {least} to {most}",
            code="setting_days" if days else "setting_number",
            setting=key,
            least=least,
            most=most,
        )
    return value


def check_language(settings, key="language", default="en"):
    value = settings.get(key, default)
    if value not in LANGUAGES:
        raise SettingsError(
            f"{key} must be one of {', '.join(LANGUAGES)}",
            code="setting_language",
            setting=key,
            languages=list(LANGUAGES),
        )
    return value


# Tags kept from a partner's HTML before it becomes Markdown (what the hub's Markdown renderer
# can show, see ``hub.publishing.markdown``, and images, which become links). Everything else
# is unwrapped to its text; scripts and styles are dropped with their content.
_HTML_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "b", "em", "i", "del", "s",
    "code", "pre", "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr",
    "th", "td",
}  # fmt: skip
_HTML_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt"}, "ol": {"start"}}


def _converter():
    from markdownify import MarkdownConverter

    class Converter(MarkdownConverter):
        def convert_img(self, el, text, parent_tags):
            # The hub shows no images from partners' pages: a link to it, named by its alt text.
            src, alt = el.attrs.get("src") or "", (el.attrs.get("alt") or "").strip()
            if not src:
                return alt
            if "_inline" in parent_tags or "a" in parent_tags:
                return alt
            return f"[{self.escape(alt or src, parent_tags)}]({src})"

    return Converter(heading_style="ATX", bullets="-", strong_em_symbol="*")


_MARKDOWN = None


def html_to_markdown(fragment):
    """Markdown (CommonMark, as the hub renders bodies) from an HTML fragment, keeping links,
    lists, emphasis, headings, quotes, code and tables; images become links."""
    global _MARKDOWN
    if not fragment:
        return ""
    if _MARKDOWN is None:
        _MARKDOWN = _converter()
    clean = nh3.clean(
        fragment,
        tags=_HTML_TAGS,
        attributes=_HTML_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
    )
    # In a <div>: a fragment that is only an address or a file name is still HTML to parse
    # (Beautiful Soup would warn that it "looks like a URL").
    text = _MARKDOWN.convert(f"<div>{clean}</div>")
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def language_tag(*candidates):
    """The first of ``candidates`` that is a non-empty text, as written ("de-DE"), or None."""
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None


def title_from_text(*texts, limit=80):
    """A title for an item that has none: the first line of the first non-empty text, cut at a
    word boundary to at most ``limit`` characters (with an ellipsis when cut)."""
    for text in texts:
        line = next((ln.strip() for ln in str(text or "").splitlines() if ln.strip()), "")
        if not line:
            continue
        if len(line) <= limit:
            return line
        cut = line[: limit - 1]
        if " " in cut[limit // 2 :]:
            cut = cut[: cut.rindex(" ")]
        return cut.rstrip(" ,;:.-–—") + "…"
    return ""


MAX_MEDIA = 20  # a record's photos and documents (the exchange format's limit)
MEDIA_MIME = ("image/", "application/pdf")


def media_list(candidates, language=None):
    """A record's ``media`` (the exchange format's list) from a partner's ``(url, mime type or
    None, title or None)``, the cover first: http(s) URLs only, each once, a type the hub takes
    or none given (the hub sniffs the bytes anyway), at most ``MAX_MEDIA``; a title is taken
    as the alternative text in ``language``. None when there is nothing (the record then says
    nothing of media, and what the hub holds is kept)."""
    found, seen = [], set()
    for url, mime, title in candidates:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            continue
        if url in seen or (mime and not str(mime).lower().startswith(MEDIA_MIME)):
            continue
        seen.add(url)
        item = {"url": url}
        if title and language and isinstance(title, str) and title.strip():
            item["alts"] = {language: " ".join(title.split())}
        found.append(item)
        if len(found) >= MAX_MEDIA:
            break
    return found or None
