"""The sample content: added by the seed, labelled on every page, read-only, removable."""

from sqlalchemy import event, func, select

from hub.extensions import db
from hub.history.models import Revision
from hub.publishing.demo import remove_demo, seed_demo
from hub.publishing.models import Entry
from tests.support import sign_in


def count(**where):
    stmt = select(func.count()).select_from(Entry).filter_by(origin="sample", **where)
    return db.session.scalar(stmt)


def test_the_seed_adds_labelled_samples_once(app, runner, client):
    result = runner.invoke(args=["hub", "seed"], env={"LANG": "C"})
    assert result.exit_code == 0, result.output
    assert "Sample entries added: 11." in result.output
    assert (
        "Sample entries added: 0." in runner.invoke(args=["hub", "seed"], env={"LANG": "C"}).output
    )
    with app.app_context():
        assert count() == 11
        kinds = db.session.scalars(select(Entry.kind).where(Entry.origin == "sample")).all()
        assert sorted(set(kinds)) == ["experience", "fair", "policy", "product"]
    listing = client.get("/en/policies").get_data(as_text=True)
    assert (
        "Decision 490/QĐ-TTg approving the One Commune One Product Programme 2018–2020" in listing
    )
    assert '<span class="badge-sample">Sample</span>' in listing
    with app.app_context():
        policy_id = db.session.scalar(
            select(Entry.id).where(Entry.partner_id == "demo:vn-decision-490-2018")
        )
    page = client.get(f"/ja/policies/{policy_id}").get_data(as_text=True)
    assert "<h1>2018〜2020年一村一品プログラムを承認する決定490/QĐ-TTg</h1>" in page
    assert "サンプル" in page
    fairs = client.get("/en/fairs?when=past").get_data(as_text=True)
    assert "International OCOP fair at the Global OCOP Network forum" in fairs
    assert "April 2019" in fairs


def test_samples_are_read_only_for_coordinators(app, client):
    with app.test_request_context("/"):
        seed_demo()
        sample_id = db.session.scalar(
            select(Entry.id).where(Entry.partner_id == "demo:vn-thai-nguyen-tea")
        )
    sign_in(client, "coordinator.vn@hub.test")
    assert client.get(f"/en/manage/entries/{sample_id}").status_code == 404


def test_the_seed_can_leave_the_samples_out_and_remove_them(app, runner):
    result = runner.invoke(args=["hub", "seed", "--no-demo"], env={"LANG": "C"})
    assert "Sample entries" not in result.output
    with app.test_request_context("/"):
        assert count() == 0
        seed_demo()
        statements = []
        listen = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            assert remove_demo() == 11
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
        assert count(deleted_dt=None) == 0
        # Each keeps its "delete" revision, as every deletion does, written in one statement.
        deletions = db.session.scalars(
            select(Revision).where(Revision.subject == "entry", Revision.action == "delete")
        ).all()
        samples = db.session.scalars(select(Entry.id).where(Entry.origin == "sample")).all()
        assert sorted(int(r.subject_id) for r in deletions) == sorted(samples)
        assert len({r.created_dt for r in deletions}) == 1
        assert sum("INSERT INTO revision" in s for s in statements) == 1


def test_the_sample_products_show_buyers_where_to_buy_them(app, client):
    with app.test_request_context("/"):
        seed_demo()
        ids = dict(
            db.session.execute(
                select(Entry.partner_id, Entry.id).where(Entry.kind == "product")
            ).all()
        )
    squid = client.get(f"/en/products/{ids['demo:vn-ha-long-squid-cake']}").get_data(as_text=True)
    for heading in ("Where to buy", "Certificates", "Contact the producer"):
        assert f"<h2>{heading}</h2>" in squid
    assert "mailto:lienhe@chamuc-halong.example" in squid
    assert 'href="https://shop.chamuc-halong.example/"' in squid
    # The other producers keep their contact details private: none were given.
    tea = client.get(f"/vi/products/{ids['demo:vn-thai-nguyen-tea']}").get_data(as_text=True)
    assert "<h2>Nơi mua</h2>" in tea
    assert "mailto:" not in tea
    # Two producers are on a map; the tea's online shop is named in each language.
    assert 'class="producer-map"' in squid and 'class="producer-map"' in tea
    assert "openstreetmap.org/?mlat=21.5925&amp;mlon=105.8442" in tea
    assert ">Cửa hàng trực tuyến (mẫu)</a>" in tea
    tea_ja = client.get(f"/ja/products/{ids['demo:vn-thai-nguyen-tea']}").get_data(as_text=True)
    assert ">オンラインショップ（見本）</a>" in tea_ja
    khon_kaen = [key for key in ids if key.startswith("demo:th-")]
    assert khon_kaen and all(
        "producer-map" not in client.get(f"/en/products/{ids[key]}").get_data(as_text=True)
        for key in khon_kaen
    )
