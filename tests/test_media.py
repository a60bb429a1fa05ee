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

from stories.editorial.saving import save_image, save_story
from stories.models import Image as LibraryImage
from stories.models import Story
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


def upload(client, data, name="IMG_0042.jpg", **fields):
    """Upload to the image library as the admin's "Add image" form does; the new image."""
    form = {"alt": "A teal field", "caption": "", "credit": "", "focal_x": "0.5", "focal_y": "0.5"}
    form.update(fields)
    form["file"] = SimpleUploadedFile(name, data)
    response = client.post(reverse("admin:stories_image_add"), form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    return LibraryImage.objects.order_by("pk").last()


def post_upload(client, data, name="IMG_0042.jpg"):
    """The response to an upload that may be refused."""
    form = {"alt": "A teal field", "focal_x": "0.5", "focal_y": "0.5"}
    form["file"] = SimpleUploadedFile(name, data)
    return client.post(reverse("admin:stories_image_add"), form)


def replace_file(client, image, data, name):
    """Upload a new file for ``image`` on its change form."""
    url = reverse("admin:stories_image_change", args=[image.pk])
    form = admin_form_data(client.get(url))
    form["file"] = SimpleUploadedFile(name, data)
    assert client.post(url, form).status_code == 302
    image.refresh_from_db()


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


def all_renditions(image):
    return [r for shape in ("lead", "card", "wide", "og") for r in image.renditions_for(shape)]


@pytest.mark.parametrize(
    ("image_format", "name"),
    [("JPEG", "IMG_0042.jpg"), ("PNG", "chart.png"), ("WEBP", "photo.webp"), ("GIF", "a.gif")],
)
def test_upload_is_stored_without_metadata_and_only_renditions_are_linked(
    client, editor_user, media_root, image_format, name
):
    image = upload(login(editor_user), photo(image_format), name)
    story = StoryFactory(published=True, lead_image=image)
    files = stored_files(media_root)
    assert len(files) == 1 + len(all_renditions(image))
    for path in files:
        data = path.read_bytes()
        assert SECRET.encode() not in data, path
        with Image.open(path) as stored:
            exif = stored.getexif()
            assert not exif.get_ifd(ExifTags.IFD.GPSInfo), path
            assert ExifTags.Base.Artist not in exif and ExifTags.Base.Make not in exif
            assert not {"xmp", "comment", "Author", "XML:com.adobe.xmp"} & set(stored.info)
    with Image.open(media_root / image.file.name) as original:
        assert original.format == image_format
        if image_format != "GIF":  # colour survives: the profile is kept
            assert original.info.get("icc_profile") == SRGB
    # No reader surface names the original; og:image and JSON-LD name the social crop.
    social = "http://testserver/media/" + image.renditions_for("og")[-1]["name"]
    for address, page in reader_pages(client, story).items():
        assert image.file.name not in page, address
    page = client.get(story.get_absolute_url()).content.decode()
    assert f'<meta property="og:image" content="{social}">' in page
    assert f'"image": ["{social}"]' in page or f'"image":["{social}"]' in page


@pytest.mark.parametrize(
    ("mode", "options", "stored_format"),
    [("RGB", {}, "WEBP"), ("RGB", {"lossless": True}, "PNG"), ("RGBA", {}, "PNG")],
)
def test_lossless_or_transparent_webp_original_is_stored_as_png(
    editor_user, media_root, mode, options, stored_format
):
    # libwebp's lossless encoder (which WebP's alpha channel uses) is too hungry at the pixel
    # limit; PNG keeps the same pixels, and the stored name's extension follows the format.
    picture = Image.new(mode, (320, 200), (0, 128, 128, 200)[: len(mode)])
    buffer = BytesIO()
    picture.save(buffer, "WEBP", **options)
    image = upload(login(editor_user), buffer.getvalue(), "photo.webp")
    extension = {"PNG": ".png", "WEBP": ".webp"}[stored_format]
    assert image.file.name.endswith(extension)
    with Image.open(media_root / image.file.name) as original:
        assert original.format == stored_format
        if stored_format == "PNG":  # the very pixels the WebP decodes to
            with Image.open(BytesIO(buffer.getvalue())) as uploaded:
                assert original.mode == mode and original.tobytes() == uploaded.tobytes()


def test_orientation_is_applied_before_the_metadata_goes(editor_user, media_root):
    # Stored 640 x 360 on its side; orientation 6 says "turn 90° clockwise to view".
    image = upload(login(editor_user), photo("JPEG", (640, 360), orientation=6))
    with Image.open(media_root / image.file.name) as original:
        assert original.size == (360, 640)
        assert ExifTags.Base.Orientation not in original.getexif()
        # The top-right corner holds what was the top-left (orange) quarter.
        assert original.convert("RGB").getpixel((340, 20))[0] > 200
    assert (image.width, image.height) == (360, 640)
    assert [(r["width"], r["height"]) for r in image.renditions_for("lead")] == [(360, 640)]


def test_stored_names_are_unguessable(editor_user, media_root):
    staff = login(editor_user)
    first = upload(staff, photo("JPEG"), "Minister-secret-meeting.JPG")
    second = upload(staff, photo("JPEG"), "Minister-secret-meeting.JPG")
    names = [first.file.name, second.file.name]
    for name in names:
        assert re.fullmatch(r"images/\d{4}/\d{2}/[0-9a-f]{32}\.jpg", name), name
    assert names[0] != names[1]
    for image in (first, second):
        for rendition in all_renditions(image):
            assert "secret" not in rendition["name"].lower()
    assert all("Minister" not in str(path) for path in stored_files(media_root))


# --- who may fetch a file --------------------------------------------------------------------


def story_with_image(editor_user, **state):
    image = upload(login(editor_user), photo("JPEG"))
    return StoryFactory(lead_image=image, **state)


def media_urls(image):
    return ["/media/" + r["name"] for r in all_renditions(image)] + [image.file.url]


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
    for address in media_urls(story.lead_image):
        assert client.get(address).status_code == 404, address
        response = staff.get(address)  # the admin and the preview still show it
        assert response.status_code == 200, address
        assert response["Cache-Control"] == "private, no-cache"
        assert "Cookie" in response["Vary"]


def test_media_follows_the_story_going_live_and_back(client, editor_user, media_root):
    story = story_with_image(editor_user)
    image = story.lead_image
    rendition, original = media_urls(image)[0], image.file.url  # the first: a WebP crop
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


def test_a_shared_image_is_public_once_one_live_story_shows_it(client, editor_user, media_root):
    draft = story_with_image(editor_user)
    image = draft.lead_image
    addresses = media_urls(image)[:-1]
    other = StoryFactory(lead_image=image)  # a second draft: still private
    assert all(client.get(address).status_code == 404 for address in addresses)
    Story.objects.filter(pk=other.pk).update(
        status=Story.Status.PUBLISHED, published_at=timezone.now()
    )
    assert all(client.get(address).status_code == 200 for address in addresses)
    # Unused, it is private again; the original never was public.
    Story.objects.update(lead_image=None)
    assert all(client.get(address).status_code == 404 for address in media_urls(image))


def test_library_media_is_for_staff_who_may_see_the_library(
    client, editor_user, reporter_user, make_staff, media_root
):
    story = story_with_image(editor_user, created_by=reporter_user)
    rendition = media_urls(story.lead_image)[0]
    # The library is shared by the desk: any reporter may find and reuse the image.
    assert login(reporter_user).get(rendition).status_code == 200
    assert login(make_staff("other", "Reporter")).get(rendition).status_code == 200
    no_role = User.objects.create_user("norole", is_staff=True)
    assert login(no_role).get(rendition).status_code == 404


def test_media_folders_and_unowned_files_answer_404(client, editor_user, media_root):
    story = story_with_image(editor_user, published=True)
    (media_root / "images" / "stray.jpg").write_bytes(photo("JPEG"))
    staff = login(editor_user)
    for address in [
        "/media/",
        "/media/images/",
        "/media/renditions/",
        "/media/" + story.lead_image.file.name.rsplit("/", 1)[0] + "/",
        "/media/images/stray.jpg",
        "/media/renditions/images/stray-480w.webp",
        "/media/renditions/images/stray-card-0a1b2c3d-480w.webp",
    ]:
        assert client.get(address).status_code == 404, address
        assert staff.get(address).status_code == 404, address


def test_byline_photo_is_hidden_until_the_byline_has_a_live_story(client, editor_user, media_root):
    byline = BylineFactory()
    staff = login(editor_user)
    image = upload(staff, photo("PNG", (300, 300)), "head.png")
    url = reverse("admin:stories_byline_change", args=[byline.pk])
    assert staff.post(url, admin_form_data(staff.get(url), photo=image.pk)).status_code == 302
    rendition = "/media/" + image.renditions_for("lead")[0]["name"]
    assert client.get(rendition).status_code == 404
    assert staff.get(rendition).status_code == 200
    StoryFactory(bylines=[byline])  # a draft makes no difference
    assert client.get(rendition).status_code == 404
    StoryFactory(published=True, bylines=[byline])
    assert client.get(rendition).status_code == 200
    assert client.get(image.file.url).status_code == 404


# --- files of replaced and deleted images ----------------------------------------------------


def test_replacing_an_image_file_deletes_the_old_files_after_commit(
    editor_user, media_root, django_capture_on_commit_callbacks
):
    staff = login(editor_user)
    image = upload(staff, photo("JPEG"))
    old = stored_files(media_root)
    with django_capture_on_commit_callbacks(execute=True):
        replace_file(staff, image, photo("PNG"), "new.png")
    now = stored_files(media_root)
    assert not set(old) & set(now)
    assert len(now) == 1 + len(all_renditions(image))


def test_moving_the_focal_point_remakes_only_the_crops(
    editor_user, media_root, django_capture_on_commit_callbacks
):
    staff = login(editor_user)
    image = upload(staff, photo("JPEG"))
    lead, card = image.renditions_for("lead"), image.renditions_for("card")
    url = reverse("admin:stories_image_change", args=[image.pk])
    with django_capture_on_commit_callbacks(execute=True):
        form = admin_form_data(staff.get(url), focal_x="0.1", focal_y="0.9")
        assert staff.post(url, form).status_code == 302
    image.refresh_from_db()
    assert image.renditions_for("lead") == lead
    assert not {r["name"] for r in card} & {r["name"] for r in image.renditions_for("card")}
    assert len(stored_files(media_root)) == 1 + len(all_renditions(image))
    for rendition in card:
        assert not (media_root / rendition["name"]).exists()


def test_files_stay_when_the_transaction_rolls_back(editor_user, media_root):
    image = upload(login(editor_user), photo("JPEG"))
    before = stored_files(media_root)
    with pytest.raises(RuntimeError), transaction.atomic():
        image.focal_x = 0.2
        save_image(image)
        LibraryImage.objects.filter(pk=image.pk).delete()
        raise RuntimeError("rolled back")
    # The row still names the old crops, so they are all still there.
    assert set(before) <= set(stored_files(media_root))


def test_deleting_images_deletes_their_files(
    editor_user, media_root, django_capture_on_commit_callbacks
):
    staff = login(editor_user)
    image, other = upload(staff, photo("JPEG")), upload(staff, photo("PNG"), "b.png")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            reverse("admin:stories_image_changelist"),
            {"action": "delete_selected", "_selected_action": [image.pk], "post": "yes"},
        )
        assert response.status_code == 302
    left = {str(path.relative_to(media_root)) for path in stored_files(media_root)}
    assert image.file.name not in left and other.file.name in left
    with django_capture_on_commit_callbacks(execute=True):
        LibraryImage.objects.all().delete()  # a bulk delete
    assert stored_files(media_root) == []


def test_restoring_a_revision_whose_image_was_deleted_keeps_the_current_image(
    editor_user, media_root
):
    staff = login(editor_user)
    story = story_with_image(editor_user)
    first = story.history.order_by("history_date").last()
    story.lead_image = upload(staff, photo("PNG"), "new.png")
    save_story(story)
    LibraryImage.objects.filter(pk=first.lead_image_id).delete()
    restored = first.instance
    save_story(restored)  # as the admin's restore does
    restored.refresh_from_db()
    assert restored.lead_image == story.lead_image


@pytest.mark.django_db(transaction=True)
def test_replaced_files_are_deleted_outside_a_test_transaction(editor_user, media_root):
    # On PostgreSQL too: the admin's own transaction commits and the cleanup runs after.
    staff = login(editor_user)
    image = upload(staff, photo("JPEG"))
    StoryFactory(lead_image=image)
    old = stored_files(media_root)
    assert old
    replace_file(staff, image, photo("PNG"), "new.png")
    assert not set(old) & set(stored_files(media_root))
    assert (media_root / image.file.name).exists()
    # Moving the focal point: new crops written, the old ones deleted once the save commits.
    crops = {r["name"] for r in image.renditions_for("card")}
    url = reverse("admin:stories_image_change", args=[image.pk])
    assert staff.post(url, admin_form_data(staff.get(url), focal_x="0.8")).status_code == 302
    image.refresh_from_db()
    assert image.focal_x == 0.8
    assert not crops & {r["name"] for r in image.renditions_for("card")}
    assert all(not (media_root / name).exists() for name in crops)
    assert len(stored_files(media_root)) == 1 + len(all_renditions(image))


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
    response = post_upload(login(editor_user), huge)
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
    response = post_upload(login(editor_user), huge)
    assert "images are limited to 200.0" in response.content.decode()
    assert sum(written) <= settings.IMAGE_MAX_BYTES + TemporaryFileUploadHandler.chunk_size
    assert stored_files(media_root) == []


def test_files_of_one_request_are_capped_together(editor_user, media_root, settings, written):
    settings.IMAGE_MAX_BYTES = settings.BRIEFING_MAX_BYTES = 200 * 1024
    url = reverse("admin:stories_image_add")
    client = login(editor_user)
    form = {"alt": "A teal field", "focal_x": "0.5", "focal_y": "0.5"}
    # Each under its own limit; together five times the largest.
    for name in ("briefing", "images-0-file", "images-1-file", "other-file", "file"):
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
    assert field_limit("file") == field_limit("images-0-file") == settings.IMAGE_MAX_BYTES
    assert field_limit("photo") == field_limit("lead_image") == 0  # choices now, not files
    assert field_limit("briefing") == settings.BRIEFING_MAX_BYTES


def test_stored_media_is_readable_by_the_app_alone(editor_user, media_root):
    image = story_with_image(editor_user).lead_image
    assert (media_root / image.file.name).stat().st_mode & 0o777 == 0o600
    for rendition in all_renditions(image):
        assert (media_root / rendition["name"]).stat().st_mode & 0o777 == 0o600
    assert (media_root / image.file.name).parent.stat().st_mode & 0o777 == 0o700


def test_shared_preview_shows_no_image_it_could_not_load(client, editor_user, media_root):
    from stories.models import PreviewLink

    story = story_with_image(editor_user)
    link = PreviewLink.objects.create(story=story, created_by=editor_user)
    page = client.get(link.get_absolute_url()).content.decode()
    assert story.headline in page
    # Whoever holds the link has no login, and a draft's media answers them 404: no <img>,
    # og:image or JSON-LD image pointing at files they cannot load.
    for address in media_urls(story.lead_image):
        assert address not in page, address
    assert "<img" not in page.split("<main", 1)[1]
    assert 'property="og:image"' not in page
    # Staff previewing the same draft see the image.
    staff_page = login(editor_user).get(story.get_absolute_url()).content.decode()
    assert any(address in staff_page for address in media_urls(story.lead_image))
