"""A million stories (issue 16): what must hold whatever the size of the archive.

Query budgets of the reader pages and the desk stay the same at 100 and at 10,000 stories;
sitemap children hold at most ``SITEMAP_MAX_URLS`` addresses, the index names each child and
children list live stories only; the story list's search goes through the full-text index
and finds words of the body and byline names; its date filter narrows by ranges. Speed
itself is measured by ``bench/scale_measure.py``, not here.
"""

import re
from datetime import datetime, timedelta
from xml.etree import ElementTree

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from taggit.models import Tag

from stories.editorial import story_list
from stories.models import Byline, Section, Story, StoryByline, TaggedStory
from stories.reader import sitemaps

from .factories import BylineFactory, SectionFactory, StoryFactory
from .test_primary_actions import login

pytestmark = pytest.mark.django_db

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
CHANGELIST = "/admin/stories/story/"


def grow_archive(total, *, start=0):
    """Bulk-writes live stories numbered ``start`` to ``total`` (newest last), spread over
    two sections, three bylines and four tags, one story in ten a draft."""
    sections = [SectionFactory(slug="world"), SectionFactory(slug="sport")]
    bylines = list(Byline.objects.order_by("pk")) or [
        BylineFactory(name=name) for name in ("Ana Lima", "Kemi Okafor", "Jonas Weber")
    ]
    tags = [Tag.objects.get_or_create(name=name, slug=name)[0] for name in ("ports", "rail")]
    tags += [Tag.objects.get_or_create(name=name, slug=name)[0] for name in ("grid", "harvest")]
    now = timezone.now()
    stories = Story.objects.bulk_create(
        Story(
            headline=f"Harbour story {n}",
            slug=f"harbour-story-{n}",
            body=f"<p>Dockers and ferries, day {n}.</p>",
            body_plain=f"Dockers and ferries, day {n}.",
            section=sections[n % 2],
            status=Story.Status.DRAFT if n % 10 == 9 else Story.Status.PUBLISHED,
            published_at=None if n % 10 == 9 else now - timedelta(hours=total - n + 1),
        )
        for n in range(start, total)
    )
    StoryByline.objects.bulk_create(
        StoryByline(story=story, byline=bylines[n % 3]) for n, story in enumerate(stories)
    )
    TaggedStory.objects.bulk_create(
        TaggedStory(content_object=story, tag=tag)
        for n, story in enumerate(stories)
        for tag in (tags[n % 4], tags[(n + 1) % 4])
    )
    return sections, bylines, tags


def reader_urls(sections, bylines, tags):
    """(name, address) of each reader page: the deep page's address moves with the archive."""
    deep = Story.objects.live().in_section(sections[0]).count() // 20
    return [
        ("home", "/"),
        ("section", "/sections/world/"),
        ("section deep page", f"/sections/world/?page={max(1, deep)}"),
        ("tag", "/tags/ports/"),
        ("byline", bylines[0].get_absolute_url()),
        ("story", Story.objects.live().order_by("pk")[1].get_absolute_url()),
        ("search", "/search/?q=ferries"),
        ("search 3 words", "/search/?q=dockers+ferries+day"),
        ("feed", "/feed/"),
        ("section feed", "/sections/world/feed/"),
        ("sitemap index", "/sitemap.xml"),
        ("story sitemap", "/sitemap-stories.xml"),
        ("tags sitemap", "/sitemap-tags.xml"),
        ("bylines sitemap", "/sitemap-bylines.xml"),
        ("sections sitemap", "/sitemap-sections.xml"),
    ]


def desk_urls(sections, bylines):
    year = timezone.now().year
    autocomplete = "/admin/autocomplete/?app_label=stories&model_name="
    return [
        ("changelist", CHANGELIST),
        (
            "changelist filtered",
            f"{CHANGELIST}?section__id__exact={sections[0].pk}&status__exact=published",
        ),
        ("date filter", f"{CHANGELIST}?published={year}"),
        ("admin search", f"{CHANGELIST}?q=ferries"),
        ("admin search byline", f"{CHANGELIST}?q=Okafor"),
        ("autocomplete section", f"{autocomplete}story&field_name=section&term=wor"),
        ("autocomplete byline", f"{autocomplete}storybyline&field_name=byline&term=ana"),
        ("desk", "/admin/"),
    ]


def apply_listing_notes(client):
    """The first read of a listing sitemap after writes applies the notes they left for the
    listings' latest changes (``stories.listings``); counted here are the reads after."""
    assert client.get("/sitemap-tags.xml").status_code == 200


def query_counts(client, urls):
    counts = {}
    for name, url in urls:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[name] = len(queries)
    return counts


def test_reader_pages_and_the_desk_make_as_many_queries_at_10000_stories_as_at_100(
    client, editor_user, settings
):
    found = grow_archive(100)
    editor = login(editor_user)
    apply_listing_notes(client)
    reader_few = query_counts(client, reader_urls(*found))
    desk_few = query_counts(editor, desk_urls(*found[:2]))
    grow_archive(10_000, start=100)
    assert Story.objects.count() == 10_000
    apply_listing_notes(client)
    reader_many = query_counts(client, reader_urls(*found))
    desk_many = query_counts(editor, desk_urls(*found[:2]))
    # A story sitemap child reads its stories in batches: more of them up to a full child,
    # never more than a full child takes.
    batches = 1 + -(-settings.SITEMAP_MAX_URLS // sitemaps.STORY_BATCH)
    assert reader_few.pop("story sitemap") <= reader_many.pop("story sitemap") <= batches
    assert reader_few == reader_many
    assert desk_few == desk_many


def sitemap_xml(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response, ElementTree.fromstring(response.getvalue())


def locations(root):
    return [loc.text for loc in root.iter(f"{SITEMAP}loc")]


def test_story_sitemap_children_hold_at_most_the_limit_oldest_first(client, settings):
    settings.SITEMAP_MAX_URLS = 2
    now = timezone.now()
    same_time = now - timedelta(days=3)
    live = [
        StoryFactory(published=True, published_at=now - timedelta(days=5)),
        # Three published at the same moment: the key breaks the tie, across a batch too.
        StoryFactory(published=True, published_at=same_time),
        StoryFactory(published=True, published_at=same_time),
        StoryFactory(published=True, published_at=same_time),
        StoryFactory(published=True, published_at=now - timedelta(hours=1)),
    ]
    StoryFactory(headline="A draft")
    StoryFactory(scheduled=True, headline="Not yet")
    _, index = sitemap_xml(client, "/sitemap.xml")
    assert [url for url in locations(index) if "stories" in url] == [
        "http://testserver/sitemap-stories.xml",
        "http://testserver/sitemap-stories.xml?p=2",
        "http://testserver/sitemap-stories.xml?p=3",
    ]
    children = []
    # The addresses the index names (``?p=1`` is redirected to the first).
    for url in [url for url in locations(index) if "stories" in url]:
        response, root = sitemap_xml(client, url.removeprefix("http://testserver"))
        urls = root.findall(f"{SITEMAP}url")
        assert 1 <= len(urls) <= 2
        for url in urls:
            children.append(url.find(f"{SITEMAP}loc").text)
            lastmod = datetime.fromisoformat(url.find(f"{SITEMAP}lastmod").text)
            story = next(s for s in live if url.find(f"{SITEMAP}loc").text.endswith(s.slug + "/"))
            assert lastmod == max(story.published_at, story.updated_at).replace(microsecond=0)
        assert response["Last-Modified"]
    assert children == [f"http://testserver{story.get_absolute_url()}" for story in live]
    assert client.get("/sitemap-stories.xml?p=4").status_code == 404
    assert client.get("/sitemap-stories.xml?p=0").status_code == 404
    assert client.get("/sitemap-stories.xml?p=two").status_code == 404


def test_story_sitemap_child_reads_in_keyset_batches(client, settings, monkeypatch):
    settings.SITEMAP_MAX_URLS = 5
    monkeypatch.setattr(sitemaps, "STORY_BATCH", 2)
    moment = timezone.now() - timedelta(days=1)
    stories = [StoryFactory(published=True, published_at=moment) for _ in range(7)]
    _, first = sitemap_xml(client, "/sitemap-stories.xml")
    _, second = sitemap_xml(client, "/sitemap-stories.xml?p=2")
    expected = [f"http://testserver{story.get_absolute_url()}" for story in stories]
    assert locations(first) == expected[:5]
    assert locations(second) == expected[5:]


def test_empty_story_sitemap_is_an_empty_first_child(client):
    _, root = sitemap_xml(client, "/sitemap-stories.xml")
    assert locations(root) == []
    assert client.get("/sitemap-stories.xml?p=2").status_code == 404


def test_listing_sitemaps_page_by_the_limit_and_list_live_ones(client, settings):
    settings.SITEMAP_MAX_URLS = 2
    for name in ("alpha", "beta", "gamma"):
        StoryFactory(published=True, tags=[name])
    StoryFactory(tags=["draftonly"])  # a draft's tag must not be given away
    _, index = sitemap_xml(client, "/sitemap.xml")
    assert [url for url in locations(index) if "tags" in url] == [
        "http://testserver/sitemap-tags.xml",
        "http://testserver/sitemap-tags.xml?p=2",
    ]
    found = []
    for url in ("/sitemap-tags.xml", "/sitemap-tags.xml?p=2"):
        _, root = sitemap_xml(client, url)
        found += locations(root)
    assert found == [f"http://testserver/tags/{name}/" for name in ("alpha", "beta", "gamma")]


def admin_results(client, query):
    response = client.get(CHANGELIST, {"q": query})
    assert response.status_code == 200
    return {story.headline for story in response.context["cl"].result_list}


def test_admin_search_finds_body_words_and_byline_names_through_the_index(editor_user):
    client = login(editor_user)
    okafor = BylineFactory(name="Kemi Okafor")
    StoryFactory(headline="Port strike", body="<p>The <b>dockers</b> walked out.</p>")
    StoryFactory(headline="Budget", bylines=[okafor], body="<p>Numbers.</p>")
    StoryFactory(headline="Weather", body="<p>Rain in the hills.</p>", tags=["monsoon"])
    assert admin_results(client, "dockers") == {"Port strike"}
    assert admin_results(client, "Okafor") == {"Budget"}
    assert admin_results(client, "kemi okafor") == {"Budget"}
    # The start of a word, as editors type it.
    assert admin_results(client, "dock") == {"Port strike"}
    assert admin_results(client, "monsoon") == {"Weather"}
    # Every word must match; markup is not text.
    assert admin_results(client, "dockers rain") == set()
    assert admin_results(client, "strong") == set()
    assert admin_results(client, "!!!") == set()  # no words, as the reader's search


def test_admin_search_runs_no_like_over_the_body(editor_user):
    client = login(editor_user)
    StoryFactory(headline="Port strike", body="<p>The dockers walked out.</p>")
    with CaptureQueriesContext(connection) as queries:
        assert admin_results(client, "dockers") == {"Port strike"}
    story_queries = [q["sql"] for q in queries if 'FROM "stories_story"' in q["sql"]]
    assert story_queries
    assert not any("LIKE" in sql.upper() for sql in story_queries)


def test_published_filter_narrows_by_year_and_month(editor_user):
    client = login(editor_user)
    zone = timezone.get_current_timezone()
    for headline, when in [
        ("March 2023", datetime(2023, 3, 31, 23, 30)),
        ("January 2024", datetime(2024, 1, 1, 0, 30)),
        ("March 2024", datetime(2024, 3, 15, 12)),
    ]:
        StoryFactory(published=True, headline=headline, published_at=when.replace(tzinfo=zone))

    def listed(value):
        response = client.get(CHANGELIST, {"published": value})
        assert response.status_code == 200
        return {story.headline for story in response.context["cl"].result_list}, response

    assert listed("2024")[0] == {"January 2024", "March 2024"}
    assert listed("2023-03")[0] == {"March 2023"}
    assert listed("2024-02")[0] == set()
    # Not a month: refused as Django refuses a bad filter value, not ignored.
    assert client.get(CHANGELIST, {"published": "2024-13"})["Location"].endswith("?e=1")

    def offered(value):
        """The publication-date filter's choices for ``value``: (label, chosen)."""
        changelist = listed(value)[1].context["cl"]
        (spec,) = [spec for spec in changelist.filter_specs if spec.title == "publication date"]
        return [(choice["display"], choice["selected"]) for choice in spec.choices(changelist)]

    # The chosen year's months that have stories, by one query of index probes.
    assert offered("2024") == [
        ("All", False),
        ("2024", True),
        ("January 2024", False),
        ("March 2024", False),
        ("2023", False),
    ]
    # A month or year with none, when chosen (a kept link, a typed address), lists nothing
    # and is offered, marked, so that the list says what it shows.
    assert offered("2024-02") == [
        ("All", False),
        ("2024", False),
        ("January 2024", False),
        ("February 2024", True),
        ("March 2024", False),
        ("2023", False),
    ]
    for value, years in [
        ("1999", ["2024", "2023", "1999"]),
        ("2030", ["2030", "2024", "2023"]),
        ("0001", ["2024", "2023", "0001"]),
    ]:
        assert listed(value)[0] == set(), value
        assert offered(value) == [("All", False)] + [(year, year == value) for year in years]
    assert listed("2030-05")[0] == set()
    assert offered("2030-05") == [
        ("All", False),
        ("2030", False),
        ("May 2030", True),
        ("2024", False),
        ("2023", False),
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's estimate")
def test_big_story_lists_show_the_estimate_not_a_count(editor_user, monkeypatch):
    monkeypatch.setattr(story_list, "ESTIMATE_FROM", 1)
    client = login(editor_user)
    StoryFactory.create_batch(3, published=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE stories_story")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert not any("COUNT(" in q["sql"].upper() and "stories_story" in q["sql"] for q in queries)
    assert len(response.context["cl"].result_list) == 3


def test_small_story_lists_are_counted_exactly(editor_user):
    client = login(editor_user)
    StoryFactory.create_batch(3, published=True)
    response = client.get(CHANGELIST, {"status__exact": "published"})
    assert response.context["cl"].result_count == 3
    assert Section.objects.exists()


def test_story_list_page_reads_no_bodies_and_actions_still_save_whole_stories(editor_user):
    client = login(editor_user)
    story = StoryFactory(headline="Draft", body="<p>Every word kept.</p>")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST)
    listed = response.context["cl"].result_list
    assert [row.headline for row in listed] == ["Draft"]
    assert listed[0].get_deferred_fields() == {"body", "body_plain"}
    page_queries = [
        q["sql"]
        for q in queries
        if '"stories_story"."headline"' in q["sql"] and not q["sql"].startswith("EXPLAIN")
    ]
    assert page_queries
    assert not any('"stories_story"."body' in sql for sql in page_queries)
    # A list action reads whole stories: publishing one keeps its body as it was.
    response = client.post(
        CHANGELIST, {"action": "publish_now", "_selected_action": [story.pk]}, follow=True
    )
    assert response.status_code == 200
    story.refresh_from_db()
    assert story.status == Story.Status.PUBLISHED
    assert story.body == "<p>Every word kept.</p>"
    assert story.body_plain == "Every word kept."


def test_long_filters_list_every_used_choice_as_django_writes_them(editor_user, parse_html):
    client = login(editor_user)
    grow_archive(20)
    unused = Tag.objects.create(name="unused", slug="unused")
    ports = Tag.objects.get(name="ports")
    response = client.get(CHANGELIST, {"tags__id__exact": ports.pk})
    assert response.status_code == 200
    page = parse_html(response)
    links = {
        a["text"]: a["attrs"]["href"]
        for a in page.find_all("a")
        # The tag filter's own links (other filters' "All" keeps the chosen tag).
        if a["attrs"].get("href", "").startswith("?tags__id__exact=") and a["text"] != "All"
    }
    tags = Tag.objects.in_bulk(field_name="name")
    assert links == {
        name: f"?tags__id__exact={tags[name].pk}" for name in ("grid", "harvest", "ports", "rail")
    }
    assert list(links) == ["grid", "harvest", "ports", "rail"]
    selected = [li["text"].strip() for li in page.find_all("li", **{"class": "selected"})]
    assert "ports" in selected and "rail" not in selected
    assert f"?tags__id__exact={unused.pk}" not in {
        a["attrs"].get("href") for a in page.find_all("a")
    }
    listed = {story.pk for story in response.context["cl"].result_list}
    assert listed == set(Story.objects.filter(tagged_items__tag=ports).values_list("pk", flat=True))


def test_the_story_lists_filters_are_headed_as_django_heads_a_field(editor_user, parse_html):
    """Django writes "By <title>": each title is a singular noun phrase, as "By section"."""
    client = login(editor_user)
    grow_archive(5)
    page = parse_html(client.get(CHANGELIST))
    headings = [
        " ".join(summary["text"].split())
        for summary in page.find_all("summary")
        if summary["text"].strip().startswith("By ")
    ]
    assert headings == [
        "By status",
        "By site status",
        "By publication date",
        "By pile on my desk",
        "By section",
        "By tag",
        "By byline",
    ]


def test_tag_and_byline_choices_are_in_reading_order(editor_user):
    """Accents, case and letters of their own (Æ, Ł, Ø) do not move a name to the end of
    the list (code point order put "Zürich" before "xenon" and "İstanbul" last)."""
    client = login(editor_user)
    names = ["Zürich", "York", "xenon", "İstanbul", "Ankara", "anchor", "Éire", "Øresund", "Łódź"]
    names += ["Ærø", "Oslo", "Lyon", "Afar", "Москва"]
    StoryFactory(published=True, tags=names)
    response = client.get(CHANGELIST)
    changelist = response.context["cl"]
    (spec,) = [spec for spec in changelist.filter_specs if spec.title == "tag"]
    # Between "All" and the empty choice ("-": stories with no tag).
    listed = [choice["display"] for choice in spec.choices(changelist)][1:-1]
    assert listed == [
        "Ærø",
        "Afar",
        "anchor",
        "Ankara",
        "Éire",
        "İstanbul",
        "Łódź",
        "Lyon",
        "Øresund",
        "Oslo",
        "xenon",
        "York",
        "Zürich",
        "Москва",
    ]


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"tags__id__exact": "TAG", "q": "İstanbul ferries"},
        {"bylines__id__exact": "BYLINE", "status__exact": "published"},
        # The marker the links are made from, typed in a search: every link made in full.
        {"q": story_list.UsedRelatedFieldListFilter.KEY_MARKER},
    ],
)
def test_long_filters_write_what_djangos_own_filter_template_writes(editor_user, query):
    """The tag and byline filters write their links by hand (``story_list.choice_items``):
    the same markup, whitespace aside, as Django's ``admin/filter.html`` given Django's own
    choices, with names that need escaping."""
    from django.contrib.admin.filters import RelatedFieldListFilter
    from django.template.loader import render_to_string

    client = login(editor_user)
    grow_archive(12)
    tag = Tag.objects.get(name="ports")
    tag.name = 'Ports & "docks" <b>'
    tag.save()
    byline = Byline.objects.order_by("pk").first()
    byline.name = "Ana <Lima> & 'co'"
    byline.save()
    query = {
        key: {"TAG": str(tag.pk), "BYLINE": str(byline.pk)}.get(value, value)
        for key, value in query.items()
    }
    response = client.get(CHANGELIST, query)
    assert response.status_code == 200
    changelist = response.context["cl"]
    specs = [
        spec
        for spec in changelist.filter_specs
        if isinstance(spec, story_list.UsedRelatedFieldListFilter)
    ]
    assert [spec.field_path for spec in specs] == ["tags", "bylines"]
    for spec in specs:
        context = {"title": spec.title, "spec": spec}
        ours = render_to_string(spec.template, {**context, "choices": spec.choices(changelist)})
        djangos = render_to_string(
            "admin/filter.html",
            {**context, "choices": RelatedFieldListFilter.choices(spec, changelist)},
        )
        assert " ".join(ours.split()) == " ".join(djangos.split())
        assert "&lt;" in ours  # the names needing escaping are among them
        assert ours in response.content.decode()


@pytest.mark.parametrize(
    "user, query",
    [
        ("editor_user", {"published": "2026-13"}),
        ("editor_user", {"published": "<script>"}),
        # Digits as the links write them: int() would read these as years.
        ("editor_user", {"published": "+026"}),
        ("editor_user", {"published": "\u0662\u0660\u0662\u0666"}),
        ("editor_user", {"published": "2024-+3"}),
        ("editor_user", {"published": "9999-12"}),
        ("editor_user", {"publication": "xyz"}),
        ("editor_user", {"desk": "xyz"}),
        # Another role's pile.
        ("editor_user", {"desk": "sent"}),
        ("reporter_user", {"desk": "conflicts"}),
    ],
)
def test_the_story_lists_own_filters_refuse_a_value_they_do_not_offer(request, user, query):
    """As Django refuses a bad value for a field's filter: a redirect to the plain list
    ("?e=1"), not every story under a filter that looks unset."""
    client = login(request.getfixturevalue(user))
    grow_archive(5)
    response = client.get(CHANGELIST, query)
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


@pytest.mark.parametrize(
    "user, query",
    [
        ("editor_user", {"published": "1999"}),  # a year no story has: none listed
        ("editor_user", {"publication": "live"}),
        ("editor_user", {"desk": "conflicts"}),
        ("reporter_user", {"desk": "sent"}),
    ],
)
def test_the_story_lists_own_filters_take_what_they_offer(request, user, query):
    client = login(request.getfixturevalue(user))
    grow_archive(5)
    assert client.get(CHANGELIST, query).status_code == 200


def test_the_story_list_offers_no_facet_counts(editor_user):
    """Facet counts are an aggregate per choice over the whole list (a scan per tag at a
    million stories; PostgreSQL refuses more than 1,664 of them in one query): the story
    list does not offer them, and asking for them anyway shows the list without."""
    client = login(editor_user)
    grow_archive(12)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert "_facets" not in response.content.decode()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST, {"_facets": "1"})
    assert response.status_code == 200
    assert " (" not in "".join(
        choice["display"]
        for spec in response.context["cl"].filter_specs
        for choice in spec.choices(response.context["cl"])
        if isinstance(choice["display"], str)
    )
    # Django names each facet's count "<choice>__c".
    assert not [query["sql"] for query in queries if re.search(r'"\w*__c"', query["sql"])]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's JIT")
def test_the_sites_postgresql_connections_run_without_jit():
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_story_list_checkboxes_are_djangos_markup():
    from django.contrib import admin

    story = StoryFactory(headline='Tom & "Jerry" <script>')
    model_admin = admin.site._registry[Story]
    ours = model_admin.action_checkbox(story)
    assert ours == admin.ModelAdmin.action_checkbox(model_admin, story)
    assert "&lt;script&gt;" in ours and "<script>" not in ours


def scans(plan):
    """``(node type, index name)`` of every scan of the story table in an EXPLAIN's JSON."""
    found = []
    if plan.get("Relation Name") == "stories_story":
        found.append((plan["Node Type"], plan.get("Index Name")))
    for child in plan.get("Plans", []):
        found += scans(child)
    return found


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's index-only scans")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("page", ["tag", "byline"])
def test_tag_and_byline_pages_sort_their_stories_from_an_index_alone(client, page):
    """A tag's or byline's page sorts the listing's keys by date apart (``keys_sorted_apart``):
    each story's liveness and date must come from ``story_published_key_idx`` alone, not
    from a table page per story (13,000 of them for the most used tag at 1M)."""
    grow_archive(1000)
    # A listing of one story in 25, as a tag or byline is of a big archive.
    rare_tag = Tag.objects.create(name="Rare", slug="rare")
    rare_byline = BylineFactory(name="Rare Writer")
    for story in Story.objects.order_by("pk")[::25]:
        TaggedStory.objects.create(content_object=story, tag=rare_tag)
        StoryByline.objects.create(story=story, byline=rare_byline, position=1)
    with connection.cursor() as cursor:
        # What autovacuum leaves on settled tables: the visibility map set, statistics.
        for table in ("stories_story", "stories_taggedstory", "stories_storybyline"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    apply_listing_notes(client)
    url = "/tags/rare/" if page == "tag" else rare_byline.get_absolute_url()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    expected = Story.objects.live()
    expected = expected.tagged(rare_tag) if page == "tag" else expected.by_byline(rare_byline)
    assert [story.pk for story in response.context["stories"]] == list(
        expected.values_list("pk", flat=True)[:20]
    )
    # The listing's keys and dates, read whole to be sorted: the subquery fenced with OFFSET 0.
    [page_query] = [query["sql"] for query in queries if "SELECT listed.pk FROM (" in query["sql"]]
    keys = page_query.split("SELECT listed.pk FROM (", 1)[1].split(" OFFSET 0)", 1)[0]
    with transaction.atomic(), connection.cursor() as cursor:
        # A table of a few hundred rows is cheaper read whole; the archive's is not.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {keys}")
        [[plan]] = cursor.fetchone()
    assert scans(plan["Plan"]) == [("Index Only Scan", "story_published_key_idx")]
