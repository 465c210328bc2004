"""Fast pages: none ships more than 200 KB of scripts and styles together, as the browser
receives them with its cache off (a first visit)."""

import pytest

from tests.browser.pages import ADMIN_PAGES, COORDINATOR_PAGES, PUBLIC_PAGES, fill

BUDGET = 200 * 1024


def scripts_and_styles(page, url):
    """``{url: bytes}`` of the scripts and stylesheets the page loaded, each the larger of
    its size on the wire (headers and body) and its decoded body, and of inline ones."""
    responses = []

    def keep(response):
        if response.request.resource_type in ("script", "stylesheet"):
            responses.append(response)

    page.on("response", keep)
    page.goto(url)
    page.remove_listener("response", keep)
    sizes = {}
    for response in responses:
        wire = response.request.sizes()
        sent = wire["responseHeadersSize"] + wire["responseBodySize"]
        sizes[response.url] = max(sent, len(response.body()))
    inline = page.locator("script:not([src]), style").all_text_contents()
    sizes["inline"] = sum(len(text.encode()) for text in inline)
    return sizes


@pytest.mark.parametrize(
    ("user", "paths"),
    [
        (None, PUBLIC_PAGES),
        ("coordinator.vn@hub.test", COORDINATOR_PAGES),
        ("admin@hub.test", ADMIN_PAGES),
    ],
    ids=["visitor", "coordinator", "administrator"],
)
def test_no_page_ships_more_than_200_kb_of_scripts_and_styles(new_page, site, user, paths):
    page = new_page(user=user)
    devtools = page.context.new_cdp_session(page)
    devtools.send("Network.enable")
    devtools.send("Network.setCacheDisabled", {"cacheDisabled": True})
    for path in paths:
        sizes = scripts_and_styles(page, fill(path, "vi", site))
        assert any(url.endswith("/static/hub.css") for url in sizes), (path, sizes)
        assert sum(sizes.values()) <= BUDGET, (path, sizes)
