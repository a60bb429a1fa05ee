"""A story's body: HTML from a short allowlist, sanitized on the server, and its plain text.

The admin's editor (django-prose-editor) offers paragraphs, subheads (h2, h3), bold, italic,
links, blockquotes and lists, but the browser is not trusted: whatever is posted, imported or
restored from an old revision passes through ``sanitize_body`` before it is stored
(``Story.save``; the importer, whose bulk writes skip ``save()``, writes only escaped text
in paragraphs, ``paragraphs_html``), and the story page and feeds sanitize again on the way
out, so a row written straight to the database cannot carry a script either.

Everything that wants words rather than markup (search, JSON-LD, meta descriptions, feed
summaries, word counts, revision diffs) reads ``body_text``. Migrations import this module by
name (0020 turned plain-text bodies into paragraphs), so it stays where it is.
"""

import math
import re
from html.parser import HTMLParser

import nh3

ALLOWED_TAGS = {"p", "h2", "h3", "strong", "em", "a", "blockquote", "ul", "ol", "li"}
# The editor's link dialog asks for a title too; its list button sets where a list starts.
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
# Removed with everything inside them, not just unwrapped: their content is code, styling
# or another document, never words of the story.
REMOVED_WITH_CONTENT = {
    "script",
    "style",
    "template",
    "iframe",
    "object",
    "embed",
    "noscript",
    "noembed",
    "noframes",
    "svg",
    "math",
    "textarea",
    "select",
    "title",
    "xmp",
}


def _drop_empty_attributes(tag, attribute, value):
    # The link dialog sends title="" when no title is given.
    return value if value.strip() else None


_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attribute_filter=_drop_empty_attributes,
    clean_content_tags=REMOVED_WITH_CONTENT,
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=URL_SCHEMES,
    # Every link opens without handing the new page a handle on ours (window.opener).
    link_rel="noopener",
    strip_comments=True,
)

# What makes a new paragraph of plain text (lists' items and subheads are paragraphs too).
BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li", "div"}
SKIPPED_TAGS = REMOVED_WITH_CONTENT
# HTML collapses runs of ASCII whitespace (not U+00A0) into one space when it renders.
HTML_WHITESPACE = re.compile(r"[ \t\n\r\f]+")
# Plain-text bodies before migration 0020, and the admin's textarea: a blank line.
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
WORDS_PER_MINUTE = 230
MAX_PASSES = 5
TAG = re.compile(r"<[^>]*>")
WORD_CHARACTER = re.compile(r"\w")


def sanitize_body(value):
    """``value`` (any HTML, however broken or hostile) reduced to the allowlist: only the
    tags and attributes above, links only to http, https and mailto addresses (or relative
    ones) with ``rel="noopener"``, no comments. Sanitizing the result again changes nothing.
    """
    cleaned = _cleaner.clean(value or "")
    # Removing an element can leave a nesting HTML cannot parse back the same (a heading
    # inside a heading once the table between them is gone): clean again until nothing
    # changes, so what is stored is what a browser, or the next save, reads.
    for _ in range(MAX_PASSES):
        again = _cleaner.clean(cleaned)
        if again == cleaned:
            break
        cleaned = again
    # The editor leaves an empty paragraph for an empty document: that is no body. (Tags in
    # nh3's output are well formed, so a pattern finds them.)
    return cleaned if TAG.sub("", cleaned).strip() else ""


def paragraphs_html(paragraphs):
    """Paragraphs of plain text (without control characters, as the briefing parser hands
    them over), each escaped in its own ``<p>`` exactly as ``sanitize_body`` writes text, so
    that saving the result in the admin changes nothing. Escaped here rather than sanitized:
    the importer writes 10,000 stories at a time."""
    return "".join(f"<p>{escape_text(paragraph)}</p>" for paragraph in paragraphs)


def escape_text(text):
    """Text as nh3 (html5ever) serializes it: ``&``, ``<``, ``>`` and no-break spaces."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\xa0", "&nbsp;")
    )


def with_lead_in(body, lead_in):
    """``body`` (sanitized HTML) with ``lead_in`` (safe HTML: a dateline) at the start of its
    first paragraph, or in a paragraph of its own when the body starts otherwise."""
    if not lead_in:
        return body
    if body.startswith("<p>"):
        return f"<p>{lead_in}{body[3:]}"
    return f"<p>{lead_in}</p>{body}"


def paragraphs_text(paragraphs):
    """``body_text(paragraphs_html(paragraphs))``, without parsing HTML."""
    paragraphs = list(paragraphs)
    joined = "\n\n".join(paragraphs)
    # The usual case: nothing a browser would collapse (substring tests, not a regex: the
    # importer asks this of every story).
    if (
        all(paragraph and paragraph == paragraph.strip() for paragraph in paragraphs)
        and joined.count("\n") == 2 * (len(paragraphs) - 1)
        and not any(space in joined for space in ("  ", "\t", "\r", "\f"))
    ):
        return joined
    return "\n\n".join(
        text
        for text in (HTML_WHITESPACE.sub(" ", paragraph).strip() for paragraph in paragraphs)
        if text
    )


def plain_to_html(text):
    """A plain-text body (paragraphs separated by blank lines) as HTML paragraphs. A single
    line break inside a paragraph stays in its text, where a browser shows it as a space."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    # Sanitized too: a body stored before could hold anything (a control character, say).
    return sanitize_body(
        paragraphs_html(part.strip() for part in PARAGRAPH_BREAK.split(text) if part.strip())
    )


class _TextCollector(HTMLParser):
    def __init__(self, collapse):
        super().__init__(convert_charrefs=True)
        self.collapse = collapse
        self.blocks = []
        self.current = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_TAGS:
            self.skipping += 1
        elif tag in BLOCK_TAGS:
            self.flush()
        elif tag == "br":
            self.current.append("\n")

    def handle_endtag(self, tag):
        if tag in SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in BLOCK_TAGS:
            self.flush()

    def handle_data(self, data):
        if not self.skipping:
            self.current.append(data)

    def flush(self):
        text = "".join(self.current)
        self.current = []
        text = HTML_WHITESPACE.sub(" ", text).strip() if self.collapse else text.strip()
        if text:
            self.blocks.append(text)

    def read(self, value):
        self.feed(value)
        self.close()
        self.flush()
        return "\n\n".join(self.blocks)


def body_text(value):
    """The words of an HTML body as plain text: each paragraph, subhead, quote and list item
    a paragraph (separated by a blank line), entities decoded, whitespace as a reader sees
    it. What search indexes, feeds summarise and revision diffs compare."""
    if not value:
        return ""
    return _TextCollector(collapse=True).read(value)


def html_to_plain(value):
    """The reverse of ``plain_to_html``: paragraphs' text unescaped, line breaks inside a
    paragraph kept, paragraphs separated by a blank line (migration 0020, backwards)."""
    if not value:
        return ""
    return _TextCollector(collapse=False).read(value)


def word_count(text):
    """Words in plain text (``body_text``'s): runs between spaces with a letter or digit in
    them, so a dash standing alone is no word."""
    return sum(1 for token in text.split() if WORD_CHARACTER.search(token))


def reading_minutes(text):
    """Minutes an average reader takes over plain text, at least one."""
    return reading_minutes_for(word_count(text))


def reading_minutes_for(words):
    """Minutes an average reader takes over ``words`` words, at least one."""
    return max(1, math.ceil(words / WORDS_PER_MINUTE))
