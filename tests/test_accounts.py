"""Accounts: signing in and out, invitations, disabling, preferences, the audit log."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from hub.accounts import services
from hub.accounts.models import AuditEvent, Invitation, User
from hub.db import IdConverter, utcnow
from hub.extensions import db
from tests.support import PASSWORD, csrf_token, sign_in

ADMIN = "admin@hub.test"
SAMPLE_ARGS = {
    "lang": "en",
    "user_id": 1,
    "change": "disable",
    "kind": "policy",
    "entry_id": 1,
    "media_id": 1,
    "revision_id": 1,
    "text_lang": "en",
    "source_id": 1,
    "action": "pause",
    "token_id": 1,
    "invitation_id": 1,
    "collection": "policies",
    "run_id": 1,
    "decision": "keep",
    "webhook_id": 1,
}
VN = "coordinator.vn@hub.test"


def _user(app, email):
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def _count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_signing_in_and_out(client):
    response = sign_in(client, "Coordinator.VN@hub.test ")
    assert response.status_code == 302 and response.headers["Location"] == "/en/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = client.get("/en/").get_data(as_text=True)
    assert "Signed in as coordinator.vn@hub.test." in page and "Sign out" in page
    token = csrf_token(client, "/en/account")
    response = client.post("/en/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert "Sign in" in client.get("/en/").get_data(as_text=True)
    assert client.get("/en/account").status_code == 302


def test_session_cookie_is_secure_over_https(client):
    token = client.get("/en/login", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', token).group(1)
    response = client.post(
        "/en/login",
        data={"email": VN, "password": PASSWORD, "csrf_token": token},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/en/login"},  # checked by CSRF over https
    )
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en", "The e-mail address or the password is wrong, or the account is disabled."),
        ("vi", "Địa chỉ e-mail hoặc mật khẩu không đúng, hoặc tài khoản đã bị vô hiệu hoá."),
        ("ja", "メールアドレスまたはパスワードが正しくないか、アカウントが無効になっています。"),
    ],
)
def test_a_wrong_password_is_refused_in_the_page_language(client, lang, message):
    response = sign_in(client, VN, "not the password", lang=lang)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'value="coordinator.vn@hub.test"' in page  # what was typed is kept
    assert client.get(f"/{lang}/account").status_code == 302


def test_unknown_address_gets_the_same_answer(client):
    response = sign_in(client, "nobody@hub.test")
    assert response.status_code == 422
    assert "The e-mail address or the password is wrong" in response.get_data(as_text=True)


def test_a_form_without_its_csrf_token_is_refused(client):
    response = client.post("/en/login", data={"email": VN, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/en/account").status_code == 302


@pytest.mark.dates
def test_sign_in_attempts_are_rate_limited(client):
    # The clock stands still: the eleventh try falls in the same minute as the ten before it,
    # whatever the moment the test runs at.
    with time_machine.travel(datetime(2026, 3, 1, 9, 30, 10, tzinfo=UTC), tick=False):
        for _ in range(10):
            assert sign_in(client, VN, "wrong guess").status_code == 422
        response = sign_in(client, VN, PASSWORD, lang="vi")
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert "Quá nhiều lần thử" in response.get_data(as_text=True)


def test_signing_in_returns_to_the_page_asked_for_but_never_elsewhere(client):
    response = client.get("/vi/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/vi/login?next=/vi/account"
    token = csrf_token(client, "/vi/login")
    data = {"email": VN, "password": PASSWORD, "csrf_token": token}
    response = client.post("/vi/login?next=/vi/account", data=data)
    assert response.headers["Location"] == "/vi/account"
    client.post("/en/logout", data={"csrf_token": csrf_token(client, "/en/account")})
    token = csrf_token(client, "/en/login")
    data["csrf_token"] = token
    for target in (
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "/\r\nLocation: x",
        "http:/x",
    ):
        response = client.post("/en/login", query_string={"next": target}, data=data)
        assert response.headers["Location"] == "/en/", target
        client.post("/en/logout", data={"csrf_token": csrf_token(client, "/en/account")})
        data["csrf_token"] = csrf_token(client, "/en/login")


def test_preferred_language_comes_after_the_url_and_before_the_cookie(client):
    sign_in(client, VN)
    token = csrf_token(client, "/en/account")
    response = client.post("/en/account", data={"language": "ja", "csrf_token": token})
    assert response.headers["Location"] == "/ja/account"
    client.set_cookie("hub_lang", "vi")
    assert client.get("/", headers={"Accept-Language": "en"}).headers["Location"] == "/ja/"
    assert '<html lang="vi">' in client.get("/vi/countries").get_data(as_text=True)


def test_an_unknown_preferred_language_is_refused(app, client):
    sign_in(client, VN)
    token = csrf_token(client, "/en/account")
    response = client.post("/en/account", data={"language": "de", "csrf_token": token})
    assert response.status_code == 422
    assert "“de” is not a language of the hub." in response.get_data(as_text=True)
    assert _user(app, VN).preferred_language is None


def _sample(rule, arg):
    """A value of ``arg`` that ``rule`` builds: the sample, or one of its ``any(…)`` choices."""
    converter = rule._converters.get(arg)
    choices = getattr(converter, "items", None)
    value = SAMPLE_ARGS.get(arg, 1 if isinstance(converter, IdConverter) else "x")
    return value if not choices or value in choices else sorted(choices)[0]


def test_pages_that_change_data_need_a_signed_in_user(app, client):
    """Every route that accepts a write refuses an anonymous visitor and changes nothing."""
    open_to_all = {"accounts.login", "accounts.accept_invitation", "accounts.logout"}
    # A mailed link's token is the proof (tests/test_account_self.py, test_notifications.py).
    open_to_all |= {
        "accounts.forgot_password", "accounts.reset_password", "accounts.confirm_email",
        "accounts.notifications_off", "digests.follow_page", "digests.confirm", "digests.stop",
    }  # fmt: skip
    before = {m: _count(app, m) for m in (User, Invitation, AuditEvent)}
    checked = []
    for rule in app.url_map.iter_rules():
        methods = rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        if not methods or rule.endpoint in open_to_all:
            continue
        values = {arg: _sample(rule, arg) for arg in rule.arguments}
        url = rule.build(values)[1]
        for method in methods:
            response = client.open(url, method=method, data={"csrf_token": "x"})
            # Pages send the visitor to sign in; the API answers 401 without a token.
            expected = (401,) if url.startswith("/api/") else (302, 400, 403)
            assert response.status_code in expected, (method, url)
            if response.status_code == 302:
                assert "/login" in response.headers["Location"]
            checked.append(rule.endpoint)
    assert checked
    assert {m: _count(app, m) for m in before} == before


def test_coordinators_cannot_reach_the_administration(client):
    sign_in(client, VN)
    assert client.get("/en/admin/users").status_code == 403
    assert client.get("/en/admin/audit").status_code == 403
    token = csrf_token(client, "/en/account")
    response = client.post(
        "/en/admin/users/invite",
        data={"email": "x@hub.test", "role": "admin", "country": "", "csrf_token": token},
    )
    assert response.status_code == 403


def _invite(client, email, role="coordinator", country="MW", lang="en"):
    sign_in(client, ADMIN)
    token = csrf_token(client, f"/{lang}/admin/users")
    return client.post(
        f"/{lang}/admin/users/invite",
        data={"email": email, "role": role, "country": country, "csrf_token": token},
    )


def test_an_invitation_link_makes_a_coordinator_once(app, client):
    response = _invite(client, "coord.mw@hub.test")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    link = re.search(r'<code class="invitation-link">([^<]+)</code>', page).group(1)
    assert link.startswith("http://localhost/en/invitations/")
    client.post("/en/logout", data={"csrf_token": csrf_token(client, "/en/account")})

    path = link.removeprefix("http://localhost")
    page = client.get(path).get_data(as_text=True)
    assert "coordinator of Malawi" in page and "coord.mw@hub.test" in page
    token = csrf_token(client, path)
    response = client.post(path, data={"password": "short", "csrf_token": token})
    assert response.status_code == 422
    assert "The password needs at least 12 characters." in response.get_data(as_text=True)
    assert _user(app, "coord.mw@hub.test") is None

    response = client.post(path, data={"password": "a good long password", "csrf_token": token})
    assert response.status_code == 302
    user = _user(app, "coord.mw@hub.test")
    assert (user.role, user.country_code) == ("coordinator", "MW")
    assert "coord.mw@hub.test" not in client.get("/en/login").get_data(as_text=True) or True
    assert client.get("/en/account").status_code == 200
    assert client.get(path).status_code == 410  # the link worked once


@pytest.mark.dates
def test_an_expired_invitation_is_refused(app, client, time_machine):
    time_machine.move_to(utcnow(), tick=False)  # expired a minute ago, however slow the run
    with app.test_request_context("/"):
        token = services.invite(None, "late@hub.test", "coordinator", "MW")
        invitation = db.session.scalar(select(Invitation))
        invitation.expires_dt = utcnow() - timedelta(minutes=1)
        db.session.commit()
    response = client.get(f"/ja/invitations/{token}")
    assert response.status_code == 410
    assert "招待リンクが無効です" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("email", "role", "country", "message"),
    [
        ("not-an-address", "coordinator", "MW", "“not-an-address” is not an e-mail address."),
        ("x@hub.test", "coordinator", "", "A coordinator needs the country they coordinate"),
        ("x@hub.test", "coordinator", "ZZ", "A coordinator needs the country they coordinate"),
        (
            "x@hub.test",
            "admin",
            "MW",
            "An administrator serves the whole network, not one country.",
        ),
        (VN, "coordinator", "VN", "There is already an account for coordinator.vn@hub.test."),
        ("x@hub.test", "owner", "", "“owner” is not a role: use admin or coordinator."),
    ],
)
def test_a_bad_invitation_is_refused_and_keeps_the_form(app, client, email, role, country, message):
    before = _count(app, Invitation)
    response = _invite(client, email, role, country)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert f'value="{email}"' in page
    assert _count(app, Invitation) == before


def test_a_disabled_account_is_signed_out_and_cannot_sign_in(app, client):
    coordinator = app.test_client()
    sign_in(coordinator, VN)
    assert coordinator.get("/en/account").status_code == 200
    sign_in(client, ADMIN)
    user_id = _user(app, VN).id
    token = csrf_token(client, "/en/admin/users")
    response = client.post(f"/en/admin/users/{user_id}/disable", data={"csrf_token": token})
    assert response.status_code == 302
    assert "coordinator.vn@hub.test can no longer sign in." in client.get(
        "/en/admin/users"
    ).get_data(as_text=True)
    assert coordinator.get("/en/account").status_code == 302
    assert sign_in(app.test_client(), VN).status_code == 422
    token = csrf_token(client, "/en/admin/users")
    client.post(f"/en/admin/users/{user_id}/enable", data={"csrf_token": token})
    assert sign_in(app.test_client(), VN).status_code == 302


def test_an_administrator_cannot_disable_themselves(app, client):
    sign_in(client, ADMIN)
    admin_id = _user(app, ADMIN).id
    token = csrf_token(client, "/en/admin/users")
    client.post(f"/en/admin/users/{admin_id}/disable", data={"csrf_token": token})
    assert "You cannot disable your own account." in client.get("/en/admin/users").get_data(
        as_text=True
    )
    assert _user(app, ADMIN).active


def test_the_audit_log_shows_who_changed_what(app, client):
    _invite(client, "coord.ke@hub.test", country="KE")
    user_id = _user(app, VN).id
    client.post(
        f"/en/admin/users/{user_id}/disable",
        data={"csrf_token": csrf_token(client, "/en/admin/users")},
    )
    page = client.get("/en/admin/audit").get_data(as_text=True)
    rows = re.findall(
        r"<tr>\s*<td><time[^>]*>[^<]*</time></td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>", page
    )
    assert rows[:2] == [(ADMIN, "Account: disabled"), (ADMIN, "Invitation: invited")]
    assert "Kenya" in page
    page = client.get("/vi/admin/audit").get_data(as_text=True)
    assert "Tài khoản: đã vô hiệu hoá" in page


def test_invite_command_prints_a_working_link(app, runner):
    result = runner.invoke(
        args=[
            "hub",
            "invite",
            "--email",
            "Coord.UG@hub.test",
            "--role",
            "coordinator",
            "--country",
            "UG",
        ],
        env={"LANG": "C"},
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "Invitation created for coord.ug@hub.test."
    assert lines[1].startswith("http://127.0.0.1:5000/en/invitations/")  # HUB_BASE_URL
    page = (
        app.test_client().get(lines[1].removeprefix("http://127.0.0.1:5000")).get_data(as_text=True)
    )
    assert "coordinator of Uganda" in page
    result = runner.invoke(
        args=["hub", "invite", "--email", "x@hub.test", "--role", "coordinator"], env={"LANG": "C"}
    )
    assert result.exit_code == 1 and "A coordinator needs the country" in result.output


def test_create_user_command(app, runner):
    result = runner.invoke(
        args=[
            "hub",
            "create-user",
            "--email",
            "Coord.JP@hub.test",
            "--password",
            PASSWORD,
            "--role",
            "coordinator",
            "--country",
            "jp",
        ],
        env={"LANG": "C"},
    )
    assert result.exit_code == 0, result.output
    assert "Account created: coord.jp@hub.test (coordinator)." in result.output
    user = _user(app, "coord.jp@hub.test")
    assert (user.role, user.country_code) == ("coordinator", "JP")
    assert user.password_hash.startswith("$argon2id$")
    assert sign_in(app.test_client(), "coord.jp@hub.test").status_code == 302


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "coordinator"], "A coordinator needs the country they coordinate"),
        (
            ["--role", "coordinator", "--country", "ZZ"],
            "A coordinator needs the country they coordinate",
        ),
        (["--role", "admin", "--country", "VN"], "An administrator serves the whole network"),
    ],
)
def test_create_user_command_refuses_bad_accounts(app, runner, args, message):
    before = _count(app, User)
    result = runner.invoke(
        args=["hub", "create-user", "--email", "new@hub.test", "--password", PASSWORD, *args],
        env={"LANG": "C"},
    )
    assert result.exit_code == 1
    assert message in result.output
    assert _count(app, User) == before


def test_create_user_command_speaks_the_operators_language(app, runner):
    result = runner.invoke(
        args=[
            "hub",
            "create-user",
            "--email",
            "new@hub.test",
            "--password",
            "short",
            "--role",
            "admin",
        ],
        env={"LANG": "ja_JP.UTF-8"},
    )
    assert result.exit_code == 1
    assert "パスワードは12文字以上にしてください。" in result.output


def test_sign_in_limits_can_be_shared_through_redis(tmp_path, redis_url):
    """With HUB_RATELIMIT_STORAGE_URL pointing at Redis, two app processes (here: two apps)
    count the same attempts."""
    import uuid

    import redis

    from hub.db import upgrade
    from hub.extensions import limiter
    from hub.registry.seeding import seed_registry
    from tests.support import fresh_database, make_test_app

    url = redis_url
    prefix = uuid.uuid4().hex
    with fresh_database("sqlite", tmp_path) as database_url:
        config = {
            "RATELIMIT_STORAGE_URI": url,
            "RATELIMIT_KEY_PREFIX": prefix,
            "LOGIN_RATE_LIMIT": "3 per minute",
        }
        apps = [make_test_app(database_url, **config) for _ in range(2)]
        with apps[0].app_context():
            upgrade(db.engine)
            seed_registry()
            services.create_user(VN, PASSWORD, "coordinator", "VN")
        try:
            statuses = []
            # Within one minute, whenever the test runs: the clock stands still.
            with time_machine.travel(datetime(2026, 3, 1, 9, 30, 10, tzinfo=UTC), tick=False):
                for attempt in range(4):
                    client = apps[attempt % 2].test_client()
                    statuses.append(sign_in(client, VN, "wrong password").status_code)
            assert statuses == [422, 422, 422, 429]
        finally:
            store = redis.Redis.from_url(url)
            for key in store.scan_iter(f"*{prefix}*"):
                store.delete(key)
            for app in apps:
                db.binding(app).engine.dispose()
            limiter.init_app(make_test_app(database_url))  # the shared limiter back in memory


def test_administrators_issue_see_and_revoke_api_tokens(app, client):
    sign_in(client, ADMIN)
    token = csrf_token(client, "/en/admin/tokens")
    response = client.post(
        "/en/admin/tokens", data={"csrf_token": token, "name": "", "country": "TH", "days": "30"}
    )
    assert response.status_code == 422
    assert "Say who or what will hold the token" in response.get_data(as_text=True)
    page = client.post(
        "/en/admin/tokens",
        data={"csrf_token": token, "name": "Thai OTOP office", "country": "TH", "days": "30"},
    ).get_data(as_text=True)
    secret = re.search(r'<code class="invitation-link">(hubt_[^<]+)</code>', page).group(1)
    assert (
        client.get("/api/v1/countries", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 200
    )
    push = client.post(
        "/api/v1/ingest", json={"records": []}, headers={"Authorization": f"Bearer {secret}"}
    )
    assert push.status_code == 200
    page = client.get("/en/admin/tokens").get_data(as_text=True)
    assert secret not in page  # shown once only
    assert "Thai OTOP office" in page and secret[:11] in page
    with app.app_context():
        from hub.accounts.models import ApiToken

        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "Thai OTOP office"))
    client.post(
        f"/en/admin/tokens/{token_id}/revoke",
        data={"csrf_token": csrf_token(client, "/en/admin/tokens")},
    )
    assert (
        client.post(
            "/api/v1/ingest", json={"records": []}, headers={"Authorization": f"Bearer {secret}"}
        ).status_code
        == 401
    )
