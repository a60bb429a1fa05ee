"""Uploaded media: originals stored clean under unguessable names, only renditions linked,
files of stories that are not live hidden from readers, files of replaced and deleted images
removed after the transaction commits, uploads cut off by size before they reach the disk."""

import re
from io import BytesIO

import pytest
from django import forms
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import ExifTags, Image, ImageCms

from stories.editorial.saving import save_byline, save_story
from stories.models import Byline, Story
from stories.uploads import FIELD_LIMITS, field_limit

from .admin_forms import admin_form_data
from .factories import BylineFactory, StoryFactory

pytestmark = pytest.mark.django_db

SECRET = "Ana-Lima-Secret"  # the artist, camera, comment and XMP text of every upload
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def exif_with_gps(orientation=1):
    exif = Image.Exif()
    exif[ExifTags.Base.Artist] = SECRET
    exif[ExifTags.Base.Make] = SECRET + "-camera"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 26.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.0)
    return exif


XMP = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>{SECRET}</dc:creator></x:xmpmeta>'


def photo(image_format, size=(640, 360), orientation=1):
    """An image carrying every kind of metadata its format can hold."""
    from PIL import PngImagePlugin

    image = Image.new("RGB", size, "teal")
    image.paste(Image.new("RGB", (size[0] // 2, size[1] // 2), "orange"))
    buffer = BytesIO()
    exif = exif_with_gps(orientation)
    if image_format == "JPEG":
        image.save(buffer, "JPEG", exif=exif, icc_profile=SRGB, comment=SECRET, xmp=XMP.encode())
    elif image_format == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_text("Author", SECRET)
        text.add_itxt("XML:com.adobe.xmp", XMP)
        image.save(buffer, "PNG", exif=exif, pnginfo=text, icc_profile=SRGB)
    elif image_format == "WEBP":
        image.save(buffer, "WEBP", exif=exif, xmp=XMP.encode(), icc_profile=SRGB)
    else:
        image.convert("P").save(buffer, "GIF", comment=SECRET)
    return buffer.getvalue()


def login(user):
    client = Client()
    client.force_login(user)
    return client


def upload(client, story, data, name="IMG_0042.jpg", **changes):
    url = reverse("admin:stories_story_change", args=[story.pk])
    form = admin_form_data(client.get(url), lead_image_alt="A teal field", **changes)
    form["lead_image"] = SimpleUploadedFile(name, data)
    return client.post(url, form)


def stored_files(media_root):
    return sorted(path for path in media_root.rglob("*") if path.is_file())


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def reader_pages(client, story):
    addresses = [
        story.get_absolute_url(),
        "/",
        story.section.get_absolute_url(),
        reverse("stories:feed"),
        reverse("stories:atom_feed"),
        "/sitemap.xml",
    ]
    return {address: client.get(address).content.decode() for address in addresses}


# --- metadata ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image_format", "name"),
    [("JPEG", "IMG_0042.jpg"), ("PNG", "chart.png"), ("WEBP", "photo.webp"), ("GIF", "a.gif")],
)
def test_upload_is_stored_without_metadata_and_only_renditions_are_linked(
    client, editor_user, media_root, image_format, name
):
    story = StoryFactory(published=True)
    assert upload(login(editor_user), story, photo(image_format), name).status_code == 302
    story.refresh_from_db()
    files = stored_files(media_root)
    assert len(files) == 1 + len(story.lead_image_renditions)
    for path in files:
        data = path.read_bytes()
        assert SECRET.encode() not in data, path
        with Image.open(path) as stored:
            exif = stored.getexif()
            assert not exif.get_ifd(ExifTags.IFD.GPSInfo), path
            assert ExifTags.Base.Artist not in exif and ExifTags.Base.Make not in exif
            assert not {"xmp", "comment", "Author", "XML:com.adobe.xmp"} & set(stored.info)
    with Image.open(media_root / story.lead_image.name) as original:
        assert original.format == image_format
        if image_format != "GIF":  # colour survives: the profile is kept
            assert original.info.get("icc_profile") == SRGB
    # No reader surface names the original; og:image and JSON-LD name the largest rendition.
    largest = "http://testserver/media/" + story.lead_image_renditions[-1]["name"]
    for address, page in reader_pages(client, story).items():
        assert story.lead_image.name not in page, address
    page = client.get(story.get_absolute_url()).content.decode()
    assert f'<meta property="og:image" content="{largest}">' in page
    assert f'"image": ["{largest}"]' in page or f'"image":["{largest}"]' in page


@pytest.mark.parametrize(
    ("mode", "options", "stored_format"),
    [("RGB", {}, "WEBP"), ("RGB", {"lossless": True}, "PNG"), ("RGBA", {}, "PNG")],
)
def test_lossless_or_transparent_webp_original_is_stored_as_png(
    editor_user, media_root, mode, options, stored_format
):
    # libwebp's lossless encoder (which WebP's alpha channel uses) is too hungry at the pixel
    # limit; PNG keeps the same pixels, and the stored name's extension follows the format.
    image = Image.new(mode, (320, 200), (0, 128, 128, 200)[: len(mode)])
    buffer = BytesIO()
    image.save(buffer, "WEBP", **options)
    story = StoryFactory()
    assert upload(login(editor_user), story, buffer.getvalue(), "photo.webp").status_code == 302
    story.refresh_from_db()
    extension = {"PNG": ".png", "WEBP": ".webp"}[stored_format]
    assert story.lead_image.name.endswith(extension)
    with Image.open(media_root / story.lead_image.name) as original:
        assert original.format == stored_format
        if stored_format == "PNG":  # the very pixels the WebP decodes to
            with Image.open(BytesIO(buffer.getvalue())) as uploaded:
                assert original.mode == mode and original.tobytes() == uploaded.tobytes()


def test_orientation_is_applied_before_the_metadata_goes(editor_user, media_root):
    story = StoryFactory()
    # Stored 640 x 360 on its side; orientation 6 says "turn 90° clockwise to view".
    upload(login(editor_user), story, photo("JPEG", (640, 360), orientation=6))
    story.refresh_from_db()
    with Image.open(media_root / story.lead_image.name) as original:
        assert original.size == (360, 640)
        assert ExifTags.Base.Orientation not in original.getexif()
        # The top-right corner holds what was the top-left (orange) quarter.
        assert original.convert("RGB").getpixel((340, 20))[0] > 200
    assert [(r["width"], r["height"]) for r in story.lead_image_renditions] == [(360, 640)]


def test_stored_names_are_unguessable(editor_user, media_root):
    staff = login(editor_user)
    first, second = StoryFactory(), StoryFactory()
    upload(staff, first, photo("JPEG"), "Minister-secret-meeting.JPG")
    upload(staff, second, photo("JPEG"), "Minister-secret-meeting.JPG")
    first.refresh_from_db()
    second.refresh_from_db()
    names = [first.lead_image.name, second.lead_image.name]
    for name in names:
        assert re.fullmatch(r"stories/\d{4}/\d{2}/[0-9a-f]{32}\.jpg", name), name
    assert names[0] != names[1]
    for story in (first, second):
        for rendition in story.lead_image_renditions:
            assert "secret" not in rendition["name"].lower()
    assert all("Minister" not in str(path) for path in stored_files(media_root))


# --- who may fetch a file --------------------------------------------------------------------


def story_with_image(editor_user, **state):
    story = StoryFactory(**state)
    upload(login(editor_user), story, photo("JPEG"))
    story.refresh_from_db()
    return story


def media_urls(story):
    return ["/media/" + r["name"] for r in story.lead_image_renditions] + [story.lead_image.url]


@pytest.mark.parametrize(
    "state",
    [
        {},  # a draft
        {"status": Story.Status.REVIEW},
        {"published": True, "published_at": timezone.now() + timezone.timedelta(hours=1)},
    ],
    ids=["draft", "review", "scheduled"],
)
def test_media_of_a_story_that_is_not_live_is_hidden_from_readers(
    client, editor_user, media_root, state
):
    story = story_with_image(editor_user, **state)
    staff = login(editor_user)
    for address in media_urls(story):
        assert client.get(address).status_code == 404, address
        response = staff.get(address)  # the admin and the preview still show it
        assert response.status_code == 200, address
        assert response["Cache-Control"] == "private, no-cache"
        assert "Cookie" in response["Vary"]


def test_media_follows_the_story_going_live_and_back(client, editor_user, media_root):
    story = story_with_image(editor_user)
    rendition, original = media_urls(story)[-2], story.lead_image.url
    assert client.get(rendition).status_code == 404
    Story.objects.filter(pk=story.pk).update(
        status=Story.Status.PUBLISHED, published_at=timezone.now()
    )
    response = client.get(rendition)
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["Content-Type"] == "image/webp"
    assert client.get(original).status_code == 404  # originals are never public
    assert login(editor_user).get(original).status_code == 200
    Story.objects.filter(pk=story.pk).update(status=Story.Status.DRAFT)
    assert client.get(rendition).status_code == 404


def test_reporter_sees_media_of_their_own_draft_only(
    client, editor_user, reporter_user, make_staff, media_root
):
    story = story_with_image(editor_user, created_by=reporter_user)
    rendition = media_urls(story)[0]
    assert login(reporter_user).get(rendition).status_code == 200
    assert login(make_staff("other", "Reporter")).get(rendition).status_code == 404


def test_media_folders_and_unowned_files_answer_404(client, editor_user, media_root):
    story = story_with_image(editor_user, published=True)
    (media_root / "stories" / "stray.jpg").write_bytes(photo("JPEG"))
    staff = login(editor_user)
    for address in [
        "/media/",
        "/media/stories/",
        "/media/renditions/",
        "/media/" + story.lead_image.name.rsplit("/", 1)[0] + "/",
        "/media/stories/stray.jpg",
        "/media/renditions/stories/stray-480w.webp",
    ]:
        assert client.get(address).status_code == 404, address
        assert staff.get(address).status_code == 404, address


def test_byline_photo_is_hidden_until_the_byline_has_a_live_story(client, editor_user, media_root):
    byline = BylineFactory()
    staff = login(editor_user)
    url = reverse("admin:stories_byline_change", args=[byline.pk])
    form = admin_form_data(staff.get(url))
    form["photo"] = SimpleUploadedFile("head.png", photo("PNG", (300, 300)))
    assert staff.post(url, form).status_code == 302
    byline = Byline.objects.get()
    assert re.fullmatch(r"bylines/\d{4}/\d{2}/[0-9a-f]{32}\.png", byline.photo.name)
    rendition = "/media/" + byline.photo_renditions[0]["name"]
    assert client.get(rendition).status_code == 404
    assert staff.get(rendition).status_code == 200
    StoryFactory(bylines=[byline])  # a draft makes no difference
    assert client.get(rendition).status_code == 404
    StoryFactory(published=True, bylines=[byline])
    assert client.get(rendition).status_code == 200
    assert client.get(byline.photo.url).status_code == 404


# --- files of replaced and deleted images ----------------------------------------------------


def test_replacing_an_image_deletes_the_old_files_after_commit(
    editor_user, media_root, django_capture_on_commit_callbacks
):
    story = story_with_image(editor_user)
    old = stored_files(media_root)
    with django_capture_on_commit_callbacks(execute=True):
        upload(login(editor_user), story, photo("PNG"), "new.png")
    story.refresh_from_db()
    now = stored_files(media_root)
    assert not set(old) & set(now)
    assert len(now) == 1 + len(story.lead_image_renditions)
    with django_capture_on_commit_callbacks(execute=True):
        staff = login(editor_user)
        url = reverse("admin:stories_story_change", args=[story.pk])
        form = admin_form_data(staff.get(url), **{"lead_image-clear": "on"})
        assert staff.post(url, form).status_code == 302
    assert stored_files(media_root) == []


def test_files_stay_when_the_transaction_rolls_back(editor_user, media_root):
    story = story_with_image(editor_user)
    before = stored_files(media_root)
    with pytest.raises(RuntimeError), transaction.atomic():
        story.lead_image = ""
        save_story(story)
        Story.objects.get(pk=story.pk).delete()
        raise RuntimeError("rolled back")
    assert stored_files(media_root) == before


def test_deleting_stories_and_bylines_deletes_their_files(
    editor_user, media_root, django_capture_on_commit_callbacks
):
    story = story_with_image(editor_user)
    other = story_with_image(editor_user)
    byline = BylineFactory()
    byline.photo = SimpleUploadedFile("head.jpg", photo("JPEG"))
    save_byline(byline)
    staff = login(editor_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            reverse("admin:stories_story_changelist"),
            {"action": "delete_selected", "_selected_action": [story.pk], "post": "yes"},
        )
        assert response.status_code == 302
    assert not Story.objects.filter(pk=story.pk).exists()
    left = {str(path.relative_to(media_root)) for path in stored_files(media_root)}
    assert story.lead_image.name not in left and other.lead_image.name in left
    with django_capture_on_commit_callbacks(execute=True):
        Byline.objects.all().delete()  # a bulk delete, as the admin's action does
        other.delete()
    assert stored_files(media_root) == []


def test_restoring_a_revision_whose_image_was_deleted_keeps_the_current_image(
    editor_user, media_root, django_capture_on_commit_callbacks
):
    story = story_with_image(editor_user)
    first = story.history.order_by("history_date").last()
    with django_capture_on_commit_callbacks(execute=True):
        upload(login(editor_user), story, photo("PNG"), "new.png")
    story.refresh_from_db()
    current = (story.lead_image.name, story.lead_image_renditions)
    restored = first.instance
    save_story(restored)  # as the admin's restore does
    restored.refresh_from_db()
    assert (restored.lead_image.name, restored.lead_image_renditions) == current
    assert (media_root / current[0]).exists()


@pytest.mark.django_db(transaction=True)
def test_replaced_files_are_deleted_outside_a_test_transaction(editor_user, media_root):
    # On PostgreSQL too: the admin's own transaction commits and the cleanup runs after.
    story = story_with_image(editor_user)
    old = stored_files(media_root)
    assert old
    upload(login(editor_user), story, photo("PNG"), "new.png")
    assert not set(old) & set(stored_files(media_root))
    story.refresh_from_db()
    assert (media_root / story.lead_image.name).exists()


# --- upload size and file modes --------------------------------------------------------------


def test_oversized_upload_is_refused_before_it_is_written_to_disk(
    editor_user, media_root, settings, monkeypatch
):
    settings.IMAGE_MAX_BYTES = settings.BRIEFING_MAX_BYTES = 200 * 1024
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every upload goes through a temporary file
    written = []
    receive = TemporaryFileUploadHandler.receive_data_chunk

    def counting(self, raw_data, start):
        written.append(len(raw_data))
        return receive(self, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", counting)
    huge = photo("JPEG") + b"\x00" * (20 * 1024 * 1024)
    response = upload(login(editor_user), StoryFactory(), huge)
    assert response.status_code == 200
    assert "images are limited to 200.0" in response.content.decode()
    assert "The image is 20.0" in response.content.decode()
    # At most the limit and one chunk reached the disk, not 20 MB.
    assert sum(written) <= settings.IMAGE_MAX_BYTES + TemporaryFileUploadHandler.chunk_size
    assert stored_files(media_root) == []


def test_oversized_briefing_is_refused_before_it_is_written_to_disk(
    editor_user, settings, monkeypatch
):
    settings.BRIEFING_MAX_BYTES = settings.IMAGE_MAX_BYTES = 100 * 1024
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    written = []
    receive = TemporaryFileUploadHandler.receive_data_chunk
    monkeypatch.setattr(
        TemporaryFileUploadHandler,
        "receive_data_chunk",
        lambda self, raw, start: written.append(len(raw)) or receive(self, raw, start),
    )
    briefing = SimpleUploadedFile("big.txt", b"Headline\n\nA paragraph.\n" * 400_000)
    response = login(editor_user).post(
        reverse("admin:stories_story_import"), {"briefing": briefing, "section": "world"}
    )
    assert response.status_code == 200
    assert "briefings are limited to" in response.content.decode()
    assert sum(written) <= settings.BRIEFING_MAX_BYTES + TemporaryFileUploadHandler.chunk_size


@pytest.fixture
def written(monkeypatch, settings):
    """The sizes of the chunks written to temporary files (every upload goes through one)."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    chunks = []
    receive = TemporaryFileUploadHandler.receive_data_chunk

    def counting(self, raw_data, start):
        chunks.append(len(raw_data))
        return receive(self, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", counting)
    return chunks


def test_oversized_image_is_cut_at_the_image_limit_not_the_briefing_limit(
    editor_user, media_root, settings, written
):
    settings.IMAGE_MAX_BYTES = 200 * 1024
    assert settings.BRIEFING_MAX_BYTES > 2 * 1024 * 1024  # the larger limit is not the image's
    huge = photo("JPEG") + b"\x00" * (2 * 1024 * 1024)
    response = upload(login(editor_user), StoryFactory(), huge)
    assert "images are limited to 200.0" in response.content.decode()
    assert sum(written) <= settings.IMAGE_MAX_BYTES + TemporaryFileUploadHandler.chunk_size
    assert stored_files(media_root) == []


def test_files_of_one_request_are_capped_together(editor_user, media_root, settings, written):
    settings.IMAGE_MAX_BYTES = settings.BRIEFING_MAX_BYTES = 200 * 1024
    story = StoryFactory()
    url = reverse("admin:stories_story_change", args=[story.pk])
    client = login(editor_user)
    form = admin_form_data(client.get(url), lead_image_alt="A teal field")
    # Each under its own limit; together five times the largest.
    for name in ("photo", "briefing", "bylines-0-photo", "bylines-1-photo", "lead_image"):
        form[name] = SimpleUploadedFile(f"{name}.jpg", photo("JPEG") + b"\x00" * 190 * 1024)
    response = client.post(url, form)
    assert response.status_code == 200
    assert "images are limited to 200.0" in response.content.decode()
    assert sum(written) <= settings.IMAGE_MAX_BYTES + TemporaryFileUploadHandler.chunk_size
    assert stored_files(media_root) == []


def test_files_posted_by_anyone_but_staff_are_not_kept(settings, written, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("admin:login"))
    files = {f"file{n}": SimpleUploadedFile(f"{n}.bin", b"x" * 1024 * 1024) for n in range(4)}
    data = {"csrfmiddlewaretoken": client.cookies["csrftoken"].value, **files}
    response = client.post(reverse("admin:login"), {**data, "username": "x", "password": "y"})
    assert response.status_code == 200  # the login form again, the CSRF check passed
    assert written == [] and list(tmp_path.iterdir()) == []
    # A signed-in account that is not staff is no better off, on any page.
    client.force_login(User.objects.create_user("plain"))
    for name in files:
        files[name].seek(0)
    client.post(reverse("admin:stories_story_import"), data)
    assert written == []


def test_admin_login_still_works_with_files_attached(make_staff, written):
    make_staff("ana", "Editor")
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("admin:login"))
    response = client.post(
        reverse("admin:login"),
        {
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
            "username": "ana",
            "password": "pw-for-tests-only",
            "attachment": SimpleUploadedFile("a.bin", b"x" * 4096),
        },
    )
    assert response.status_code == 302
    assert written == []


def test_more_files_than_any_form_takes_are_refused(editor_user, settings):
    files = {f"file{n}": SimpleUploadedFile(f"{n}.txt", b"x") for n in range(11)}
    response = login(editor_user).post(reverse("admin:stories_story_import"), files)
    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES == 10
    assert response.status_code == 400


def test_every_upload_field_has_a_size_limit(settings):
    # A file field missing here would keep no data at all (its uploads arrive empty).
    from django.apps import apps
    from django.db.models import FileField

    from stories.editorial.forms import ImportBriefingForm

    names = {
        field.name
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, FileField)
    }
    names |= {
        name
        for name, field in ImportBriefingForm.base_fields.items()
        if isinstance(field, forms.FileField)
    }
    assert names == set(FIELD_LIMITS)
    assert field_limit("photo") == field_limit("bylines-0-photo") == settings.IMAGE_MAX_BYTES
    assert field_limit("briefing") == settings.BRIEFING_MAX_BYTES


def test_stored_media_is_readable_by_the_app_alone(editor_user, media_root):
    story = story_with_image(editor_user)
    assert (media_root / story.lead_image.name).stat().st_mode & 0o777 == 0o600
    for rendition in story.lead_image_renditions:
        assert (media_root / rendition["name"]).stat().st_mode & 0o777 == 0o600
    assert (media_root / story.lead_image.name).parent.stat().st_mode & 0o777 == 0o700


def test_shared_preview_shows_no_image_it_could_not_load(client, editor_user, media_root):
    from stories.models import PreviewLink

    story = story_with_image(editor_user)
    link = PreviewLink.objects.create(story=story, created_by=editor_user)
    page = client.get(link.get_absolute_url()).content.decode()
    assert story.headline in page
    # Whoever holds the link has no login, and a draft's media answers them 404: no <img>,
    # og:image or JSON-LD image pointing at files they cannot load.
    for address in media_urls(story):
        assert address not in page, address
    assert "<img" not in page.split("<main", 1)[1]
    assert 'property="og:image"' not in page
    # Staff previewing the same draft see the image.
    staff_page = login(editor_user).get(story.get_absolute_url()).content.decode()
    assert any(address in staff_page for address in media_urls(story))
