"""Small helpers the connectors share (no hub imports here either)."""

import html

import nh3

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
        raise ValueError(f"unknown {kind} settings: {', '.join(unknown)}")


def check_language(settings, key="language", default="en"):
    value = settings.get(key, default)
    if value not in LANGUAGES:
        raise ValueError(f"{key} must be one of {', '.join(LANGUAGES)}")
    return value
