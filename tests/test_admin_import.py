"""Importing a briefing from the admin: preview first, then confirm; same code as the command."""

import os
import stat
import time

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from stories.editorial.briefing_import import STAGED_MAX_AGE, STAGED_PER_USER
from stories.models import Byline, Section, Story

from .admin_forms import BRIEFING, IMPORT, admin_form_data, confirm, preview
from .factories import SectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def world(db):
    # The import chooses an existing section; a new one is named explicitly (new_section).
    return SectionFactory(slug="world", name="World")


@pytest.fixture(autouse=True)
def staging(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path / "imports"


def login(user):
    client = Client()
    client.force_login(user)
    return client


def rows(response):
    return [(outcome.headline, outcome.action) for outcome, _ in response.context["rows"]]


def test_admin_import_previews_then_writes_on_confirm(editor_user):
    client = login(editor_user)
    changelist = client.get(reverse("admin:stories_story_changelist"))
    assert "Import briefing" in changelist.content.decode()
    response = preview(client)
    assert response.status_code == 200
    page = response.content.decode()
    assert "nothing has been written yet" in page
    assert rows(response) == [
        ("Port of Odesa reopens", "created"),
        ("Chile elects a new president", "created"),
    ]
    assert "Grain ships sail again" in page  # the deck
    assert "Pedro Ruiz, Ana Lima" in page  # the bylines
    assert "Ukraine" in page and "Chile" in page  # the tags
    assert not Story.objects.exists()
    done = confirm(client, response)
    assert done.status_code == 302
    stories = Story.objects.for_listing().order_by("pk")
    assert [s.headline for s in stories] == [
        "Port of Odesa reopens",
        "Chile elects a new president",
    ]
    assert all(s.is_live() and s.created_by == editor_user for s in stories)
    assert stories[0].history.get().history_change_reason == "Imported from a briefing"
    # The staged upload is gone, so the same confirmation cannot run twice.
    again = confirm(client, response)
    assert again.status_code == 200
    assert "upload it again" in again.content.decode()


def test_admin_import_preview_shows_unchanged_updated_and_conflict(editor_user):
    client = login(editor_user)
    confirm(client, preview(client))
    assert rows(preview(client)) == [
        ("Port of Odesa reopens", "unchanged"),
        ("Chile elects a new president", "unchanged"),
    ]
    port = Story.objects.get(headline="Port of Odesa reopens")
    url = reverse("admin:stories_story_change", args=[port.pk])
    client.post(url, admin_form_data(client.get(url), deck="Edited in the admin"))
    corrected = BRIEFING.replace("chose a new leader", "chose a new leader on Sunday")
    response = preview(client, corrected)
    assert rows(response) == [
        ("Port of Odesa reopens", "conflict"),
        ("Chile elects a new president", "updated"),
    ]
    confirm(client, response)
    port.refresh_from_db()
    assert port.deck == "Edited in the admin"
    chile = Story.objects.get(headline="Chile elects a new president")
    assert chile.body.endswith("on Sunday.</p>")
    assert chile.version == 2


def test_admin_import_bad_file_shows_the_commands_error(editor_user, tmp_path):
    bad = "Headline only\n— Ana Lima\n"
    path = tmp_path / "bad.txt"
    path.write_text(bad)
    with pytest.raises(CommandError) as command_error:
        call_command("import_briefing", str(path))
    response = preview(login(editor_user), bad, name="bad.txt")
    assert response.status_code == 200
    # The same error, naming the uploaded file rather than a path on the server.
    message = str(command_error.value).replace(str(path), "bad.txt")
    assert message == "bad.txt, line 1: headline “Headline only” has no paragraphs"
    assert message in response.content.decode()
    assert not Story.objects.exists()


def test_admin_import_refuses_non_utf8_and_bad_section(editor_user):
    client = login(editor_user)
    response = preview(client, "Caf\xe9 opens\nIt opened.\n".encode("latin-1"))
    assert "UTF-8" in response.content.decode()
    response = preview(client, section="not a slug!")
    assert "Select a valid choice" in response.content.decode()
    assert not Story.objects.exists()


def test_reporter_imports_only_drafts(reporter_user):
    client = login(reporter_user)
    refused = preview(client, status="published")
    assert refused.status_code == 200
    assert "valid choice" in refused.content.decode()
    assert "result" not in refused.context or refused.context["result"] is None
    response = preview(client, status="draft")
    assert rows(response)[0][1] == "created"
    forged = response.content.decode().replace(
        'name="status" value="draft"', 'name="status" value="published"'
    )
    confirm(client, response, page=forged)
    assert not Story.objects.exists()
    confirm(client, response)
    assert Story.objects.count() == 2
    assert set(Story.objects.values_list("status", flat=True)) == {"draft"}
    assert set(Story.objects.values_list("created_by", flat=True)) == {reporter_user.pk}


def test_reporter_import_may_not_rewrite_an_editors_story(reporter_user, editor_user):
    editor = login(editor_user)
    confirm(editor, preview(editor, status="draft"))
    corrected = BRIEFING.replace("chose a new leader", "chose a new leader on Sunday")
    response = preview(login(reporter_user), corrected, status="draft")
    assert "would change stories you may not edit" in response.content.decode()


def test_admin_import_confirmation_is_tied_to_its_user(editor_user, make_staff):
    response = preview(login(editor_user))
    other = login(make_staff("eve", "Editor"))
    refused = confirm(other, response)
    assert "belongs to someone else" in refused.content.decode()
    assert not Story.objects.exists()


def test_admin_import_needs_add_permission(make_staff):
    from django.contrib.auth.models import User

    viewer = User.objects.create_user("viewer", is_staff=True)
    assert login(viewer).get(IMPORT).status_code == 403


def test_reporter_import_into_a_new_section_is_refused(reporter_user):
    client = login(reporter_user)
    assert 'name="new_section"' not in client.get(IMPORT).content.decode()
    response = preview(client, section="brand-new", status="draft")
    assert "Select a valid choice" in response.content.decode()
    assert response.context["result"] is None
    # A new section's name, posted anyway, is not read: the form has no such field for them.
    response = preview(client, section="", new_section="Brand new", status="draft")
    assert "Choose the section the stories go in." in response.content.decode()
    assert response.context["result"] is None
    # A confirmation forged to name a new section is refused the same way.
    good = preview(client, status="draft")
    forged = good.content.decode().replace(
        'name="section" value="world"', 'name="section" value="brand-new"'
    )
    refused = confirm(client, good, page=forged)
    assert "Select a valid choice" in refused.content.decode()
    forged = good.content.decode().replace(
        'name="section" value="world"',
        'name="section" value=""><input name="new_section" value="Brand new"',
    )
    assert "Choose the section" in confirm(client, good, page=forged).content.decode()
    assert list(Section.objects.values_list("slug", flat=True)) == ["world"]
    assert not Story.objects.exists()
    assert not Byline.objects.exists()


def test_editor_import_creates_a_new_section_named_as_typed(editor_user):
    client = login(editor_user)
    form = client.get(IMPORT).content.decode()
    assert '<select name="section"' in form and 'name="new_section"' in form
    response = preview(client, section="", new_section="Brand new: Ünïcode desk")
    assert not Section.objects.filter(slug__startswith="brand").exists()  # nothing yet
    assert "Brand new: Ünïcode desk</strong> (new)" in response.content.decode()
    confirm(client, response)
    section = Section.objects.get(slug="brand-new-ünïcode-desk")
    assert section.name == "Brand new: Ünïcode desk"
    assert Story.objects.filter(section=section).count() == 2


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        (
            {"new_section": "World", "section": ""},
            "There is already a section “World”: choose it from the list.",
        ),
        ({"new_section": "world ", "section": ""}, "There is already a section “world”"),
        ({"new_section": "!!!", "section": ""}, "has no letter or digit"),
        ({"new_section": "Two\nlines", "section": ""}, "holds a line break"),
        ({"new_section": "x" * 101, "section": ""}, "at most 100 characters"),
        ({"section": ""}, "Choose the section the stories go in."),
    ],
)
def test_admin_import_new_section_is_validated(editor_user, changes, error):
    response = preview(login(editor_user), **changes)
    assert error in response.content.decode()
    assert response.context["result"] is None
    assert list(Section.objects.values_list("slug", flat=True)) == ["world"]


def test_a_typed_new_section_wins_over_the_preselected_list(editor_user):
    # The list arrives preselected ("World"); typing a new section must not be an error.
    client = login(editor_user)
    assert 'value="world" selected' in client.get(IMPORT).content.decode()
    response = preview(client, section="world", new_section="Harbour desk")
    assert "Harbour desk</strong> (new)" in response.content.decode()
    assert response.context["form"].cleaned_data["section"] is None
    confirm(client, response)
    assert Story.objects.filter(section__slug="harbour-desk").count() == 2
    assert not Story.objects.filter(section__slug="world").exists()


def test_briefing_help_text_has_no_raw_markdown(editor_user):
    page = login(editor_user).get(IMPORT).content.decode()
    assert "`" not in page
    assert "import_briefing" in page


def test_admin_import_page_loads_the_admins_date_widget_scripts(editor_user):
    # AdminDateWidget's own media lacks core.js (quickElement) and the jsi18n catalog.
    page = login(editor_user).get(IMPORT).content.decode()
    head = page[: page.index("</head>")]
    scripts = [
        reverse("admin:jsi18n"),
        "admin/js/core.js",
        "admin/js/calendar.js",
        "admin/js/admin/DateTimeShortcuts.js",
    ]
    positions = [head.find(script) for script in scripts]
    assert -1 not in positions, dict(zip(scripts, positions, strict=True))


def test_admin_import_preview_shows_the_stories_as_readers_will_read_them(editor_user):
    hostile = (
        "Port <b>reopens</b>\n"
        "Ships & <script>alert(1)</script> sail\n"
        "First paragraph with <i>tags</i>.\n"
        "Second paragraph.\n"
        "— Ana Lima and Pedro Ruiz\n"
    )
    page = preview(login(editor_user), hostile).content.decode()
    reading = page[page.index("as readers will see them") :]
    assert "<h3>Port &lt;b&gt;reopens&lt;/b&gt;</h3>" in reading
    assert '<p class="deck">Ships &amp; &lt;script&gt;alert(1)&lt;/script&gt; sail</p>' in reading
    assert '<p class="bylines">By Ana Lima and Pedro Ruiz</p>' in reading
    assert "<p>First paragraph with &lt;i&gt;tags&lt;/i&gt;.</p>" in reading
    assert "<p>Second paragraph.</p>" in reading
    assert "<script>" not in page.replace('<script src="', "")


def test_admin_import_page_uses_the_admins_styles_and_no_inline_style(editor_user):
    client = login(editor_user)
    for page in (client.get(IMPORT), preview(client)):
        html = page.content.decode()
        assert 'class="module aligned"' in html or 'class="module"' in html
        assert 'class="submit-row"' in html
        assert "stories/desk-tools.css" in html
        assert " style=" not in html and "<style" not in html


def test_reporter_import_is_undated_whatever_the_file_name_or_a_forged_date(reporter_user):
    client = login(reporter_user)
    assert 'name="date"' in client.get(IMPORT).content.decode()
    # A date in the file name, and a date posted for the disabled field, are both ignored:
    # a reporter's draft must not carry a past date that publishing would then keep.
    response = preview(client, name="2020-01-02-desk.txt", status="draft", date="2020-01-02")
    assert {outcome.published_at for outcome, _ in response.context["rows"]} == {None}
    forged = response.content.decode().replace(
        'name="date" value=""', 'name="date" value="2020-01-02"'
    )
    confirm(client, response, page=forged)
    assert Story.objects.count() == 2
    assert set(Story.objects.values_list("published_at", flat=True)) == {None}
    assert not Story.objects.live().exists()
    today = Story.objects.first().created_at.date()
    assert Story.objects.first().get_absolute_url().startswith(today.strftime("/%Y/%m/%d/"))


def test_editor_may_backdate_an_import_on_purpose(editor_user):
    client = login(editor_user)
    confirm(client, preview(client, date="2020-01-02", status="draft"))
    assert {story.published_at.date().isoformat() for story in Story.objects.all()} == {
        "2020-01-02"
    }


def test_admin_import_overlong_byline_name_is_a_form_error_naming_file_and_line(editor_user):
    name = "N" * (Byline._meta.get_field("name").max_length + 1)
    text = BRIEFING.replace("— Ana Lima\n", f"— {name}\n", 1)
    response = preview(login(editor_user), text, name="long.txt")
    page = response.content.decode()
    assert "long.txt, line 4: byline name “NNN" in page
    assert "is 101 characters long; at most 100 are allowed" in page
    assert response.context["result"] is None
    assert not Story.objects.exists()
    assert not Byline.objects.exists()


def reporter_import_with_a_new_byline(reporter_user):
    SectionFactory(slug="world", name="World")
    client = login(reporter_user)
    confirm(client, preview(client, status="draft"))
    byline = Byline.objects.get(name="Pedro Ruiz")
    assert not Story.objects.live().exists()
    return byline


def test_reporter_created_byline_is_on_no_public_list(reporter_user, client):
    byline = reporter_import_with_a_new_byline(reporter_user)
    address = byline.get_absolute_url()
    for url in ("/", "/feed/", "/sitemap.xml", "/sitemap-bylines.xml", "/search/?q=Pedro"):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert address not in response.content.decode(), url
        assert "Pedro Ruiz" not in response.content.decode(), url


def test_reporter_created_byline_has_no_page_until_an_editor_publishes(
    reporter_user, editor_user, client
):
    byline = reporter_import_with_a_new_byline(reporter_user)
    assert client.get(byline.get_absolute_url()).status_code == 404
    assert client.get(reverse("stories:byline_feed", args=[byline.slug])).status_code == 404
    story = Story.objects.get(headline="Chile elects a new president")
    story.status, story.published_at = Story.Status.PUBLISHED, story.created_at
    story.save()  # as an editor publishing it would: a new content generation
    assert client.get(byline.get_absolute_url()).status_code == 200


# --- staged uploads: private, bounded, cleaned up --------------------------------------------


def staged(staging):
    return sorted(staging.glob("*.briefing"))


def test_staged_upload_is_private_to_the_server(editor_user, staging):
    staging.mkdir(mode=0o755)
    staging.chmod(0o755)  # a folder made before staged uploads were private
    old_umask = os.umask(0o022)
    try:
        preview(login(editor_user))
    finally:
        os.umask(old_umask)
    (path,) = staged(staging)
    assert stat.S_IMODE(staging.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_staged_uploads_that_can_no_longer_be_confirmed_are_removed(editor_user, staging):
    client = login(editor_user)
    first = preview(client)
    (old,) = staged(staging)
    expired = time.time() - STAGED_MAX_AGE - 60
    os.utime(old, (expired, expired))
    preview(client, name="2024-05-02-desk.txt")
    assert old not in staged(staging)
    assert len(staged(staging)) == 1
    assert "upload it again" in confirm(client, first).content.decode()
    assert not Story.objects.exists()


def test_each_user_keeps_only_their_latest_staged_uploads(editor_user, make_staff, staging):
    client, other = login(editor_user), login(make_staff("eve", "Editor"))
    others = preview(other)
    responses = [preview(client, name=f"2024-05-0{day}-desk.txt") for day in range(1, 6)]
    assert len(staged(staging)) == STAGED_PER_USER + 1
    # The latest previews still confirm, and so does the other user's.
    assert confirm(client, responses[-1]).status_code == 302
    assert confirm(other, others).status_code == 302
    assert "upload it again" in confirm(client, responses[0]).content.decode()


def test_staged_uploads_are_bounded_in_total_size(editor_user, make_staff, staging, settings):
    size = len(BRIEFING.encode())
    settings.BRIEFING_STAGING_MAX_BYTES = 2 * size
    preview(login(make_staff("eve", "Editor")))
    preview(login(make_staff("max", "Editor")))
    refused = preview(login(editor_user))
    assert "too many imports are waiting for confirmation" in refused.content.decode()
    assert refused.context["result"] is None
    assert len(staged(staging)) == 2
    assert sum(path.stat().st_size for path in staged(staging)) <= 2 * size
    assert not Story.objects.exists()


def test_a_staged_name_without_confirmation_or_file_is_a_form_error(reporter_user):
    """A forged POST naming a staged upload but not confirming it has no file to preview:
    the form says so instead of failing."""
    client = login(reporter_user)
    response = client.post(
        reverse("admin:stories_story_import"),
        {"staged": "x", "section": SectionFactory(slug="arts").pk, "status": "draft"},
    )
    assert response.status_code == 200
    assert "Choose a briefing file to import." in response.content.decode()
    assert not Story.objects.exists()
