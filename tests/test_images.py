"""Library images as lead images and byline photos: checked uploads, renditions made once,
responsive markup."""

import struct
import zlib
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from stories.models import Byline, Story
from stories.models import Image as LibraryImage

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


def upload(client, image, **fields):
    """Post ``image`` to the library's upload form, as the admin's "Add image" does."""
    data = {"alt": "Alt", "caption": "", "credit": "", "focal_x": "0.5", "focal_y": "0.5"}
    data.update(fields)
    data["file"] = image
    return client.post(reverse("admin:stories_image_add"), data)


def uploaded():
    return LibraryImage.objects.get()


def use_as_lead(client, story, image, **changes):
    url = reverse("admin:stories_story_change", args=[story.pk])
    data = admin_form_data(client.get(url), **changes)
    data["lead_image"] = image.pk
    return client.post(url, data)


def upload_errors(response):
    form = response.context["adminform"].form
    return [str(error) for error in form.errors.get("file", [])]


def test_upload_makes_renditions_once_and_the_story_page_serves_srcset(
    client, editor_user, media_root
):
    story = StoryFactory(published=True)
    staff = login(editor_user)
    response = upload(
        staff, image_file(), alt="A teal square", caption="The square.", credit="Ana Lima"
    )
    assert response.status_code == 302
    image = uploaded()
    assert (image.width, image.height) == (1600, 900)
    assert image.uploaded_by == editor_user
    assert [r["width"] for r in image.renditions_for("lead")] == [480, 800, 1200]
    assert [r["width"] for r in image.renditions_for("card")] == [320, 480, 640, 960]
    assert [(r["width"], r["height"]) for r in image.renditions_for("og")] == [(1200, 628)]
    for shape in ("lead", "card", "wide", "og"):
        for rendition in image.renditions_for(shape):
            with Image.open(media_root / rendition["name"]) as made:
                # The social card is a JPEG: not every link preview reads WebP.
                assert made.format == ("JPEG" if shape == "og" else "WEBP")
                assert made.size == (rendition["width"], rendition["height"])
    assert use_as_lead(staff, story, image).status_code == 302
    page = client.get(story.get_absolute_url()).content.decode()
    assert 'srcset="/media/renditions/' in page
    assert " 480w, " in page and " 1200w" in page
    assert 'sizes="' in page
    assert 'width="1200" height="675"' in page
    assert 'alt="A teal square"' in page
    assert "The square." in page and "Ana Lima" in page
    # Saving the story again, or the image with nothing changed, remakes nothing.
    before = image.renditions
    files_before = sorted(p.name for p in media_root.rglob("*.webp"))
    assert use_as_lead(staff, story, image, headline="Renamed").status_code == 302
    url = reverse("admin:stories_image_change", args=[image.pk])
    assert staff.post(url, admin_form_data(staff.get(url))).status_code == 302
    image.refresh_from_db()
    assert image.renditions == before
    assert sorted(p.name for p in media_root.rglob("*.webp")) == files_before


def test_one_image_serves_several_stories_and_a_byline(client, editor_user, media_root):
    staff = login(editor_user)
    upload(staff, image_file(), alt="Shared picture")
    image = uploaded()
    first, second = StoryFactory(published=True), StoryFactory(published=True)
    byline = BylineFactory(name="Ana Lima", slug="ana-lima")
    StoryFactory(published=True, bylines=[byline])
    for story in (first, second):
        assert use_as_lead(staff, story, image).status_code == 302
    url = reverse("admin:stories_byline_change", args=[byline.pk])
    assert staff.post(url, admin_form_data(staff.get(url), photo=image.pk)).status_code == 302
    assert set(image.lead_of_stories.all()) == {first, second}
    for story in (first, second):
        assert 'alt="Shared picture"' in client.get(story.get_absolute_url()).content.decode()
    page = client.get(byline.get_absolute_url()).content.decode()
    assert 'class="byline-header__photo"' in page
    assert LibraryImage.objects.count() == 1


def test_image_in_use_cannot_be_deleted(editor_user, media_root):
    staff = login(editor_user)
    upload(staff, image_file())
    image = uploaded()
    story = StoryFactory(lead_image=image)
    response = staff.post(reverse("admin:stories_image_delete", args=[image.pk]), {"post": "yes"})
    assert response.status_code == 200
    assert "protected" in response.content.decode()
    assert LibraryImage.objects.filter(pk=image.pk).exists()
    story.lead_image = None
    story.save()
    response = staff.post(reverse("admin:stories_image_delete", args=[image.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not LibraryImage.objects.exists()


def test_library_image_media_is_served_with_debug_off(client, editor_user, media_root, settings):
    settings.DEBUG = False
    upload(login(editor_user), image_file())
    image = uploaded()
    StoryFactory(published=True, lead_image=image)
    response = client.get("/media/" + image.renditions_for("card")[0]["name"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:4] == b"RIFF"


def test_library_image_smaller_than_renditions_is_not_upscaled(editor_user, media_root):
    upload(login(editor_user), image_file(size=(600, 400)))
    image = uploaded()
    assert [r["width"] for r in image.renditions_for("lead")] == [480, 600]
    # Each crop is as wide as the image allows, and no wider: 600 × 400 is 3:2 already.
    assert [(r["width"], r["height"]) for r in image.renditions_for("card")] == [
        (320, 213),
        (480, 320),
        (600, 400),
    ]
    assert [(r["width"], r["height"]) for r in image.renditions_for("og")] == [(600, 314)]


@pytest.mark.parametrize("image_format", ["PNG", "WEBP", "GIF"])
def test_library_image_accepts_png_webp_and_gif(editor_user, media_root, image_format):
    mode = "P" if image_format == "GIF" else "RGBA"
    image = image_file(f"image.{image_format.lower()}", (500, 500), image_format, mode)
    assert upload(login(editor_user), image).status_code == 302
    assert uploaded().renditions_for("lead") and uploaded().renditions_for("wide")


def test_library_image_requires_alt_text(editor_user, media_root):
    for alt in ("", "   "):
        response = upload(login(editor_user), image_file(), alt=alt)
        assert response.status_code == 200
        assert response.context["adminform"].form.errors["alt"]
    assert not LibraryImage.objects.exists()
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
def test_library_image_bad_uploads_are_refused_with_a_clear_error(
    editor_user, media_root, make, message
):
    response = upload(login(editor_user), make())
    assert response.status_code == 200
    errors = upload_errors(response)
    assert any(message in error for error in errors), errors
    assert not LibraryImage.objects.exists()
    assert not media_root.exists() or not any(media_root.rglob("*.*"))


def test_library_image_over_the_byte_limit_is_refused(editor_user, media_root, settings):
    settings.IMAGE_MAX_BYTES = 1000
    response = upload(login(editor_user), image_file())
    assert any("images are limited to" in error for error in upload_errors(response))


def test_byline_photo_from_the_library_shows_on_byline_page(client, editor_user, media_root):
    byline = BylineFactory(name="Ana Lima", slug="ana-lima")
    StoryFactory(published=True, bylines=[byline])
    staff = login(editor_user)
    upload(staff, image_file("ana.png", (400, 400), "PNG"), alt="Ana Lima")
    url = reverse("admin:stories_byline_change", args=[byline.pk])
    assert staff.post(url, admin_form_data(staff.get(url), photo=uploaded().pk)).status_code == 302
    byline = Byline.objects.get()
    assert [r["width"] for r in byline.photo.renditions_for("lead")] == [400]
    page = client.get(byline.get_absolute_url()).content.decode()
    assert 'class="byline-header__photo"' in page and 'width="400" height="400"' in page


def test_reporter_cannot_change_byline_photos(reporter_user, media_root):
    byline = BylineFactory()
    client = login(reporter_user)
    url = reverse("admin:stories_byline_change", args=[byline.pk])
    image = LibraryImage.objects.create(file="images/x.jpg", alt="Someone")
    response = client.post(url, {"name": byline.name, "slug": byline.slug, "photo": image.pk})
    assert response.status_code == 403
    byline.refresh_from_db()
    assert not byline.photo


def test_story_without_image_renders_no_figure(client):
    story = StoryFactory(published=True)
    assert "<figure" not in client.get(story.get_absolute_url()).content.decode()
    assert Story.objects.get().responsive_lead_image is None
