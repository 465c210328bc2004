"""Every API surface in the reader's language: the reference page at /<lang>/api, and the API's
error answers (a stable ``code`` beside a message in the language of ``?lang=``, else of
``Accept-Language``, else English)."""

from html.parser import HTMLParser

import pytest
from flask_babel import force_locale, format_number, gettext
from sqlalchemy import select

from hub.api.errors import ERROR_CODES, ERRORS, SPECIFIC
from hub.extensions import db
from hub.sync import services
from hub.sync.models import PartnerSource

LANGS = ("vi", "en", "ja")


class _VisibleText(HTMLParser):
    """The text blocks a reader sees in <main>, leaving out code and what is marked English."""

    SKIPPED = {"code", "pre", "script", "style"}

    def __init__(self):
        super().__init__()
        self.blocks, self.stack, self.in_main, self.marked_english = [], [], False, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "main":
            self.in_main = True
        if tag in ("br", "img", "input", "meta", "link", "hr", "wbr"):
            return
        english = attrs.get("lang") == "en"
        self.marked_english += english
        self.stack.append((tag, english))

    def handle_endtag(self, tag):
        if tag == "main":
            self.in_main = False
        while self.stack:
            open_tag, english = self.stack.pop()
            self.marked_english -= english
            if open_tag == tag:
                break

    def handle_data(self, data):
        skipped = any(tag in self.SKIPPED for tag, _ in self.stack)
        if self.in_main and not skipped and not self.marked_english:
            text = " ".join(data.split())
            if any(ch.isalpha() for ch in text):
                self.blocks.append(text)


def visible_blocks(page):
    parser = _VisibleText()
    parser.feed(page)
    return parser.blocks


def reference(client, lang):
    response = client.get(f"/{lang}/api")
    assert response.status_code == 200
    return response.get_data(as_text=True)


HEADINGS = {
    "vi": ["Tài liệu API", "Các điểm truy cập", "Tham số trong chuỗi truy vấn và đường dẫn"],
    "ja": ["APIリファレンス", "エンドポイント", "クエリとパスのパラメーター", "エラー応答"],
}


@pytest.mark.parametrize("lang", ["vi", "ja"])
def test_the_reference_page_has_no_english_sentence_left(app, client, lang):
    english = set(visible_blocks(reference(client, "en")))
    page = reference(client, lang)
    blocks = visible_blocks(page)
    assert len(blocks) > 60  # headings, summaries, meanings, error codes, captions
    # Every visible text block differs from every block of the English page: nothing is left
    # untranslated (code and paths are in <code>, and nothing needs lang="en").
    assert [block for block in blocks if block in english] == []
    assert 'lang="en"' not in page.split("<main", 1)[1]
    for heading in HEADINGS[lang]:
        assert heading in blocks
    # The error codes are shown as they are; their meanings and the example in the language.
    assert all(f"<code>{code}</code>" in page for code in ERROR_CODES)
    assert _expected(app, lang, ERRORS[422][1]) in page
    assert _expected(app, lang, ERRORS[429][1]) in page


def test_the_english_reference_page_lists_every_operation_and_parameter(client):
    page = reference(client, "en")
    assert "Delete an entry (a tombstone in the changes feed)" in page
    assert "<code>exclude_origin</code>" in page and "<code>/api/v1/validate</code>" in page
    assert 'lang="en"' not in page.split("<main", 1)[1]  # every summary has its translation
    assert "&#34;reason&#34;: &#34;invalid_input&#34;" in page


def _expected(app, lang, text, **variables):
    with app.test_request_context("/"), force_locale(lang):
        # A msgid is translated here; a lazy string of the hub's, when it is read.
        return gettext(text, **variables) if isinstance(text, str) else str(text)


def _ask(client, method, url, lang, how, **kwargs):
    """One request in ``lang``, named by ``?lang=`` (with Accept-Language saying another
    language, which it beats) or by Accept-Language alone."""
    headers = dict(kwargs.pop("headers", {}))
    if how == "query":
        url += ("&" if "?" in url else "?") + f"lang={lang}"
        headers["Accept-Language"] = "ja" if lang != "ja" else "vi"
    else:
        headers["Accept-Language"] = f"{lang},en;q=0.1"
    return client.open(url, method=method, headers=headers, **kwargs)


def _check(app, response, status, code, lang, message=None, **variables):
    assert response.status_code == status
    assert response.is_json
    error = response.get_json()["error"]
    assert (error["code"], error["reason"]) == (status, code)
    expected = message if message is not None else ERRORS[status][1]
    assert error["message"] == _expected(app, lang, expected, **variables)
    if lang != "en":  # translated, not left in English
        assert error["message"] != _expected(app, "en", expected, **variables)
    assert "Accept-Language" in response.vary
    return error


@pytest.mark.parametrize("how", ["header", "query"])
@pytest.mark.parametrize("lang", LANGS)
def test_errors_come_in_the_language_asked_for_with_a_stable_code(
    app, client, tokens, monkeypatch, lang, how
):
    # 401: no token, and a token that is not one.
    _check(
        app, _ask(client, "POST", "/api/v1/ingest", lang, how, json={}), 401, "unauthorized", lang
    )
    bad = {"Authorization": "Bearer hubt_nothing"}
    response = _ask(client, "POST", "/api/v1/ingest", lang, how, json={}, headers=bad)
    _check(app, response, 401, "unauthorized", lang)
    # 404: no such country, and no such address under /api.
    _check(app, _ask(client, "GET", "/api/v1/countries/ZZ", lang, how), 404, "not_found", lang)
    _check(app, _ask(client, "GET", "/api/v1/nothing", lang, how), 404, "not_found", lang)
    # 405, with its Allow header.
    response = _ask(client, "DELETE", "/api/v1/changes", lang, how)
    _check(app, response, 405, "method_not_allowed", lang)
    assert "GET" in response.headers["Allow"]
    # 422: the reasons per field in the same language as the message.
    error = _check(
        app, _ask(client, "GET", "/api/v1/products?limit=0", lang, how), 422, "invalid_input", lang
    )
    reason = _expected(app, lang, "A whole number from %(low)s to %(high)s.", low=1, high=200)
    assert error["details"] == {"limit": [reason]}
    # marshmallow's reasons (translate_errors) follow the same choice.
    record = {"source_language": "en", "translations": {}, "product_group": "food", "colour": 1}
    response = _ask(
        client, "POST", "/api/v1/products", lang, how, json=record, headers=tokens["VN"]
    )
    error = _check(app, response, 422, "invalid_input", lang)
    assert error["details"]["colour"] == [_expected(app, lang, "Unknown field.")]
    assert (error["details"]["colour"] == ["Unknown field."]) == (lang == "en")
    # 413: the validate endpoint's own limit, its message saying the size.
    monkeypatch.setitem(app.config, "VALIDATE_MAX_BYTES", 1000)
    response = _ask(
        client, "POST", "/api/v1/validate", lang, how, data=b"x" * 1001, headers=tokens["VN"]
    )
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert (error["code"], error["reason"]) == (413, "too_large")
    with app.test_request_context("/"), force_locale(lang):
        expected = gettext("The document is larger than %(max)s bytes.", max=format_number(1000))
    assert error["message"] == expected and "Accept-Language" in response.vary
    assert (error["message"] == "The document is larger than 1,000 bytes.") == (lang == "en")


@pytest.mark.parametrize("how", ["header", "query"])
@pytest.mark.parametrize("lang", LANGS)
def test_the_rate_limit_answers_in_the_language_asked_for(app, client, monkeypatch, lang, how):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "1 per minute")
    assert _ask(client, "GET", "/api/v1/countries?status=member", lang, how).status_code == 200
    response = _ask(client, "GET", "/api/v1/countries?status=applicant", lang, how)
    _check(app, response, 429, "rate_limited", lang)
    assert int(response.headers["Retry-After"]) > 0


def test_a_paused_push_has_its_own_code(app, client, tokens):
    client.post("/api/v1/ingest", json={"records": []}, headers=tokens["TH"])
    with app.test_request_context("/"):
        source = db.session.scalar(select(PartnerSource).where(PartnerSource.kind == "push"))
        services.set_enabled(source.id, False)
    response = client.post("/api/v1/ingest?lang=ja", json={"records": []}, headers=tokens["TH"])
    _check(app, response, 409, "pushes_paused", "ja", SPECIFIC["pushes_paused"][1])


def test_without_a_language_asked_for_errors_are_in_english(app, client):
    client.set_cookie("hub_lang", "vi")  # a browser's choice of pages, not of the API
    for headers in ({}, {"Accept-Language": "de-DE,fr;q=0.8"}):
        response = client.get("/api/v1/countries/ZZ?lang=all", headers=headers)
        _check(app, response, 404, "not_found", "en")
    # A lang= the API does not speak is refused, in the language of Accept-Language.
    response = client.get("/api/v1/products?lang=fr", headers={"Accept-Language": "vi"})
    error = _check(app, response, 422, "invalid_input", "vi")
    assert error["details"] == {"lang": [_expected(app, "vi", "Use vi, en, ja or all.")]}


def test_every_code_is_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "exchange-format.md").read_text()
    for code in ERROR_CODES:
        assert f"`{code}`" in doc
