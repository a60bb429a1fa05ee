"""Hostile text and a checker that says whether a rendered page kept it inert.

``PAYLOAD`` tries every way out of a template we know: closing a ``<script>`` early, opening
one, an element with an event handler, a ``javascript:`` link, and both quote characters
(to leave an attribute). A page keeps it inert when parsing the page finds none of those
elements or attributes and the payload reads back as plain text.
"""

import json
import re
from html.parser import HTMLParser

PAYLOAD = (
    '</script><script>go()</script><xss-marker onclick=go()>"\'&<a href="javascript:go()">x</a>'
)
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "srcset", "poster", "data", "xlink:href"}
JSON_SCRIPT_TYPES = {"application/ld+json", "application/json"}
# Rich text (a story's body) as an attacker would post it straight to the form: every way we
# know to run script or restyle the page from HTML. None of it may survive sanitizing.
HOSTILE_HTML = (
    "<script>go()</script><p onclick=go() style='position:fixed'>Styled</p>"
    "<img src=x onerror=go()><a href='javascript:go()'>js</a>"
    "<a href='  JaVaScRiPt:go()'>spaced</a><a href='jav&#x09;ascript:go()'>tab</a>"
    "<a href='data:text/html;base64,PHNjcmlwdD5nbygpPC9zY3JpcHQ+'>data</a>"
    "<a href='vbscript:go()'>vb</a><style>body{display:none}</style>"
    "<iframe src='https://evil.example/' srcdoc='<script>go()</script>'></iframe>"
    "<svg onload=go()><script>go()</script><a xlink:href='javascript:go()'>svg</a></svg>"
    "<math><mtext><table><mglyph><style><img src=x onerror=go()></style></mglyph></table>"
    "</mtext></math>"
    "<object data='javascript:go()'></object><embed src='javascript:go()'>"
    "<form action='javascript:go()'><input formaction='javascript:go()' autofocus onfocus=go()>"
    "</form>"
    "<base href='https://evil.example/'><meta http-equiv=refresh content='0;url=javascript:go()'>"
    "<link rel=stylesheet href='https://evil.example/x.css'>"
    "<!--><script>go()</script>--><!-- <script>go()</script> -->"
    "<noscript><p title='</noscript><img src=x onerror=go()>'></noscript>"
    "<scr<script>ipt>go()</scr</script>ipt><xss-marker onclick=go()>marker</xss-marker>"
    "<p><strong><em><a href='https://example.org/ok' target=_blank rel=opener>unclosed"
    "<h1 class=x id=y>Big</h1><table><tr><td>cell</td></tr></table>"
    "&lt;script&gt;go()&lt;/script&gt; &amp;lt;b&amp;gt;"
)
# What a sanitized body may hold (stories.richtext), and where its links may go.
BODY_TAGS = {"p", "h2", "h3", "strong", "em", "a", "blockquote", "ul", "ol", "li"}
BODY_ATTRIBUTES = {"a": {"href", "title", "rel"}, "ol": {"start"}}
LINK_SCHEMES = ("http://", "https://", "mailto:")


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
        if kind in JSON_SCRIPT_TYPES or kind == "importmap":
            json.loads(script["content"])  # whole, valid JSON: nothing broke out of it
            assert "<" not in script["content"], "a raw < inside a JSON script element"
            if kind == "importmap":
                # The admin's editor: an inline script the CSP runs only with the nonce.
                assert script["attrs"].get("nonce"), "an import map without a nonce"
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


def assert_sanitized_body(html_text):
    """``html_text`` holds only what a story's body may: the allowlisted elements and
    attributes, links only to http, https and mailto addresses (or this site's own), each with
    ``rel="noopener"``, no comment. Its text may read "go()": text is not code."""
    for tag, attrs in markup_in(html_text):
        assert tag in BODY_TAGS, f"<{tag}> in a body"
        assert set(attrs) <= BODY_ATTRIBUTES.get(tag, set()), f"<{tag} {attrs}> in a body"
        if tag == "a" and "href" in attrs:
            href = attrs["href"].strip().lower()
            assert href.startswith(LINK_SCHEMES) or not re.match(r"^[a-z][a-z0-9+.-]*:", href), (
                f"a link to {href!r}"
            )
        if tag == "a":
            assert attrs.get("rel") == "noopener", attrs
    assert "<!--" not in html_text
