"""What the browser tests check on a page, each returning the problems it finds (an empty list
when there are none), so that a test can report every problem of a page at once."""

from axe_playwright_python.sync_playwright import Axe

AXE = Axe()  # axe-core, as bundled by axe-playwright-python
FAILING_IMPACTS = ("serious", "critical")


def axe_violations(page):
    """The serious and critical axe-core violations on the page, one line per element."""
    results = AXE.run(page, options={"resultTypes": ["violations"]}).response
    return [
        f"axe {v['id']} ({v['impact']}) at {', '.join(map(str, node['target']))}: "
        f"{node['failureSummary']}"
        for v in results["violations"]
        if v["impact"] in FAILING_IMPACTS
        for node in v["nodes"]
    ]


def unlabelled_fields(page):
    """Form fields without a label that names them (a <label>, aria-label or aria-labelledby)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
          .filter(el => el.type !== 'hidden')
          .filter(el => !(
            [...el.labels].some(label => label.textContent.trim())
            || (el.getAttribute('aria-label') || '').trim()
            || (el.getAttribute('aria-labelledby') || '').split(/\\s+/)
                 .some(id => document.getElementById(id)?.textContent.trim())))
          .map(el => 'unlabelled field: ' + el.outerHTML.slice(0, 120))"""
    )


def japanese_outside_lang_ja(page, exempt=None):
    """Text in Japanese script that the page does not mark as Japanese (``lang="ja"`` on it or
    an ancestor): a screen reader would read it with the page's own voice. Text inside the
    ``exempt`` CSS selector is left out."""
    return page.evaluate(
        """exempt => {
          const japanese = /[\\u3040-\\u30ff\\u3400-\\u9fff\\uff01-\\uff60]/;
          const found = [];
          const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          while (walker.nextNode()) {
            const node = walker.currentNode;
            if (!japanese.test(node.data)) continue;
            if (exempt && node.parentElement.closest(exempt)) continue;
            const declared = node.parentElement.closest('[lang]').getAttribute('lang');
            if (declared !== 'ja') {
              found.push(`Japanese text in lang="${declared}": ${node.data.trim().slice(0, 60)}`);
            }
          }
          return found;
        }""",
        exempt,
    )


def horizontal_overflow(page):
    """Whether the page scrolls sideways at its viewport's width, with the elements that stick
    out on the right."""
    return page.evaluate(
        """() => {
          const width = window.innerWidth;
          if (document.scrollingElement.scrollWidth <= width) return [];
          const wide = [...document.body.querySelectorAll('*')]
            .filter(el => el.getBoundingClientRect().right > width + 0.5)
            .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''));
          return [`scrolls sideways at ${width}px `
                  + `(scrollWidth ${document.scrollingElement.scrollWidth}): ${wide.slice(0, 8)}`];
        }"""
    )
