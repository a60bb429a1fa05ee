"""Uploaded images: checked before Pillow decodes them, and resized once into renditions.

Uploads are refused unless they are JPEG, PNG, WebP or GIF within a byte and a pixel-count
limit; the pixel count comes from the file's header, so a decompression bomb is refused
before it is unpacked. Renditions are WebP files at a few widths, written when an image is
saved and described in a JSON field, so a page renders ``srcset`` without touching the files.
"""

import posixpath
import warnings
from io import BytesIO

from django import forms
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models
from django.template.defaultfilters import filesizeformat
from PIL import Image, ImageOps, UnidentifiedImageError

from .image_safety import check_image_contents

ALLOWED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF"}
RENDITION_QUALITY = 82


def check_image_upload(upload):
    """Raise ``ValidationError`` unless ``upload`` is an allowed image within the limits."""
    size = getattr(upload, "size", None)
    if size is not None and size > settings.IMAGE_MAX_BYTES:
        raise forms.ValidationError(
            "The image is %(size)s; images are limited to %(limit)s.",
            code="image_too_large",
            params={
                "size": filesizeformat(size),
                "limit": filesizeformat(settings.IMAGE_MAX_BYTES),
            },
        )
    position = upload.tell() if hasattr(upload, "tell") else 0
    try:
        with warnings.catch_warnings():
            # Pillow warns (and above twice its limit, raises) on huge images; ours is lower.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                image_format, (width, height) = image.format, image.size
    except Image.DecompressionBombError:
        raise pixel_error(None, None) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        if looks_like_svg(upload):
            raise forms.ValidationError(
                "SVG images are not accepted: they can carry scripts. Upload a JPEG, PNG, "
                "WebP or GIF.",
                code="image_svg",
            ) from None
        raise forms.ValidationError(
            "This file is not an image Newsroom can read. Upload a JPEG, PNG, WebP or GIF.",
            code="invalid_image",
        ) from None
    finally:
        if hasattr(upload, "seek"):
            upload.seek(position)
    if image_format not in ALLOWED_FORMATS:
        raise forms.ValidationError(
            "%(format)s images are not accepted. Upload a JPEG, PNG, WebP or GIF.",
            code="image_format",
            params={"format": image_format or "This kind of"},
        )
    if width * height > settings.IMAGE_MAX_PIXELS:
        raise pixel_error(width, height)
    # Sound as an image; now make sure it is nothing else as well (see image_safety).
    try:
        upload.seek(0)
        data = upload.read()
    finally:
        upload.seek(position)
    check_image_contents(data, image_format, getattr(upload, "name", "") or "")


def looks_like_svg(upload):
    try:
        upload.seek(0)
        head = upload.read(4096).lstrip().lower()
    except (AttributeError, OSError):
        return False
    finally:
        if hasattr(upload, "seek"):
            upload.seek(0)
    return b"<svg" in head or head.startswith(b"<?xml")


def pixel_error(width, height):
    limit = settings.IMAGE_MAX_PIXELS / 1_000_000
    if width is None:
        message = "The image has far too many pixels; the limit is %(limit)g megapixels."
    else:
        message = "The image is %(width)s × %(height)s pixels; the limit is %(limit)g megapixels."
    return forms.ValidationError(
        message,
        code="image_too_many_pixels",
        params={"width": width, "height": height, "limit": limit},
    )


class CheckedImageFormField(forms.ImageField):
    """An image upload checked by ``check_image_upload`` before Django's own Pillow check."""

    def to_python(self, data):
        if data not in self.empty_values:
            check_image_upload(data)
        return super().to_python(data)


class CheckedImageField(models.ImageField):
    """An ``ImageField`` whose form field refuses unsafe or unsupported uploads."""

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": CheckedImageFormField, **kwargs})


def make_renditions(field_file, widths=None):
    """Write WebP renditions of a stored image; return their descriptions, widest last.

    Widths wider than the original are not made (no upscaling); the original's own width is
    used instead, so there is always at least one rendition.
    """
    widths = widths or settings.IMAGE_RENDITION_WIDTHS
    field_file.open("rb")
    try:
        with Image.open(field_file) as original:
            original.seek(0)  # the first frame of an animated GIF
            image = ImageOps.exif_transpose(original)
            image = image.convert("RGBA" if has_transparency(image) else "RGB")
    finally:
        field_file.close()
    stem = posixpath.splitext(field_file.name)[0]
    chosen = sorted(
        {width for width in widths if width < image.width} | {min(image.width, max(widths))}
    )
    renditions = []
    for width in chosen:
        height = max(1, round(image.height * width / image.width))
        resized = image if width == image.width else image.resize((width, height), Image.LANCZOS)
        buffer = BytesIO()
        resized.save(buffer, "WEBP", quality=RENDITION_QUALITY, method=4)
        name = default_storage.save(
            f"renditions/{stem}-{width}w.webp", ContentFile(buffer.getvalue())
        )
        renditions.append({"name": name, "width": width, "height": height})
    return renditions


def has_transparency(image):
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


class ResponsiveImage:
    """What an ``<img>`` needs from a set of renditions: src, srcset, width and height."""

    def __init__(self, renditions):
        self.renditions = sorted(renditions, key=lambda rendition: rendition["width"])
        largest = self.renditions[-1]
        self.src = default_storage.url(largest["name"])
        self.width = largest["width"]
        self.height = largest["height"]
        self.srcset = ", ".join(
            f"{default_storage.url(rendition['name'])} {rendition['width']}w"
            for rendition in self.renditions
        )


def responsive_image(renditions):
    return ResponsiveImage(renditions) if renditions else None
