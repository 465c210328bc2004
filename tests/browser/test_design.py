"""The hub's design holds in Chromium where layout matters (issue 20 §1): the pages people land
on do not scroll sideways on a 375-pixel phone, and the header is one row from 1024 pixels
(checked at 1024 and 1440), for a visitor and for a signed-in administrator (the longest menu),
in each language. Screenshots
of the home page at both widths go to tests/screenshots/ (not in git), for people to look at."""

import pytest

from tests.browser import checks
from tests.browser.conftest import DESKTOP, LANGS, PHONE, SCREENSHOTS
from tests.browser.pages import fill

LANDING_PAGES = (
    "/{lang}/",
    "/{lang}/countries/VN",
    "/{lang}/products",
    "/{lang}/products/{photo_product}",
    "/{lang}/fairs",
)
NARROWEST_DESKTOP = {"width": 1024, "height": 768}


def header_rows(page):
    """The header's rows: its direct parts grouped by their top edge (within 8 px)."""
    tops = page.evaluate(
        """() => [...document.querySelector('.header-row').children]
             .map(el => el.getBoundingClientRect())
             .filter(box => box.width > 0)
             .map(box => Math.round(box.top + box.height / 2))"""
    )
    rows = []
    for top in sorted(tops):
        if not rows or top - rows[-1] > 8:
            rows.append(top)
    return rows


def crowded_header_parts(page):
    """The header's parts that do not show all they hold: menus wrapping onto a second line,
    items cut off or sticking out of their part."""
    return page.evaluate(
        """() => {
          const found = [];
          for (const part of document.querySelector('.header-row').children) {
            const box = part.getBoundingClientRect();
            if (part.scrollWidth > part.clientWidth + 1) found.push(part.className + ' cut off');
            for (const item of part.querySelectorAll('li, input, button')) {
              const inner = item.getBoundingClientRect();
              if (item.checkVisibility() && (inner.right > box.right + 1 || inner.left < box.left - 1)) {
                found.push(part.className + ' sticks out');
              }
            }
            const tops = new Set([...part.querySelectorAll(':scope > ul > li')]
              .map(li => Math.round(li.getBoundingClientRect().top)));
            if (tops.size > 1) found.push(part.className + ' on two lines');
          }
          return found;
        }"""
    )


@pytest.mark.parametrize("lang", LANGS)
def test_landing_pages_do_not_scroll_sideways_on_a_phone(new_page, site, lang):
    page = new_page(viewport=PHONE, javascript=False)
    problems = []
    for path in LANDING_PAGES:
        page.goto(fill(path, lang, site))
        problems += [f"{page.url}: {p}" for p in checks.horizontal_overflow(page)]
        if path == "/{lang}/":
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=SCREENSHOTS / f"design-home-{lang}-375.png", full_page=True)
    assert problems == []


@pytest.mark.parametrize("user", [None, "admin@hub.test"], ids=["visitor", "administrator"])
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("viewport", [NARROWEST_DESKTOP, DESKTOP], ids=["1024", "1440"])
def test_the_header_is_one_row_from_1024_pixels(new_page, site, lang, user, viewport):
    page = new_page(viewport=viewport, user=user)
    problems = []
    for path in ("/{lang}/", "/{lang}/products/{photo_product}"):
        page.goto(fill(path, lang, site))
        if len(rows := header_rows(page)) != 1:
            problems.append(f"{page.url}: the header has {len(rows)} rows")
        if crowded := crowded_header_parts(page):
            problems.append(f"{page.url}: {crowded}")
        problems += [f"{page.url}: {p}" for p in checks.horizontal_overflow(page)]
    if user is None:
        SCREENSHOTS.mkdir(exist_ok=True)
        page.goto(fill("/{lang}/", lang, site))
        width = viewport["width"]
        page.screenshot(path=SCREENSHOTS / f"design-home-{lang}-{width}.png", full_page=True)
    assert problems == []


@pytest.mark.parametrize("lang", LANGS)
def test_fair_cards_read_well_on_a_phone(new_page, site, lang):
    """The fairs list's cards at 375 pixels without JavaScript (issue 20 §1): the upcoming then
    the past fairs, each card inside the page, its title given most of the card's width (not
    squeezed beside its photo), the photo of the fair that has one shown whole on top."""
    page = new_page(viewport=PHONE, javascript=False)
    page.goto(fill("/{lang}/fairs", lang, site))
    assert checks.horizontal_overflow(page) == []
    cards = page.evaluate(
        """() => [...document.querySelectorAll('.fair-card')].map(card => {
          const box = card.getBoundingClientRect(), title = card.querySelector('.card-title');
          const img = card.querySelector('img'), ics = card.querySelector('a[type="text/calendar"]');
          return {
            section: card.closest('section[class^="fairs-"]').className,
            left: box.left, right: box.right, title: title.getBoundingClientRect().width,
            photo: img && img.complete && img.naturalWidth > 0
              ? img.getBoundingClientRect().width : null,
            ics: !!ics && ics.checkVisibility(),
          };
        })"""
    )
    assert [c["section"] for c in cards] == sorted(
        (c["section"] for c in cards), key=lambda s: s != "fairs-upcoming"
    )
    assert {c["section"] for c in cards} == {"fairs-upcoming", "fairs-past"}
    for card in cards:
        assert card["left"] >= 0 and card["right"] <= PHONE["width"], card
        assert card["title"] >= 200 and card["ics"], card
    photos = [c["photo"] for c in cards if c["photo"] is not None]
    assert photos and all(width >= 300 for width in photos), cards
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"design-fairs-{lang}-375.png", full_page=True)


def test_charts_are_drawn_as_they_come_into_view_each_on_its_own(new_page):
    """On a phone, a chart below the fold is not drawn while the page loads (no work on the
    main thread for what nobody sees yet); scrolled to, it is drawn and its table folds away."""
    page = new_page(viewport=PHONE)
    page.goto("/en/countries/VN")
    page.wait_for_load_state("load")
    charts = page.locator("figure.chart")
    assert charts.count() >= 1
    last = charts.last
    assert "chart-drawn" not in (last.get_attribute("class") or "")
    last.scroll_into_view_if_needed()
    page.wait_for_function(
        "f => f.classList.contains('chart-drawn')", arg=last.element_handle(), timeout=10_000
    )
    assert last.locator(".chart-canvas svg").count() == 1
    assert last.locator(".chart-table").evaluate("d => d.open") is False
