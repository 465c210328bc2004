"""The main things people do on the hub, done in Chromium with the mouse, each once with
JavaScript and once without (the pages need none): a coordinator publishing a policy in
Vietnamese with its Japanese translation and a visitor finding it; filtering products; the
fairs and their calendar; an administrator changing a country's membership and a partner
source's schedule; bad input answered in the page's language."""

import re
import uuid

import pytest

from tests.browser import checks
from tests.browser.conftest import LANGS, sign_in

JS = pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])


def submit(page, form="main form.filters"):
    with page.expect_navigation():
        page.locator(f"{form} button[type=submit]").click()


@JS
def test_a_coordinator_publishes_a_policy_in_two_languages_and_a_visitor_finds_it(
    new_page, site, javascript
):
    page = new_page(javascript=javascript)
    tag = uuid.uuid4().hex[:6]
    title_vi = f"Hỗ trợ hợp tác xã đạt chuẩn OCOP {tag}"
    title_ja = f"OCOP認定協同組合への支援 {tag}"
    sign_in(page, "coordinator.vn@hub.test", lang="vi")
    page.get_by_role("link", name=site.text("vi", "My entries")).click()
    new_policy = site.text("vi", "New: %(kind)s", kind=site.text("vi", "Policy"))
    page.get_by_role("link", name=new_policy).click()
    assert page.locator("#language").input_value() == "vi"
    page.locator("#title").fill(title_vi)
    page.locator("#summary").fill("Hỗ trợ vốn và đào tạo cho hợp tác xã.")
    page.locator("#body").fill("Theo **Quyết định 919/QĐ-TTg**.")
    page.locator("#instrument").select_option("decision")
    page.locator("#reference_number").fill("919/QĐ-TTg")
    submit(page, "main form.entry-form")
    assert page.locator(".flash-success").inner_text() == site.text(
        "vi", "The draft is saved. Publish it when it is ready."
    )
    entry_url = page.url

    # The Japanese translation, from the entry's list of languages.
    page.locator(".language-states a[href$='/text/ja']").click()
    assert page.locator(".source-text h3 + .prose").first.inner_text() == title_vi
    page.locator("#title").fill(title_ja)
    page.locator("#summary").fill("協同組合への資金と研修の支援。")
    submit(page, "main form.entry-form")
    assert page.locator(".flash-success").inner_text() == site.text("vi", "The text is saved.")
    assert page.url == entry_url

    page.get_by_role("button", name=site.text("vi", "Publish"), exact=True).click()
    assert page.locator(".flash-success").inner_text() == site.text(
        "vi", "Published: everyone can read it now."
    )
    if javascript:
        assert checks.axe_violations(page) == []  # with its message
    page.get_by_role("button", name=site.text("vi", "Sign out")).click()
    assert page.get_by_role("link", name=site.text("vi", "Sign in")).is_visible()

    # A visitor searching in Japanese finds the Japanese text; in Vietnamese typed without
    # diacritics, the Vietnamese one.
    for lang, words, title in (
        ("ja", f"協同組合への支援 {tag}", title_ja),
        ("vi", f"hop tac xa dat chuan ocop {tag}", title_vi),
    ):
        page.goto(f"/{lang}/")
        page.locator("#header-q").fill(words)
        submit(page, "form.header-search")
        found = page.locator("article.entry-card h2 a")
        assert found.all_inner_texts() == [title], lang
        found.click()
        assert page.locator("h1").inner_text() == title
        assert page.locator("article.entry").get_attribute("lang") is None  # the page's own


@pytest.mark.dates  # "rating still valid"
@JS
def test_a_visitor_filters_products(new_page, site, javascript):
    page = new_page(javascript=javascript)
    page.goto("/vi/products")
    everything = page.locator("article.entry-card").count()
    page.get_by_label(site.text("vi", "Product group")).select_option("beverages")
    page.get_by_label(site.text("vi", "Stars, at least")).select_option("4")
    page.get_by_label(site.text("vi", "Rating still valid")).check()
    submit(page)
    assert "group=beverages" in page.url and "stars=4" in page.url and "valid=1" in page.url
    cards = page.locator("article.entry-card")
    assert 0 < cards.count() < everything
    beverages = site.text("vi", "Beverages")
    for card in cards.all():
        meta = card.locator(".entry-meta").inner_text()
        assert beverages in meta, meta
        stars = card.locator(".stars").get_attribute("aria-label")
        assert int(re.search(r"\d", stars).group()) >= 4, stars
    assert "Chè Thái Nguyên" in cards.locator("h2").all_inner_texts()
    # The filters stay set on the page of results, and survive a change of language.
    assert page.locator("#filter-group").input_value() == "beverages"
    page.locator("nav.language-nav a[hreflang=ja]").click()
    assert page.locator("#filter-stars").input_value() == "4"
    assert page.locator("#filter-valid").is_checked()


@pytest.mark.dates  # upcoming and past fairs
@JS
def test_a_visitor_browses_the_fairs_and_their_calendar(new_page, site, javascript):
    page = new_page(javascript=javascript)
    page.goto("/en/fairs")
    months = page.locator("h3.month-heading").all_inner_texts()
    assert months, "the upcoming fairs are grouped by month"
    fair = page.get_by_role("link", name="OCOP Fair in Hạ Long")
    assert fair.is_visible()
    page.get_by_label(site.text("en", "Which fairs")).select_option("past")
    submit(page)
    assert "when=past" in page.url
    assert page.get_by_role("link", name="OCOP Fair in Hạ Long").count() == 0
    page.get_by_label(site.text("en", "Which fairs")).select_option("")
    submit(page)
    page.get_by_role("link", name="OCOP Fair in Hạ Long").click()
    when = page.locator("dl.facts div", has=page.locator("dt", has_text="When")).inner_text()
    assert "Asia/Ho_Chi_Minh" in when and "8:00" in when, when
    calendar = page.get_by_role("link", name=site.text("en", "Calendar of the fairs"))
    response = page.request.get(calendar.get_attribute("href"))
    assert response.ok
    assert response.headers["content-type"].startswith("text/calendar")
    assert "SUMMARY:OCOP Fair in Hạ Long" in response.text()


@JS
def test_an_administrator_changes_a_partner_source_schedule(new_page, site, javascript):
    page = new_page(javascript=javascript)
    sign_in(page, "admin@hub.test", lang="ja")
    page.get_by_role("link", name=site.text("ja", "Administration")).click()
    page.locator("nav.sub-nav").get_by_role("link", name=site.text("ja", "Partner sources")).click()
    page.locator(f"a[href$='/admin/sources/{site.source}']").click()
    every = "240" if javascript else "180"
    page.get_by_label(site.text("ja", "Sync every (minutes)")).fill(every)
    submit(page, "section[aria-labelledby=edit-source] form")
    assert page.locator(".flash-success").inner_text() == site.text("ja", "The source is saved.")
    schedule = page.locator("dl.facts div").filter(
        has=page.locator("dt", has_text=site.text("ja", "Sync every (minutes)"))
    )
    assert schedule.locator("dd").inner_text() == every
    assert page.locator("#source-every").input_value() == every


@pytest.mark.parametrize(("javascript", "code"), [(True, "BT"), (False, "CR")], ids=["js", "no-js"])
def test_an_administrator_changes_a_countrys_membership(new_page, site, javascript, code):
    """From the country's page: a prospective country becomes an applicant (a country of its
    own per run, so that the runs do not depend on each other)."""
    page = new_page(javascript=javascript)
    sign_in(page, "admin@hub.test", lang="vi")
    page.goto(f"/vi/countries/{code}")
    page.get_by_role("link", name=site.text("vi", "Change the membership")).click()
    page.get_by_label(site.text("vi", "New status")).select_option("applicant")
    page.get_by_label(site.text("vi", "Note (the decision, its reference)")).fill("Đơn ngày 1/11")
    submit(page, "section[aria-labelledby=change-membership] form")
    assert page.url.endswith(f"/vi/countries/{code}")
    assert site.text("vi", "Applicant") in page.locator(".flash-success").inner_text()
    assert "Đơn ngày 1/11" in page.locator("main").inner_text()  # in the dated history


def bad_input_messages(page, site, lang, accessibility=None):
    """Send bad input to three forms in ``lang``; returns (message shown, message expected).
    ``accessibility`` (a list) receives what axe-core finds on each page of errors."""
    seen = []

    def check():
        if accessibility is not None:
            accessibility.extend(checks.axe_violations(page))

    page.goto(f"/{lang}/login")
    page.locator("#email").fill("coordinator.vn@hub.test")
    page.locator("#password").fill("not the password")
    submit(page, "main form")
    seen.append(
        (
            page.locator(".form-error").inner_text(),
            site.text(
                lang, "The e-mail address or the password is wrong, or the account is disabled."
            ),
        )
    )
    check()
    sign_in(page, "coordinator.vn@hub.test", lang=lang)
    page.goto(f"/{lang}/manage/policy/new")
    page.locator("#summary").fill("Without a title")
    submit(page, "main form.entry-form")
    title = page.locator("#title")
    assert title.get_attribute("aria-invalid") == "true"
    seen.append(
        (
            page.locator("#" + title.get_attribute("aria-describedby")).inner_text(),
            site.text(lang, "A title is required."),
        )
    )
    check()
    page.goto(f"/{lang}/products?stars=9")
    stars = page.locator("#filter-stars")
    assert stars.get_attribute("aria-invalid") == "true"
    seen.append(
        (
            page.locator("#" + stars.get_attribute("aria-describedby")).inner_text(),
            site.text(lang, "A rating has 1 to 5 stars."),
        )
    )
    check()
    return seen


@pytest.mark.parametrize("lang", LANGS)
def test_bad_input_is_answered_in_the_pages_language(page, site, lang):
    accessibility = []
    for shown, expected in bad_input_messages(page, site, lang, accessibility):
        assert shown == expected
    assert accessibility == []  # the messages and the marked fields included


def test_bad_input_is_answered_without_javascript_too(new_page, site):
    page = new_page(javascript=False)
    for shown, expected in bad_input_messages(page, site, "ja"):
        assert shown == expected


def test_an_administrator_is_told_a_bad_schedule_in_the_pages_language(new_page, site):
    page = new_page(user="admin@hub.test")
    page.goto(f"/vi/admin/sources/{site.source}")
    page.locator("#source-every").fill("1")
    submit(page, "section[aria-labelledby=edit-source] form")
    assert page.locator(".form-error").inner_text() == site.text(
        "vi", "Sync every %(min)s to %(max)s minutes.", min=5, max=10080
    )
