"""A source's settings refused by its connector, said in the owner's language: the connectors
name what is wrong with a code and its facts (``connectors.base.SettingsError``), and
``hub.sync.messages`` puts it into words, on the source form, on the validate API (beside a
stable code) and in a run's account; malformed JSON is placed by line and column."""

import json

import pytest
from flask_babel import force_locale

from connectors.base import SettingsError, get_connector
from hub.sync import messages
from tests.support import csrf_token, sign_in

GOOD = {"language": "vi", "mapping": {"partner_id": "Mã", "title": "Tên", "product_group": "Nhóm"}}
BAD = {
    "unknown_field": {**GOOD, "mapping": {**GOOD["mapping"], "colour": "Màu"}},
    "delimiter": {**GOOD, "delimiter": ";;"},
    "values": {**GOOD, "values": {"product_group": {"Đồ uống": 3}}},
}
MALFORMED = '{"language": "vi",\n "delimiter" ";"}'  # line 2, column 14
SAID = {
    "vi": {
        "unknown_field": "Phần ánh xạ nêu trường mà cổng không có: “colour”",
        "delimiter": "Thiết lập “delimiter” phải là đúng một ký tự",
        "values": "phải ánh xạ văn bản tới văn bản",
        "malformed": "Phần thiết lập không phải JSON hợp lệ: có lỗi ở dòng 2, cột 14.",
    },
    "ja": {
        "unknown_field": "対応付けにハブにない項目があります：「colour」",
        "delimiter": "設定「delimiter」は1文字にしてください",
        "values": "の「values」の表は、テキストをテキストに対応付けてください",
        "malformed": "設定が正しいJSONではありません。2行目、14文字目に誤りがあります。",
    },
}
CODES = {
    "unknown_field": "csv_mapping_unknown",
    "delimiter": "csv_delimiter",
    "values": "csv_values_texts",
    "malformed": "invalid_json",
}
ENGLISH = ("unknown fields", "must be one character", "must map texts", "Expecting", "delimiter")


def _settings(case):
    return MALFORMED if case == "malformed" else json.dumps(BAD[case], ensure_ascii=False)


def _english_left(text):
    # The setting's own JSON key ("delimiter") may stand in the sentence, in its quotes.
    for quoted in ("“delimiter”", "「delimiter」"):
        text = text.replace(quoted, "")
    return [english for english in ENGLISH if english in text]


@pytest.mark.parametrize("language", ["vi", "ja"])
@pytest.mark.parametrize("case", ["unknown_field", "delimiter", "values", "malformed"])
def test_the_source_form_says_why_in_the_owners_language(app, client, language, case):
    sign_in(client, "admin@hub.test")
    form = f"/{language}/admin/sources/"
    response = client.post(
        form,
        data={
            "csrf_token": csrf_token(client, form),
            "country": "VN",
            "kind": "csv",
            "url": "https://partner.example/p.csv",
            "every": "60",
            "settings": _settings(case),
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    said = next(line for line in page.splitlines() if SAID[language][case] in line)
    assert not _english_left(said), said


@pytest.mark.parametrize(("language", "how"), [("vi", "header"), ("ja", "query")])
@pytest.mark.parametrize("case", ["unknown_field", "delimiter", "values", "malformed"])
def test_the_validate_api_says_why_in_the_language_asked_with_a_stable_code(
    client, tokens, language, how, case
):
    query = {"kind": "csv", "settings": _settings(case)}
    headers = dict(tokens["VN"])
    if how == "query":
        query["lang"] = language
    else:
        headers["Accept-Language"] = language
    response = client.post("/api/v1/validate", query_string=query, data=b"", headers=headers)
    assert response.status_code == 422, response.get_data(as_text=True)
    details = response.get_json()["error"]["details"]
    assert details["settings_code"] == [CODES[case]]
    (said,) = details["settings"]
    assert SAID[language][case] in said and not _english_left(said), said


def test_every_connectors_refusal_has_words_in_every_language(app):
    """Each connector's refusals carry a code the catalogue puts into words, never English."""
    refused = [
        ("csv", {"delimiter": 5}),
        ("csv", {"mapping": ["title"], "language": "vi"}),
        ("csv", {"mapping": {"title": "Tên"}, "language": "vi"}),
        ("csv", {"mapping": GOOD["mapping"]}),
        ("csv", {"defaults": {"title": "x"}}),
        ("csv", {"mapping": {"partner_id": "Mã", "title": "Tên"}, "language": "vi"}),
        ("csv", {"values": ["3 sao"]}),
        ("csv", {"values": {"colour": {}}}),
        ("csv", {"values": {"title": {}}}),
        ("csv", {"weight": 1}),
        ("csv", {"language": "de"}),
        ("ckan", {"rows": 0}),
        ("ckan", {"fq": 3}),
        ("hub", {"country": "Vietnam"}),
        ("hub", {"country": "VN", "countries": "TH"}),
        ("hub", {"country": "VN", "max_pages": 0}),
        ("ical", {"timezone": "Mars/Olympus"}),
        ("ical", {"past_days": -1}),
        ("jsonfeed", {"collection": "fairs"}),
    ]
    for kind, settings in refused:
        with pytest.raises(SettingsError) as caught:
            get_connector(kind).validate_settings(settings)
        english = str(caught.value)
        for language in ("vi", "ja"):
            with app.test_request_context("/"), force_locale(language):
                said = messages.describe(messages.of(caught.value))
            assert said and english not in said, (kind, settings, language, said)


def test_a_run_with_refused_settings_says_why_in_the_readers_language(app):
    """A source whose settings no longer suit its connector: the run keeps the facts."""
    from hub.sync.pipeline import _said

    try:
        get_connector("csv").validate_settings({"delimiter": ";;"})
    except SettingsError as exc:
        facts = _said(exc, "csv")
    assert facts["code"] == "invalid_settings" and facts["reason"]["code"] == "csv_delimiter"
    with app.test_request_context("/"), force_locale("ja"):
        assert messages.describe(facts) == (
            "ソースの設定が正しくありません：設定「delimiter」は1文字にしてください"
        )
