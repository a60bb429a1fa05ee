"""Controls Django's admin shows without a <label> get an accessible name from the server
(stories.editorial.accessibility); the browser checks are tests/browser/
test_desk_accessibility.py."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from stories.models import Correction

from .factories import BylineFactory, SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db


class Elements(HTMLParser):
    """Every start tag's attributes, in order: ``[(tag, {attr: value})]``."""

    def __init__(self, html):
        super().__init__()
        self.all = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.all.append((tag, dict(attrs)))

    def find(self, tag=None, **attrs):
        for found_tag, found in self.all:
            if tag in (None, found_tag) and all(found.get(k) == v for k, v in attrs.items()):
                return found
        return None


def page(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return Elements(response.content.decode())


def name_of(soup, element_id):
    element = soup.find(id=element_id)
    assert element is not None, element_id
    return element.get("aria-label")


def test_story_form_names_the_inline_rows_controls_and_the_time_box(client, editor_user):
    story = StoryFactory(bylines=[BylineFactory()], published=True)
    Correction.objects.create(story=story, text="The mayor's name was misspelt.")
    soup = page(client, editor_user, reverse("admin:stories_story_change", args=[story.pk]))
    # Table rows: named after their column, the "Delete" box too; a correction row is added
    # from the "Add another" template (no blank row is shown).
    assert name_of(soup, "id_story_bylines-0-byline") == "Byline"
    assert name_of(soup, "id_story_bylines-0-position") == "Position"
    assert name_of(soup, "id_story_bylines-0-DELETE") == "Delete"
    assert name_of(soup, "id_corrections-__prefix__-kind") == "Kind"
    assert name_of(soup, "id_corrections-__prefix__-text") == "Text"
    # A split date and time: each box its own name; the visible labels stay where they are.
    assert name_of(soup, "id_published_at_0") == "Published at: date"
    assert name_of(soup, "id_published_at_1") == "Published at: time"
    assert name_of(soup, "id_headline") is None
    assert soup.find("label", **{"for": "id_headline"})
    # The shell that names select2's boxes in the browser is on the page (no inline script).
    assert soup.find("script", src="/static/admin/newsroom/accessibility.js")
    assert soup.find("link", href="/static/admin/newsroom/accessibility.css")


def test_editable_list_columns_are_named(client, editor_user):
    SectionFactory(name="World", slug="world")
    soup = page(client, editor_user, reverse("admin:stories_section_changelist"))
    assert name_of(soup, "id_form-0-position") == "Position"


def test_the_login_page_loads_the_fixes_too(client):
    response = client.get(reverse("admin:login"))
    assert b"admin/newsroom/accessibility.css" in response.content
