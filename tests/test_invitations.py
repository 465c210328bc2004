"""Invitations an administrator manages: listed, revoked, renewed, expiring, one live link per
address, in the invited person's language; a link that no longer works answers clearly; two
people using a link at once make one account; the command line's changes are audited."""

import html
import re
import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from hub.accounts import services
from hub.accounts.models import AuditEvent, Invitation, User
from hub.db import downgrade, make_engine, upgrade, utcnow
from hub.extensions import db
from hub.registry.models import Country
from tests.support import PASSWORD, csrf_token, fresh_database, sign_in

ADMIN = "admin@hub.test"
LINK = re.compile(r'<code class="invitation-link">([^<]+)</code>')


def _page(response):
    return html.unescape(response.get_data(as_text=True))


def _invite(client, email, role="coordinator", country="MW", lang="en", language=None):
    token = csrf_token(client, f"/{lang}/admin/users")
    data = {"email": email, "role": role, "country": country, "csrf_token": token}
    if language:
        data["language"] = language
    return client.post(f"/{lang}/admin/users/invite", data=data)


def _link_path(response):
    return LINK.search(response.get_data(as_text=True)).group(1).removeprefix("http://localhost")


def _invitations(app, email):
    with app.app_context():
        return db.session.scalars(
            select(Invitation).where(Invitation.email == email).order_by(Invitation.id)
        ).all()


def _events(app, action=None):
    with app.app_context():
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        return db.session.scalars(stmt).all()


def _post(client, url, page="/en/admin/users"):
    return client.post(url, data={"csrf_token": csrf_token(client, page)})


@pytest.fixture
def admin(client):
    assert sign_in(client, ADMIN).status_code == 302
    return client


def test_the_users_page_lists_pending_invitations(app, admin):
    response = _invite(admin, "Coord.MW@hub.test", language="vi")
    assert response.status_code == 200
    assert _link_path(response).startswith("/vi/invitations/")  # the invited person's language
    page = _page(response)
    assert "Send this one-time link to coord.mw@hub.test yourself. It works once, until" in page
    with app.test_request_context("/"):
        services.invite(None, "admin2@hub.test", "admin", language="ja")
    page = _page(admin.get("/en/admin/users"))
    table = re.search(r'<table class="invitations">.*?</table>', page, re.S).group(0)
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    cells = [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)] for row in rows]  # fmt: skip
    assert [c[:5] for c in cells] == [
        ["admin2@hub.test", "Administrator", "—", "日本語", "command line"],
        ["coord.mw@hub.test", "Coordinator", "Malawi", "Tiếng Việt", ADMIN],
    ]
    assert all("New link" in c[7] and "Revoke" in c[7] for c in cells)
    vi = _page(admin.get("/vi/admin/users"))
    assert "Lời mời đang chờ" in vi and "dòng lệnh" in vi


def test_the_language_of_the_link_defaults_to_the_administrators_then_the_pages(app, admin):
    def chosen(lang):
        page = admin.get(f"/{lang}/admin/users").get_data(as_text=True)
        menu = re.search(r'<select[^>]*name="language".*?</select>', page, re.S).group(0)
        return re.search(r"<option[^>]*\bselected\b[^>]*>", menu).group(0)

    assert 'value="vi"' in chosen("vi") and 'value="ja"' in chosen("ja")
    with app.app_context():
        db.session.scalar(select(User).where(User.email == ADMIN)).preferred_language = "ja"
        db.session.commit()
    assert 'value="ja"' in chosen("en")
    # Sent without a language (an older form): the administrator's preference.
    response = _invite(admin, "x@hub.test", lang="en")
    assert _link_path(response).startswith("/ja/invitations/")


def test_an_administrator_revokes_an_invitation(app, admin):
    path = _link_path(_invite(admin, "coord.mw@hub.test"))
    invitation = _invitations(app, "coord.mw@hub.test")[0]
    response = _post(admin, f"/en/admin/users/invitations/{invitation.id}/revoke")
    assert response.status_code == 302
    page = _page(admin.get("/en/admin/users"))
    assert "The invitation for coord.mw@hub.test is revoked: its link no longer works." in page
    assert "No invitation is pending." in page
    anonymous = app.test_client()
    response = anonymous.get(path)
    assert response.status_code == 410
    page = _page(response)
    assert "This invitation link was withdrawn on" in page
    assert f"Ask {ADMIN}, who invited you, for a new link." in page
    # Revoking it again is refused, with the reason.
    _post(admin, f"/en/admin/users/invitations/{invitation.id}/revoke")
    assert "was revoked already" in _page(admin.get("/en/admin/users"))
    assert [e.channel for e in _events(app, "invitation.revoke")] == ["web"]


def test_a_new_link_ends_the_old_one(app, admin):
    old_path = _link_path(_invite(admin, "coord.mw@hub.test", language="ja"))
    invitation = _invitations(app, "coord.mw@hub.test")[0]
    response = _post(admin, f"/en/admin/users/invitations/{invitation.id}/new-link")
    assert response.status_code == 200
    new_path = _link_path(response)
    assert new_path.startswith("/ja/invitations/") and new_path != old_path
    assert "The earlier link for coord.mw@hub.test no longer works." in _page(response)
    anonymous = app.test_client()
    assert anonymous.get(new_path).status_code == 200
    response = anonymous.get(old_path)
    assert response.status_code == 410
    assert "新しいリンクに置き換えられました" in _page(response)
    old, new = _invitations(app, "coord.mw@hub.test")
    assert old.revoked_dt is not None and new.revoked_dt is None
    assert (new.role, new.country_code, new.language) == ("coordinator", "MW", "ja")


def test_inviting_an_address_again_replaces_its_link(app, admin):
    first = _link_path(_invite(admin, "coord.mw@hub.test"))
    response = _invite(admin, "COORD.MW@hub.test", country="MW")
    assert "The earlier link for coord.mw@hub.test no longer works." in _page(response)
    second = _link_path(response)
    anonymous = app.test_client()
    assert anonymous.get(first).status_code == 410
    assert anonymous.get(second).status_code == 200
    live = [i for i in _invitations(app, "coord.mw@hub.test") if i.revoked_dt is None]
    assert len(live) == 1
    page = _page(admin.get("/en/admin/users"))
    assert page.count('<th scope="row">coord.mw@hub.test</th>') == 1


def test_the_database_holds_one_live_invitation_per_address(app):
    with app.test_request_context("/"):
        services.invite(None, "coord.mw@hub.test", "coordinator", "MW")
        first = db.session.scalar(select(Invitation).where(Invitation.email == "coord.mw@hub.test"))
        db.session.add(
            Invitation(
                token_hash="0" * 64, email="coord.mw@hub.test", role="coordinator",
                country_code="MW", language="en", expires_dt=first.expires_dt,
            )
        )  # fmt: skip
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_an_address_with_an_account_is_refused(app, admin, runner):
    response = _invite(admin, "Coordinator.VN@hub.test", country="VN")
    assert response.status_code == 422
    assert "There is already an account for coordinator.vn@hub.test." in _page(response)
    result = runner.invoke(
        args=["hub", "invite", "--email", ADMIN, "--role", "admin"], env={"LANG": "C"}
    )
    assert result.exit_code == 1
    assert f"There is already an account for {ADMIN}." in result.output
    assert _invitations(app, ADMIN) == []


def test_a_new_link_is_refused_once_the_address_has_an_account(app, admin):
    _invite(admin, "coord.mw@hub.test")
    invitation = _invitations(app, "coord.mw@hub.test")[0]
    with app.test_request_context("/"):
        services.create_user("coord.mw@hub.test", PASSWORD, "coordinator", "MW")
    _post(admin, f"/en/admin/users/invitations/{invitation.id}/new-link")
    assert "There is already an account for coord.mw@hub.test." in _page(
        admin.get("/en/admin/users")
    )
    assert len(_invitations(app, "coord.mw@hub.test")) == 1


def test_invitations_expire_after_the_configured_days(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "INVITATION_DAYS", 2)
    with app.test_request_context("/"):
        token = services.invite(None, "late@hub.test", "coordinator", "MW", "vi")
    invitation = _invitations(app, "late@hub.test")[0]
    assert invitation.expires_dt - invitation.created_dt == timedelta(days=2)
    with time_machine.travel(utcnow() + timedelta(days=1, hours=23)):
        assert client.get(f"/vi/invitations/{token}").status_code == 200
    with time_machine.travel(utcnow() + timedelta(days=2, minutes=1)):
        response = client.get(f"/vi/invitations/{token}")
        assert response.status_code == 410
        assert "Liên kết mời này đã hết hạn vào" in _page(response)
        with app.test_request_context("/"):
            assert services.pending_invitations() == []
            with pytest.raises(services.InvitationUnusable) as refused:
                services.accept_invitation(token, "a good long password")
            assert refused.value.state == "expired"
    assert _invitations(app, "late@hub.test")[0].used_dt is None
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "late@hub.test")) is None


@pytest.mark.parametrize(
    ("lang", "state", "status", "says"),
    [
        ("en", "unknown", 404, "This invitation link is not known to the hub"),
        ("vi", "unknown", 404, "Cổng không nhận ra liên kết mời này"),
        ("ja", "unknown", 404, "この招待リンクはハブにありません"),
        ("en", "expired", 410, "This invitation link expired on"),
        ("ja", "expired", 410, "この招待リンクは"),
        ("vi", "revoked", 410, "Liên kết mời này đã bị thu hồi vào"),
        ("ja", "revoked", 410, "取り消されました"),
        ("en", "used", 410, "the account for coord.mw@hub.test exists"),
        ("vi", "used", 410, "tài khoản cho coord.mw@hub.test đã tồn tại"),
        ("ja", "used", 410, "coord.mw@hub.test のアカウントが作成済みです"),
    ],
)
def test_a_link_that_no_longer_works_says_why_and_whom_to_ask(app, lang, state, status, says):
    with app.test_request_context("/"):
        inviter = db.session.scalar(select(User).where(User.email == ADMIN))
        token = services.invite(inviter, "coord.mw@hub.test", "coordinator", "MW", lang)
        invitation = db.session.scalar(
            select(Invitation).where(Invitation.email == "coord.mw@hub.test")
        )
        if state == "unknown":
            token = "not-a-token"
        elif state == "expired":
            invitation.expires_dt = utcnow() - timedelta(minutes=1)
        elif state == "revoked":
            services.revoke_invitation(None, invitation.id)
        elif state == "used":
            services.accept_invitation(token, "a good long password")
        db.session.commit()
    client = app.test_client()
    response = client.get(f"/{lang}/invitations/{token}")
    assert response.status_code == status
    page = _page(response)
    assert f'<html lang="{lang}">' in page
    assert says in page
    if state == "unknown":  # nothing told about an invitation the hub never made
        assert ADMIN not in page
    else:
        assert ADMIN in page  # whom to ask
    if state == "used":
        assert f'href="/{lang}/login"' in page
    with app.app_context():
        assert db.session.scalar(
            select(func.count()).select_from(User).where(User.email == "coord.mw@hub.test")
        ) == (1 if state == "used" else 0)  # fmt: skip


def test_a_used_link_makes_no_second_account(app, client):
    with app.test_request_context("/"):
        token = services.invite(None, "coord.mw@hub.test", "coordinator", "MW", "en")
    path = f"/en/invitations/{token}"
    other = app.test_client()
    other_token = csrf_token(other, path)  # the form open in another browser
    data = {"password": "a good long password", "csrf_token": csrf_token(client, path)}
    assert client.post(path, data=data).status_code == 302
    response = other.post(path, data={**data, "csrf_token": other_token})
    assert response.status_code == 410
    page = _page(response)
    assert "This invitation link was used on" in page
    assert "tell an administrator of the hub" in page  # invited from the command line
    with app.app_context():
        assert db.session.scalar(
            select(func.count()).select_from(User).where(User.email == "coord.mw@hub.test")
        ) == 1  # fmt: skip


def test_the_new_account_speaks_the_invitations_language(app, client):
    with app.test_request_context("/"):
        token = services.invite(None, "coord.mw@hub.test", "coordinator", "MW", "ja")
    path = f"/ja/invitations/{token}"
    data = {"password": "a good long password", "csrf_token": csrf_token(client, path)}
    assert client.post(path, data=data).status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "coord.mw@hub.test"))
        assert user.preferred_language == "ja"


def test_two_people_using_one_link_at_once_make_one_account(deployed_app):
    app = deployed_app
    with app.test_request_context("/"):
        token = services.invite(None, "coord.mw@hub.test", "coordinator", "MW", "en")
    path = f"/en/invitations/{token}"
    clients = [app.test_client() for _ in range(2)]
    forms = [csrf_token(c, path) for c in clients]  # both opened the form
    start = threading.Barrier(len(clients))
    answers, errors = [], []

    def accept(client, form_token):
        try:
            start.wait(timeout=10)
            response = client.post(
                path, data={"password": "a good long password", "csrf_token": form_token}
            )
            answers.append((response.status_code, _page(response)))
        except Exception as exc:  # collected and asserted below
            errors.append(repr(exc))

    threads = [threading.Thread(target=accept, args=pair) for pair in zip(clients, forms, strict=True)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(status for status, _page_text in answers) == [302, 410]
    refused = next(page for status, page in answers if status == 410)
    assert "This invitation link was used on" in refused
    with app.app_context():
        assert db.session.scalar(
            select(func.count()).select_from(User).where(User.email == "coord.mw@hub.test")
        ) == 1  # fmt: skip


def _race(app, token):
    """Accept the invitation of ``token`` on two threads at once; what each got."""
    start = threading.Barrier(2)
    results = []

    def accept():
        with app.test_request_context("/"):
            start.wait(timeout=10)
            try:
                services.accept_invitation(token, "a good long password")
                results.append("account")
            except services.InvitationUnusable as exc:
                results.append(exc.state)
            except Exception as exc:  # collected and asserted by the caller
                results.append(repr(exc))

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(results)


def test_the_service_answers_the_loser_of_a_race_clearly(deployed_app):
    """The same race, through the service, several times over."""
    for attempt in range(3):
        with deployed_app.test_request_context("/"):
            token = services.invite(None, f"race{attempt}@hub.test", "coordinator", "MW", "en")
        assert _race(deployed_app, token) == ["account", "used"]


def test_the_command_line_lists_and_revokes_invitations(app, runner):
    result = runner.invoke(args=["hub", "invitations"], env={"LANG": "C"})
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "No invitation is pending."
    for email, language in (("a@hub.test", "vi"), ("b@hub.test", None)):
        args = ["hub", "invite", "--email", email, "--role", "coordinator", "--country", "KE"]
        result = runner.invoke(
            args=[*args, *(["--language", language] if language else [])],
            env={"LANG": "ja_JP.UTF-8"},
        )
        assert result.exit_code == 0, result.output
        lines = result.output.strip().splitlines()
        # --language, else the operator's language (LANG)
        assert f"/{language or 'ja'}/invitations/" in lines[1]
        assert "このリンクは" in lines[2]
    result = runner.invoke(args=["hub", "invitations"], env={"LANG": "C"})
    lines = result.output.strip().splitlines()
    assert [line.split()[1:6] for line in lines] == [
        ["b@hub.test", "coordinator", "KE", "ja", "command"],
        ["a@hub.test", "coordinator", "KE", "vi", "command"],
    ]
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d\+00:00$", lines[0])
    first_id = lines[1].split()[0]
    result = runner.invoke(args=["hub", "revoke-invitation", first_id], env={"LANG": "C"})
    assert result.exit_code == 0, result.output
    assert "The invitation for a@hub.test is revoked" in result.output
    result = runner.invoke(args=["hub", "revoke-invitation", "B@hub.test"], env={"LANG": "C"})
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["hub", "invitations"], env={"LANG": "C"}).output.strip() == (
        "No invitation is pending."
    )
    for key, message in (
        (first_id, "The invitation for a@hub.test was revoked already."),
        ("999999", "There is no pending invitation “999999”."),
        ("nobody@hub.test", "There is no pending invitation “nobody@hub.test”."),
    ):
        result = runner.invoke(args=["hub", "revoke-invitation", key], env={"LANG": "C"})
        assert result.exit_code == 1
        assert len(result.output.strip().splitlines()) == 1 and message in result.output
    result = runner.invoke(
        args=["hub", "invite", "--email", "c@hub.test", "--role", "admin", "--language", "de"],
        env={"LANG": "C"},
    )
    assert result.exit_code == 1 and "“de” is not a language of the hub." in result.output


def test_the_command_line_default_language_is_the_hubs_without_a_known_lang(runner):
    result = runner.invoke(
        args=["hub", "invite", "--email", "a@hub.test", "--role", "admin"],
        env={"LANG": "de_DE.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""},
    )
    assert result.exit_code == 0, result.output
    assert "/en/invitations/" in result.output


SOURCE_SETTINGS = (
    '{"language": "vi", "mapping": {"partner_id": "id", "title": "name"},'
    ' "defaults": {"product_group": "food"}}'
)


def test_every_change_on_the_command_line_is_audited(app, runner, client):
    with app.app_context():
        db.session.get(Country, "MW").note = "changed here, so that the seed changes it back"
        db.session.commit()
    commands = [
        (["create-user", "--email", "new@hub.test", "--password", PASSWORD, "--role", "admin"],
         ["user.create"]),
        (["invite", "--email", "inv@hub.test", "--role", "coordinator", "--country", "KE"],
         ["user.invite"]),
        (["invite", "--email", "inv@hub.test", "--role", "coordinator", "--country", "KE"],
         ["invitation.revoke", "user.invite"]),
        (["revoke-invitation", "inv@hub.test"], ["invitation.revoke"]),
        (["membership", "MW", "--status", "applicant", "--on", "2025-01-01"],
         ["country.applicant"]),
        (["add-source", "--country", "VN", "--kind", "csv", "--url",
          "https://partner.example/p.csv", "--settings", SOURCE_SETTINGS], ["source.create"]),
        (["issue-token", "--country", "TH", "--name", "Thai OTOP office"], ["token.create"]),
        (["seed"], ["registry.seed", "sample.create"]),
        (["remove-demo"], ["sample.delete"]),
    ]  # fmt: skip
    for args, actions in commands:
        before = len(_events(app))
        result = runner.invoke(args=["hub", *args], env={"LANG": "C"})
        assert result.exit_code == 0, (args, result.output)
        events = _events(app)[before:]
        assert [e.action for e in events] == actions, args
        assert all(e.channel == "cli" and e.actor_id is None for e in events), args
    seed = _events(app, "registry.seed")[-1]
    assert seed.details["countries_updated"] == 1
    assert _events(app, "sample.delete")[-1].details == {"count": 11}
    sign_in(client, ADMIN)
    page = _page(client.get("/en/admin/audit"))
    rows = re.findall(
        r"<tr>\s*<td><time[^>]*>[^<]*</time></td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>", page
    )
    assert rows[:4] == [
        ("admin@hub.test", "Account: signed in"),  # the sign-in to read the log
        ("command line", "Sample entries: deleted"),
        ("command line", "Sample entries: created"),
        ("command line", "Registry: loaded from the seed file"),
    ]
    assert "dòng lệnh" in _page(client.get("/vi/admin/audit"))


def test_changes_on_the_pages_are_audited_as_such(app, admin):
    _invite(admin, "coord.mw@hub.test")
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.invite")
        ).one()
        assert event.channel == "web" and event.actor.email == ADMIN
        assert event.details == {
            "email": "coord.mw@hub.test",
            "role": "coordinator",
            "language": "en",
        }


def test_the_migration_ends_all_but_the_newest_live_invitation_of_an_address(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        engine = make_engine(url)
        try:
            upgrade(engine, "0007")
            with engine.begin() as connection:
                for number, (email, used) in enumerate(
                    [("a@hub.test", None), ("a@hub.test", None), ("a@hub.test", "2026-01-01"),
                     ("b@hub.test", None)], start=1,
                ):  # fmt: skip
                    connection.execute(
                        text(
                            "INSERT INTO invitation (id, token_hash, email, role, created_dt,"
                            " expires_dt, used_dt) VALUES (:id, :hash, :email, 'admin',"
                            " '2026-01-01', '2099-01-01', :used)"
                        ),
                        {"id": number, "hash": str(number) * 64, "email": email, "used": used},
                    )
            upgrade(engine)
            with engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT id, revoked_dt IS NOT NULL, language FROM invitation ORDER BY id")
                ).all()
            assert [tuple(r) for r in rows] == [
                (1, True, "en"), (2, False, "en"), (3, False, "en"), (4, False, "en"),
            ]  # fmt: skip
            downgrade(engine, "0007")
            upgrade(engine)
        finally:
            engine.dispose()
