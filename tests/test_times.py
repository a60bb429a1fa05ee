"""Times on reader pages: today's stories by their time in the newsroom's zone, older ones by
their date, always in ``<time datetime>``; and no cached page or piece printing yesterday's
"today" once the newsroom's date has changed."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.template import Context, Template

from stories.models import Correction

from .factories import SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*parts):
    return datetime(*parts, tzinfo=BERLIN)


@pytest.fixture
def newsroom_in_berlin(settings):
    # One hour ahead of UTC in winter: between 23:00 and 24:00 UTC the dates differ.
    settings.TIME_ZONE = "Europe/Berlin"


def card_times(html):
    return re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', html)


def render_time(value, full=False):
    template = Template("{% load newsroom %}{% reader_time value full=full %}")
    return template.render(Context({"value": value, "full": full}))


def test_todays_time_and_older_dates_follow_the_newsroom_zone_not_utc(newsroom_in_berlin):
    # 00:30 on 11 March in Berlin is still 10 March in UTC.
    with time_machine.travel(berlin(2026, 3, 11, 0, 30), tick=False):
        after_midnight = berlin(2026, 3, 11, 0, 10)
        before_midnight = berlin(2026, 3, 10, 23, 50)
        assert render_time(after_midnight) == (
            '<time datetime="2026-03-11T00:10:00+01:00">00:10 CET</time>'
        )
        assert render_time(before_midnight) == (
            '<time datetime="2026-03-10T23:50:00+01:00">10 March 2026</time>'
        )
        assert render_time(after_midnight, full=True).endswith(">today, 00:10 CET</time>")
        assert render_time(before_midnight, full=True).endswith(">10 March 2026, 23:50 CET</time>")


def test_in_utc_the_same_moments_are_both_today(settings):
    settings.TIME_ZONE = "UTC"
    with time_machine.travel(berlin(2026, 3, 11, 0, 30), tick=False):
        assert render_time(berlin(2026, 3, 11, 0, 10)).endswith(">23:10 UTC</time>")
        assert render_time(berlin(2026, 3, 10, 23, 50)).endswith(">22:50 UTC</time>")


@pytest.mark.parametrize("caches", ["on", "off"])
def test_cached_pages_switch_from_time_to_date_at_the_newsroom_midnight(
    client, settings, newsroom_in_berlin, caches
):
    """Rendered at 23:59 with every cache on, the listings, the story page and search show
    the story's time; one minute later (a new day in Berlin, not in UTC) they show its date."""
    settings.PAGE_CACHE_SECONDS = 300 if caches == "on" else 0
    settings.FRAGMENT_CACHE_SECONDS = 300 if caches == "on" else 0
    section = SectionFactory(name="World", slug="world")
    with time_machine.travel(berlin(2026, 3, 10, 20, 0), tick=False):
        story = StoryFactory(
            headline="Evening volcano",
            published=True,
            published_at=berlin(2026, 3, 10, 19, 45),
            section=section,
            tags=["Iceland"],
        )
    urls = ["/", "/sections/world/", "/tags/iceland/", "/search/?q=volcano"]
    machine = "2026-03-10T19:45:00+01:00"
    with time_machine.travel(berlin(2026, 3, 10, 23, 59), tick=False):
        for url in urls:
            assert (machine, "19:45 CET") in card_times(client.get(url).content.decode()), url
        page = client.get(story.get_absolute_url()).content.decode()
        assert (machine, "today, 19:45 CET") in card_times(page)
    with time_machine.travel(berlin(2026, 3, 11, 0, 1), tick=False):
        for url in urls:
            html = client.get(url).content.decode()
            assert (machine, "10 March 2026") in card_times(html), url
            assert "19:45 CET" not in html, url
        page = client.get(story.get_absolute_url()).content.decode()
        assert (machine, "10 March 2026, 19:45 CET") in card_times(page)
        assert "today" not in page


def test_byline_pages_show_times_the_same_way(client, newsroom_in_berlin):
    from .factories import BylineFactory

    byline = BylineFactory(name="Ana Lima", slug="ana-lima")
    with time_machine.travel(berlin(2026, 3, 11, 9, 0), tick=False):
        StoryFactory(published=True, published_at=berlin(2026, 3, 11, 8, 5), bylines=[byline])
        StoryFactory(published=True, published_at=berlin(2026, 3, 9, 8, 5), bylines=[byline])
        times = [text for _, text in card_times(client.get("/bylines/ana-lima/").content.decode())]
    assert times == ["08:05 CET", "9 March 2026"]


def test_story_dates_mark_a_corrected_story_and_link_to_its_corrections(client):
    story = StoryFactory(published=True)
    clean = client.get(story.get_absolute_url()).content.decode()
    assert "story__marker" not in clean and 'id="corrections"' not in clean
    Correction.objects.create(story=story, kind="clarification", text="The visit was planned.")
    clarified = client.get(story.get_absolute_url()).content.decode()
    assert '<a class="story__marker" href="#corrections">Updated</a>' in clarified
    assert 'id="corrections"' in clarified
    Correction.objects.create(story=story, text="An earlier version misspelled a name.")
    corrected = client.get(story.get_absolute_url()).content.decode()
    assert '<a class="story__marker" href="#corrections">Corrected</a>' in corrected
    # The marker's time is the latest correction's, in <time datetime>.
    latest = story.corrections.latest("published_at").published_at
    assert re.search(
        r'href="#corrections">Corrected</a> <time datetime="'
        + re.escape(latest.replace(microsecond=0).isoformat()),
        corrected,
    )
