"""Accessibility beyond what axe-core sees on a page at rest (every page's axe run is in
test_every_page.py): signing in and publishing with the keyboard alone, a focus ring that
stands out on every element the keyboard reaches, and the language of fragments shown in
another language than the page's."""

import re

import pytest

from tests.support import PASSWORD

# Whether the focused element shows a ring of 2 px or more whose colour stands out 3:1 or
# more from the background around it (WCAG 2.4.7 and 1.4.11); a description if not.
FOCUS_PROBLEM = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return 'nothing has the focus';
  const name = el.tagName.toLowerCase() + ' "' + (el.innerText || el.name || '').trim().slice(0, 30) + '"';
  const style = getComputedStyle(el);
  if (style.outlineStyle === 'none' || parseFloat(style.outlineWidth) < 2) {
    return `${name}: no focus ring (outline ${style.outlineStyle} ${style.outlineWidth})`;
  }
  const rgb = c => c.match(/[\\d.]+/g).map(Number);
  const luminance = c => {
    const [r, g, b] = rgb(c).slice(0, 3).map(v => {
      v /= 255;
      return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  let around = el.parentElement;
  while (around && (rgb(getComputedStyle(around).backgroundColor)[3] ?? 1) === 0) {
    around = around.parentElement;
  }
  const background = around ? getComputedStyle(around).backgroundColor : 'rgb(255, 255, 255)';
  const [a, b] = [luminance(style.outlineColor), luminance(background)].sort((x, y) => y - x);
  const ratio = (a + 0.05) / (b + 0.05);
  return ratio >= 3 ? null
    : `${name}: focus ring ${style.outlineColor} on ${background} is ${ratio.toFixed(2)}:1`;
}"""


class Keyboard:
    """Moves through a page with Tab alone, checking the focus ring of everything it passes."""

    def __init__(self, page):
        self.page, self.problems = page, []

    def tab_to(self, selector, limit=80):
        """Press Tab until the element matching ``selector`` has the focus."""
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            if problem := self.page.evaluate(FOCUS_PROBLEM):
                self.problems.append(f"{self.page.url}: {problem}")
            if self.page.evaluate("s => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"{selector} cannot be reached with Tab on {self.page.url}")

    def type_into(self, selector, text):
        self.tab_to(selector)
        self.page.keyboard.type(text)

    def press_enter_on(self, selector):
        self.tab_to(selector)
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")


def test_a_coordinator_signs_in_and_publishes_with_the_keyboard_alone(page, site):
    keyboard = Keyboard(page)
    page.goto("/vi/")
    # The first Tab reaches the link that skips the menus, and it shows.
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("() => document.activeElement.className") == "skip-link"
    assert skip.bounding_box()["x"] >= 0
    keyboard.press_enter_on("a[href='/vi/login']")
    keyboard.type_into("input[name=email]", "coordinator.vn@hub.test")
    keyboard.type_into("input[name=password]", PASSWORD)
    keyboard.press_enter_on("main button[type=submit]")
    assert "/login" not in page.url

    keyboard.press_enter_on("a[href='/vi/manage/']")
    keyboard.press_enter_on("a[href='/vi/manage/policy/new']")
    title = "Chính sách gõ bằng bàn phím"
    keyboard.type_into("#title", title)
    keyboard.type_into("#summary", "Viết và xuất bản chỉ với bàn phím.")
    keyboard.press_enter_on("main form.entry-form button[type=submit]")
    assert re.search(r"/vi/manage/entries/\d+$", page.url), page.url
    keyboard.press_enter_on("main form:has(input[name=status][value=published]) button")
    assert page.locator(".flash-success").inner_text() == site.text(
        "vi", "Published: everyone can read it now."
    )
    keyboard.press_enter_on("main a[href*='/vi/policies/']")
    assert page.locator("h1").inner_text() == title
    assert keyboard.problems == []


def test_an_administrator_changes_a_source_schedule_with_the_keyboard_alone(new_page, site):
    page = new_page(user="admin@hub.test")
    keyboard = Keyboard(page)
    page.goto(f"/ja/admin/sources/{site.source}")
    every = page.locator("#source-every")
    keyboard.tab_to("#source-every")
    page.keyboard.press("Control+A")
    page.keyboard.type("90")
    keyboard.press_enter_on("section[aria-labelledby=edit-source] button[type=submit]")
    assert every.input_value() == "90"
    assert page.locator(".flash-success").inner_text() == site.text("ja", "The source is saved.")
    assert keyboard.problems == []


@pytest.mark.parametrize(
    ("path", "lang", "served"),
    [
        ("/en/policies/{policy}", "en", "vi"),  # written in Vietnamese, translated into Japanese
        ("/vi/experiences/{experience}", "vi", "en"),  # written in English only
        ("/ja/products/{product}", "ja", "vi"),
    ],
)
def test_an_entry_shown_in_another_language_says_which(page, site, path, lang, served):
    page.goto(path.format(**site.entries))
    article = page.locator("article.entry")
    assert article.get_attribute("lang") == served
    note = article.locator(".fallback-note")
    assert note.evaluate("e => e.closest('[lang]').lang") == lang
    with site.app.test_request_context("/"):
        from hub.i18n import language_name

        language = language_name(served, lang)
    assert note.inner_text() == site.text(
        lang, "Shown in %(language)s: there is no version in this language yet.", language=language
    )
    # The facts around the text are in the page's language, and marked so.
    assert article.locator("dl.facts").get_attribute("lang") == lang


def test_an_entry_in_the_pages_language_has_no_fallback(page, site):
    page.goto(f"/ja/policies/{site.entries['policy']}")
    assert page.locator("article.entry").get_attribute("lang") is None
    assert page.locator(".fallback-note").count() == 0
    assert page.locator("h1").inner_text() == "一村一品プログラム"


@pytest.mark.parametrize("lang", ["vi", "en", "ja"])
def test_in_lists_each_title_is_marked_with_its_own_language(page, site, lang):
    page.goto(f"/{lang}/search?q=ocop")
    cards = page.locator("article.entry-card")
    assert cards.count() > 0
    for card in cards.all():
        served = card.evaluate("e => e.closest('[lang]').lang")
        meta = card.locator(".entry-meta").evaluate("e => e.closest('[lang]').lang")
        assert meta == lang
        has_note = card.locator(".fallback-note").count() == 1
        assert has_note == (served != lang), card.inner_text()
