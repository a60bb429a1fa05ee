"""Hostile uploads: wrong types, renamed executables, SVG, polyglots and decompression bombs
are refused with a clear error, and nothing is left under MEDIA_ROOT."""

import struct
import zlib
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from stories.models import Image as LibraryImage
from stories.models import Story

from .factories import StoryFactory

pytestmark = pytest.mark.django_db


def image_bytes(image_format, size=(64, 48), mode="RGB", **options):
    buffer = BytesIO()
    Image.new(mode, size, "teal").save(buffer, image_format, **options)
    return buffer.getvalue()


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_text(text):
    png = image_bytes("PNG")
    iend = png.rindex(b"IEND") - 4
    return png[:iend] + png_chunk(b"tEXt", b"Comment\x00" + text) + png[iend:]


def jpeg_with_comment(comment):
    jpeg = image_bytes("JPEG")
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return jpeg[:2] + segment + jpeg[2:]


def jpeg_claiming(width, height):
    """A real little JPEG whose frame header claims another size."""
    jpeg = bytearray(image_bytes("JPEG", (16, 16)))
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(jpeg)


def gif_claiming(width, height):
    gif = bytearray(image_bytes("GIF", (16, 16), "P"))
    gif[6:10] = struct.pack("<HH", width, height)
    descriptor = gif.index(b"\x2c", 13)
    gif[descriptor + 5 : descriptor + 9] = struct.pack("<HH", width, height)
    return bytes(gif)


def png_bomb(width=100_000, height=100_000):
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 50 + b"PE\x00\x00" * 10
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

HOSTILE_UPLOADS = {
    # name: (file name, bytes, words of the error)
    "ELF executable renamed .jpg": ("photo.jpg", ELF, "not an image"),
    "Windows executable renamed .png": ("photo.png", PE, "not an image"),
    "shell script renamed .gif": ("photo.gif", b"#!/bin/sh\nrm -rf /\n", "not an image"),
    "PDF": ("report.pdf", PDF, "not an image"),
    "HTML page named .jpg": ("photo.jpg", b"<html><script>alert(1)</script></html>", "not an"),
    "SVG with a script": ("logo.svg", SVG, "SVG images are not accepted"),
    "SVG renamed .png": ("logo.png", SVG, "SVG images are not accepted"),
    "GIF/JS polyglot (script after the trailer)": (
        "anim.gif",
        image_bytes("GIF", mode="P") + b"*/=alert(document.domain);",
        "data after its end",
    ),
    "JPEG/HTML polyglot (page in a comment)": (
        "photo.jpg",
        jpeg_with_comment(b"<html><body><script>alert(1)</script></body></html>"),
        "web page code or a script",
    ),
    "JPEG named .html": ("photo.html", image_bytes("JPEG"), "holds a JPEG image"),
    "PNG named .js": ("chart.js", image_bytes("PNG"), "holds a PNG image"),
    "PNG named .php.png with trailing PHP": (
        "shell.php.png",
        image_bytes("PNG") + b"<?php system($_GET['c']); ?>",
        "data after its end",
    ),
    "PNG with a script in a text chunk": (
        "chart.png",
        png_with_text(b"<script>alert(1)</script>"),
        "web page code or a script",
    ),
    "WebP with trailing JavaScript": (
        "photo.webp",
        image_bytes("WEBP") + b"alert(1)//",
        "data after its end",
    ),
    "PNG decompression bomb": ("bomb.png", png_bomb(), "far too many pixels"),
    "JPEG claiming 9000 x 9000": ("big.jpg", jpeg_claiming(9000, 9000), "9000 × 9000"),
    "JPEG claiming 30000 x 30000": ("big.jpg", jpeg_claiming(30000, 30000), "far too many"),
    "GIF claiming 65000 x 65000": ("big.gif", gif_claiming(65000, 65000), "far too many"),
}


def login(user):
    client = Client()
    client.force_login(user)
    return client


def stored_files(media_root):
    return [path for path in media_root.rglob("*") if path.is_file()] if media_root.exists() else []


def post_upload(client, name, data, url=None):
    form = {"alt": "Alt text", "caption": "", "credit": "", "focal_x": "0.5", "focal_y": "0.5"}
    form["file"] = SimpleUploadedFile(name, data)
    return client.post(url or reverse("admin:stories_image_add"), form)


@pytest.mark.parametrize("case", list(HOSTILE_UPLOADS))
def test_hostile_image_is_refused_and_nothing_is_stored(editor_user, media_root, case):
    name, data, message = HOSTILE_UPLOADS[case]
    response = post_upload(login(editor_user), name, data)
    assert response.status_code == 200
    errors = [str(e) for e in response.context["adminform"].form.errors.get("file", [])]
    assert any(message in error for error in errors), errors
    assert not LibraryImage.objects.exists()
    assert stored_files(media_root) == []


@pytest.mark.parametrize(
    "case", ["SVG with a script", "GIF/JS polyglot (script after the trailer)", "PNG named .js"]
)
def test_hostile_replacement_file_is_refused_and_the_image_kept(editor_user, media_root, case):
    name, data, message = HOSTILE_UPLOADS[case]
    client = login(editor_user)
    assert post_upload(client, "plain.png", image_bytes("PNG", (300, 200))).status_code == 302
    image = LibraryImage.objects.get()
    before = sorted(stored_files(media_root))
    url = reverse("admin:stories_image_change", args=[image.pk])
    response = post_upload(client, name, data, url)
    assert response.status_code == 200
    assert message in response.content.decode()
    image.refresh_from_db()
    assert image.file.name.endswith(".png")
    assert sorted(stored_files(media_root)) == before


@pytest.mark.parametrize(
    ("name", "image_format", "mode"),
    [
        ("photo.jpg", "JPEG", "RGB"),
        ("photo.JPEG", "JPEG", "RGB"),
        ("chart.png", "PNG", "RGBA"),
        ("photo.webp", "WEBP", "RGB"),
        ("anim.gif", "GIF", "P"),
    ],
)
def test_plain_images_still_upload_and_are_served_as_images(
    client, editor_user, media_root, name, image_format, mode
):
    staff = login(editor_user)
    response = post_upload(staff, name, image_bytes(image_format, (300, 200), mode))
    assert response.status_code == 302
    StoryFactory(published=True, lead_image=LibraryImage.objects.get())
    story = Story.objects.get()
    # Readers get the renditions; the original is for the staff (see stories.reader.media).
    for reader, address in [
        (client, story.responsive_lead_image.src),
        (staff, story.lead_image.file.url),
    ]:
        response = reader.get(address)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("image/")
        assert response["X-Content-Type-Options"] == "nosniff"  # never sniffed as a page
    assert client.get(story.lead_image.file.url).status_code == 404
