"""A refused record's reasons in the reader's language, its fields named as the owner wrote them:
a CSV with Vietnamese headers and one bad row, read on the source's page in vi and ja, on the
validate API in ja, and the command line's summary in the operator's language."""

import re

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from hub.extensions import db
from hub.publishing.models import Entry
from hub.sync import messages, pipeline, services
from hub.sync.models import RejectedRecord, SyncRun
from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("loopback_allowed")

VI = (
    "Mã,Tên sản phẩm,Nhóm sản phẩm,Hệ thống phân hạng,Sao,Ngày phân hạng\n"
    "P1,Chè Tân Cương,Đồ uống,ocop,4 sao,2024-05-01\n"
    "P2,Mật ong,Thực phẩm,OCOP,★★★,2024-06-01\n"
    "P3,Bánh gai,Đồ chơi,ocop,7 sao,2024-06-01\n"
)
SAID = {
    "vi": {
        "Nhóm sản phẩm": "«Nhóm sản phẩm»: “Đồ chơi” không nằm trong các lựa chọn. <code>Đồ chơi",
        "Sao": "«Sao»: Kết quả phân hạng có từ 1 đến 5 sao. <code>7</code>",
    },
    "ja": {
        "Nhóm sản phẩm": "「Nhóm sản phẩm」: 「Đồ chơi」は選択肢にありません。 <code>Đồ chơi",
        "Sao": "「Sao」: 格付けは1〜5つ星です。 <code>7</code>",
    },
}
ENGLISH = ("is not one of the options", "A rating has", "product_group", "stars")


def _source(app, url):
    with app.test_request_context("/"):
        return services.add_source("VN", "csv", url, {}).id


def _synced(app, httpserver):
    httpserver.expect_request("/p.csv").respond_with_data(VI.encode())
    source = _source(app, httpserver.url_for("/p.csv"))
    with app.test_request_context("/"):
        run = pipeline.run_source(source)
        assert (run.status, run.rejected) == ("partial", 1)
    return source


def _refused(page):
    found = re.search(r'<table class="rejected">.*?</table>', page, re.S)
    assert found, "no refused records on the page"
    return found.group(0)


def test_the_good_rows_land_and_the_refusal_keeps_the_owners_columns(app, httpserver):
    source = _synced(app, httpserver)
    with app.app_context():
        got = db.session.scalars(select(Entry.partner_id).where(Entry.source_id == source))
        assert sorted(got) == ["P1", "P2"]
        refused = db.session.scalars(
            select(RejectedRecord).where(RejectedRecord.source_id == source)
        ).one()
    assert refused.partner_id == "P3"
    assert refused.reasons["columns"]["product_group"] == "Nhóm sản phẩm"
    assert refused.reasons["columns"]["stars"] == "Sao"
    assert set(refused.reasons) == {"vi", "en", "ja", "columns"}


@pytest.mark.parametrize("language", ["vi", "ja"])
def test_the_refusal_is_said_in_the_readers_language_with_the_owners_column(
    app, client, httpserver, language
):
    source = _synced(app, httpserver)
    sign_in(client, "admin@hub.test")
    page = client.get(f"/{language}/admin/sources/{source}").get_data(as_text=True)
    table = _refused(page)
    for said in SAID[language].values():
        assert said in table, table
    shown = re.sub(r"<[^>]+>", " ", table)
    for english in ENGLISH:
        assert english not in shown, shown


def test_the_try_it_button_names_the_owners_columns(app, client, httpserver):
    httpserver.expect_request("/p.csv").respond_with_data(VI.encode())
    source = _source(app, httpserver.url_for("/p.csv"))
    sign_in(client, "admin@hub.test")
    page = client.get(f"/ja/admin/sources/{source}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(f"/ja/admin/sources/{source}/try", data={"csrf_token": token})
    assert response.status_code == 200
    table = _refused(response.get_data(as_text=True))
    assert "「Sao」: 格付けは1〜5つ星です。" in table
    assert "「Nhóm sản phẩm」: 「Đồ chơi」は選択肢にありません。" in table
    shown = re.sub(r"<[^>]+>", " ", table)
    for english in ENGLISH:
        assert english not in shown, shown


def test_the_validate_api_says_it_in_japanese_beside_the_stable_field(app, client, tokens):
    response = client.post(
        "/api/v1/validate",
        query_string={"kind": "csv", "lang": "ja"},
        data=VI.encode(),
        headers={**tokens["VN"], "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    report = response.get_json()
    assert report["counts"]["created"] == 2 and report["counts"]["rejected"] == 1
    (refused,) = report["rejected"]
    assert refused["id"] == "P3"
    assert refused["reasons"] == {
        "product_group": ["「Đồ chơi」は選択肢にありません。"],
        "stars": ["格付けは1〜5つ星です。"],
    }
    assert refused["columns"]["stars"] == "Sao"
    assert refused["columns"]["product_group"] == "Nhóm sản phẩm"


def test_a_refusal_without_columns_names_the_field_by_its_label(app):
    reasons = {
        "stars": ["x"],
        "translations.ja.title": ["y"],
        "id": ["z"],
        "start_date": ["v"],
        "outcomes-1": ["u"],
        "mystery": ["w"],
    }
    record = {"stars": 7, "translations": {"ja": {"title": "柚子"}}}
    with app.test_request_context("/"), force_locale("vi"):
        lines = {r.field: r for r in messages.reason_lines(reasons, None, record)}
    assert (lines["stars"].name, lines["stars"].column, lines["stars"].sent) == ("Số sao", False, 7)
    assert lines["translations.ja.title"].name == "Tiêu đề (Tiếng Nhật)"
    assert lines["translations.ja.title"].sent == "柚子"
    assert lines["id"].name == "ID"
    assert lines["start_date"].name == "Ngày đầu"
    assert lines["outcomes-1"].name == "Kết quả"
    assert lines["mystery"].name is None


def test_a_row_refused_before_columns_were_kept_still_shows(app, client):
    with app.test_request_context("/"):
        source = services.add_source("VN", "csv", "https://x.example/p.csv", {}).id
        run = SyncRun(source_id=source, status="partial", rejected=1)
        db.session.add(run)
        db.session.flush()
        db.session.add(
            RejectedRecord(
                run_id=run.id,
                source_id=source,
                partner_id="OLD",
                record={"stars": 9},
                reasons={"vi": {"stars": ["Cũ."]}, "en": {"stars": ["Old."]}},
            )
        )
        db.session.commit()
    sign_in(client, "admin@hub.test")
    table = _refused(client.get(f"/ja/admin/sources/{source}").get_data(as_text=True))
    assert '格付け（つ星）: <span lang="en">Old.</span> <code>9</code>' in table
    table = _refused(client.get(f"/vi/admin/sources/{source}").get_data(as_text=True))
    assert "Cũ. <code>9</code>" in table


def test_the_sync_command_speaks_the_operators_language(app, runner, httpserver):
    httpserver.expect_request("/p.csv").respond_with_data(VI.encode())
    source = _source(app, httpserver.url_for("/p.csv"))
    result = runner.invoke(args=["hub", "sync", str(source)], env={"LANG": "ja_JP.UTF-8"})
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    with app.test_request_context("/"), force_locale("ja"):
        status = services.status_label("partial")
    assert "取得" in lines[-2] and "不採用" in lines[-2] and "Fetched" not in lines[-2]
    assert lines[-1].split() == [str(source), status, "3", "2", "0", "0", "0", "1", "0"]
