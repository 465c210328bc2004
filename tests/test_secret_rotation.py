"""Changing HUB_SECRET_KEY with the old one in HUB_SECRET_KEY_PREVIOUS for a while: sessions and
open forms signed with it still count, and a session is signed again with the new key."""

import pytest

from hub import create_app
from hub.config import ConfigError
from tests.support import csrf_token, sign_in

VN = "coordinator.vn@hub.test"
NEW_KEY = "a-new-test-only-secret-key-" + "7c41e0d9b2a84f36a5e1"


def session_cookie(app, client):
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"])


def signed_in(client):
    return client.get("/en/account").status_code == 200


@pytest.fixture
def rotate(app, monkeypatch):
    """Make NEW_KEY the secret key, keeping the old one as a previous key or not."""
    old = app.config["SECRET_KEY"]

    def rotate(keep_previous):
        monkeypatch.setitem(app.config, "SECRET_KEY", NEW_KEY)
        monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [old] if keep_previous else [])
        return old

    return rotate


def test_a_session_signed_with_the_previous_key_still_counts(app, client, rotate):
    sign_in(client, VN)
    rotate(keep_previous=True)
    assert signed_in(client)


def test_without_the_previous_key_the_session_is_gone(app, client, rotate):
    sign_in(client, VN)
    rotate(keep_previous=False)
    assert not signed_in(client)


def test_the_session_is_signed_again_with_the_new_key(app, client, rotate):
    sign_in(client, VN)
    assert signed_in(client)  # and the welcome message shown
    old_cookie = session_cookie(app, client).value
    rotate(keep_previous=True)
    assert "Set-Cookie" in client.get("/en/").headers  # a page that leaves the session alone
    assert session_cookie(app, client).value != old_cookie
    # Whoever came back while both keys were set stays signed in once the old one goes …
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert signed_in(client)
    # … but a cookie still signed with the old key alone no longer counts.
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], old_cookie)
    assert not signed_in(client)


def test_a_session_signed_with_the_current_key_is_not_rewritten(app, client, rotate):
    rotate(keep_previous=True)
    sign_in(client, VN)
    assert signed_in(client)  # and the welcome message shown
    response = client.get("/en/")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert signed_in(client)


@pytest.mark.parametrize(("keep_previous", "status"), [(True, 302), (False, 400)])
def test_a_form_opened_before_the_change(app, client, rotate, keep_previous, status):
    sign_in(client, VN)
    token = csrf_token(client, "/en/account")
    rotate(keep_previous)
    response = client.post("/en/logout", data={"csrf_token": token})
    assert response.status_code == status


def test_a_forged_form_token_is_refused_with_a_previous_key_set(app, client, rotate):
    sign_in(client, VN)
    rotate(keep_previous=True)
    response = client.post("/en/logout", data={"csrf_token": "forged.token.value"})
    assert response.status_code == 400
    assert signed_in(client)


GOOD_KEY = "k3Y-" + "9f2c6d1e8a7b4c3d2e1f0a9b8c7d6e5f"


@pytest.fixture
def environment(monkeypatch, tmp_path):
    for name in ("HUB_PROXY_COUNT", "HUB_BASE_URL", "HUB_TRUSTED_HOSTS", "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path}/keys.sqlite3")
    monkeypatch.setenv("HUB_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("HUB_SECRET_KEY", GOOD_KEY)
    return monkeypatch


def test_previous_keys_come_from_the_environment(environment):
    environment.setenv("HUB_SECRET_KEY_PREVIOUS", f" {NEW_KEY} , {GOOD_KEY[::-1]},")
    assert create_app().config["SECRET_KEY_FALLBACKS"] == [NEW_KEY, GOOD_KEY[::-1]]
    environment.delenv("HUB_SECRET_KEY_PREVIOUS")
    assert create_app().config["SECRET_KEY_FALLBACKS"] == []


@pytest.mark.parametrize("previous", ["secret", "short-key-0123456789", "a" * 40])
def test_a_weak_previous_key_stops_the_app(environment, previous):
    environment.setenv("HUB_SECRET_KEY_PREVIOUS", f"{NEW_KEY},{previous}")
    with pytest.raises(ConfigError, match="HUB_SECRET_KEY_PREVIOUS holds a key"):
        create_app()
