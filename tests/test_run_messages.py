"""What a source's owner is told about a run, in the reader's language: CSV headers and values in
vi and ja, a fetch failure said in vi and ja, and runs recorded before messages had codes."""

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.publishing.models import Entry
from hub.sync import pipeline, services
from hub.sync.models import SyncRun
from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("loopback_allowed")

VI = (
    "Mã,Tên sản phẩm,Nhóm sản phẩm,Hệ thống phân hạng,Sao,Ngày phân hạng\n"
    "P1,Chè Tân Cương,Đồ uống,ocop,4 sao,2024-05-01\n"
    "P2,Mật ong,Thực phẩm,OCOP,★★★,2024-06-01\n"
)
JA = (
    "ID,産品名,産品分野,格付け制度,つ星,格付け日\n"
    "J1,大分の柚子こしょう,食品,ocop,4つ星,2024-05-01\n"
)


def _source(app, url):
    with app.test_request_context("/"):
        return services.add_source("VN", "csv", url, {"defaults": {"rating_scheme": "ocop"}}).id


def _run(app, source_id):
    with app.test_request_context("/"):
        run = pipeline.run_source(source_id)
        return run.status, run.rejected, run.error


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (VI, {"P1": ("beverages", 4, "vi"), "P2": ("food", 3, "vi")}),
        (JA, {"J1": ("food", 4, "ja")}),
    ],
)
def test_a_csv_with_headers_and_values_in_vietnamese_or_japanese_syncs(
    app, httpserver, text, expected
):
    httpserver.expect_request("/p.csv").respond_with_data(text.encode())
    source = _source(app, httpserver.url_for("/p.csv"))
    assert _run(app, source) == ("ok", 0, None)
    with app.app_context():
        rows = db.session.scalars(select(Entry).where(Entry.source_id == source))
        got = {e.partner_id: (e.product_group, e.stars, e.source_language) for e in rows}
    assert got == expected


def test_a_fetch_failure_is_said_in_the_readers_language(app, client, httpserver):
    httpserver.expect_request("/p.csv").respond_with_data("gone", status=404)
    source = _source(app, httpserver.url_for("/p.csv"))
    status, _rejected, error = _run(app, source)
    assert status == "failed" and "the server answered 404" in error  # English, for logs
    sign_in(client, "admin@hub.test")
    said = {"vi": "Máy chủ trả lời 404", "ja": "サーバーが404を返しました"}
    for language, words in said.items():
        page = client.get(f"/{language}/admin/sources/{source}").get_data(as_text=True)
        assert words in page
        assert "the server answered" not in page


def test_a_missing_column_is_named_in_the_readers_language_on_the_validate_api(app, client, tokens):
    response = client.post(
        "/api/v1/validate",
        query_string={"kind": "csv", "lang": "ja"},
        data="Mã,Ghi chú\nP1,x\n".encode(),
        headers={**tokens["VN"], "Content-Type": "text/csv"},
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    message = " ".join(response.get_json()["error"]["details"]["document"])
    assert "「産品名」" in message and "has no column" not in message


def test_a_run_recorded_before_messages_had_codes_shows_its_english_text(app, client):
    with app.test_request_context("/"):
        source = services.add_source("VN", "csv", "https://x.example/p.csv", {}).id
        db.session.add(
            SyncRun(source_id=source, status="failed", error="the server answered 500 (old)")
        )
        db.session.commit()
    sign_in(client, "admin@hub.test")
    page = client.get(f"/ja/admin/sources/{source}").get_data(as_text=True)
    assert '<span lang="en">the server answered 500 (old)</span>' in page
