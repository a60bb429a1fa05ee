"""The footer and the site's own pages (About, Contact, the corrections policy): public,
cached like every reader page, written by editors in the desk, never carrying a script."""

import pytest
from django.test import Client
from django.urls import reverse

from stories.models import SitePage

from .admin_forms import admin_form_data
from .factories import BylineFactory, SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db

STARTER = ["about", "contact", "corrections-policy"]


def footer(html):
    return html[html.index('<footer class="site-footer">') :]


def login(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_migration_made_starter_pages_for_a_fresh_site():
    assert list(SitePage.objects.values_list("slug", flat=True)) == STARTER


@pytest.mark.parametrize("url", ["/", "/search/", "/pages/about/", "/no/such/page/"])
def test_every_page_has_the_footer_with_sections_feeds_and_site_pages(client, url):
    StoryFactory(published=True, section=SectionFactory(name="World", slug="world"))
    SectionFactory(name="Zqempty desk", slug="zqempty")  # no live story: not listed
    html = footer(client.get(url).content.decode())
    assert '<a href="/sections/world/">World</a>' in html
    assert "zqempty" not in html.casefold()
    assert 'href="/feed/"' in html and 'href="/feed/atom/"' in html
    for slug, title in [
        ("about", "About us"),
        ("contact", "Contact"),
        ("corrections-policy", "Corrections policy"),
    ]:
        assert f'href="/pages/{slug}/"' in html and title in html
    assert "&copy;" in html and "Newsroom" in html


def test_a_site_page_is_a_public_reader_page(client):
    response = client.get("/pages/about/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<h1 class="site-page__title">About us</h1>' in html
    assert '<link rel="canonical" href="http://testserver/pages/about/">' in html
    assert '"@type": "AboutPage"' in html
    assert 'href="/pages/about/" aria-current="page"' in footer(html)
    assert client.get("/pages/no-such-page/").status_code == 404


def test_a_page_left_out_of_the_footer_keeps_its_address(client):
    SitePage.objects.filter(slug="contact").update(in_footer=False)
    assert 'href="/pages/contact/"' not in footer(client.get("/").content.decode())
    assert client.get("/pages/contact/").status_code == 200


def test_site_pages_are_cached_and_follow_edits_at_once(
    client, settings, page_cache, django_assert_num_queries
):
    settings.FRAGMENT_CACHE_SECONDS = 300
    first = client.get("/pages/about/")
    with django_assert_num_queries(0):
        assert client.get("/pages/about/").content == first.content
    page = SitePage.objects.get(slug="about")
    page.title = "Who we are"
    page.body = "<p>New words.</p>"
    page.save()
    again = client.get("/pages/about/").content.decode()
    assert "Who we are" in again and "New words." in again
    assert ">Who we are</a>" in footer(client.get("/").content.decode())


def test_script_in_a_site_page_is_stripped_on_save_and_on_the_way_out(client):
    page = SitePage.objects.get(slug="about")
    page.body = '<p onclick="steal()">Hi<script>alert(1)</script></p><img src=x onerror=alert(2)>'
    page.save()
    page.refresh_from_db()
    assert page.body == "<p>Hi</p>"
    # A row written around save() (straight to the database) is sanitized when shown.
    SitePage.objects.filter(pk=page.pk).update(body="<p>Hi</p><script>alert(3)</script>")
    html = client.get("/pages/about/").content.decode()
    assert "alert" not in html and "<p>Hi</p>" in html


def test_editor_edits_the_about_page_in_the_desk_and_script_is_stripped(client, editor_user):
    editor = login(editor_user)
    page = SitePage.objects.get(slug="about")
    change = reverse("admin:stories_sitepage_change", args=[page.pk])
    response = editor.post(
        change,
        admin_form_data(
            editor.get(change),
            title="About the newsroom",
            body='<p>We report.</p><script>alert("x")</script>'
            '<p><a href="javascript:x()">y</a></p>',
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    page.refresh_from_db()
    assert page.title == "About the newsroom"
    assert page.body == '<p>We report.</p><p><a rel="noopener">y</a></p>'
    html = client.get("/pages/about/").content.decode()
    assert "About the newsroom" in html and "alert" not in html and "javascript" not in html


def test_reporters_may_not_touch_the_site_pages(reporter_user):
    reporter = login(reporter_user)
    page = SitePage.objects.get(slug="about")
    change = reverse("admin:stories_sitepage_change", args=[page.pk])
    assert reporter.get(reverse("admin:stories_sitepage_changelist")).status_code == 403
    assert reporter.get(change).status_code == 403
    assert reporter.post(change, {"title": "Defaced", "slug": "about"}).status_code == 403
    assert reporter.get(reverse("admin:stories_sitepage_add")).status_code == 403
    page.refresh_from_db()
    assert page.title == "About us"


def test_editors_hold_every_site_page_permission(editor_user, reporter_user):
    for action in ("add", "change", "delete", "view"):
        assert editor_user.has_perm(f"stories.{action}_sitepage")
        assert not reporter_user.has_perm(f"stories.{action}_sitepage")


def test_byline_page_shows_photo_role_bio_and_live_story_count(client, media_root):
    from .library import library_image

    byline = BylineFactory(
        name="Ana Lima", slug="ana-lima", role="Science editor", bio="Covers volcanoes."
    )
    byline.photo = library_image(alt="Ana Lima")
    byline.save()
    StoryFactory.create_batch(3, published=True, bylines=[byline])
    StoryFactory(bylines=[byline])  # a draft: not counted
    StoryFactory(scheduled=True, bylines=[byline])  # not live yet: not counted
    html = client.get("/bylines/ana-lima/").content.decode()
    assert 'class="byline-header__photo"' in html and "srcset=" in html
    assert "Science editor" in html and "Covers volcanoes." in html
    assert '<p class="byline-header__count">3 stories</p>' in html


def test_byline_page_query_budget_is_flat(client, django_assert_max_num_queries, settings):
    settings.FRAGMENT_CACHE_SECONDS = 0
    byline = BylineFactory(slug="ana-lima")
    StoryFactory.create_batch(2, published=True, bylines=[byline])
    with django_assert_max_num_queries(7) as few:
        client.get("/bylines/ana-lima/")
    StoryFactory.create_batch(60, published=True, bylines=[byline, BylineFactory()])
    with django_assert_max_num_queries(7) as many:
        html = client.get("/bylines/ana-lima/").content.decode()
    assert len(few) == len(many)
    assert "62 stories" in html


def test_a_backup_restores_over_the_starter_pages_of_a_fresh_database(tmp_path):
    """Pages are named by slug in a backup: loaded into a database whose migration made the
    starter pages (under other ids), they replace them instead of clashing on the slug."""
    import json
    from io import StringIO

    from django.core.management import call_command

    about = SitePage.objects.get(slug="about")
    about.delete()
    SitePage.objects.create(title="About the newsroom", slug="about", body="<p>Edited.</p>")
    out = StringIO()
    call_command("dumpdata", "stories.sitepage", "--natural-primary", stdout=out)
    rows = json.loads(out.getvalue())
    assert all("pk" not in row for row in rows)
    # A fresh database: the starter pages again, at other ids.
    SitePage.objects.all().delete()
    for slug in STARTER:
        SitePage.objects.create(title=slug, slug=slug)
    backup = tmp_path / "pages.json"
    backup.write_text(out.getvalue())
    call_command("loaddata", str(backup), verbosity=0)
    assert SitePage.objects.get(slug="about").body == "<p>Edited.</p>"
    assert SitePage.objects.count() == 3


def test_the_desk_links_the_site_pages_for_editors_only(client, editor_user, reporter_user):
    client.force_login(editor_user)
    assert (
        'href="/admin/stories/sitepage/">Site pages</a>' in client.get("/admin/").content.decode()
    )
    client.force_login(reporter_user)
    assert "Site pages</a>" not in client.get("/admin/").content.decode()


def test_the_footer_and_the_menu_are_landmarks_of_their_own_names(client):
    # Two navigation landmarks both called "Sections" leave a screen-reader user unable to
    # tell the masthead's menu from the footer's list.
    StoryFactory(published=True)
    page = client.get("/").content.decode()
    assert page.count('aria-label="Sections"') == 1  # the masthead's menu
    assert page.count('aria-label="All sections"') == 1  # the footer's list
