"""The image library in a real browser: an editor uploads a picture, clicks its focal point,
uses it as a story's lead image, and readers get renditions cropped around that point."""

from io import BytesIO

import pytest
from django.contrib.auth.models import Group, User
from PIL import Image as PillowImage
from PIL import ImageDraw

from stories.models import Image, Story

from ..factories import StoryFactory

pytestmark = [pytest.mark.browser]

PASSWORD = "browser-tests-only-9f3k"
DOT = (0.96, 0.3)  # where the red dot is, as fractions of the width and height


@pytest.fixture
def editor(transactional_db):
    user = User.objects.create_user("picture-editor", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Editor"))
    return user


def dotted_png(tmp_path, size=(1600, 900)):
    picture = PillowImage.new("RGB", size, (120, 120, 120))
    x, y = DOT[0] * size[0], DOT[1] * size[1]
    ImageDraw.Draw(picture).ellipse((x - 20, y - 20, x + 20, y + 20), fill=(230, 20, 20))
    path = tmp_path / "harbour.png"
    picture.save(path)
    return path


def has_red(data):
    with PillowImage.open(BytesIO(data)) as made:
        colours = made.convert("RGB").getcolors(made.width * made.height)
    return any(r > 180 and g < 90 and b < 90 for _count, (r, g, b) in colours)


def test_editor_uploads_sets_the_focal_point_and_readers_get_the_crop(
    editor, open_page, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    story = StoryFactory(headline="Harbour reopens", published=True)
    page = open_page("/admin/")
    page.get_by_label("Username").fill(editor.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")

    # Upload: the library's add form.
    page.goto("/admin/stories/image/add/")
    page.locator("#id_file").set_input_files(str(dotted_png(tmp_path)))
    page.get_by_label("Alt text").fill("A red buoy in the harbour")
    page.get_by_label("Credit").fill("Ana Lima")
    page.get_by_role("button", name="Save and continue editing").click()
    page.wait_for_selector(".focal-picker--ready")
    image = Image.objects.get()
    # Centred, the 3:2 card leaves the dot out.
    card = page.request.get(image.rendition("card", 960)["url"]).body()
    assert not has_red(card)

    # The focal point: a click on the dot.
    picture = page.locator(".focal-picker img")
    box = picture.bounding_box()
    picture.click(position={"x": box["width"] * DOT[0], "y": box["height"] * DOT[1]})
    assert abs(float(page.locator("#id_focal_x").input_value()) - DOT[0]) < 0.02
    assert abs(float(page.locator("#id_focal_y").input_value()) - DOT[1]) < 0.02
    # The arrow keys move it too (the picker is focusable), and back.
    page.locator(".focal-picker").focus()
    before = float(page.locator("#id_focal_y").input_value())
    page.keyboard.press("ArrowDown")
    assert float(page.locator("#id_focal_y").input_value()) > before
    page.keyboard.press("ArrowUp")
    page.get_by_role("button", name="Save and continue editing").click()
    page.wait_for_selector(".focal-picker--ready")
    image.refresh_from_db()
    assert abs(image.focal_x - DOT[0]) < 0.02 and abs(image.focal_y - DOT[1]) < 0.02

    # The story: its lead image chosen from the library by searching.
    page.goto(f"/admin/stories/story/{story.pk}/change/")
    page.locator(".field-lead_image .select2-selection").click()
    page.locator('.select2-search__field[aria-controls="select2-id_lead_image-results"]').fill(
        "buoy"
    )
    page.locator(".select2-results__option", has_text="A red buoy in the harbour").click()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/admin/stories/story/")
    assert Story.objects.get(pk=story.pk).lead_image == image

    # A reader: the page shows the image with srcset and size, and link previews get the
    # 1.91:1 crop with the dot in it.
    reader = open_page(story.get_absolute_url())
    shown = reader.locator("figure.story__image img")
    assert shown.get_attribute("alt") == "A red buoy in the harbour"
    assert shown.get_attribute("srcset").count("w, ") >= 2
    assert shown.get_attribute("width") and shown.get_attribute("height")
    assert shown.evaluate("img => img.complete && img.naturalWidth > 0")
    social = reader.locator('meta[property="og:image"]').get_attribute("content")
    assert "-og-" in social
    response = reader.request.get(social)
    assert response.status == 200
    assert has_red(response.body())
    for rendition in image.renditions_for("card") + image.renditions_for("wide"):
        assert has_red(reader.request.get("/media/" + rendition["name"]).body())


@pytest.mark.axe
def test_image_library_pages_have_no_serious_accessibility_violations(
    editor, open_page, tmp_path, settings, axe_script
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from stories.editorial.saving import save_image

    from .test_accessibility import run_axe

    settings.MEDIA_ROOT = tmp_path / "media"
    upload = SimpleUploadedFile("buoy.png", dotted_png(tmp_path).read_bytes())
    image = Image(file=upload, alt="A red buoy", uploaded_by=editor)
    save_image(image)
    StoryFactory(lead_image=image)
    page = open_page("/admin/")
    page.get_by_label("Username").fill(editor.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    for address in (
        "/admin/stories/image/",
        f"/admin/stories/image/{image.pk}/change/",
        "/admin/stories/image/add/",
        "/admin/stories/image/?use=public",
    ):
        page.goto(address)
        violations = run_axe(page, axe_script)
        blocking = [v for v in violations if v["impact"] in {"serious", "critical"}]
        assert blocking == [], f"{address}: {blocking}"
