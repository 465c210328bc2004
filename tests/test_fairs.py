"""Fairs that invite: the status for the day (a past fair took place, never "Scheduled"), the
upcoming fairs then the past ones, each fair's own calendar file and the webcal subscription,
its exhibitors; the sample fairs; an administrator's new entry names its country."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import func, select

from hub.accounts.models import User
from hub.db import utctoday
from hub.extensions import db
from hub.media import services as media
from hub.publishing import queries, services
from hub.publishing.demo import seed_demo
from hub.publishing.fairs import shown_status
from hub.publishing.models import Entry, Fair
from tests.support import csrf_token, sign_in
from tests.test_media_display import jpeg
from tests.test_pages import parse, text_of

VN = "coordinator.vn@hub.test"
ADMIN = "admin@hub.test"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def user(email):
    return db.session.scalar(select(User).where(User.email == email))


def fair(title, start, end=None, status="scheduled", email=VN, publish=True, **more):
    """A published all-day fair in Hà Nội from ``start`` to ``end`` (its venue's dates)."""
    actor = user(email)
    fields = {"timezone": "Asia/Ho_Chi_Minh", "start_date": start, "end_date": end or start,
              "all_day": True, "fair_status": status, "city": "Hà Nội", **more}  # fmt: skip
    entry = services.create_entry(actor, "fair", "en", {"title": title}, fields)
    if publish:
        services.set_status(actor, entry.id, "published")
    return entry


def product(title, email=VN, publish=True):
    actor = user(email)
    entry = services.create_entry(
        actor, "product", "en", {"title": title}, {"product_group": "food"}
    )
    if publish:
        services.set_status(actor, entry.id, "published")
    return entry


def status_on_page(client, fair_id, lang="en"):
    page = client.get(f"/{lang}/fairs/{fair_id}").get_data(as_text=True)
    start = page.index('<span class="fair-status ')
    return page[start : page.index("</span>", start)].split(">", 1)[1], page


# Instants (UTC) where a date goes wrong if it can: month ends, the new year, a leap day; in
# Hà Nội (UTC+7) each is already, or still, another day than in UTC.
AWKWARD = (
    datetime(2026, 12, 31, 16, 59, 59, tzinfo=UTC),  # 23:59:59 on 31 December in Hà Nội
    datetime(2026, 12, 31, 17, 0, tzinfo=UTC),  # midnight: 1 January 2027 there
    datetime(2027, 1, 31, 17, 30, tzinfo=UTC),  # 1 February there, 31 January in UTC
    datetime(2027, 4, 30, 16, 0, tzinfo=UTC),  # 30 April, 23:00 there
    datetime(2028, 2, 28, 17, 0, tzinfo=UTC),  # leap day, midnight there
    datetime(2028, 2, 29, 17, 0, tzinfo=UTC),  # 1 March there, leap day in UTC
)


@pytest.mark.parametrize("instant", AWKWARD, ids=lambda i: i.isoformat())
def test_a_fair_took_place_once_its_last_day_is_over_in_its_venue(
    app, client, time_machine, instant
):
    time_machine.move_to(instant, tick=False)
    today = instant.astimezone(HANOI).date()  # the venue's date
    with app.test_request_context("/"):
        last_day_today = fair("Ends today", today - timedelta(days=2), today)
        ended_yesterday = fair(
            "Ended yesterday", today - timedelta(days=3), today - timedelta(days=1)
        )
        rescheduled = fair("Moved and held", today - timedelta(days=1), status="rescheduled")
        cancelled = fair("Called off", today - timedelta(days=10), status="cancelled")
        postponed = fair("Put off", today - timedelta(days=10), status="postponed")
        future = fair("Next month", today + timedelta(days=30))
        assert shown_status(last_day_today) == "scheduled"
        assert shown_status(ended_yesterday) == "held"
    expected = {
        last_day_today.id: "Scheduled",
        ended_yesterday.id: "Took place",
        rescheduled.id: "Took place",
        cancelled.id: "Cancelled",
        postponed.id: "Postponed",
        future.id: "Scheduled",
    }
    for fair_id, status in expected.items():
        assert status_on_page(client, fair_id)[0] == status, fair_id
    # The list agrees with the pages: the fairs that took place are in the past ones.
    page = client.get("/en/fairs").get_data(as_text=True)
    past = page[page.index('<section class="fairs-past">') :]
    assert ">Ended yesterday</a>" in past and ">Ends today</a>" not in past
    assert past.count("fair-status fair-held") == 2


def test_a_2019_fair_never_says_scheduled(app, client):
    with app.test_request_context("/"):
        old = fair("Forum fair", date(2019, 4, 17), date(2019, 4, 20))
    for lang, word in (("en", "Took place"), ("vi", "Đã diễn ra"), ("ja", "開催済み")):
        status, _page = status_on_page(client, old.id, lang)
        assert status == word
        listed = client.get(f"/{lang}/fairs").get_data(as_text=True)
        assert "fair-status fair-held" in listed and "fair-scheduled" not in listed
    # Nowhere a reader sees (the JSON-LD's schema.org EventScheduled is a term, not a word:
    # schema.org has no status for an event that took place as planned).
    page = re.sub(
        r'<script type="application/ld\+json">.*?</script>',
        "",
        status_on_page(client, old.id)[1],
        flags=re.S,
    )
    assert "Scheduled" not in page


def test_past_fairs_follow_the_upcoming_ones_page_after_page(app, client):
    today = utctoday()
    with app.test_request_context("/"):
        upcoming = [fair(f"Soon {i}", today + timedelta(days=10 + i)).id for i in range(3)]
        past = [fair(f"Past {i}", today - timedelta(days=10 + i)).id for i in range(4)]
        for limit in (1, 2, 3, 4, 7, 10):
            seen, cursor, pages = [], None, 0
            while True:
                page = queries.public_list("fair", cursor=cursor, limit=limit, when="all")
                assert len(page.items) <= limit
                assert page.items == [*page.upcoming, *page.past]
                seen += [f.id for f in page.items]
                pages += 1
                cursor = page.next_cursor
                if cursor is None:
                    break
            # Soonest first, then the latest past first; each once, no empty page at the end.
            assert seen == [*upcoming, *past], limit
            assert pages == -(-len(seen) // limit), limit
        only_past = queries.public_list("fair", when="past", limit=2)
        assert [f.id for f in only_past.items] == past[:2]
        after = queries.public_list("fair", when="past", limit=2, cursor=only_past.next_cursor)
        assert [f.id for f in after.items] == past[2:]
        assert [f.id for f in queries.public_list("fair").items] == upcoming
    page = client.get("/en/fairs").get_data(as_text=True)
    assert page.index(">Upcoming and current fairs</h2>") < page.index(">Soon 2</a>")
    assert page.index(">Soon 2</a>") < page.index(">Past fairs</h2>") < page.index(">Past 0</a>")
    assert page.index(">Past 0</a>") < page.index(">Past 3</a>")
    assert client.get("/en/fairs?when=soon").status_code == 400


def test_the_fairs_page_is_not_empty_when_every_fair_is_past(app, client):
    with app.test_request_context("/"):
        fair("Last year's fair", utctoday() - timedelta(days=365))
    page = client.get("/ja/fairs").get_data(as_text=True)
    assert ">過去の見本市</h2>" in page and ">Last year&#39;s fair</a>" in page
    assert "開催中・今後の見本市" not in page


def test_each_fair_has_its_calendar_file_and_the_calendar_a_webcal_link(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "https://hub.example.org")
    with app.test_request_context("/"):
        entry = fair("Tea fair", utctoday() + timedelta(days=20))
        services.save_text(user(VN), entry.id, "ja", {"title": "茶の見本市"})
    page = client.get(f"/ja/fairs/{entry.id}").get_data(as_text=True)
    ics_url = f"https://hub.example.org/fairs/{entry.id}.ics?lang=ja"
    assert f'href="{ics_url}"' in page
    assert 'href="webcal://hub.example.org/fairs.ics?lang=ja"' in page
    listing = client.get("/ja/fairs").get_data(as_text=True)
    assert 'href="webcal://hub.example.org/fairs.ics?lang=ja"' in listing

    response = client.get(f"/fairs/{entry.id}.ics?lang=ja")
    assert response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.data)
    assert str(calendar["X-WR-CALNAME"]) == "茶の見本市"
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"fair-{entry.id}@hub.example.org"
    assert str(event["SUMMARY"]) == "茶の見本市"
    assert str(event["URL"]) == f"https://hub.example.org/ja/fairs/{entry.id}"
    # The same UID as in the whole calendar, whose name is in the reader's language.
    whole = icalendar.Calendar.from_ical(client.get("/fairs.ics?lang=ja").data)
    assert str(whole["X-WR-CALNAME"]) == "OCOP見本市"
    assert f"fair-{entry.id}@hub.example.org" in {str(e["UID"]) for e in whole.walk("VEVENT")}
    names = {
        lang: str(
            icalendar.Calendar.from_ical(client.get(f"/fairs.ics?lang={lang}").data)["X-WR-CALNAME"]
        )
        for lang in ("vi", "en", "ja")
    }
    assert len(set(names.values())) == 3 and names["en"] == "OCOP trade fairs"
    assert client.get("/fairs/999999.ics").status_code == 404
    with app.test_request_context("/"):
        draft = fair("Draft fair", utctoday(), publish=False)
    assert client.get(f"/fairs/{draft.id}.ics").status_code == 404


def test_a_postponed_fair_is_tentative_in_calendars(app, client):
    with app.test_request_context("/"):
        entry = fair("Later fair", utctoday() + timedelta(days=40), status="postponed")
    [event] = icalendar.Calendar.from_ical(client.get(f"/fairs/{entry.id}.ics").data).walk("VEVENT")
    assert str(event["STATUS"]) == "TENTATIVE"


def test_a_coordinator_lists_the_exhibitors_on_the_fairs_page(app, client):
    with app.test_request_context("/"):
        own_draft = product("Hạ Long squid cake", publish=False)
        own = product("Thái Nguyên tea")
        thai = product("Silk scarf", email="coordinator.th@hub.test")
        thai_draft = product("Unpublished scarf", email="coordinator.th@hub.test", publish=False)
        entry = fair("Network fair", utctoday() + timedelta(days=20))
    sign_in(client, VN)
    url = f"/en/manage/entries/{entry.id}"
    form_page = client.get(url).get_data(as_text=True)
    assert f'value="{own_draft.id}"' in form_page and f'value="{thai.id}"' in form_page
    assert f'value="{thai_draft.id}"' not in form_page
    form = {
        "csrf_token": csrf_token(client, url), "timezone": "Asia/Ho_Chi_Minh",
        "start_date": (utctoday() + timedelta(days=20)).isoformat(), "all_day": "y",
        "fair_status": "scheduled", "exhibitors": [str(own_draft.id), str(own.id), str(thai.id)],
        "exhibitor_countries": ["LA"],
    }  # fmt: skip
    response = client.post(url, data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    # Another country's draft cannot be listed: refused, nothing changed.
    refused = client.post(url, data={**form, "exhibitors": [str(thai_draft.id)]})
    assert refused.status_code == 422
    assert "No product can exhibit under these ids" in refused.get_data(as_text=True)
    with app.app_context():
        stored = db.session.get(Fair, entry.id)
        assert [p.id for p in stored.exhibitors] == sorted([own_draft.id, own.id, thai.id])
        assert stored.exhibitor_countries == ["LA"]

    page = client.get(f"/en/fairs/{entry.id}").get_data(as_text=True)
    section = page[page.index('<section class="exhibitors"') :]
    section = section[: section.index("</section>")]
    assert "Countries exhibiting:" in section
    for name in ("Laos", "Thailand", "Vietnam"):
        assert f">{name}</a>" in section
    assert f'href="/en/products/{own.id}">Thái Nguyên tea</a>' in section
    assert f'href="/en/products/{thai.id}">Silk scarf</a>' in section
    assert "Hạ Long squid cake" not in section  # a draft shows once published
    # The history keeps the change.
    history = client.get(f"/en/manage/entries/{entry.id}/history").get_data(as_text=True)
    assert "Exhibiting products" in history


def test_exhibitors_travel_in_the_api_and_the_exchange_format(app, client, tokens):
    with app.test_request_context("/"):
        own = product("Thái Nguyên tea")
        thai_draft = product("Unpublished scarf", email="coordinator.th@hub.test", publish=False)
    record = {
        "source_language": "en", "status": "published",
        "translations": {"en": {"title": "API fair"}},
        "start_date": (utctoday() + timedelta(days=5)).isoformat(), "all_day": True,
        "timezone": "Asia/Ho_Chi_Minh", "exhibitors": [own.id], "exhibitor_countries": ["JP"],
    }  # fmt: skip
    created = client.post("/api/v1/fairs", json=record, headers=tokens["VN"])
    assert created.status_code == 201, created.get_json()
    fair_id = created.get_json()["id"]
    dumped = client.get(f"/api/v1/fairs/{fair_id}?lang=all").get_json()["record"]
    assert (dumped["exhibitors"], dumped["exhibitor_countries"]) == ([own.id], ["JP"])
    assert client.get(f"/api/v1/fairs/{fair_id}?lang=en").get_json()["exhibitors"] == [own.id]
    # A PATCH that says nothing of them keeps them; another country's draft is refused.
    kept = client.patch(f"/api/v1/fairs/{fair_id}", json={"city": "Huế"}, headers=tokens["VN"])
    assert kept.get_json()["record"]["exhibitors"] == [own.id]
    refused = client.patch(
        f"/api/v1/fairs/{fair_id}", json={"exhibitors": [thai_draft.id]}, headers=tokens["VN"]
    )
    assert refused.status_code == 422 and "exhibitors" in refused.get_json()["error"]["details"]
    bad = client.patch(
        f"/api/v1/fairs/{fair_id}", json={"exhibitor_countries": ["ZZ"]}, headers=tokens["VN"]
    )
    assert bad.status_code == 422
    cleared = client.patch(
        f"/api/v1/fairs/{fair_id}", json={"exhibitors": []}, headers=tokens["VN"]
    )
    assert cleared.get_json()["record"]["exhibitors"] == []


def test_the_demo_has_a_past_and_an_upcoming_fair_whatever_the_day(app, client, time_machine):
    time_machine.move_to(datetime(2031, 2, 28, 20, 0, tzinfo=UTC), tick=False)
    with app.app_context():
        seed_demo(photos=None)
        fairs = db.session.scalars(select(Fair).where(Fair.origin == "sample")).all()
        ids = {f.partner_id: f.id for f in fairs}
        assert {shown_status(f) for f in fairs} == {"held", "scheduled"}
        upcoming = db.session.get(Fair, ids["demo:vn-ocop-week-upcoming"])
        assert upcoming.starts_local.date() == date(2031, 2, 28) + timedelta(days=45)
        assert upcoming.starts_local.time() == time(8)
        assert len(upcoming.exhibitors) == 4
    page = client.get("/en/fairs").get_data(as_text=True)
    assert page.index("OCOP and OVOP products week in Hà Nội") < page.index(">Past fairs</h2>")
    assert page.index(">Past fairs</h2>") < page.index("International OCOP fair")
    detail = client.get(f"/en/fairs/{ids['demo:vn-ocop-fair-2019']}").get_data(as_text=True)
    assert '<span class="fair-status fair-held">Took place</span>' in detail
    assert "Countries exhibiting:" in detail and ">Japan</a>" in detail


def test_an_administrators_new_entry_has_no_country_until_chosen(app, client):
    sign_in(client, ADMIN)
    page = client.get("/en/manage/policy/new").get_data(as_text=True)
    select_html = page[
        page.index('<select id="country"') : page.index(
            "</select>", page.index('<select id="country"')
        )
    ]
    assert " required" in select_html.split(">", 1)[0]
    first_option = select_html.split("<option", 2)[1]
    assert first_option.startswith(' value="" selected>') and "choose a country" in first_option
    assert " selected" not in select_html.split("<option", 2)[2]
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Entry))
    form = {"csrf_token": csrf_token(client, "/en/manage/policy/new"), "language": "en",
            "title": "A policy", "country": ""}  # fmt: skip
    response = client.post("/en/manage/policy/new", data=form)
    assert response.status_code == 422
    assert 'id="country-error">Choose a country of the registry.' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Entry)) == before
    created = client.post("/en/manage/policy/new", data={**form, "country": "TH"})
    assert created.status_code == 302


def fair_cards(client, url):
    """The fair cards of a page, in order: ``[(section class or None, card element)]``."""
    tree = parse(client.get(url).get_data(as_text=True))
    found = []
    for section in tree.iter("section"):
        if section.get("class") in ("fairs-upcoming", "fairs-past"):
            found += [(section.get("class"), card) for card in section.iter("article")]
    return found or [
        (None, card) for card in tree.iter("article") if "fair-card" in card.get("class")
    ]


@pytest.mark.dates
def test_the_fairs_list_shows_fair_cards_upcoming_then_past_newest_first(
    app, client, time_machine, tmp_path, monkeypatch
):
    """Issue 20 §1, §4: the list, the home page and a country's page show fairs as the same
    cards: dates in the reader's language, city and country, the status for the day, the
    cover photo if any, a link to the fair and to its calendar file; the upcoming fairs come
    first (soonest first), then the past ones (latest first)."""
    monkeypatch.setitem(app.config, "MEDIA_URL", str(tmp_path / "media"))
    monkeypatch.setitem(app.config, "MEDIA_PUBLIC_URL", None)
    monkeypatch.setitem(app.config, "BASE_URL", "https://hub.example.org")
    time_machine.move_to(datetime(2027, 3, 10, 3, 0, tzinfo=UTC), tick=False)
    with app.test_request_context("/"):
        soon = fair("Tea week", date(2027, 3, 20), date(2027, 3, 22))
        later = fair("Silk fair", date(2027, 5, 2), status="postponed", city="Huế")
        recent = fair("Spring market", date(2027, 2, 1), date(2027, 2, 3))
        older = fair("Winter fair", date(2026, 12, 5), status="cancelled")
        oldest = fair("Autumn fair", date(2026, 10, 9))
        media.add(soon.id, "tea.jpg", jpeg(), alts={"en": "Tea stalls"})
        assert media.process_pending() == 1
        soon, later, recent = soon.id, later.id, recent.id
        upcoming, past = [soon, later], [recent, older.id, oldest.id]
    cards = fair_cards(client, "/en/fairs")
    assert [(where, card.find(".//h4/a").get("href")) for where, card in cards] == [
        ("fairs-upcoming", f"/en/fairs/{f}") for f in upcoming
    ] + [("fairs-past", f"/en/fairs/{f}") for f in past]
    texts = {card.find(".//h4/a").text: (card, text_of(card)) for _, card in cards}
    card, text = texts["Tea week"]
    assert "Mar 20 – 22, 2027" in text
    assert "Hà Nội · Vietnam · Scheduled" in text
    ics = card.find(".//a[@type='text/calendar']")
    assert ics.get("href") == f"https://hub.example.org/fairs/{soon}.ics?lang=en"
    img = card.find(".//img")
    assert img.get("alt") == "Tea stalls" and img.get("width") and img.get("loading") == "lazy"
    assert texts["Silk fair"][1].count("Huế · Vietnam · Postponed") == 1
    assert texts["Silk fair"][0].find(".//img") is None
    assert "Took place" in texts["Spring market"][1]
    assert "Cancelled" in texts["Winter fair"][1] and "Took place" in texts["Autumn fair"][1]
    # In the reader's language: the dates, the country and the status.
    ja = {
        card.find(".//h4/a").get("href"): text_of(card)
        for _, card in fair_cards(client, "/ja/fairs")
    }
    assert (
        "2027年3月20日～22日" in ja[f"/ja/fairs/{soon}"] and "ベトナム" in ja[f"/ja/fairs/{soon}"]
    )
    assert "開催済み" in ja[f"/ja/fairs/{recent}"]
    vi = {
        card.find(".//h4/a").get("href"): text_of(card)
        for _, card in fair_cards(client, "/vi/fairs")
    }
    assert (
        "20 – 22 thg 3, 2027" in vi[f"/vi/fairs/{soon}"] and "Tạm hoãn" in vi[f"/vi/fairs/{later}"]
    )
    # The same card on the home page (the upcoming ones) and on the country's page.
    home = [text_of(card) for _, card in fair_cards(client, "/en/")]
    assert home == [texts["Tea week"][1], texts["Silk fair"][1]]
    country = {card.find(".//h3/a").text for _, card in fair_cards(client, "/en/countries/VN")}
    assert country == {"Tea week", "Silk fair", "Spring market", "Winter fair", "Autumn fair"}
