"""The seeded registry: 43 countries, 12 founding members, sources on every row, idempotence."""

import json

import pytest
from babel import Locale
from marshmallow import ValidationError
from sqlalchemy import func, select

from hub.accounts.models import User
from hub.extensions import db
from hub.registry.models import Country, MembershipEvent, Programme
from hub.registry.seeding import SEED_FILE, load_seed, seed_registry
from hub.registry.services import change_membership


def _snapshot():
    rows = []
    for model in (Country, Programme, MembershipEvent):
        for obj in db.session.scalars(select(model)):
            rows.append({c.key: getattr(obj, c.key) for c in model.__mapper__.column_attrs})
    return sorted(rows, key=repr)


def test_the_network_has_43_countries_and_12_members(app, ctx):
    assert db.session.scalar(select(func.count()).select_from(Country)) == 43
    members = db.session.scalars(select(Country).where(Country.membership_status == "member"))
    members = list(members)
    assert len(members) == 12
    assert all(c.founding_member and c.status_since_on.isoformat() == "2019-04-17" for c in members)
    assert db.session.get(Country, "VN").membership_status == "member"


def test_every_country_has_a_programme_a_history_and_a_cited_source(app, ctx):
    for country in db.session.scalars(select(Country)):
        assert country.programmes, country.code
        assert country.sources and all(s["title"] for s in country.sources), country.code
        assert len(country.membership_events) == 1
        assert country.membership_events[0].status == country.membership_status


def test_every_seeded_country_is_named_by_cldr_in_each_language(app, ctx):
    for code in db.session.scalars(select(Country.code)):
        for lang in ("vi", "en", "ja"):
            assert code in Locale.parse(lang).territories, (code, lang)


def test_seed_file_does_not_claim_more_certainty_than_it_has():
    raw = json.loads(SEED_FILE.read_text(encoding="utf-8"))
    data = load_seed()
    assert raw["network"]["founding_members_verified"] is False
    founding = [c for c in data["countries"] if c["founding_member"]]
    assert len(founding) == 12
    # No source names the founding members: none of them may say it is confirmed.
    assert not any(c["founding_member_verified"] for c in founding)
    for country in data["countries"]:
        for programme in country["programmes"]:
            if not programme["verified"]:
                assert programme["note"] or country["note"], (country["code"], programme["name"])
        # A country is confirmed only as far as one of its programmes is.
        if not any(p["verified"] for p in country["programmes"]):
            assert not country["verified"], country["code"]
        if not country["verified"]:
            assert country["note"], country["code"]


def test_seeding_twice_changes_nothing(app, ctx):
    before = _snapshot()
    counts = seed_registry()
    assert counts == {
        "countries_created": 0,
        "countries_updated": 0,
        "programmes_created": 0,
        "programmes_updated": 0,
        "texts_written": 0,
    }
    assert _snapshot() == before


def test_seeding_again_keeps_membership_changes(app, ctx):
    change_membership("MW", "applicant", "2025-03-01", "Application received")
    seed_registry()
    malawi = db.session.get(Country, "MW")
    assert malawi.membership_status == "applicant"
    assert [e.status for e in malawi.membership_events] == ["applicant", "prospective"]


def test_seed_command_fills_an_empty_registry_and_then_leaves_it(app, runner):
    with app.app_context():
        db.session.execute(User.__table__.delete())
        db.session.execute(Country.__table__.delete())
        db.session.commit()
    result = runner.invoke(args=["hub", "seed", "--if-empty"], env={"LANG": "C"})
    assert result.exit_code == 0, result.output
    assert "43 countries created" in result.output
    result = runner.invoke(args=["hub", "seed", "--if-empty"], env={"LANG": "C"})
    assert "not seeding" in result.output
    result = runner.invoke(args=["hub", "seed"], env={"LANG": "ja_JP.UTF-8"})
    assert "国・地域: 新規 0、更新 0" in result.output


def test_a_malformed_seed_file_is_refused_whole(app, ctx, tmp_path):
    data = json.loads(SEED_FILE.read_text(encoding="utf-8"))
    data["countries"][0]["programmes"].append(dict(data["countries"][0]["programmes"][0]))
    data["countries"][1]["sources"].append("no-such-source")
    bad = tmp_path / "countries.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    before = _snapshot()
    with pytest.raises(ValidationError):
        seed_registry(bad)
    assert _snapshot() == before
