"""Every kind of page, reached in vi, en and ja through the language menu, as a visitor, a
coordinator or an administrator sees it in Chromium.

Each page is opened once per language and checked on that visit, to keep the browser suite
short: the language menu kept the page and its filters and ``<html lang>`` says the language;
axe-core finds no serious or critical violation; every form field has a label; Japanese text
on a Vietnamese or English page is marked ``lang="ja"``; the page does not scroll sideways at
375 px (a phone) nor at 1440 px. The home, a country, the products list and a fair are also
photographed in each language at both widths, into tests/screenshots/ (not in git), for people
to look at.
"""

from urllib.parse import urlsplit

import pytest

from tests.browser import checks
from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS
from tests.browser.pages import ADMIN_PAGES, COORDINATOR_PAGES, PUBLIC_PAGES, fill

# The main menu's items: every page shows them, in its own language.
MENU = ("Network", "Countries", "Policies", "Experiences", "Trade fairs", "Products")
SCREENSHOT_NAMES = {
    "/{lang}/": "home",
    "/{lang}/countries/VN": "country-VN",
    "/{lang}/products?group=beverages": "products",
    "/{lang}/fairs/{fair}": "fair",
}


def path_of(url):
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def problems_in(page, site, path, lang, switched):
    """Everything wrong with the page open in ``lang`` (``switched`` to with the menu)."""
    # A page that does not exist has no versions in other languages: the menu leads home.
    expected = fill("/{lang}/" if switched and "no-such-page" in path else path, lang, site)
    problems = []
    if path_of(page.url) != expected:
        problems.append(f"the language menu led to {path_of(page.url)}, not {expected}")
    if (declared := page.locator("html").get_attribute("lang")) != lang:
        problems.append(f'<html lang="{declared}">')
    menu = page.locator("nav.main-nav a").all_inner_texts()
    if menu != [site.text(lang, item) for item in MENU]:
        problems.append(f"main menu not in {lang}: {menu}")
    current = page.locator("nav.language-nav a[aria-current]").get_attribute("hreflang")
    if current != lang:
        problems.append(f"the language menu marks {current} as current")
    problems += checks.axe_violations(page)
    problems += checks.unlabelled_fields(page)
    if lang != "ja":
        # A programme's local name is a proper name whose language the registry does not
        # record (一村一品運動, 一鄉一特產, Satu Desa Satu Produk): it cannot be marked.
        problems += checks.japanese_outside_lang_ja(page, exempt=".programme dd")
    problems += checks.horizontal_overflow(page)
    screenshot = SCREENSHOT_NAMES.get(path)
    if screenshot:
        page.screenshot(path=SCREENSHOTS / f"{screenshot}-{lang}-1440.png", full_page=True)
    page.set_viewport_size(PHONE)
    problems += checks.horizontal_overflow(page)
    if screenshot:
        page.screenshot(path=SCREENSHOTS / f"{screenshot}-{lang}-375.png", full_page=True)
    page.set_viewport_size(DESKTOP)
    return [f"{lang}: {problem}" for problem in problems]


def tour(page, site, path):
    """Open the page in English, then switch to Vietnamese and Japanese with the language menu,
    checking it in each; returns every problem found."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.goto(fill(path, "en", site))
    problems = problems_in(page, site, path, "en", switched=False)
    for lang in ("vi", "ja"):
        page.locator(f"nav.language-nav a[hreflang={lang}]").click()
        page.wait_for_url(lambda url, lang=lang: urlsplit(url).path.startswith(f"/{lang}/"))
        problems += problems_in(page, site, path, lang, switched=True)
    return problems


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_every_public_page_in_every_language(page, site, path):
    assert tour(page, site, path) == []


@pytest.mark.parametrize("path", COORDINATOR_PAGES)
def test_every_coordinator_page_in_every_language(new_page, site, path):
    page = new_page(user="coordinator.vn@hub.test")
    assert tour(page, site, path) == []


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_every_administration_page_in_every_language(new_page, site, path):
    page = new_page(user="admin@hub.test")
    assert tour(page, site, path) == []
