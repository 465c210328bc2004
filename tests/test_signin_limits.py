"""Sign-in limits: counted in the database, so shared by every process; per address and per
(account, address), so an attacker's address is refused while the owner's is not; and an
account slowed down progressively, never locked."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hub.accounts import services
from hub.accounts.models import AuditEvent
from hub.db import upgrade
from hub.extensions import db
from hub.registry.seeding import seed_registry
from tests.support import PASSWORD, fresh_database, make_test_app, sign_in

VN = "coordinator.vn@hub.test"
START = datetime(2026, 3, 10, 9, 15, tzinfo=UTC)


def _from(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_two_processes_on_one_database_count_the_same_failures(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        apps = [make_test_app(url, LOGIN_RATE_LIMIT="3 per minute") for _ in range(2)]
        with apps[0].app_context():
            upgrade(db.engine)
            seed_registry()
            services.create_user(VN, PASSWORD, "coordinator", "VN")
        try:
            statuses = []
            for attempt in range(4):
                client = _from(apps[attempt % 2], "198.51.100.7")
                statuses.append(sign_in(client, VN, "wrong password").status_code)
            assert statuses == [422, 422, 422, 429]
        finally:
            for app in apps:
                db.binding(app).engine.dispose()


@pytest.mark.dates
def test_the_owner_gets_in_from_another_address_while_the_attacker_is_refused(app, time_machine):
    time_machine.move_to(START, tick=False)
    attacker = _from(app, "203.0.113.9")
    for _ in range(10):
        assert sign_in(attacker, VN, "guess").status_code == 422
    response = sign_in(attacker, VN, PASSWORD, lang="vi")
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert "Quá nhiều lần thử" in response.get_data(as_text=True)
    owner = _from(app, "192.0.2.44")
    assert sign_in(owner, VN, PASSWORD).status_code == 302
    assert owner.get("/en/manage/").status_code == 200


@pytest.mark.dates
def test_an_address_is_limited_across_accounts(app, time_machine):
    time_machine.move_to(START, tick=False)
    attacker = _from(app, "203.0.113.9")
    for number in range(10):
        assert sign_in(attacker, f"guess{number}@hub.test", "guess").status_code == 422
    assert sign_in(attacker, "coordinator.th@hub.test", PASSWORD).status_code == 429
    assert sign_in(_from(app, "192.0.2.1"), "coordinator.th@hub.test").status_code == 302


@pytest.mark.dates
def test_an_account_slows_down_progressively_instead_of_locking(app, time_machine):
    time_machine.move_to(START, tick=False)
    for number in range(10):  # ten addresses, one guess each: no address reaches its limit
        assert sign_in(_from(app, f"203.0.113.{number}"), VN, "guess").status_code == 422
    waits = []
    moment = START
    for number in range(10, 15):
        client = _from(app, f"203.0.113.{number}")
        assert sign_in(client, VN, "guess").status_code == 422
        response = sign_in(client, VN, "guess")
        assert response.status_code == 429
        waits.append(int(response.headers["Retry-After"]))
        moment += timedelta(seconds=waits[-1])
        time_machine.move_to(moment, tick=False)
    assert waits == [2, 4, 8, 16, 32]
    # Waiting is enough: the owner, from an address of their own, gets in.
    assert sign_in(_from(app, "192.0.2.44"), VN, PASSWORD).status_code == 302


@pytest.mark.dates
def test_the_slow_down_has_a_ceiling(app, time_machine):
    moment = START
    time_machine.move_to(moment, tick=False)
    for number in range(20):
        client = _from(app, f"203.0.113.{number}")
        response = sign_in(client, VN, "guess")
        if response.status_code == 429:
            moment += timedelta(seconds=int(response.headers["Retry-After"]))
            time_machine.move_to(moment, tick=False)
            response = sign_in(client, VN, "guess")
        assert response.status_code == 422
    response = sign_in(_from(app, "192.0.2.44"), VN, PASSWORD)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) == 60
    time_machine.move_to(moment + timedelta(seconds=60), tick=False)
    assert sign_in(_from(app, "192.0.2.44"), VN, PASSWORD).status_code == 302


@pytest.mark.dates
def test_limits_reached_are_in_the_audit_log_once(app, time_machine):
    time_machine.move_to(START, tick=False)
    attacker = _from(app, "203.0.113.9")
    for _ in range(12):
        sign_in(attacker, VN, "guess")
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.sign_in_limited")
        ).all()
        assert len(events) == 1
        assert events[0].actor.email == VN
        assert events[0].details == {
            "email": VN,
            "address": "203.0.113.9",
            "limits": ["account-address", "address"],
        }
