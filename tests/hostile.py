"""Hostile text and a checker that says whether a rendered page kept it inert.

``PAYLOAD`` tries every way out of a template we know: closing a ``<script>`` early, opening
one, an element with an event handler, a ``javascript:`` link, and both quote characters
(to leave an attribute). A page keeps it inert when parsing the page finds none of those
elements or attributes and the payload reads back as plain text.
"""

import json
from html.parser import HTMLParser

PAYLOAD = (
    '</script><script>go()</script><xss-marker onclick=go()>"\'&<a href="javascript:go()">x</a>'
)
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "srcset", "poster", "data", "xlink:href"}
JSON_SCRIPT_TYPES = {"application/ld+json", "application/json"}


def hostile(label, limit=100):
    """A distinct hostile string for one field, cut to the field's length."""
    text = f"{label} {PAYLOAD}"
    assert len(text) <= limit, f"{label}: payload is {len(text)} characters, field holds {limit}"
    return text


class PageParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []
        self.scripts = []
        self.text = []
        self.in_script = None

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))
        if tag == "script":
            self.in_script = {"attrs": dict(attrs), "content": ""}
            self.scripts.append(self.in_script)

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, attrs))

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = None

    def handle_data(self, data):
        if self.in_script is not None:
            self.in_script["content"] += data
        else:
            self.text.append(data)


def parse_page(html):
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


def assert_inert(html, *, shows=()):
    """No element, attribute, script or link came from the payload; ``shows`` are read back
    as text (so the page did render the hostile strings, escaped)."""
    page = parse_page(html)
    names = [tag for tag, _ in page.elements]
    assert "xss-marker" not in names, "an element from the payload was rendered"
    for tag, attrs in page.elements:
        for name, value in attrs:
            assert not name.startswith("on"), f"<{tag} {name}=...> event handler on the page"
            if name in URL_ATTRIBUTES and value:
                assert not value.strip().lower().startswith("javascript:"), f"<{tag} {name}>"
    for script in page.scripts:
        kind = script["attrs"].get("type", "")
        if kind in JSON_SCRIPT_TYPES:
            json.loads(script["content"])  # whole, valid JSON: nothing broke out of it
            assert "<" not in script["content"], "a raw < inside a JSON script element"
        else:
            assert script["attrs"].get("src"), f"an inline script: {script['content'][:80]!r}"
            assert not script["content"].strip(), "a script with both src and content"
    text = "".join(page.text)
    for expected in shows:
        assert expected in text, f"{expected[:40]!r} is not shown as text"
    return page


def json_ld(html):
    page = parse_page(html)
    return [
        json.loads(script["content"])
        for script in page.scripts
        if script["attrs"].get("type") == "application/ld+json"
    ]


def meta_contents(html):
    """``{property or name: [content, ...]}`` of the page's meta tags."""
    found = {}
    for tag, attrs in parse_page(html).elements:
        attrs = dict(attrs)
        if tag == "meta" and "content" in attrs:
            key = attrs.get("property") or attrs.get("name")
            found.setdefault(key, []).append(attrs["content"])
    return found


class MarkupFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def markup_in(html_text):
    """The elements a feed reader would build from an HTML-typed feed field."""
    finder = MarkupFinder()
    finder.feed(html_text)
    finder.close()
    return finder.tags
