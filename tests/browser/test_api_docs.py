"""The API's documentation page works in a real browser under the site's strict CSP, and
loads nothing from other sites."""

import pytest

pytestmark = [pytest.mark.browser]


def test_api_docs_page_lists_the_operations_within_the_csp(seeded, open_page, live_server):
    page = open_page(None)
    messages, foreign = [], []
    page.on("console", lambda message: messages.append(message.text))
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((live_server.url, "data:"))
            else foreign.append(request.url)
        ),
    )
    page.goto("/api/v1/docs/")
    page.locator(".opblock-summary-path").first.wait_for(timeout=15_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/stories/" in paths
    assert "/api/v1/stories/by-path/" in paths
    assert not [m for m in messages if "Content Security Policy" in m], messages
    assert foreign == []
