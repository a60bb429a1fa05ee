"""Rich-text bodies: the sanitizer and plain text (stories.richtext), every write path
sanitizing whatever it is sent, the editor under the CSP, and what readers get from a body."""

import html
import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stories.models import PreviewLink, Story
from stories.richtext import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    body_text,
    html_to_plain,
    paragraphs_html,
    paragraphs_text,
    plain_to_html,
    reading_minutes,
    sanitize_body,
    word_count,
)

from .admin_forms import browser_post
from .factories import SectionFactory, StoryFactory
from .hostile import HOSTILE_HTML, assert_inert, assert_sanitized_body, json_ld, markup_in


def login(user):
    from django.http import HttpRequest

    client = Client()
    assert client.login(request=HttpRequest(), username=user.username, password="pw-for-tests-only")
    return client


def change_url(story):
    return reverse("admin:stories_story_change", args=[story.pk])


# --- the sanitizer -------------------------------------------------------------------------

ALLOWED_BODY = (
    '<p>Plain, <strong>bold</strong>, <em>italic</em> and <a href="https://example.org/a?b=1&amp;c=2"'
    ' rel="noopener">a link</a>.</p><h2>Subhead</h2><h3>Smaller</h3>'
    "<blockquote><p>Quoted.</p></blockquote><ul><li>One</li><li>Two</li></ul>"
    '<ol start="3"><li>Three</li></ol><p><a href="mailto:desk@example.org" rel="noopener">Mail</a>'
    ' <a href="/2024/01/02/other/" rel="noopener">ours</a></p>'
)


def test_sanitizer_keeps_everything_the_editor_offers_as_it_is():
    assert sanitize_body(ALLOWED_BODY) == ALLOWED_BODY


def test_sanitizer_removes_everything_hostile():
    cleaned = sanitize_body(HOSTILE_HTML)
    assert_sanitized_body(cleaned)
    tags = {tag for tag, _ in markup_in(cleaned)}
    assert tags <= ALLOWED_TAGS
    for gone in ("script", "style", "iframe", "svg", "math", "img", "object", "form", "h1"):
        assert f"<{gone}" not in cleaned
    # The one safe link keeps its address; rel is ours, not the sender's; no target.
    assert '<a href="https://example.org/ok" rel="noopener">unclosed</a>' in cleaned
    assert "target" not in cleaned and "opener" not in cleaned.replace("noopener", "")
    # Text stays text, escaped.
    assert "&lt;script&gt;go()&lt;/script&gt;" in cleaned


@pytest.mark.parametrize(
    "href",
    [
        "javascript:go()",
        " JAVASCRIPT:go()",
        "java\tscript:go()",
        "jav&#x61;script:go()",
        "data:text/html,<script>go()</script>",
        "vbscript:go()",
        "file:///etc/passwd",
        "ftp://example.org/",
    ],
)
def test_links_go_only_to_http_https_and_mailto(href):
    cleaned = sanitize_body(f"<p><a href='{href}'>x</a></p>")
    assert cleaned == '<p><a rel="noopener">x</a></p>'


def test_an_empty_document_is_no_body():
    assert sanitize_body("<p></p>") == ""
    assert sanitize_body("<p> </p><script>go()</script>") == ""
    assert sanitize_body(None) == ""


def test_body_text_is_words_only_with_paragraph_breaks():
    text = body_text(ALLOWED_BODY)
    assert text == (
        "Plain, bold, italic and a link.\n\nSubhead\n\nSmaller\n\nQuoted.\n\nOne\n\nTwo\n\n"
        "Three\n\nMail ours"
    )
    for markup in ("href", "strong", "noopener", "example.org", "<"):
        assert markup not in text
    assert (
        body_text("<p>Tom &amp; Jerry &lt;b&gt; &quot;x&quot;\n   y</p>") == 'Tom & Jerry <b> "x" y'
    )


def test_word_count_and_reading_time():
    assert word_count("One — two, three.\n\nFour") == 4
    assert reading_minutes("") == 1
    assert reading_minutes(" ".join(["word"] * 231)) == 2


PLAIN = 'Tom & Jerry said "hi" <b>not bold</b>,\nthen left.\n\n  Second\xa0one\'s text.  '


def test_plain_text_becomes_escaped_paragraphs_and_back():
    converted = plain_to_html(PLAIN)
    assert converted == (
        '<p>Tom &amp; Jerry said "hi" &lt;b&gt;not bold&lt;/b&gt;,\nthen left.</p>'
        "<p>Second&nbsp;one's text.</p>"
    )
    assert sanitize_body(converted) == converted
    # Paragraphs come back stripped, each line break inside one kept.
    assert html_to_plain(converted) == (
        'Tom & Jerry said "hi" <b>not bold</b>,\nthen left.\n\nSecond\xa0one\'s text.'
    )
    assert body_text(converted) == (
        'Tom & Jerry said "hi" <b>not bold</b>, then left.\n\nSecond\xa0one\'s text.'
    )


# Text and markup pieces, hostile and not, for the properties below.
FRAGMENTS = st.sampled_from(
    [
        "<p>",
        "</p>",
        "<h2>",
        "<h1>",
        "<strong>",
        "</em>",
        "<a href='https://x.org/'>",
        "<a href=javascript:go()>",
        "</a>",
        "<ul><li>",
        "<script>",
        "</script>",
        "<style>",
        "<svg onload=go()>",
        "<math>",
        "<iframe>",
        "<!--",
        "-->",
        "<img src=x onerror=go()>",
        "&amp;",
        "&lt;",
        "&",
        "<",
        ">",
        '"',
        "'",
        "\n",
        " ",
        "<p style='x' onclick=go()>",
        "<blockquote>",
        "<table><td>",
        "<noscript>",
        "<textarea>",
        "</",
        "<a href='mailto:x@y.org' target=_blank rel=opener>",
    ]
)
HTMLISH = st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=30).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HTMLISH)
def test_sanitizing_twice_changes_nothing(value):
    once = sanitize_body(value)
    assert sanitize_body(once) == once


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HTMLISH)
def test_no_disallowed_tag_or_attribute_ever_survives(value):
    cleaned = sanitize_body(value)
    for tag, attrs in markup_in(cleaned):
        assert tag in ALLOWED_TAGS
        allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | ({"rel"} if tag == "a" else set())
        assert set(attrs) <= allowed, (tag, attrs)
        if tag == "a" and "href" in attrs:
            assert attrs["href"].startswith(("https:", "mailto:")), attrs
    assert "<!--" not in cleaned


# What a briefing line may hold: no control characters but the tab; spaces and markup often.
PARSER_LINE_CHARACTERS = st.characters(blacklist_categories=["Cs", "Cc"]) | st.sampled_from(
    [" ", "\t", "\xa0", "<", "&", ">", '"', "'"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=PARSER_LINE_CHARACTERS, min_size=1), max_size=6))
def test_the_importers_html_is_sanitized_and_its_plain_text_matches(paragraphs):
    # What the briefing parser hands over: lines without control characters, stripped.
    paragraphs = [p.strip() for p in paragraphs if p.strip()]
    written = paragraphs_html(paragraphs)
    assert sanitize_body(written) == written
    assert paragraphs_text(paragraphs) == body_text(written)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]) | st.just("\n")))
def test_plain_bodies_survive_the_round_trip(text):
    normalised = "\n\n".join(part.strip() for part in re.split(r"\n[ \t]*\n", text) if part.strip())
    assert html_to_plain(plain_to_html(text)) == normalised


# --- every write path sanitizes ------------------------------------------------------------


@pytest.mark.django_db
def test_model_save_sanitizes_and_fills_the_plain_text():
    story = Story.objects.create(headline="Saved", body=HOSTILE_HTML, section=SectionFactory())
    story.refresh_from_db()
    assert story.body == sanitize_body(HOSTILE_HTML)
    assert story.body_plain == body_text(story.body)
    story.body = "<p onclick=go()>Changed</p>"
    story.save(update_fields=["body"])
    story.refresh_from_db()
    assert (story.body, story.body_plain) == ("<p>Changed</p>", "Changed")


def hostile_body_pages(story):
    return {
        "story": story.get_absolute_url(),
        "rss": "/feed/",
        "atom": "/feed/atom/",
        "search": "/search/?q=Harbour",
    }


@pytest.mark.django_db(transaction=True)
def test_hostile_html_posted_to_the_admin_is_stored_and_rendered_harmless(editor_user):
    """Raw hostile HTML straight to the add and change forms, as a script would post it, on
    every database and outside a test transaction."""
    client = login(editor_user)
    section = SectionFactory()
    add = reverse("admin:stories_story_add")
    response = browser_post(
        client,
        add,
        {
            "headline": "Harbour reopens",
            "section": str(section.pk),
            "body": f"<p>Harbour news.</p>{HOSTILE_HTML}",
            "status": "published",
            "published_at_0": "2024-01-02",
            "published_at_1": "10:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    story = Story.objects.get()
    assert_sanitized_body(story.body)
    assert story.body == sanitize_body(f"<p>Harbour news.</p>{HOSTILE_HTML}")
    assert story.body_plain.startswith("Harbour news.\n\nStyled")

    response = browser_post(client, change_url(story), {"body": f"{HOSTILE_HTML}<p>Harbour.</p>"})
    assert response.status_code == 302
    story.refresh_from_db()
    assert_sanitized_body(story.body)
    # The hostile markup's unclosed tags hold what follows; it is kept, as text.
    assert "<p>Harbour.</p>" in story.body
    for revision in story.history.all():
        assert_sanitized_body(revision.body)

    reader = Client()
    for name, url in hostile_body_pages(story).items():
        page = reader.get(url)
        assert page.status_code == 200, name
        text = page.content.decode()
        if name in ("rss", "atom"):
            for tag, attrs in markup_in(html.unescape(text)):
                assert not any(attr.startswith("on") for attr in attrs), (name, tag)
                assert tag not in {"script", "iframe", "svg", "math", "img", "style"}, (name, tag)
            continue
        assert_inert(text)
        for forbidden in ("onerror", "onload", "onclick", "javascript:go", "srcdoc", "<iframe"):
            assert forbidden not in text, (name, forbidden)
    blocks = json_ld(reader.get(story.get_absolute_url()).content.decode())
    article = next(block for block in blocks if block.get("@type") == "NewsArticle")
    assert article["articleBody"] == story.body_plain
    # Previews (a shared link; staff at the address) of the story once it is a draft again.
    Story.objects.filter(pk=story.pk).update(status=Story.Status.DRAFT)
    link = PreviewLink.objects.create(story=story)
    for preview in (reader.get(link.get_absolute_url()), client.get(story.get_absolute_url())):
        assert preview.status_code == 200
        assert preview["Cache-Control"] == "private, no-store"
        assert_inert(preview.content.decode())
        assert "onerror" not in preview.content.decode()


@pytest.mark.django_db(transaction=True)
def test_restoring_an_old_revision_sanitizes_it(editor_user):
    story = StoryFactory(body="<p>Good.</p>")
    client = login(editor_user)
    browser_post(client, change_url(story), {"body": "<p>Newer.</p>"})
    old = story.history.earliest()
    # A revision written before sanitizing existed, or straight into the table.
    Story.history.filter(history_id=old.history_id).update(body=HOSTILE_HTML)
    url = reverse("admin:stories_story_simple_history", args=[story.pk, old.history_id])
    page = client.get(url)
    assert page.status_code == 200
    assert_inert(page.content.decode())
    assert browser_post(client, url).status_code == 302
    story.refresh_from_db()
    assert story.body == sanitize_body(HOSTILE_HTML)
    assert_sanitized_body(story.body)


@pytest.mark.django_db
def test_staff_preview_renders_the_body_as_the_story_page_does(editor_user):
    story = StoryFactory(body=ALLOWED_BODY, dateline="KYIV")
    preview = login(editor_user).get(story.get_absolute_url())
    assert preview.status_code == 200
    body = preview.content.decode().split('<div class="story__body">')[1].split("</div>")[0]
    assert body.strip() == ALLOWED_BODY.replace(
        "<p>Plain", '<p><span class="dateline">KYIV — </span>Plain', 1
    )


@pytest.mark.django_db
def test_story_page_shows_the_reading_time_and_a_body_without_a_leading_paragraph(client):
    story = StoryFactory(
        published=True, body="<h2>First</h2>" + "<p>" + "word " * 500 + "</p>", dateline="ROME"
    )
    page = client.get(story.get_absolute_url()).content.decode()
    assert '<p class="story__length">3 min read</p>' in page
    assert '<p><span class="dateline">ROME — </span></p><h2>First</h2>' in page


# --- the editor, under the CSP ---------------------------------------------------------------


def nonce_of(response):
    policy = response["Content-Security-Policy"]
    found = re.search(r"'nonce-([^']+)'", policy)
    return policy, found.group(1) if found else None


@pytest.mark.django_db
def test_change_form_loads_the_editor_with_a_nonce_and_only_the_allowed_formatting(editor_user):
    story = StoryFactory(body=ALLOWED_BODY)
    response = login(editor_user).get(change_url(story))
    page = response.content.decode()
    policy, nonce = nonce_of(response)
    assert nonce and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert re.search(r"style-src 'self'(;|$)", policy)
    [importmap] = re.findall(r'<script type="importmap" nonce="([^"]+)">', page)
    assert importmap == nonce
    assert f'<script src="/static/stories/body_editor.js" nonce="{nonce}" type="module">' in page
    config = re.search(r'data-django-prose-editor-newsroom="([^"]+)"', page).group(1)
    extensions = json.loads(html.unescape(config))["extensions"]
    assert set(extensions) == {
        "Document", "Dropcursor", "Gapcursor", "Paragraph", "Text", "Menu", "History",
        "Heading", "Bold", "Italic", "Link", "Blockquote", "BulletList", "OrderedList",
        "ListItem",
    }  # fmt: skip
    assert extensions["Heading"] == {"levels": [2, 3]}
    assert extensions["Link"]["protocols"] == ["http", "https", "mailto"]
    # The stored HTML is the textarea's value, escaped.
    assert escape(ALLOWED_BODY) in page
    for path in ("stories/body_editor.js", "stories/body_editor.css", "stories/story_form.js"):
        assert finders.find(path), path


@pytest.mark.django_db
def test_revision_form_loads_the_editor_with_a_nonce(editor_user):
    story = StoryFactory()
    revision = story.history.latest()
    url = reverse("admin:stories_story_simple_history", args=[story.pk, revision.history_id])
    response = login(editor_user).get(url)
    _policy, nonce = nonce_of(response)
    assert f'<script type="importmap" nonce="{nonce}">' in response.content.decode()


@pytest.mark.django_db
def test_reader_pages_ask_for_no_nonce(client):
    story = StoryFactory(published=True)
    policy, nonce = nonce_of(client.get(story.get_absolute_url()))
    assert nonce is None and "script-src 'self'" in policy


@pytest.mark.django_db
def test_headline_and_deck_count_characters_and_a_live_slug_warns(editor_user):
    live = StoryFactory(published=True, slug="live-one")
    draft = StoryFactory(slug="draft-one")
    client = login(editor_user)
    page = client.get(change_url(live)).content.decode()
    for name, limit in (("headline", 200), ("deck", 300)):
        tag = re.search(rf'<input [^>]*name="{name}"[^>]*>', page).group(0)
        assert f'maxlength="{limit}"' in tag and "data-character-count" in tag
        assert "story-form__wide" in tag
    slug = re.search(r'<input [^>]*name="slug"[^>]*>', page).group(0)
    assert 'data-live-slug="live-one"' in slug
    assert "redirected" in page
    draft_page = client.get(change_url(draft)).content.decode()
    assert "data-live-slug" not in draft_page and "are redirected" not in draft_page


# --- search reads words, not markup --------------------------------------------------------


@pytest.mark.django_db
def test_search_finds_the_bodys_words_and_never_its_markup():
    from stories.reader.search import search_stories

    StoryFactory(
        published=True,
        headline="Port news",
        deck="",
        body='<p>Read <a href="https://harbourmaster.example/notice">the <strong>report'
        "</strong></a> and <em>weep</em>.</p><h2>Ships</h2><ul><li>Cargo</li></ul>",
    )
    StoryFactory(published=True, headline="Other", deck="", body="<p>Nothing here.</p>")

    def found(query):
        return [story.headline for story in search_stories(query)]

    for word in ("report", "weep", "ships", "cargo", "read"):
        assert found(word) == ["Port news"], word
    for markup in ("href", "strong", "noopener", "rel", "harbourmaster", "https", "notice", "li"):
        assert found(markup) == [], markup


# --- the importer ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_briefing_imports_every_paragraph_exactly_and_reimports_unchanged(seed_path):
    from stories.importer import import_briefings, read_briefing_file

    briefing = read_briefing_file(seed_path)
    first = import_briefings([briefing])
    assert first.counts["created"] == 4
    for parsed in briefing.stories:
        story = Story.objects.get(headline=parsed.headline)
        assert story.body == "".join(
            f"<p>{html.escape(paragraph, quote=False)}</p>" for paragraph in parsed.paragraphs
        )
        assert story.paragraphs == list(parsed.paragraphs)
        assert story.body_plain == "\n\n".join(parsed.paragraphs)
    again = import_briefings([read_briefing_file(seed_path)])
    assert again.counts == {
        "created": 0,
        "updated": 0,
        "unchanged": 4,
        "conflicts": 0,
        "missing": 0,
        "deleted": 0,
    }


@pytest.mark.django_db
def test_imported_markup_characters_stay_text(client):
    from stories.importer import import_briefings
    from stories.importer.parser import parse_briefing

    text = (
        "Talks on <b> & “quotes”\n"
        "A deck with <i>markup</i> & more\n"
        'He said "5 < 6 & 7 > 3" and <script>go()</script> isn\'t code.\n'
        "Second <p>paragraph</p> &amp; more.\n"
        "— By Ana Lima\n"
    )
    import_briefings([parse_briefing(text, source="odd.txt")], status="published")
    story = Story.objects.get()
    assert story.deck == "A deck with <i>markup</i> & more"
    assert story.body == (
        '<p>He said "5 &lt; 6 &amp; 7 &gt; 3" and &lt;script&gt;go()&lt;/script&gt; '
        "isn't code.</p>"
        "<p>Second &lt;p&gt;paragraph&lt;/p&gt; &amp;amp; more.</p>"
    )
    assert story.paragraphs == [
        'He said "5 < 6 & 7 > 3" and <script>go()</script> isn\'t code.',
        "Second <p>paragraph</p> &amp; more.",
    ]
    page = client.get(story.get_absolute_url()).content.decode()
    assert_inert(page, shows=story.paragraphs)


@pytest.mark.django_db
def test_saving_an_imported_story_unchanged_keeps_its_body(seed_path, editor_user):
    from stories.importer import import_briefings, read_briefing_file

    import_briefings([read_briefing_file(seed_path)])
    story = Story.objects.order_by("pk").first()
    before = story.body
    assert browser_post(login(editor_user), change_url(story)).status_code == 302
    story.refresh_from_db()
    assert story.body == before


@pytest.mark.django_db
def test_history_shows_what_changed_in_the_bodys_words(editor_user):
    story = StoryFactory(
        body='<p>Old <strong>words</strong> <a href="https://a.example/">here</a></p>'
    )
    client = login(editor_user)
    body = '<p>New <strong>words</strong> <a href="https://b.example/">here</a></p>'
    assert browser_post(client, change_url(story), {"body": body}).status_code == 302
    page = client.get(reverse("admin:stories_story_history", args=[story.pk])).content.decode()
    assert "Old words here" in page and "New words here" in page
    assert "&lt;strong&gt;" not in page and "b.example" not in page


@pytest.mark.django_db
def test_history_names_a_lead_image_by_its_alt_text(editor_user, media_root):
    from .library import library_image

    story = StoryFactory()
    client = login(editor_user)
    image = library_image(alt="Cranes <at> dawn")
    data = {"lead_image": str(image.pk)}
    assert browser_post(client, change_url(story), data).status_code == 302
    page = client.get(reverse("admin:stories_story_history", args=[story.pk])).content.decode()
    assert "no image" in page and "“Cranes &lt;at&gt; dawn”" in page
    assert "pk=None" not in page
