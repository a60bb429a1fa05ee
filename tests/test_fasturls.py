"""stories.fasturls gives reverse()'s answer: the same URL, or NoReverseMatch where it refuses."""

from datetime import UTC, datetime

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_started
from django.db import close_old_connections
from django.test import RequestFactory
from django.test.utils import override_script_prefix
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from stories.fasturls import fast_reverse, last_argument_formatter, url_formatter
from stories.models import Story

from .factories import BylineFactory, SectionFactory, StoryFactory

# Slug-like text of any script, and anything else a caller could pass by mistake.
slugs = st.from_regex(r"[-\w]+", fullmatch=True) | st.text(max_size=12)
numbers = (
    st.integers(min_value=-5, max_value=10**6)
    | st.integers(min_value=1, max_value=31).map(lambda n: f"{n:02}")
    | st.text(alphabet="0123456789x/ ", max_size=5)
)
arguments = {
    "stories:home": st.tuples(),
    "stories:search": st.tuples(),
    "stories:section": st.tuples(slugs),
    "stories:byline": st.tuples(slugs),
    "stories:tag_feed": st.tuples(slugs),
    "stories:sitemap_section": st.tuples(slugs),
    "stories:shared_preview": st.tuples(st.text(max_size=12)),
    "stories:detail": st.tuples(numbers, numbers, numbers, slugs),
}
calls = st.sampled_from(sorted(arguments)).flatmap(
    lambda name: st.tuples(st.just(name), arguments[name])
)
# Where the site is mounted (FORCE_SCRIPT_NAME or the server's SCRIPT_NAME).
prefixes = st.just("/") | st.text(max_size=8).map(lambda text: f"/{text}/")


def story_args(story):
    day = timezone.localdate(story.published_at or story.created_at)
    return [day.year, f"{day.month:02}", f"{day.day:02}", story.slug]


def outcome(function):
    try:
        return function()
    except NoReverseMatch:
        return NoReverseMatch


def wsgi_get(path):
    """A request as a WSGI server hands it over: unlike the test client, Django's handler
    sets the script prefix (from FORCE_SCRIPT_NAME or SCRIPT_NAME) before the view runs."""
    statuses = []
    # As the test client does: the handler must not close the test's transaction.
    request_started.disconnect(close_old_connections)
    try:
        with override_script_prefix("/"):  # put back what the handler sets
            environ = RequestFactory().get(path).environ
            body = b"".join(WSGIHandler()(environ, lambda status, headers: statuses.append(status)))
    finally:
        request_started.connect(close_old_connections)
    return statuses[0], body


@settings(max_examples=400, deadline=None)
@given(call=calls, prefix=prefixes)
def test_fast_urls_equal_reverse(call, prefix):
    name, args = call
    with override_script_prefix(prefix):
        expected = outcome(lambda: reverse(name, args=args))
        assert outcome(lambda: fast_reverse(name, *args)) == expected
        assert outcome(lambda: url_formatter(name, len(args))(*args)) == expected
        if args:
            assert outcome(lambda: last_argument_formatter(name, *args[:-1])(args[-1])) == expected


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("stories:section", ["a/b"]),
        ("stories:section", [""]),
        ("stories:byline", ["a b"]),
        ("stories:detail", [2024, "09", "1x", "slug"]),
        ("stories:detail", [2024, "09", "13"]),
        ("stories:home", ["extra"]),
    ],
)
def test_fast_urls_refuse_what_reverse_refuses(name, args):
    with pytest.raises(NoReverseMatch):
        reverse(name, args=args)
    with pytest.raises(NoReverseMatch):
        fast_reverse(name, *args)
    with pytest.raises(NoReverseMatch):
        url_formatter(name, len(args))(*args)
    if args:
        with pytest.raises(NoReverseMatch):
            last_argument_formatter(name, *args[:-1])(args[-1])


def test_fast_urls_quote_as_reverse_does():
    assert fast_reverse("stories:section", "économie") == "/sections/%C3%A9conomie/"
    assert fast_reverse("stories:section", "économie") == reverse(
        "stories:section", args=["économie"]
    )


@pytest.mark.django_db
def test_model_urls_equal_reverse(settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    section, byline = SectionFactory(slug="мир"), BylineFactory(slug="kim-ji-woo")
    published_at = datetime(2024, 9, 12, 20, 0, tzinfo=UTC)
    stories = [
        StoryFactory(published=True, published_at=published_at, slug="plain-slug"),
        StoryFactory(published=True, published_at=published_at, slug="kyiv-київ"),
        StoryFactory(status="draft", published_at=None),
    ]
    assert section.get_absolute_url() == reverse("stories:section", args=["мир"])
    assert byline.get_absolute_url() == reverse("stories:byline", args=["kim-ji-woo"])
    expected = [reverse("stories:detail", args=story_args(story)) for story in stories]
    assert expected[0] == "/2024/09/13/plain-slug/"
    assert [story.get_absolute_url() for story in stories] == expected
    assert Story.absolute_urls(stories) == expected


@pytest.mark.django_db
def test_links_carry_the_forced_script_name(settings):
    story = StoryFactory(published=True, slug="kyiv-київ")
    path, section_path = story.get_absolute_url(), story.section.get_absolute_url()
    status, body = wsgi_get("/")
    assert status.startswith("200") and f'href="{path}"'.encode() in body
    settings.FORCE_SCRIPT_NAME = "/news"
    status, body = wsgi_get("/")
    assert status.startswith("200")
    with override_script_prefix("/news/"):
        assert story.get_absolute_url() == reverse("stories:detail", args=story_args(story))
    assert f'href="/news{path}"'.encode() in body
    assert f'href="/news{section_path}"'.encode() in body
    assert b'action="/news/search/"' in body
    assert story.get_absolute_url() == path  # outside a request, the prefix is "/" again
