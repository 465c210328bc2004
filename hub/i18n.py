"""Languages: which ones the hub speaks, how a request's language is chosen, and the
``/<lang>/`` URL prefix every page carries.

Order of choice (DESIGN §4): the URL prefix, then the signed-in user's preference, then the
language cookie, then ``Accept-Language``, then the default (English). Under /api: ``?lang=``,
then ``Accept-Language``, then the default (``api_language``).
"""

import os
import unicodedata
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, dates
from babel.lists import format_list
from flask import abort, current_app, g, has_request_context, request, url_for
from flask_babel import get_locale
from markupsafe import Markup, escape


def languages():
    """The UI languages, in the order the language switcher shows them."""
    return current_app.config["LANGUAGES"]


def _user_language():
    # Accounts register a loader here (hub.accounts); until a user is signed in there is none.
    loader = current_app.extensions.get("hub.user_language")
    return loader() if loader else None


def select_locale():
    """Flask-Babel's locale selector."""
    if not has_request_context():
        return _environment_language()
    if lang := g.get("lang"):
        return lang
    if is_api_request():
        return api_language()
    supported = languages()
    if request.url_rule is None:
        # No route matched (a 404): a path that starts with a language still speaks it.
        prefix = request.path.lstrip("/").split("/", 1)[0]
        if prefix in supported:
            return prefix
    for candidate in (_user_language(), request.cookies.get(current_app.config["LANGUAGE_COOKIE"])):
        if candidate in supported:
            return candidate
    return request.accept_languages.best_match(supported) or current_app.config["DEFAULT_LANGUAGE"]


def is_api_request():
    return request.path == "/api" or request.path.startswith("/api/")


def api_language():
    """The language of an answer under /api (its messages and refusals): ``?lang=`` when it
    names one of the hub's languages, else the best of ``Accept-Language``, else the default.
    A signed-in user's preference and the language cookie are a browser's, not a client
    program's: they do not count here."""
    supported = languages()
    if (lang := request.args.get("lang")) in supported:
        return lang
    return request.accept_languages.best_match(supported) or current_app.config["DEFAULT_LANGUAGE"]


def _environment_language():
    # CLI commands and jobs speak the operator's language when the hub has it ("LANG=vi_VN.UTF-8").
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        code = os.environ.get(var, "").split("_")[0].split(".")[0]
        if code in languages():
            return code
    return current_app.config["DEFAULT_LANGUAGE"]


def current_language():
    """The language of the current request, as a code ('vi', 'en', 'ja')."""
    return str(get_locale())


def language_name(code, in_language=None):
    """A language's name from CLDR: in that language itself, capitalised as a menu item
    ("Tiếng Việt", "English", "日本語"), or in ``in_language`` as it reads in a sentence
    ("Vietnamese" in English, "tiếng Nhật" in Vietnamese)."""
    if in_language:
        return Locale.parse(code).get_display_name(in_language)
    name = Locale.parse(code).get_display_name(code)
    return name[:1].upper() + name[1:]


def alternate_urls():
    """This page in every language, ``{code: absolute url}``, keeping the path and the query
    string; empty for a page outside the language prefix, unless its view gave its own
    (``g.alternate_urls``: /p/<id> in each language is ``?lang=``)."""
    if (given := g.get("alternate_urls")) is not None:
        return given
    if request.url_rule is None or "lang" not in request.url_rule.arguments:
        return {}
    args = dict(request.view_args or {})
    # The query string is carried over as it is, never as url_for arguments: a visitor's
    # "?_external=0" or "?endpoint=x" must not reach url_for.
    query = "?" + urlencode(list(request.args.items(multi=True))) if request.args else ""
    return {
        code: url_for(request.endpoint, **{**args, "lang": code}, _external=True) + query
        for code in languages()
    }


def _pull_lang(endpoint, values):
    if values is None or "lang" not in values:
        return
    lang = values.pop("lang")
    if lang not in languages():
        abort(404)
    g.lang = lang


def _add_lang(endpoint, values):
    if "lang" in values or not current_app.url_map.is_endpoint_expecting(endpoint, "lang"):
        return
    values["lang"] = current_language()


def _remember_lang(response):
    # A page opened under /<lang>/ is the visitor's latest explicit choice: "/" returns to it.
    lang = g.get("lang")
    cookie = current_app.config["LANGUAGE_COOKIE"]
    if lang and request.cookies.get(cookie) != lang and response.status_code < 400:
        response.set_cookie(
            cookie,
            lang,
            max_age=current_app.config["LANGUAGE_COOKIE_MAX_AGE"],
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    return response


def init_app(app):
    """Wire the language prefix, the cookie and the template helpers into ``app``."""
    app.url_value_preprocessor(_pull_lang)
    app.url_defaults(_add_lang)
    app.after_request(_remember_lang)
    # Globals, not a context processor: imported macros see globals but not the context.
    app.jinja_env.globals.update(
        current_language=current_language,
        alternate_urls=alternate_urls,
        ui_languages=languages,
        format_list=locale_list,
    )


def locale_list(items, style="standard"):
    """``items`` as one list in the current language ("a, b and c", 「a、b、c」), as markup: each
    item is escaped unless it is markup already (a link), and CLDR's patterns hold no markup."""
    return Markup(format_list([str(escape(item)) for item in items], style, get_locale()))


# Every combining mark (no code point past U+1FFFF combines) deleted, "Đ"/"đ" mapped to "D"/"d"
# (they have no decomposition in Unicode): one str.translate, in C, instead of a loop per letter.
# A list indexed by code point, not a dict: looked up by index, not by hash, it folds a text in
# half the time; code points past its end are left as they are.
_FOLD_TABLE = [None if unicodedata.combining(chr(code)) else code for code in range(0x20000)]
_FOLD_TABLE[ord("Đ")], _FOLD_TABLE[ord("đ")] = "D", "d"


def fold(text):
    """Lower-case ``text`` and strip its diacritics, for sorting and search on every database
    ("Việt Nam" → "viet nam")."""
    decomposed = unicodedata.normalize("NFKD", text)
    if decomposed.isascii():  # nothing to strip: most English text
        return decomposed.casefold()
    return decomposed.translate(_FOLD_TABLE).casefold()


def zone_name(zone):
    """A time zone's name in the reader's language, from CLDR ("Giờ Việt Nam", "ベトナム時間");
    the IANA name itself when CLDR has none."""
    try:
        return dates.get_timezone_location(ZoneInfo(zone), locale=current_language())
    except (ZoneInfoNotFoundError, ValueError, LookupError):
        return zone
