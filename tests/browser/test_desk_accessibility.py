"""WCAG 2.2 AA on the desk (issue 13): axe-core on every admin page staff use, as an editor
and as a reporter, in both colour schemes, with no serious or critical violation.

The pages are data: add a ``DeskPage`` to ``DESK_PAGES`` (a name, a function from the
``desk_world`` fixture's objects to an address, and the roles that may open it) and every
role and scheme checks it. Each role logs in once and walks its pages, so a failure lists
every page that failed, not just the first.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image as PillowImage

from stories.editorial.saving import save_image
from stories.models import (
    ApiKey,
    Correction,
    EditingPresence,
    Image,
    PreviewLink,
    ReturnNote,
    Story,
    StoryNote,
    WebhookDelivery,
    WebhookSubscriber,
    WorkingCopy,
)

from ..factories import BylineFactory, SectionFactory, StoryFactory
from .conftest import SEED
from .test_accessibility import run_axe
from .test_live_editing import close

pytestmark = [pytest.mark.browser, pytest.mark.axe]

PASSWORD = "browser-tests-only-9f3k"
EDITOR, REPORTER, SUPERUSER = "editor", "reporter", "superuser"
STAFF = (EDITOR, REPORTER)
MANAGERS = (EDITOR, SUPERUSER)
PHONE_WIDTH = 390


@dataclass(frozen=True)
class DeskPage:
    name: str
    address: object  # callable(world) -> path
    roles: tuple = STAFF
    # Something to do before axe looks (open a widget, say), given the page.
    prepare: object = None


def open_select2(page):
    # The autocomplete's dropdown and its search box are part of the page while open.
    page.locator(".select2-selection").first.click()
    page.locator(".select2-search__field").first.wait_for()


def preview_seed_briefing(page):
    # The import's second step: the preview table of what importing the file would do (or,
    # where the role may not, the form's error).
    page.locator("#id_briefing").set_input_files(SEED)
    page.get_by_role("button", name="Preview import").click()
    page.locator("#import-preview, .errornote, .errorlist").first.wait_for()


def wait_for_body_editor(page):
    # The rich-text body's toolbar is built in the browser: axe looks once it is there.
    page.locator(".prose-editor .tiptap").first.wait_for()


def story_with_everything_open(page):
    # Not a silent pass: what this page is here for is on it.
    wait_for_body_editor(page)
    for shown in (".prose-menubar", ".primary-actions", ".live-restore", "#story-notes"):
        assert page.locator(shown).first.is_visible(), shown
    assert page.locator(".live-presence__message").count() >= 1


def open_heading_picker(page):
    wait_for_body_editor(page)
    page.get_by_role("button", name="heading 2").first.press("Enter")  # as with a keyboard
    page.locator(".prose-menubar__picker:popover-open").wait_for()


def open_link_dialog(page):
    wait_for_body_editor(page)
    page.locator(".prose-editor .tiptap").first.click()
    page.keyboard.press("ControlOrMeta+a")
    page.get_by_role("button", name="insert link").first.click()
    page.locator("dialog[open]").wait_for()


def open_preview(page):
    """The live preview of the form's unsaved text, the tab the Preview button opens."""
    wait_for_body_editor(page)
    with page.expect_popup() as popup:
        page.get_by_role("button", name="Preview changes").click()
    preview = popup.value
    preview.wait_for_load_state()
    return preview


def open_lead_image_picker(page):
    page.locator("#id_lead_image").locator("..").locator(".select2-selection").click()
    page.locator(".select2-results__option").first.wait_for()


def create_api_key(page):
    page.get_by_label("Name").fill("Harbour Gazette app")
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator("#new-api-key").wait_for()


DESK_PAGES = [
    DeskPage("desk", lambda w: reverse("admin:index")),
    DeskPage("all models", lambda w: reverse("admin:models")),
    DeskPage("story list", lambda w: reverse("admin:stories_story_changelist")),
    DeskPage(
        "story list, filtered and searched",
        lambda w: reverse("admin:stories_story_changelist") + "?status__exact=draft&q=harbour",
    ),
    DeskPage("new story", lambda w: reverse("admin:stories_story_add")),
    DeskPage(
        "new story, section autocomplete open",
        lambda w: reverse("admin:stories_story_add"),
        prepare=open_select2,
    ),
    DeskPage("story form", lambda w: reverse("admin:stories_story_change", args=[w["story"].pk])),
    DeskPage(
        "published story form (an editor's lock for reporters)",
        lambda w: reverse("admin:stories_story_change", args=[w["published"].pk]),
    ),
    DeskPage(
        "story history", lambda w: reverse("admin:stories_story_history", args=[w["story"].pk])
    ),
    DeskPage(
        "story revision",
        lambda w: reverse(
            "admin:stories_story_simple_history",
            args=[w["story"].pk, w["story"].history.earliest().history_id],
        ),
    ),
    DeskPage("import screen", lambda w: reverse("admin:stories_story_import")),
    DeskPage(
        "import preview",
        lambda w: reverse("admin:stories_story_import"),
        prepare=preview_seed_briefing,
    ),
    DeskPage(
        "story delete confirmation",
        lambda w: reverse("admin:stories_story_delete", args=[w["story"].pk]),
    ),
    DeskPage("section list", lambda w: reverse("admin:stories_section_changelist")),
    DeskPage(
        "section form", lambda w: reverse("admin:stories_section_change", args=[w["section"].pk])
    ),
    DeskPage("new section", lambda w: reverse("admin:stories_section_add"), roles=(EDITOR,)),
    DeskPage("byline list", lambda w: reverse("admin:stories_byline_changelist")),
    DeskPage(
        "byline form", lambda w: reverse("admin:stories_byline_change", args=[w["byline"].pk])
    ),
    DeskPage("tag list", lambda w: reverse("admin:taggit_tag_changelist")),
    DeskPage("tag form", lambda w: reverse("admin:taggit_tag_change", args=[w["tag"].pk])),
    DeskPage("password change", lambda w: reverse("admin:password_change")),
    # People: editors manage reporters' accounts; the superuser everyone's.
    DeskPage("user list", lambda w: reverse("admin:auth_user_changelist"), roles=MANAGERS),
    DeskPage(
        "user form",
        lambda w: reverse("admin:auth_user_change", args=[w[REPORTER].pk]),
        roles=MANAGERS,
    ),
    DeskPage("new user", lambda w: reverse("admin:auth_user_add"), roles=MANAGERS),
    # Writing: the rich-text body's toolbar, the workflow box (Schedule and Return fields for
    # editors), the live-editing tools with the restore banner and someone else's presence,
    # the editorial notes and the lead-image picker.
    DeskPage(
        "story form with its body editor, restore banner, presence and notes",
        lambda w: reverse("admin:stories_story_change", args=[w["story"].pk]),
        prepare=story_with_everything_open,
    ),
    DeskPage(
        "story in review (Return to reporter with a note)",
        lambda w: reverse("admin:stories_story_change", args=[w["in_review"].pk]),
        prepare=wait_for_body_editor,
    ),
    DeskPage(
        "body editor, heading picker open",
        lambda w: reverse("admin:stories_story_change", args=[w["story"].pk]),
        prepare=open_heading_picker,
    ),
    DeskPage(
        "body editor, link dialog open",
        lambda w: reverse("admin:stories_story_change", args=[w["story"].pk]),
        prepare=open_link_dialog,
    ),
    DeskPage(
        "new story with its body editor",
        lambda w: reverse("admin:stories_story_add"),
        prepare=wait_for_body_editor,
    ),
    DeskPage(
        "story form, lead-image picker open",
        lambda w: reverse("admin:stories_story_change", args=[w["story"].pk]),
        prepare=open_lead_image_picker,
    ),
    DeskPage(
        "live preview of unsaved changes",
        lambda w: reverse("admin:stories_story_change", args=[w["story"].pk]),
        prepare=open_preview,
    ),
    DeskPage(
        "compare revisions",
        lambda w: (
            reverse("admin:stories_story_compare", args=[w["story"].pk])
            + "?old={}&new={}".format(*w["revisions"])
        ),
    ),
    # The image library: thumbnails, the form with its focal-point picker.
    DeskPage("image library", lambda w: reverse("admin:stories_image_changelist")),
    DeskPage(
        "image library, searched",
        lambda w: reverse("admin:stories_image_changelist") + "?q=buoy&use=public",
    ),
    DeskPage("new image", lambda w: reverse("admin:stories_image_add")),
    DeskPage(
        "new image in the lead-image picker's popup",
        lambda w: reverse("admin:stories_image_add") + "?_to_field=id&_popup=1",
    ),
    DeskPage(
        "image form with the focal-point picker",
        lambda w: reverse("admin:stories_image_change", args=[w["image"].pk]),
    ),
    # What leads the site: editors only (its list is its one screen).
    DeskPage("front page", lambda w: reverse("admin:stories_frontpage_changelist"), roles=MANAGERS),
    DeskPage(
        "front page, searching for a story to pin",
        lambda w: reverse("admin:stories_frontpage_changelist"),
        roles=MANAGERS,
        prepare=open_select2,
    ),
    # Partners' API keys and webhooks: editors only.
    DeskPage("API keys", lambda w: reverse("admin:stories_apikey_changelist"), roles=MANAGERS),
    DeskPage("new API key", lambda w: reverse("admin:stories_apikey_add"), roles=MANAGERS),
    DeskPage(
        "API key form",
        lambda w: reverse("admin:stories_apikey_change", args=[w["api_key"].pk]),
        roles=MANAGERS,
    ),
    DeskPage(
        "new API key, shown once",
        lambda w: reverse("admin:stories_apikey_add"),
        roles=MANAGERS,
        prepare=create_api_key,
    ),
    DeskPage(
        "webhook subscribers",
        lambda w: reverse("admin:stories_webhooksubscriber_changelist"),
        roles=MANAGERS,
    ),
    DeskPage(
        "new webhook subscriber",
        lambda w: reverse("admin:stories_webhooksubscriber_add"),
        roles=MANAGERS,
    ),
    DeskPage(
        "webhook subscriber form with its delivery log",
        lambda w: reverse("admin:stories_webhooksubscriber_change", args=[w["subscriber"].pk]),
        roles=MANAGERS,
    ),
    DeskPage(
        "webhook deliveries",
        lambda w: reverse("admin:stories_webhookdelivery_changelist"),
        roles=MANAGERS,
    ),
    DeskPage(
        "webhook delivery",
        lambda w: reverse("admin:stories_webhookdelivery_change", args=[w["delivery"].pk]),
        roles=MANAGERS,
    ),
]


def person(username, role):
    if role == SUPERUSER:
        return User.objects.create_superuser(username, f"{username}@example.org", PASSWORD)
    user = User.objects.create_user(username, f"{username}@example.org", PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role.title()))
    return user


def library_image(tmp_path, uploaded_by):
    """A picture in the image library, stored with its renditions (thumbnails, crops)."""
    path = tmp_path / "buoy.png"
    PillowImage.new("RGB", (1200, 800), (40, 90, 160)).save(path)
    image = Image(
        file=SimpleUploadedFile("buoy.png", path.read_bytes()),
        alt="A blue buoy in the harbour",
        caption="The buoy at the harbour mouth.",
        credit="Rita Reporter",
        uploaded_by=uploaded_by,
    )
    save_image(image)
    return image


@pytest.fixture
def desk_world(transactional_db, settings, tmp_path):
    """A newsroom with something on every page: a reporter's draft with a byline, tags, a
    correction, a preview link, a return note, a few revisions, editorial notes, a lead image,
    everyone's unsaved working copy and someone else editing it; a live story; a schedule; a
    story in review; an API key; a webhook subscriber with a failed delivery."""
    settings.MEDIA_ROOT = tmp_path / "media"
    reporter = person("rita", REPORTER)
    editor = person("edna", EDITOR)
    admin = person("root", SUPERUSER)
    section = SectionFactory(name="Business", slug="business")
    byline = BylineFactory(name="Rita Reporter", user=reporter)
    story = StoryFactory(
        headline="Harbour cranes idle as strike enters second week",
        section=section,
        bylines=[byline],
        tags=["harbour", "strikes"],
        created_by=reporter,
    )
    story.deck = "Dockers say talks have stalled."
    story.save()
    Correction.objects.create(story=story, text="An earlier version misspelt the port's name.")
    PreviewLink.objects.create(
        story=story, created_by=editor, expires_at=timezone.now() + timedelta(days=2)
    )
    ReturnNote.objects.create(story=story, author=editor, text="Add the port authority's figures.")
    image = library_image(tmp_path, uploaded_by=reporter)
    story.lead_image = image
    story.headline = "Harbour cranes idle as the strike enters its second week"
    story.body = '<h2>Talks</h2><p>Dockers say <a href="https://example.org">talks</a> stalled.</p>'
    story.save()
    older, newer = story.history.order_by("history_id").values_list("history_id", flat=True)[:2]
    StoryNote.objects.create(story=story, author=editor, text="Check the union's figures.")
    now = timezone.now()
    for user, base_version in ((reporter, story.version), (editor, story.version - 1)):
        # The reporter's copy is current; the editor's predates the last save (stale).
        WorkingCopy.objects.create(
            user=user,
            story=story,
            base_version=base_version,
            saved_at=now - timedelta(minutes=5),
            data={"headline": "Cranes idle, talks stalled", "body": "<p>Unsaved words.</p>"},
        )
    for user in (reporter, editor):  # each sees the other editing the story
        EditingPresence.objects.create(user=user, story=story, since=now, last_seen=now)
    published = StoryFactory(
        headline="Ferry timetable changes", section=section, bylines=[byline], published=True
    )
    StoryFactory(headline="Budget vote tomorrow", section=section, scheduled=True)
    in_review = StoryFactory(
        headline="Council waits", section=section, status=Story.Status.REVIEW, created_by=reporter
    )
    api_key, _key = ApiKey.issue("Harbour Gazette app", created_by=editor)
    subscriber = WebhookSubscriber.objects.create(
        name="Harbour Gazette",
        url="https://hooks.example.org/newsroom",
        secret="s3cret-for-browser-tests-only-0123456789",
        events=[WebhookSubscriber.Event.PUBLISHED],
        created_by=editor,
    )
    delivery = WebhookDelivery.objects.create(
        subscriber=subscriber,
        event=WebhookSubscriber.Event.PUBLISHED,
        story=published,
        story_pk=published.pk,
        payload='{"event": "story.published"}',
        status=WebhookDelivery.Status.FAILED,
        attempts=3,
        last_response_code=503,
    )
    return {
        REPORTER: reporter,
        EDITOR: editor,
        SUPERUSER: admin,
        "section": section,
        "byline": byline,
        "story": story,
        "published": published,
        "in_review": in_review,
        "revisions": (older, newer),
        "image": image,
        "api_key": api_key,
        "subscriber": subscriber,
        "delivery": delivery,
        "tag": story.tags.get(name="harbour"),
    }


def log_in(open_page, user, scheme):
    page = open_page(reverse("admin:login"), color_scheme=scheme)
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    return page


def blocking_violations(page, axe_script):
    return [v for v in run_axe(page, axe_script) if v["impact"] in {"serious", "critical"}]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_login_page_has_no_serious_accessibility_violations(
    transactional_db, open_page, axe_script, scheme
):
    page = open_page(reverse("admin:login"), color_scheme=scheme)
    assert blocking_violations(page, axe_script) == []
    page.get_by_label("Username").fill("nobody")  # a wrong password: the form's error shows
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert page.locator(".errornote, .errorlist").count() >= 1
    assert blocking_violations(page, axe_script) == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("role", [EDITOR, REPORTER, SUPERUSER])
def test_desk_pages_have_no_serious_accessibility_violations(
    desk_world, open_page, axe_script, role, scheme
):
    page = log_in(open_page, desk_world[role], scheme)
    pages = [desk_page for desk_page in DESK_PAGES if role in desk_page.roles]
    assert pages
    failures = {}
    for desk_page in pages:
        response = page.goto(desk_page.address(desk_world))
        assert response.status == 200, f"{desk_page.name}: HTTP {response.status}"
        assert page.locator("h1").count() == 1, f"{desk_page.name}: one <h1>"
        checked = (desk_page.prepare(page) if desk_page.prepare else None) or page
        if blocking := blocking_violations(checked, axe_script):
            failures[desk_page.name] = blocking
    assert failures == {}, f"{role}, {scheme}: {failures}"


def test_autocomplete_boxes_are_named_after_their_label_or_column(desk_world, open_page):
    page = log_in(open_page, desk_world[EDITOR], "light")
    page.goto(reverse("admin:stories_story_change", args=[desk_world["story"].pk]))
    # The chosen value follows the field's name, as a screen reader reads it.
    assert page.get_by_role("combobox", name="Section: Business").count() == 1
    bylines = page.locator("#story_bylines-group")  # named by the table's column header
    assert bylines.get_by_role("combobox", name="Byline Rita Reporter").count() == 1
    assert page.get_by_role("searchbox", name="Tags").count() == 1
    page.get_by_role("combobox", name="Section: Business").click()
    assert page.get_by_role("searchbox", name="Section:").is_visible()


# What sticks out past the right edge of a phone's screen and makes the whole page scroll
# sideways (the admin's own tables scroll inside their container, which is fine).
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const scrollsInside = (element) => {
    for (let up = element.parentElement; up && up !== document.body; up = up.parentElement) {
      if (["auto", "scroll", "hidden"].includes(getComputedStyle(up).overflowX)) return true;
    }
    return false;
  };
  return [...document.body.querySelectorAll("*")]
    .filter((e) => e.getBoundingClientRect().right > width + 1 && !scrollsInside(e))
    .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${[...e.classList].join(".")}`);
}"""


@pytest.mark.parametrize("role", STAFF)
def test_desk_home_and_story_form_fit_a_phone(desk_world, open_page, role):
    page = log_in(open_page, desk_world[role], "light")
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 800})
    for address in (
        reverse("admin:index"),
        reverse("admin:stories_story_add"),
        reverse("admin:stories_story_change", args=[desk_world["story"].pk]),
    ):
        page.goto(address)
        if "story" in address:
            wait_for_body_editor(page)
        overflow = page.evaluate("document.documentElement.scrollWidth") - PHONE_WIDTH
        assert (overflow, page.evaluate(OVERFLOWING)) == (0, []), address


def test_body_editor_is_named_and_its_toolbar_says_what_is_on(desk_world, open_page):
    page = log_in(open_page, desk_world[REPORTER], "light")
    page.goto(reverse("admin:stories_story_change", args=[desk_world["story"].pk]))
    body = page.get_by_role("textbox", name="Body")  # the editable area, not the textarea
    body.wait_for()
    assert body.get_attribute("contenteditable") == "true"
    assert body.get_attribute("aria-describedby") == "id_body_helptext"
    bold = page.get_by_role("button", name="bold")
    assert bold.get_attribute("aria-pressed") == "false"
    # A link needs a selection: without one the button is off, and says so.
    assert page.get_by_role("button", name="insert link").get_attribute("aria-disabled") == "true"
    close(page, desk_world[REPORTER])
