"""The read API (/api/v1/): lists, filters, cursors, lookups, keys, rate limits, caching."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from stories.api.pagination import encode_cursor
from stories.api.views import NEWEST_FIRST
from stories.models import ApiKey, Correction, Image, Story, StorySlugRedirect

from .factories import BylineFactory, SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db


def headlines(response):
    assert response.status_code == 200, response.content
    return [item["headlines"][0]["value"] for item in response.json()["results"]]


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def story_at(hours_ago, **kwargs):
    return StoryFactory(
        status=Story.Status.PUBLISHED,
        published_at=timezone.now() - timedelta(hours=hours_ago),
        **kwargs,
    )


# Lists and filters


def test_stories_newest_first(client):
    story_at(3, headline="Old")
    story_at(1, headline="New")
    story_at(2, headline="Middle")
    assert headlines(client.get("/api/v1/stories/")) == ["New", "Middle", "Old"]


def test_filters_by_section_tag_and_byline(client):
    world = SectionFactory(slug="world")
    ada = BylineFactory(slug="ada")
    story_at(1, headline="World France", section=world, tags=["France"])
    story_at(2, headline="Ada Peru", bylines=[ada], tags=["Peru"])
    story_at(3, headline="World Ada", section=world, bylines=[ada])
    assert headlines(client.get("/api/v1/stories/?section=world")) == ["World France", "World Ada"]
    assert headlines(client.get("/api/v1/stories/?tag=peru")) == ["Ada Peru"]
    assert headlines(client.get("/api/v1/stories/?byline=ada")) == ["Ada Peru", "World Ada"]
    assert headlines(client.get("/api/v1/stories/?byline=ada&section=world")) == ["World Ada"]
    assert headlines(client.get("/api/v1/stories/?section=nowhere")) == []


def test_search_ranks_as_the_site_does(client):
    story_at(1, headline="Markets today", body="The volcano erupted again.")
    story_at(5, headline="Volcano erupts", body="Lava.")
    story_at(2, headline="Unrelated", body="Nothing here.")
    assert headlines(client.get("/api/v1/stories/?q=volcano")) == [
        "Volcano erupts",
        "Markets today",
    ]


def test_search_pages_through_every_match_once(client):
    for n in range(5):
        story_at(n + 1, headline=f"Volcano {n}")
    for n in range(4):
        story_at(n + 1, headline=f"Other {n}", body="A volcano in the body.")
    seen, url = [], "/api/v1/stories/?q=volcano&page_size=2"
    while url:
        response = client.get(url)
        seen += headlines(response)
        url = response.json()["next"]
    assert seen == [f"Volcano {n}" for n in range(5)] + [f"Other {n}" for n in range(4)]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("q=%21%21%21", "q"),
        ("updated_since=yesterday", "updated_since"),
        ("updated_since=2024-13-01", "updated_since"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("page_size=ten", "page_size"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=W10", "cursor"),
        (f"cursor={encode_cursor(['soon', 1], NEWEST_FIRST)}", "cursor"),
        (f"cursor={encode_cursor([timezone.now(), 'one'], NEWEST_FIRST)}", "cursor"),
        (f"cursor={encode_cursor([timezone.now(), [1]], NEWEST_FIRST)}", "cursor"),
        (f"cursor={encode_cursor([timezone.now(), 10**30], NEWEST_FIRST)}", None),
        # Made by hand, or for another list: not signed for this one.
        ("cursor=W1siZCIsIjIwMjYtMTItMDRUMjM6Mjc6MzgrMDA6MDAiXSxbInYiLDFdXQ", "cursor"),
        (f"cursor={encode_cursor(['a-slug'], ('slug',))}", "cursor"),
        ("section=a%00b", "section"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(client, query, field):
    story_at(1)
    response = client.get(f"/api/v1/stories/?{query}")
    if field is None:  # out of range, yet harmless: a page (of nothing)
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("path", ["stories", "tags", "bylines"])
@pytest.mark.parametrize("name", ["page_size", "cursor", "q", "updated_since"])
def test_an_empty_parameter_counts_as_none_given(client, path, name):
    story_at(1, headline="Listed", tags=["Harbour"])
    plain = client.get(f"/api/v1/{path}/")
    empty = client.get(f"/api/v1/{path}/?{name}=")
    assert empty.status_code == 200, empty.content
    assert empty.json()["results"] == plain.json()["results"]


@pytest.mark.parametrize(
    "path", ["/api/v1/stories/abc/", "/api/v1/stories/-1/", "/api/v1/nope/", "/api/v1/stories/9/"]
)
def test_addresses_the_api_does_not_know_are_json_404s(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "Authorization" in response["Vary"]


def test_updated_since_finds_published_edited_and_corrected_stories(client):
    since = timezone.now()
    with time_machine.travel(since - timedelta(days=2)):
        old = story_at(1, headline="Old, untouched")
        edited = story_at(1, headline="Old, edited")
        corrected = story_at(1, headline="Old, corrected")
        scheduled = StoryFactory(
            headline="Scheduled, now live",
            status=Story.Status.PUBLISHED,
            published_at=since + timedelta(minutes=1),
        )
    with time_machine.travel(since + timedelta(minutes=5)):
        edited.deck = "New deck"
        edited.save()
        Correction.objects.create(story=corrected, text="A name was misspelt.")
        stamp = since.isoformat().replace("+00:00", "Z")
        found = headlines(client.get("/api/v1/stories/", {"updated_since": stamp}))
    assert sorted(found) == sorted(["Old, edited", "Old, corrected", "Scheduled, now live"])
    assert old.headline not in found and scheduled.pk


def test_cursor_pages_are_stable_when_stories_are_published_meanwhile(client):
    for n in range(5):
        story_at(n + 1, headline=f"Story {n}")
    first = client.get("/api/v1/stories/?page_size=2")
    assert headlines(first) == ["Story 0", "Story 1"]
    story_at(0, headline="Breaking")
    rest, url = [], first.json()["next"]
    while url:
        page = client.get(url)
        rest += headlines(page)
        url = page.json()["next"]
    assert rest == ["Story 2", "Story 3", "Story 4"]


def test_stories_published_at_the_same_moment_are_each_sent_once(client):
    moment = timezone.now() - timedelta(hours=1)
    for n in range(5):
        StoryFactory(headline=f"Same {n}", status=Story.Status.PUBLISHED, published_at=moment)
    seen, url = [], "/api/v1/stories/?page_size=2"
    while url:
        page = client.get(url)
        seen += headlines(page)
        url = page.json()["next"]
    assert sorted(seen) == [f"Same {n}" for n in range(5)]


def test_page_size_defaults_and_caps(client, settings):
    for n in range(25):
        story_at(n + 1)
    assert len(client.get("/api/v1/stories/").json()["results"]) == settings.API_PAGE_SIZE
    assert len(client.get("/api/v1/stories/?page_size=100").json()["results"]) == 25


# Detail and lookup by address


def test_detail_and_lookup_by_path(client):
    story = story_at(1, headline="Found me", slug="found-me")
    StorySlugRedirect.objects.create(slug="old-name", story=story)
    assert client.get(f"/api/v1/stories/{story.pk}/").json()["uri"].endswith(f":{story.pk}")
    path = story.get_absolute_url()
    response = client.get("/api/v1/stories/by-path/", {"path": path})
    assert response.json()["headlines"][0]["value"] == "Found me"
    url = response.json()["url"]
    assert client.get("/api/v1/stories/by-path/", {"path": url}).json()["url"] == url
    old = path.replace("found-me", "old-name")
    assert client.get("/api/v1/stories/by-path/", {"path": old}).json()["url"].endswith(path)
    for wrong in ("/sections/world/", "/2024/01/01/nothing/", "not a path"):
        response = client.get("/api/v1/stories/by-path/", {"path": wrong})
        assert response.status_code == 404, wrong
    assert client.get("/api/v1/stories/by-path/").status_code == 400
    assert client.get("/api/v1/stories/999999/").status_code == 404


# Sections, tags and bylines


def test_sections_tags_and_bylines_with_live_counts(client):
    world = SectionFactory(name="World", slug="world", position=2)
    sport = SectionFactory(name="Sport", slug="sport", position=1)
    SectionFactory(name="Empty", slug="empty")
    ada = BylineFactory(name="Ada", slug="ada")
    story_at(1, section=world, bylines=[ada], tags=["France"])
    story_at(2, section=world, tags=["France", "Wine"])
    story_at(3, section=sport, bylines=[ada])
    StoryFactory(section=world, bylines=[ada], tags=["France"])  # a draft counts nowhere
    sections = client.get("/api/v1/sections/").json()
    assert [(s["slug"], s["story_count"]) for s in sections] == [("sport", 1), ("world", 2)]
    tags = client.get("/api/v1/tags/").json()["results"]
    assert [(t["slug"], t["story_count"]) for t in tags] == [("france", 2), ("wine", 1)]
    bylines = client.get("/api/v1/bylines/").json()["results"]
    assert [(b["slug"], b["story_count"]) for b in bylines] == [("ada", 2)]
    assert bylines[0]["url"] == "http://testserver/bylines/ada/"


def test_tags_page_through(client):
    for n in range(5):
        story_at(1, tags=[f"Tag {n}"])
    seen, url = [], "/api/v1/tags/?page_size=2"
    while url:
        page = client.get(url).json()
        seen += [t["slug"] for t in page["results"]]
        url = page["next"]
    assert seen == [f"tag-{n}" for n in range(5)]


# Keys


def test_lookup_by_path_of_a_story_with_a_unicode_slug(client):
    story = story_at(1, headline="Überall", slug="überall-ça")
    response = client.get("/api/v1/stories/by-path/", {"path": story.get_absolute_url()})
    assert response.status_code == 200
    response = client.get("/api/v1/stories/by-path/", {"path": response.json()["url"]})
    assert response.json()["headlines"][0]["value"] == "Überall"


def test_a_key_is_stored_only_as_a_hash():
    api_key, key = ApiKey.issue("Partner")
    assert key.startswith(api_key.prefix + "_")
    stored = ApiKey.objects.filter(pk=api_key.pk).values_list("prefix", "key_hash").get()
    assert key not in "".join(stored) and len(stored[1]) == 64
    assert ApiKey.from_key(key) == api_key
    assert ApiKey.from_key(key[:-1]) is None
    assert ApiKey.from_key(api_key.prefix + "_" + "x" * 43) is None


@pytest.mark.parametrize(
    "header",
    ["Bearer nrk_000000000000_wrong", "Bearer", "Bearer a b", "Bearer caf\u00e9"],
)
def test_a_wrong_key_is_a_401_with_a_clear_message(client, header):
    story_at(1)
    response = client.get("/api/v1/stories/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert "key" in response.json()["detail"].lower()
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_stops_working(client):
    api_key, key = ApiKey.issue("Partner")
    assert client.get("/api/v1/stories/", **bearer(key)).status_code == 200
    api_key.revoke()
    response = client.get("/api/v1/stories/", **bearer(key))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_last_use_is_recorded_sparingly(client):
    api_key, key = ApiKey.issue("Partner")
    client.get("/api/v1/sections/", **bearer(key))
    api_key.refresh_from_db()
    first = api_key.last_used_at
    assert first is not None
    client.get("/api/v1/sections/", **bearer(key))
    api_key.refresh_from_db()
    assert api_key.last_used_at == first
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        client.get("/api/v1/sections/", **bearer(key))
    api_key.refresh_from_db()
    assert api_key.last_used_at > first


def test_an_embargo_key_sees_scheduled_stories_marked_embargoed(client):
    story_at(1, headline="Live")
    scheduled = StoryFactory(scheduled=True, headline="Merger agreed")
    StoryFactory(headline="Draft", status=Story.Status.DRAFT)
    StoryFactory(headline="Review", status=Story.Status.REVIEW)
    _, plain = ApiKey.issue("Plain")
    _, embargo = ApiKey.issue("Wire", scopes=[ApiKey.Scope.EMBARGO])
    assert headlines(client.get("/api/v1/stories/", **bearer(plain))) == ["Live"]
    response = client.get("/api/v1/stories/", **bearer(embargo))
    assert headlines(response) == ["Merger agreed", "Live"]
    first, second = response.json()["results"]
    assert first["embargoed"] == first["firstcreated"]
    assert "embargoed" not in second
    assert headlines(client.get("/api/v1/stories/?q=merger", **bearer(embargo))) == [
        "Merger agreed"
    ]
    assert client.get(f"/api/v1/stories/{scheduled.pk}/", **bearer(plain)).status_code == 404


def test_create_and_revoke_api_key_commands(client, capsys):
    story_at(1, headline="Live")
    StoryFactory(scheduled=True, headline="Later")
    call_command("create_api_key", "Wire service", "--scope", "embargo")
    key = capsys.readouterr().out.strip()
    assert headlines(client.get("/api/v1/stories/", **bearer(key))) == ["Later", "Live"]
    api_key = ApiKey.objects.get(name="Wire service")
    assert api_key.scopes == ["embargo"]
    call_command("revoke_api_key", api_key.prefix)
    assert client.get("/api/v1/stories/", **bearer(key)).status_code == 401
    with pytest.raises(Exception, match="No API key"):
        call_command("revoke_api_key", "nrk_nothing")


def test_create_api_key_refuses_a_bad_name(capsys):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="name"):
        call_command("create_api_key", "two\nlines")
    assert not ApiKey.objects.exists()


# Rate limits


def test_rate_limits_per_key_and_per_address(client, settings):
    settings.API_RATE_PER_KEY = "3/minute"
    settings.API_RATE_ANONYMOUS = "2/minute"
    _, one = ApiKey.issue("One")
    _, two = ApiKey.issue("Two")
    statuses = [client.get("/api/v1/sections/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert client.get("/api/v1/sections/", REMOTE_ADDR="192.0.2.9").status_code == 200
    statuses = [client.get("/api/v1/sections/", **bearer(one)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/api/v1/sections/", **bearer(two)).status_code == 200
    limited = client.get("/api/v1/sections/", **bearer(one))
    assert limited.status_code == 429 and "Retry-After" in limited


@pytest.mark.parametrize("behind_proxy", [False, True])
def test_a_forged_forwarded_for_does_not_reset_the_anonymous_limit(client, settings, behind_proxy):
    """From a loopback peer (an SSH tunnel, a local proxy passing the header on), the
    header counts only when the operator said a proxy is in front."""
    settings.BEHIND_PROXY = behind_proxy
    settings.API_RATE_ANONYMOUS = "2/minute"
    statuses = [
        client.get(
            "/api/v1/sections/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}"
        ).status_code
        for n in range(3)
    ]
    # Behind a proxy each forwarded address is a reader of its own; without one, one peer.
    assert statuses == ([200, 200, 200] if behind_proxy else [200, 200, 429])


# HTTP caching


def test_etag_and_304_until_the_content_changes(client):
    story = story_at(1, headline="First")
    response = client.get("/api/v1/stories/")
    etag = response["ETag"]
    assert (
        response["Cache-Control"] == "public, max-age=0, s-maxage=0"
    )  # no surrogate keys to purge it by
    assert "Authorization" in response["Vary"]
    again = client.get("/api/v1/stories/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    story.headline = "Changed"
    story.save()
    changed = client.get("/api/v1/stories/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert headlines(changed) == ["Changed"]


def test_a_304_costs_no_story_query(client, django_assert_max_num_queries):
    story_at(1)
    etag = client.get("/api/v1/stories/")["ETag"]
    with django_assert_max_num_queries(0):
        assert client.get("/api/v1/stories/", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_keyed_responses_are_private_and_tagged_apart(client):
    story_at(1)
    _, key = ApiKey.issue("Partner")
    anonymous = client.get("/api/v1/stories/")
    keyed = client.get("/api/v1/stories/", **bearer(key))
    assert keyed["Cache-Control"] == "private, max-age=0"
    assert keyed["ETag"] != anonymous["ETag"]
    # Noting the key's use writes no content: the key's own ETag still holds.
    assert (
        client.get("/api/v1/stories/", HTTP_IF_NONE_MATCH=keyed["ETag"], **bearer(key)).status_code
        == 304
    )
    # An ETag an anonymous client was sent does not revalidate a keyed response.
    assert (
        client.get(
            "/api/v1/stories/", HTTP_IF_NONE_MATCH=anonymous["ETag"], **bearer(key)
        ).status_code
        == 200
    )


# Query budget


def make_many(count):
    section = SectionFactory(slug="world")
    byline = BylineFactory(slug="ada")
    now = timezone.now()
    stories = [
        Story(
            headline=f"Story {n}",
            slug=f"story-{n}",
            body="One.\n\nTwo.",
            section=section,
            status=Story.Status.PUBLISHED,
            published_at=now - timedelta(minutes=n + 1),
        )
        for n in range(count)
    ]
    Story.objects.bulk_create(stories, batch_size=1000)
    # The newest stories carry lead images, each its own, as a real front page does.
    images = Image.objects.bulk_create(
        Image(file=f"images/lead-{n}.jpg", alt=f"Lead {n}") for n in range(min(count, 120))
    )
    newest = list(Story.objects.order_by("-published_at")[: len(images)])
    for story, image in zip(newest, images, strict=True):
        story.lead_image = image
    Story.objects.bulk_update(newest, ["lead_image"])
    from taggit.models import Tag

    from stories.models import StoryByline, TaggedStory

    tag = Tag.objects.create(name="France", slug="france")
    created = list(Story.objects.order_by("-published_at")[:200])
    StoryByline.objects.bulk_create(StoryByline(story=s, byline=byline) for s in created)
    TaggedStory.objects.bulk_create(TaggedStory(content_object=s, tag=tag) for s in created)


API_QUERY_BUDGET = 8


@pytest.mark.parametrize("count", [100, 10_000])
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/stories/",
        "/api/v1/stories/?page_size=100",
        "/api/v1/stories/?tag=france&byline=ada",
        "/api/v1/stories/?q=story",
        "/api/v1/sections/",
        "/api/v1/tags/",
        "/api/v1/bylines/",
    ],
)
def test_query_count_is_flat_with_data(client, django_assert_max_num_queries, count, url):
    make_many(count)
    _, key = ApiKey.issue("Partner", scopes=["embargo"])
    with django_assert_max_num_queries(API_QUERY_BUDGET):
        response = client.get(url)
    assert response.status_code == 200
    next_url = response.json()["next"] if url != "/api/v1/sections/" else None
    if next_url:
        with django_assert_max_num_queries(API_QUERY_BUDGET):
            assert client.get(next_url).status_code == 200
    with django_assert_max_num_queries(API_QUERY_BUDGET + 1):  # + the key
        assert client.get(url, **bearer(key)).status_code == 200


def test_detail_query_count_is_flat(client, django_assert_max_num_queries):
    make_many(100)
    story = Story.objects.latest("published_at")
    with django_assert_max_num_queries(API_QUERY_BUDGET):
        assert client.get(f"/api/v1/stories/{story.pk}/").status_code == 200
    with django_assert_max_num_queries(API_QUERY_BUDGET):
        response = client.get("/api/v1/stories/by-path/", {"path": story.get_absolute_url()})
        assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_key_writes_work_outside_a_transaction(client, capsys):
    # Making a key, noting its use and revoking it, each in autocommit as on a server.
    story_at(1, headline="Live")
    call_command("create_api_key", "Partner")
    key = capsys.readouterr().out.strip()
    assert headlines(client.get("/api/v1/stories/", **bearer(key))) == ["Live"]
    api_key = ApiKey.objects.get()
    assert api_key.last_used_at is not None
    call_command("revoke_api_key", key)
    assert client.get("/api/v1/stories/", **bearer(key)).status_code == 401


def test_rate_limit_counters_are_kept_per_database(client, settings, monkeypatch):
    """Two sites on two databases sharing one cache count their clients apart."""
    from stories.api import throttling

    settings.API_RATE_ANONYMOUS = "1/minute"
    monkeypatch.setattr(throttling, "database_scope", lambda: "first-site")
    assert client.get("/api/v1/sections/").status_code == 200
    assert client.get("/api/v1/sections/").status_code == 429
    monkeypatch.setattr(throttling, "database_scope", lambda: "second-site")
    assert client.get("/api/v1/sections/").status_code == 200
