"""Lead images and byline photos: checked uploads, renditions made once, responsive markup."""

import struct
import zlib
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from stories.models import Byline, Story

from .admin_forms import admin_form_data
from .factories import BylineFactory, StoryFactory

pytestmark = pytest.mark.django_db


def image_file(name="photo.jpg", size=(1600, 900), image_format="JPEG", mode="RGB"):
    buffer = BytesIO()
    Image.new(mode, size, "teal").save(buffer, image_format)
    return SimpleUploadedFile(name, buffer.getvalue())


def png_bomb(width=100_000, height=100_000):
    """A few bytes of PNG whose header claims ten gigapixels."""

    def chunk(kind, data):
        checksum = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + checksum

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def login(user):
    client = Client()
    client.force_login(user)
    return client


def upload(client, story, image, **changes):
    url = reverse("admin:stories_story_change", args=[story.pk])
    data = admin_form_data(client.get(url), **changes)
    data["lead_image"] = image
    return client.post(url, data)


def lead_image_errors(response):
    form = response.context["adminform"].form
    return [str(error) for error in form.errors.get("lead_image", [])]


def test_lead_image_upload_makes_renditions_once_and_page_serves_srcset(
    client, editor_user, media_root
):
    story = StoryFactory(published=True)
    staff = login(editor_user)
    response = upload(
        staff,
        story,
        image_file(),
        lead_image_alt="A teal square",
        lead_image_caption="The square.",
        lead_image_credit="Ana Lima",
    )
    assert response.status_code == 302
    story.refresh_from_db()
    widths = [r["width"] for r in story.lead_image_renditions]
    assert widths == [480, 800, 1200]
    for rendition in story.lead_image_renditions:
        with Image.open(media_root / rendition["name"]) as made:
            assert made.format == "WEBP"
            assert made.size == (rendition["width"], rendition["height"])
    page = client.get(story.get_absolute_url()).content.decode()
    assert 'srcset="/media/renditions/' in page
    assert " 480w, " in page and " 1200w" in page
    assert 'sizes="' in page
    assert 'width="1200" height="675"' in page
    assert 'alt="A teal square"' in page
    assert "The square." in page and "Ana Lima" in page
    # Saving again (no new upload) keeps the renditions; nothing is remade.
    before = story.lead_image_renditions
    files_before = sorted(p.name for p in media_root.rglob("*.webp"))
    assert upload(staff, story, "", headline="Renamed").status_code == 302
    story.refresh_from_db()
    assert story.lead_image_renditions == before
    assert sorted(p.name for p in media_root.rglob("*.webp")) == files_before


def test_a_list_action_saves_as_the_change_form_does_renditions_included(
    client, editor_user, media_root
):
    story = StoryFactory()  # a draft
    staff = login(editor_user)
    assert upload(staff, story, image_file(), lead_image_alt="A teal square").status_code == 302
    story.refresh_from_db()
    made = [(r["width"], r["height"]) for r in story.lead_image_renditions]
    # Renditions the row no longer lists (a hand-edited or half-restored database): saving
    # the story from the list makes them again, as its change form would.
    Story.objects.filter(pk=story.pk).update(lead_image_renditions=[])
    response = staff.post(
        reverse("admin:stories_story_changelist"),
        {"action": "publish_now", "_selected_action": [story.pk]},
    )
    assert response.status_code == 302
    story.refresh_from_db()
    assert story.is_live()
    assert [(r["width"], r["height"]) for r in story.lead_image_renditions] == made
    for rendition in story.lead_image_renditions:
        assert (media_root / rendition["name"]).exists()
    assert 'srcset="/media/renditions/' in client.get(story.get_absolute_url()).content.decode()


def test_lead_image_media_is_served_with_debug_off(client, editor_user, media_root, settings):
    settings.DEBUG = False
    story = StoryFactory(published=True)
    upload(login(editor_user), story, image_file(), lead_image_alt="Alt")
    story.refresh_from_db()
    response = client.get("/media/" + story.lead_image_renditions[0]["name"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:4] == b"RIFF"


def test_lead_image_smaller_than_renditions_is_not_upscaled(editor_user, media_root):
    story = StoryFactory()
    upload(login(editor_user), story, image_file(size=(600, 400)), lead_image_alt="Alt")
    story.refresh_from_db()
    assert [r["width"] for r in story.lead_image_renditions] == [480, 600]


@pytest.mark.parametrize("image_format", ["PNG", "WEBP", "GIF"])
def test_lead_image_accepts_png_webp_and_gif(editor_user, media_root, image_format):
    story = StoryFactory()
    mode = "P" if image_format == "GIF" else "RGBA"
    image = image_file(f"image.{image_format.lower()}", (500, 500), image_format, mode)
    assert upload(login(editor_user), story, image, lead_image_alt="Alt").status_code == 302
    story.refresh_from_db()
    assert story.lead_image_renditions


def test_lead_image_requires_alt_text(editor_user, media_root):
    story = StoryFactory()
    response = upload(login(editor_user), story, image_file(), lead_image_alt="")
    assert response.status_code == 200
    assert "Describe the image" in response.content.decode()
    story.refresh_from_db()
    assert not story.lead_image
    assert not media_root.exists() or not any(media_root.rglob("*.*"))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SimpleUploadedFile("notes.jpg", b"just some text"), "not an image"),
        (lambda: image_file("old.bmp", (50, 50), "BMP"), "BMP images are not accepted"),
        (lambda: image_file("scan.tiff", (50, 50), "TIFF"), "TIFF images are not accepted"),
        (lambda: SimpleUploadedFile("bomb.png", png_bomb()), "far too many pixels"),
        (lambda: SimpleUploadedFile("bomb.png", png_bomb(9000, 9000)), "9000 × 9000 pixels"),
    ],
)
def test_lead_image_bad_uploads_are_refused_with_a_clear_error(
    editor_user, media_root, make, message
):
    story = StoryFactory()
    response = upload(login(editor_user), story, make(), lead_image_alt="Alt")
    assert response.status_code == 200
    errors = lead_image_errors(response)
    assert any(message in error for error in errors), errors
    story.refresh_from_db()
    assert not story.lead_image
    assert not media_root.exists() or not any(media_root.rglob("*.*"))


def test_lead_image_over_the_byte_limit_is_refused(editor_user, media_root, settings):
    settings.IMAGE_MAX_BYTES = 1000
    response = upload(login(editor_user), StoryFactory(), image_file(), lead_image_alt="Alt")
    assert any("images are limited to" in error for error in lead_image_errors(response))


def test_byline_photo_upload_shows_on_byline_page(client, editor_user, media_root):
    byline = BylineFactory(name="Ana Lima", slug="ana-lima")
    StoryFactory(published=True, bylines=[byline])
    staff = login(editor_user)
    url = reverse("admin:stories_byline_change", args=[byline.pk])
    data = admin_form_data(staff.get(url))
    data["photo"] = image_file("ana.png", (400, 400), "PNG")
    assert staff.post(url, data).status_code == 302
    byline = Byline.objects.get()
    assert [r["width"] for r in byline.photo_renditions] == [400]
    page = client.get(byline.get_absolute_url()).content.decode()
    assert 'class="byline-header__photo"' in page and 'width="400" height="400"' in page
    bad = admin_form_data(staff.get(url))
    bad["photo"] = SimpleUploadedFile("bomb.png", png_bomb())
    response = staff.post(url, bad)
    assert response.status_code == 200
    assert "far too many pixels" in response.content.decode()


def test_reporter_cannot_change_byline_photos(reporter_user, media_root):
    byline = BylineFactory()
    client = login(reporter_user)
    url = reverse("admin:stories_byline_change", args=[byline.pk])
    response = client.post(url, {"name": byline.name, "slug": byline.slug, "photo": image_file()})
    assert response.status_code == 403
    byline.refresh_from_db()
    assert not byline.photo


def test_story_without_image_renders_no_figure(client):
    story = StoryFactory(published=True)
    assert "<figure" not in client.get(story.get_absolute_url()).content.decode()
    assert Story.objects.get().responsive_lead_image is None
