"""Nothing that is not live reaches a reader, on any surface, cached or not.

For each state a story can be in (draft, in review, scheduled, unpublished, published), one
story carrying a unique word shares a section, a tag and a byline with a live story, and has
a tag, a byline, an old slug and preview links of its own. Every reader surface is fetched
as an anonymous reader, once with the page cache off and twice with it on (filling it, then
reading from it); the word must appear on none of them, except for the published story,
where it must appear on all that list it (so the check itself is known to work).
"""

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from stories.models import FrontPage, PreviewLink, Story, StoryNote, StorySlugRedirect

from .factories import BylineFactory, SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db

STATES = ["draft", "review", "scheduled", "unpublished", "published"]


def word_for(state):
    return f"Zq{state}marker"


@pytest.fixture
def newsroom():
    section = SectionFactory(name="World", slug="world")
    shared_byline = BylineFactory(name="Shared Writer", slug="shared-writer")
    StoryFactory(
        headline="Always live story",
        slug="always-live",
        section=section,
        bylines=[shared_byline],
        tags=["Shared"],
        published=True,
    )
    return {"section": section, "byline": shared_byline}


def make_story(state, newsroom, *, unpublish=True):
    """A story in ``state``; an unpublished one was live first (``unpublish=False`` leaves it
    live, for the caller to pull later)."""
    word = word_for(state)
    story = StoryFactory(
        headline=f"{word} headline",
        slug=f"{word.lower()}-story",
        deck=f"{word} deck.",
        # Rich text: the word in a paragraph, a subhead, a link's text and its address.
        body=f"<p>{word} body text.</p><h2>More {word}</h2>"
        f'<p><a href="https://example.org/{word}">{word} link</a></p>',
        section=newsroom["section"],
        # A byline only this story carries: like its own tag, unknown to readers (404, no
        # menu or sitemap entry) until the story is live.
        bylines=[newsroom["byline"], BylineFactory(name=f"Own {state}", slug=f"own-{state}")],
        tags=["Shared", f"{word} Tag"],
        status=Story.Status.DRAFT,
    )
    # The story was published once under another slug, so an old address exists.
    StorySlugRedirect.objects.create(slug=f"{word.lower()}-old", story=story)
    now = timezone.now()
    if state == "review":
        story.status = Story.Status.REVIEW
    elif state == "scheduled":
        story.status, story.published_at = Story.Status.PUBLISHED, now + timedelta(hours=3)
    elif state in ("published", "unpublished"):
        story.status, story.published_at = Story.Status.PUBLISHED, now - timedelta(hours=1)
    story.save()
    # Editors pinned it on the home page and atop its section (stories/editorial/front_page.py):
    # a pin never shows a story before its time, nor after it is pulled.
    front_page = FrontPage.load()
    front_page.pins.create(story=story, position=0)
    front_page.section_top_stories.update_or_create(
        section=newsroom["section"], defaults={"story": story}
    )
    if state == "unpublished" and unpublish:
        story.status = Story.Status.UNPUBLISHED
        story.save()
    return story


def surfaces(story, newsroom):
    """Every address a reader could find a story on, with the story's own ones."""
    word = word_for_story(story)
    own_tag = story.tags.get(name__endswith="Tag").slug
    own_byline = story.bylines.get(slug__startswith="own-").slug
    lists = {
        "home": "/",
        "section": "/sections/world/",
        "shared tag": "/tags/shared/",
        "own tag": f"/tags/{own_tag}/",
        "shared byline": "/bylines/shared-writer/",
        "own byline": f"/bylines/{own_byline}/",
        "search": f"/search/?q={word}",
        "search shared": "/search/?q=body",
    }
    for name, base in (
        ("site", "/"),
        ("section", "/sections/world/"),
        ("shared tag", "/tags/shared/"),
        ("own tag", f"/tags/{own_tag}/"),
        ("shared byline", "/bylines/shared-writer/"),
        ("own byline", f"/bylines/{own_byline}/"),
    ):
        lists[f"{name} rss"] = f"{base}feed/"
        lists[f"{name} atom"] = f"{base}feed/atom/"
    lists["sitemap index"] = "/sitemap.xml"
    for sitemap in ("stories", "news", "sections", "tags", "bylines"):
        lists[f"sitemap {sitemap}"] = f"/sitemap-{sitemap}.xml"
    return lists


def word_for_story(story):
    return story.headline.split()[0]


def story_addresses(story):
    day = story.url_date()
    old = f"/{day.year}/{day.month:02}/{day.day:02}/{story.slug.removesuffix('-story')}-old/"
    return {"story": story.get_absolute_url(), "old slug": old}


def fetch(client, url):
    response = client.get(url)
    body = b"".join(response) if response.streaming else response.content
    return response, body.decode()


def secrets_of(story):
    """What a page showing or linking the story would contain (the search page echoes the
    query, so the bare word alone would not do)."""
    word = word_for_story(story)
    return [story.headline, story.deck, f"{word} body text", story.slug]


def assert_nothing_shown(client, story, newsroom):
    word = word_for_story(story)
    for name, url in surfaces(story, newsroom).items():
        response, body = fetch(client, url)
        assert response.status_code in (200, 404), (name, response.status_code)
        if name.startswith(("own tag", "own byline")):
            # A tag or byline only hidden stories carry is often the news itself (a merger,
            # a new hire): no page and no feed at all.
            assert response.status_code == 404, name
        for secret in secrets_of(story):
            assert secret not in body, f"{name} ({url}) shows a story that is not live"
    for name, url in story_addresses(story).items():
        response, body = fetch(client, url)
        assert response.status_code == 404, (name, response.status_code)
        assert word not in body


# Surfaces that list a published story with this word (others list it by its own pages).
SHOWN_ON = {
    "home",
    "section",
    "shared tag",
    "own tag",
    "shared byline",
    "own byline",
    "search",
    "search shared",
    "site rss",
    "site atom",
    "section rss",
    "section atom",
    "shared tag rss",
    "own tag atom",
    "shared byline atom",
    "own byline rss",
    "sitemap stories",
    "sitemap news",
}


def assert_all_shown(client, story, newsroom):
    word = word_for_story(story)
    for name, url in surfaces(story, newsroom).items():
        response, body = fetch(client, url)
        assert response.status_code == 200, (name, url)
        if name in SHOWN_ON:
            assert story.headline in body or story.slug in body, f"{name} ({url}) misses it"
    for name, url in story_addresses(story).items():
        response = client.get(url, follow=True)
        assert response.status_code == 200, name
        assert word in response.getvalue().decode()


def check(state, client, story, newsroom):
    if state == "published":
        assert_all_shown(client, story, newsroom)
    else:
        assert_nothing_shown(client, story, newsroom)


@pytest.mark.parametrize("state", STATES)
def test_only_live_stories_reach_readers_with_the_page_cache_off(state, client, newsroom):
    story = make_story(state, newsroom)
    check(state, client, story, newsroom)


@pytest.mark.parametrize("state", STATES)
def test_only_live_stories_reach_readers_from_the_page_cache(state, client, newsroom, page_cache):
    story = make_story(state, newsroom, unpublish=False)
    if state == "unpublished":
        # Live first, with every page cached; then pulled. No cached page may still show it.
        assert_all_shown(client, story, newsroom)
        story.status = Story.Status.UNPUBLISHED
        story.save()
    check(state, client, story, newsroom)  # fills the cache
    check(state, client, story, newsroom)  # read from it


@pytest.mark.parametrize("state", [s for s in STATES if s != "published"])
def test_previews_do_not_work_for_anonymous_readers_without_a_usable_link(state, newsroom):
    story = make_story(state, newsroom)
    expired = PreviewLink.objects.create(
        story=story, expires_at=timezone.now() - timedelta(seconds=1)
    )
    revoked = PreviewLink.objects.create(story=story, is_revoked=True)
    good = PreviewLink.objects.create(story=story)
    word = word_for_story(story)
    reader = Client()
    for url, status in (
        (expired.get_absolute_url(), 410),  # gone, and the page says so
        (revoked.get_absolute_url(), 410),
        (good.get_absolute_url().rstrip("/") + "x/", 404),  # tampered
        ("/preview/", 404),
        (reverse("stories:shared_preview", args=["not-a-token"]), 404),
        (story.get_absolute_url() + "?preview=1", 404),
    ):
        response = reader.get(url)
        assert response.status_code == status, url
        assert word not in response.getvalue().decode()
    # The one usable link works, privately; and readers' pages are still clean after it.
    response = reader.get(good.get_absolute_url())
    assert response.status_code == 200 and word in response.getvalue().decode()
    assert "no-store" in response["Cache-Control"]
    assert_nothing_shown(reader, story, newsroom)


def test_search_counts_only_live_stories(client, newsroom):
    for state in STATES:
        make_story(state, newsroom)
    html = client.get("/search/?q=body").getvalue().decode()
    # The always-live story has no "body" in it; only the published state's story does.
    assert re.search(r"\b1 story found", html), re.findall(r"result-count.{0,60}", html)


def test_tag_and_byline_sitemaps_list_only_names_with_live_stories(client, newsroom):
    for state in STATES:
        make_story(state, newsroom)
    tags = client.get("/sitemap-tags.xml").getvalue().decode()
    bylines = client.get("/sitemap-bylines.xml").getvalue().decode()
    for state in STATES:
        slug_word = word_for(state).lower()
        shown = state == "published"
        assert (f"/tags/{slug_word}-tag/" in tags) is shown, state
        assert (f"/bylines/own-{state}/" in bylines) is shown, state


def own_section_surfaces(slug):
    base = f"/sections/{slug}/"
    return [base, f"{base}feed/", f"{base}feed/atom/"]


def assert_section_known(client, story, known):
    """The story's own section: its page and feeds answer only while it has a live story,
    and the menu and the sections sitemap list it only then."""
    section = story.section
    for url in own_section_surfaces(section.slug):
        assert fetch(client, url)[0].status_code == (200 if known else 404), url
    for url in ("/", "/sitemap-sections.xml", "/feed/"):
        _, body = fetch(client, url)
        assert (section.name in body or f"/sections/{section.slug}/" in body) is known, url


def make_story_in_own_section(state, newsroom, *, unpublish=True):
    story = make_story(state, newsroom, unpublish=unpublish)
    word = word_for(state)
    story.section = SectionFactory(name=f"{word} desk", slug=f"{word.lower()}-desk")
    story.save()
    return story


@pytest.mark.parametrize("state", STATES)
def test_sections_without_a_live_story_are_unknown_to_readers(state, client, newsroom):
    story = make_story_in_own_section(state, newsroom)
    assert_section_known(client, story, state == "published")


@pytest.mark.parametrize("state", STATES)
def test_sections_without_a_live_story_are_unknown_to_readers_from_the_page_cache(
    state, client, newsroom, page_cache
):
    story = make_story_in_own_section(state, newsroom, unpublish=False)
    if state == "unpublished":
        assert_section_known(client, story, True)  # every page cached while it was live
        story.status = Story.Status.UNPUBLISHED
        story.save()
    for _ in range(2):  # fills the cache, then reads from it
        assert_section_known(client, story, state == "published")


# --- embargo ---------------------------------------------------------------------------------


def embargo_pages(story):
    return ["/", "/sections/world/", "/tags/shared/", "/feed/", "/sitemap-news.xml"]


def test_scheduled_story_is_invisible_a_second_before_and_visible_after_with_the_page_cache(
    client, newsroom, page_cache
):
    go_live = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    story = StoryFactory(
        headline="Zqembargo headline",
        slug="zqembargo",
        section=newsroom["section"],
        tags=["Shared"],
        status=Story.Status.PUBLISHED,
        published_at=go_live,
    )
    path = urlsplit(story.get_absolute_url()).path
    with time_machine.travel(go_live - timedelta(seconds=1), tick=False):
        for url in embargo_pages(story):
            for _ in range(2):  # rendered, then cached
                assert "Zqembargo" not in client.get(url).getvalue().decode(), url
        assert client.get(path).status_code == 404
    with time_machine.travel(go_live + timedelta(seconds=1), tick=False):
        for url in embargo_pages(story):
            assert "Zqembargo" in client.get(url).getvalue().decode(), url
        assert client.get(path).status_code == 200


@pytest.mark.parametrize("state", ["draft", "published"])
def test_unsaved_edits_reach_no_reader_surface(state, client, newsroom, page_cache, editor_user):
    """An editor's autosaved working copy and live preview of a story (stories.editorial.live)
    are theirs alone: no reader page, feed, sitemap or shareable preview shows them, with the
    page cache filled before and read after."""
    story = make_story(state, newsroom)
    link = PreviewLink.objects.create(story=story)
    unsaved = "Zqunsavedmarker"
    editor = Client()
    editor.force_login(editor_user)
    addresses = [*surfaces(story, newsroom).values(), *story_addresses(story).values()]
    addresses += [link.get_absolute_url(), f"/search/?q={unsaved}"]
    for url in addresses:  # fill the page cache
        fetch(client, url)
    data = {
        "headline": f"{unsaved} headline",
        "body": f"{unsaved} body.",
        "section": newsroom["section"].pk,
        "loaded_version": story.version,
    }
    autosave, preview = (
        reverse(f"admin:stories_story_live_{name}", args=[story.pk])
        for name in ("autosave", "preview")
    )
    assert editor.post(autosave, data).status_code == 200
    assert unsaved in editor.post(preview, data).getvalue().decode()
    for reader in (client, Client()):
        for url in addresses:
            _, body = fetch(reader, url)
            assert f"{unsaved} headline" not in body and f"{unsaved} body" not in body, url


# --- the desk's staff-only records (issue 13) -----------------------------------------------


def test_return_notes_and_import_conflicts_never_reach_readers(client, newsroom, editor_user):
    from stories.models import ImportConflict, ReturnNote

    story = make_story("published", newsroom)
    ReturnNote.objects.create(story=story, author=editor_user, text="Zqnote kill the quote.")
    ImportConflict.objects.create(
        story=story, source="zqsource.txt", reason="Zqconflict reason", found_at=timezone.now()
    )
    pages = {**surfaces(story, newsroom), **story_addresses(story)}
    staff = Client()
    staff.force_login(editor_user)  # staff see previews; the story itself is live
    for viewer in (client, staff):
        for name, url in pages.items():
            response = viewer.get(url, follow=True)
            body = response.getvalue().decode()
            for secret in ("Zqnote", "zqsource", "Zqconflict"):
                assert secret not in body, f"{name} ({url}) shows {secret}"
    # The check can fail: the story itself is on its page.
    assert story.headline in client.get(story.get_absolute_url()).getvalue().decode()


# --- The read API (/api/v1/): anonymous clients and keys see only live stories ------------
# (A key with the embargo scope also sees scheduled ones, marked embargoed; no key ever sees
# drafts, stories in review or unpublished ones.)


def api_surfaces(story):
    word = word_for_story(story)
    own_tag = story.tags.get(name__endswith="Tag").slug
    own_byline = story.bylines.get(slug__startswith="own-").slug
    addresses = story_addresses(story)
    return {
        "stories": "/api/v1/stories/",
        "section": "/api/v1/stories/?section=world",
        "shared tag": "/api/v1/stories/?tag=shared",
        "own tag": f"/api/v1/stories/?tag={own_tag}",
        "shared byline": "/api/v1/stories/?byline=shared-writer",
        "own byline": f"/api/v1/stories/?byline={own_byline}",
        "search": f"/api/v1/stories/?q={word}",
        "search shared": "/api/v1/stories/?q=body",
        "updated since": "/api/v1/stories/?updated_since=2000-01-01T00:00:00Z",
        "detail": f"/api/v1/stories/{story.pk}/",
        "path": f"/api/v1/stories/by-path/?path={addresses['story']}",
        "old path": f"/api/v1/stories/by-path/?path={addresses['old slug']}",
        "sections": "/api/v1/sections/",
        "tags": "/api/v1/tags/",
        "bylines": "/api/v1/bylines/",
    }


def api_key_header(*scopes):
    from stories.models import ApiKey

    _, key = ApiKey.issue(f"Partner {'+'.join(scopes) or 'plain'}", scopes=scopes)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def assert_api_hides(client, story, headers):
    own_tag = story.tags.get(name__endswith="Tag").slug
    own_byline = story.bylines.get(slug__startswith="own-").slug
    for name, url in api_surfaces(story).items():
        response = client.get(url, **headers)
        assert response.status_code in (200, 404), (name, response.status_code)
        body = response.getvalue().decode()
        for secret in secrets_of(story):
            assert secret not in body, f"API {name} ({url}) shows a story that is not live"
        assert own_tag not in body and own_byline not in body, f"API {name} names its own tag"
        if name in ("detail", "path", "old path"):
            assert response.status_code == 404, name
    # Counts are of live stories only: the shared names carry exactly one.
    counts = {
        row["slug"]: row["story_count"]
        for kind in ("tags", "bylines")
        for row in client.get(f"/api/v1/{kind}/", **headers).json()["results"]
    }
    assert counts == {"shared": 1, "shared-writer": 1}
    (world,) = client.get("/api/v1/sections/", **headers).json()
    assert world["story_count"] == 1


def assert_api_shows(client, story, headers):
    for name, url in api_surfaces(story).items():
        response = client.get(url, **headers)
        assert response.status_code == 200, (name, url)
        if name not in ("sections", "tags", "bylines"):
            assert story.headline in response.getvalue().decode(), f"API {name} misses it"


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("key", [None, "plain", "embargo"])
def test_only_live_stories_reach_api_clients(state, key, client, newsroom):
    story = make_story(state, newsroom)
    headers = {} if key is None else api_key_header(*([key] if key == "embargo" else []))
    if state == "published":
        assert_api_shows(client, story, headers)
    elif state == "scheduled" and key == "embargo":
        response = client.get(f"/api/v1/stories/{story.pk}/", **headers)
        embargoed = datetime.fromisoformat(response.json()["embargoed"])
        assert embargoed == story.published_at.replace(microsecond=0)
        listed = client.get("/api/v1/stories/?tag=shared", **headers).json()["results"]
        assert story.headline in [item["headlines"][0]["value"] for item in listed]
        # The names and counts stay what readers see, embargo key or not.
        assert (
            story.tags.get(name__endswith="Tag").slug
            not in client.get("/api/v1/tags/", **headers).getvalue().decode()
        )
    else:
        assert_api_hides(client, story, headers)


def test_api_keeps_a_scheduled_story_from_anonymous_clients_until_its_time(client, newsroom):
    story = make_story("scheduled", newsroom)
    url = f"/api/v1/stories/{story.pk}/"
    with time_machine.travel(story.published_at - timedelta(seconds=1)):
        first = client.get(url)
        assert first.status_code == 404
    with time_machine.travel(story.published_at + timedelta(seconds=1)):
        response = client.get(url, HTTP_IF_NONE_MATCH=first.get("ETag", '"none"'))
        assert response.status_code == 200
        assert "embargoed" not in response.json()


@pytest.mark.parametrize("state", STATES)
def test_library_images_reach_readers_only_through_live_stories(
    state, client, newsroom, media_root
):
    from .library import library_image

    story = make_story(state, newsroom)
    image = library_image(alt=f"{word_for(state)} picture", caption=f"{word_for(state)} caption")
    Story.objects.filter(pk=story.pk).update(lead_image=image)
    # Its alt text and caption carry the story's word: they show only where the story does.
    check(state, client, story, newsroom)
    status = 200 if state == "published" else 404
    for rendition in image.rendition_list():
        assert client.get(rendition["url"]).status_code == status, rendition
    assert client.get(image.file.url).status_code == 404  # originals never


# --- editorial notes -------------------------------------------------------------------------


@pytest.mark.parametrize("state", STATES)
def test_editorial_notes_reach_no_reader_surface(state, client, newsroom, editor_user, page_cache):
    """Not the story page, its JSON-LD and meta tags, feeds, sitemaps, search or previews
    (shared links and staff previews alike), rendered or from the page cache."""
    story = make_story(state, newsroom)
    note = f"Zqnote {state}: source is the minister's aide"
    StoryNote.objects.create(story=story, author=editor_user, text=note)
    word = word_for_story(story)
    urls = [
        *surfaces(story, newsroom).values(),
        *story_addresses(story).values(),
        f"/search/?q={word}+note",
        PreviewLink.objects.create(story=story).get_absolute_url(),
    ]
    staff = Client()
    staff.force_login(editor_user)
    for _ in range(2):  # fills the page cache, then reads from it
        for url in urls:
            response, body = fetch(client, url)
            assert "Zqnote" not in body and "minister" not in body, url
        # Staff see the story as readers will (a preview of a draft): without its notes.
        response, body = fetch(staff, story.get_absolute_url())
        assert response.status_code == 200 and word in body
        assert "Zqnote" not in body and "minister" not in body
    # The note is there to be found, on the desk.
    change = reverse("admin:stories_story_change", args=[story.pk])
    assert note.replace("'", "&#x27;") in staff.get(change).getvalue().decode()
    assert "Zqnote" not in fetch(client, "/search/?q=minister")[1]
