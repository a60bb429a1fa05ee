"""Uploaded images: checked before Pillow decodes them, and resized once into renditions.

Uploads are refused unless they are JPEG, PNG, WebP or GIF within a byte and a pixel-count
limit; the pixel count comes from the file's header, so a decompression bomb is refused
before it is unpacked. Processing an accepted image takes at most twice the memory of the
largest one decoded (``memory_budget``): kinds whose decoders need more than that per pixel
(progressive JPEG, WebP) are accepted up to a lower pixel count. Renditions are WebP files at
a few widths, written when an image is saved and described in a JSON field, so a page renders
``srcset`` without touching the files.
"""

import posixpath
import secrets
import tempfile
import warnings
from contextlib import contextmanager
from functools import partial
from io import BytesIO

from django import forms
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
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
                bytes_per_pixel = processing_bytes_per_pixel(image)
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
    if width * height * bytes_per_pixel > memory_budget():
        raise memory_error(width, height, image_format, bytes_per_pixel)
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


# Bytes a pixel of an image as Pillow holds it decoded (RGB is padded to four).
DECODED_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2}


def memory_budget():
    """The most memory processing one upload may take: twice the largest accepted image
    decoded at four bytes a pixel (320 MB at 40 megapixels), room for the decoded image
    and one full-size copy of it (turning it upright makes one)."""
    return 2 * 4 * settings.IMAGE_MAX_PIXELS


def processing_bytes_per_pixel(image):
    """The peak bytes a pixel that decoding ``image`` (opened, not yet decoded) and turning it
    upright take; measured for each format and mode by ``tests/test_image_memory.py``."""
    decoded = DECODED_BYTES.get(image.mode, 4)
    peak = 2 * decoded  # the decoded image and its upright copy
    if image.format == "JPEG" and image.info.get("progressive"):
        # libjpeg holds every DCT coefficient of a progressive JPEG, two bytes a sample,
        # alongside the decoded image until the last scan is in.
        widest = max(h for _, h, _, _ in image.layer) * max(v for _, _, v, _ in image.layer)
        samples = sum(h * v for _, h, v, _ in image.layer) / widest
        peak = max(peak, decoded + 2 * samples)
    elif image.format == "WEBP":
        # Pillow decodes WebP through libwebp's animation decoder: two RGBA canvases of its
        # own and a copy handed to Pillow, four bytes a pixel each.
        peak = max(peak, decoded + 3 * 4)
    return peak


def memory_error(width, height, image_format, bytes_per_pixel):
    kind = "WebP image" if image_format == "WEBP" else "progressive JPEG"
    advice = "PNG or JPEG" if image_format == "WEBP" else "baseline (not progressive) JPEG or PNG"
    return forms.ValidationError(
        "The image is %(width)s × %(height)s pixels; a %(kind)s this large takes too much "
        "memory to open, and the limit for one is %(limit).1f megapixels. Save it as a "
        "%(advice)s, or smaller.",
        code="image_too_many_pixels",
        params={
            "width": width,
            "height": height,
            "kind": kind,
            "limit": memory_budget() / bytes_per_pixel / 1_000_000,
            "advice": advice,
        },
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


def unguessable_name(folder, filename):
    """A stored name for an upload: a random name under ``folder`` and the month.

    The name says nothing about the upload (a camera's ``IMG_0042.jpg``, a person's name) and
    cannot be guessed, so a draft's image cannot be found by trying addresses; the extension
    is lowercased (``check_image_contents`` already made sure it is the format's own).
    """
    extension = posixpath.splitext(filename)[1].lower()
    return f"{folder}/{timezone.now():%Y/%m}/{secrets.token_hex(16)}{extension}"


# Upload names of lead images and byline photos before the image library (migrations 0001
# to 0016 name them).
def story_image_name(instance, filename):
    return unguessable_name("stories", filename)


def byline_photo_name(instance, filename):
    return unguessable_name("bylines", filename)


def library_image_name(instance, filename):
    return unguessable_name("images", filename)


# The shapes every library image is cut to, once, when it is uploaded or its focal point
# moves: (aspect ratio, or None for the image's own; widths for srcset). "lead" is the story
# page's image as it always was; "card" and "wide" are for listings; "og" is what social
# sites show (1.91:1, 1200 wide, as Facebook and LinkedIn ask).
SHAPE_RATIOS = {"lead": None, "card": 3 / 2, "wide": 16 / 9, "og": 1.91}
SHAPE_WIDTHS = {
    "card": (320, 480, 640, 960),
    "wide": (640, 960, 1280, 1600),
    "og": (1200,),
}
CENTRE = (0.5, 0.5)


def shape_widths(shape):
    if shape not in SHAPE_RATIOS:
        raise KeyError(f"No rendition shape is called {shape!r}; shapes: {', '.join(SHAPE_RATIOS)}")
    if shape == "lead":
        return tuple(settings.IMAGE_RENDITION_WIDTHS)  # read when asked: tests change it
    return SHAPE_WIDTHS[shape]


def focal_crop(width, height, ratio, focal_x, focal_y):
    """The box (left, top, right, bottom) of the largest ``ratio``-shaped part of a
    ``width`` × ``height`` image, centred on the focal point as near as the edges allow."""
    if ratio is None:
        return (0, 0, width, height)
    if width / height > ratio:
        crop_width, crop_height = max(1, min(width, round(height * ratio))), height
    else:
        crop_width, crop_height = width, max(1, min(height, round(width / ratio)))
    left = min(max(round(focal_x * width - crop_width / 2), 0), width - crop_width)
    top = min(max(round(focal_y * height - crop_height / 2), 0), height - crop_height)
    return (left, top, left + crop_width, top + crop_height)


def loaded_library_image(image):
    """(name, renditions) of a library image as its row was loaded, or None if deferred."""
    values = image.__dict__
    if "file" not in values or "renditions" not in values:
        return None
    name = values["file"]
    return (getattr(name, "name", name) or "", values["renditions"] or {})


def stored_library_image(image):
    """(name, renditions) the image's row holds in the database before this save."""
    if image.pk is None:
        return ("", {})
    loaded = getattr(image, "_loaded_image", None)
    if loaded is not None:
        return loaded
    row = type(image)._default_manager.filter(pk=image.pk).values_list("file", "renditions").first()
    return (row[0] or "", row[1] or {}) if row else ("", {})


def refresh_library_image(image):
    """Before a library image is saved: a new upload stored clean, its size recorded, and
    its renditions made for every shape if the file is new, or remade for the cropped
    shapes if only the focal point moved. Returns an ``ImageChange`` whose ``saved()`` is
    called once the row is written, to delete the files the save left behind."""
    stored = stored_library_image(image)
    field_file = image.file
    focal = [image.focal_x, image.focal_y]
    renditions = image.renditions or {}
    if not field_file:
        image.renditions = {}
    elif not field_file._committed:
        (image.width, image.height), shapes = store_upload(
            field_file, make=partial(write_shaped_renditions, focal=focal)
        )
        image.renditions = {"source": field_file.name, "focal": focal, "shapes": shapes}
    elif renditions.get("source") != field_file.name:
        (image.width, image.height), shapes = remake_renditions(field_file, focal)
        image.renditions = {"source": field_file.name, "focal": focal, "shapes": shapes}
    elif renditions.get("focal") != focal:
        # Only the crops move; the uncropped "lead" shape stays as made.
        cropped = [shape for shape in SHAPE_RATIOS if SHAPE_RATIOS[shape] is not None]
        _size, shapes = remake_renditions(field_file, focal, cropped)
        image.renditions = {
            **renditions,
            "focal": focal,
            "shapes": {**renditions.get("shapes", {}), **shapes},
        }
    return ImageChange(image, stored)


def remake_renditions(field_file, focal, shapes=None):
    """((width, height), renditions by shape) for an image already in storage."""
    field_file.open("rb")
    try:
        with decoded_image(field_file) as (image, _format):
            return image.size, write_shaped_renditions(image, field_file.name, focal, shapes)
    finally:
        field_file.close()


class ImageChange:
    """What one save did to a library image: the files it held before and holds now."""

    def __init__(self, image, stored):
        self.image = image
        self.stored = stored

    def saved(self):
        """The row is written: remember its files, and delete those it no longer uses once
        the transaction commits (a rollback keeps the row pointing at them)."""
        now = (self.image.file.name if self.image.file else "", self.image.renditions or {})
        self.image._loaded_image = now
        delete_after_commit(library_files(*self.stored) - library_files(*now), self.image)


def rendition_names(renditions):
    """Every rendition file a library image's renditions JSON names."""
    return {
        rendition["name"]
        for made in (renditions or {}).get("shapes", {}).values()
        for rendition in made
    }


def library_files(name, renditions):
    return {name, *rendition_names(renditions)} - {"", None}


def delete_after_commit(names, instance):
    if names:
        transaction.on_commit(
            partial(delete_files, sorted(names)), using=instance._state.db, robust=True
        )


def delete_files(names):
    for name in names:
        default_storage.delete(name)


def delete_library_files(sender, instance, **kwargs):
    """``post_delete`` of a library image: its files go once the deletion commits.

    A signal rather than ``delete()``, because the admin's bulk delete deletes rows without
    calling it.
    """
    delete_after_commit(
        library_files(instance.file.name if instance.file else "", instance.renditions),
        instance,
    )


def store_upload(field_file, widths=None, make=None):
    """Store a new upload as a clean original and make its renditions; return what ``make``
    returns (by default ``write_renditions``: their descriptions, widest last); with
    ``make``, ``((width, height), what make returns)``.

    The original is re-encoded from its pixels, with the EXIF orientation applied first, so
    no metadata the camera or an editor's software wrote (GPS position, camera, artist,
    XMP, PNG text, GIF comments) is kept; only the colour profile is. Animated GIF and WebP
    keep their first frame, which is all the renditions ever showed. The image is decoded
    once, for both the original and the renditions.

    A lossless or transparent WebP is stored as a PNG (same pixels, and the name's extension
    follows): libwebp's lossless encoder, which WebP's alpha channel uses too, takes several
    times the decoded image's memory at the pixel limit, where PNG's writes row by row.
    """
    with decoded_image(field_file.file) as (image, image_format):
        stored_format = image_format
        if image_format == "WEBP" and (image.mode == "RGBA" or webp_is_lossless(field_file.file)):
            stored_format = "PNG"
        name = field_file.name
        if stored_format != image_format:
            name = posixpath.splitext(name)[0] + ".png"
        with tempfile.TemporaryFile() as clean:
            save_clean_original(image, stored_format, clean)
            clean.seek(0)
            field_file.save(name, File(clean), save=False)
        if make is not None:
            return image.size, make(image, field_file.name)
        return write_renditions(image, field_file.name, widths)


def webp_is_lossless(file):
    """Whether the WebP in ``file`` holds a lossless (VP8L) image: its RIFF chunks are walked
    to the first one that holds pixels."""
    file.seek(12)
    while header := file.read(8):
        if len(header) < 8:
            break
        kind, size = header[:4], int.from_bytes(header[4:], "little")
        if kind in (b"VP8L", b"VP8 ", b"ANMF"):
            if kind == b"ANMF":  # an animation frame: its own frame header, then its chunks
                file.seek(16, 1)
                continue
            return kind == b"VP8L"
        file.seek(size + (size & 1), 1)
    return False


def make_renditions(field_file, widths=None):
    """Write WebP renditions of a stored image; return their descriptions, widest last.

    Widths wider than the original are not made (no upscaling); the original's own width is
    used instead, so there is always at least one rendition.
    """
    field_file.open("rb")
    try:
        with decoded_image(field_file) as (image, _format):
            return write_renditions(image, field_file.name, widths)
    finally:
        field_file.close()


@contextmanager
def decoded_image(file):
    """The first frame of the image in ``file``, decoded and turned upright."""
    file.seek(0)
    with Image.open(file) as image:
        image_format = image.format
        image.seek(0)  # the first frame of an animated GIF or WebP
        image.load()
        if image_format == "WEBP":
            # Pillow keeps libwebp's decoder, and its two full-size canvases, for seeking to
            # later frames, which is never done here.
            image._decoder = None
        # In place: a second full-size copy would double the peak memory of every upload.
        ImageOps.exif_transpose(image, in_place=True)
        yield image, image_format


def save_clean_original(image, image_format, target):
    """Encode ``image`` into ``target`` in its own format with no metadata but colour.

    Pillow's writers fall back on ``image.info`` for comments, EXIF and XMP, so that is
    emptied of everything except what the pixels mean (transparency, the colour profile).
    """
    image.info = {key: image.info[key] for key in KEPT_INFO if key in image.info}
    image._exif = None  # Pillow's cached EXIF, read back by some writers
    options = {"icc_profile": image.info.get("icc_profile")} if "icc_profile" in image.info else {}
    options.update(ORIGINAL_OPTIONS[image_format])
    image.save(target, image_format, **options)


KEPT_INFO = ("transparency", "icc_profile")
ORIGINAL_OPTIONS = {
    "JPEG": {"quality": 90},
    "PNG": {"compress_level": 6},
    "WEBP": {"quality": 90},
    "GIF": {},
}
# Rows are shrunk this many pixels at a time; a band's copies are all that is added to the
# decoded image's own memory while renditions are made.
BAND_PIXELS = 2_000_000


def write_renditions(image, name, widths=None):
    widths = widths or settings.IMAGE_RENDITION_WIDTHS
    chosen = sorted(
        {width for width in widths if width < image.width} | {min(image.width, max(widths))}
    )
    small = shrunk(image, chosen[-1])
    stem = posixpath.splitext(name)[0]
    renditions = []
    for width in chosen:
        height = max(1, round(image.height * width / image.width))
        resized = (
            small if small.size == (width, height) else small.resize((width, height), Image.LANCZOS)
        )
        buffer = BytesIO()
        resized.save(buffer, "WEBP", quality=RENDITION_QUALITY, method=4)
        stored = default_storage.save(
            f"renditions/{stem}-{width}w.webp", ContentFile(buffer.getvalue())
        )
        renditions.append({"name": stored, "width": width, "height": height})
    return renditions


def write_shaped_renditions(image, name, focal, shapes=None):
    """Write WebP renditions of ``image`` for each shape (all by default), each cut around
    the focal point ``(x, y)`` (fractions of the width and height); return
    ``{shape: [{"name", "width", "height"}, ...]}``, widest last.

    No rendition is wider than its crop (no upscaling; the crop's own width is used
    instead). Cropped shapes' names carry a token new each time they are made, so a crop
    remade for a moved focal point never reuses an address browsers were told to keep.
    """
    shapes = list(shapes or SHAPE_RATIOS)
    boxes = {
        shape: focal_crop(image.width, image.height, SHAPE_RATIOS[shape], *focal)
        for shape in shapes
    }
    small, factor = reduced_for(image, boxes)
    stem = posixpath.splitext(name)[0]
    token = secrets.token_hex(4)
    made = {}
    for shape in shapes:
        left, top, right, bottom = boxes[shape]
        crop_width, crop_height = right - left, bottom - top
        widths = shape_widths(shape)
        chosen = sorted({w for w in widths if w < crop_width} | {min(crop_width, max(widths))})
        box = (left / factor, top / factor, right / factor, bottom / factor)
        made[shape] = []
        widest = None
        for width in reversed(chosen):
            height = max(1, round(crop_height * width / crop_width))
            # The widest from the reduced image; the narrower ones from the widest, which is
            # quicker and, being at least as wide as they are, as sharp.
            if widest is None:
                resized = widest = small.resize((width, height), Image.LANCZOS, box=box)
            else:
                resized = widest.resize((width, height), Image.LANCZOS)
            buffer = BytesIO()
            extension = save_rendition(resized, buffer, shape)
            wanted = (
                f"renditions/{stem}-{width}w.{extension}"
                if shape == "lead"
                else f"renditions/{stem}-{shape}-{token}-{width}w.{extension}"
            )
            stored = default_storage.save(wanted, ContentFile(buffer.getvalue()))
            made[shape].insert(0, {"name": stored, "width": width, "height": height})
    return made


def save_rendition(image, buffer, shape):
    """Write ``image`` as the rendition of ``shape``; returns the file's extension. WebP
    for the site's own pages; JPEG for the social card (``og``), which link previews
    (some social networks, chat apps) do not all read as WebP."""
    if shape == "og":
        if image.mode in ("RGBA", "LA", "P"):
            flat = Image.new("RGB", image.size, "white")
            flat.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
            image = flat
        image.convert("RGB").save(buffer, "JPEG", quality=RENDITION_QUALITY, optimize=True)
        return "jpg"
    image.save(buffer, "WEBP", quality=RENDITION_QUALITY, method=4)
    return "webp"


def reduced_for(image, boxes):
    """``image`` reduced once for all the crops in ``boxes`` (shape: box), and the factor.

    By the most that leaves each crop twice as wide as its widest rendition, for sharpness;
    at least by as much as the uncropped renditions alone would allow, so that cropped
    shapes take no more memory than the image as a whole did (a full-size copy of the
    largest image accepted would go over the memory budget); and never by so much that a
    crop would be narrower than its widest rendition.
    """

    def most(divisor):
        return min((box[2] - box[0]) // divisor(shape) for shape, box in boxes.items())

    sharp = most(lambda shape: 2 * max(shape_widths(shape)))
    lean = image.width // (2 * max(shape_widths("lead")))
    ceiling = most(lambda shape: max(shape_widths(shape)))
    factor = max(1, min(max(sharp, lean), ceiling))
    return reduced(image, factor), factor


def shrunk(image, largest_width):
    """``image`` in RGB or RGBA, reduced by a whole factor to no less than twice
    ``largest_width`` (a box filter; the renditions' Lanczos pass does the rest).

    Converting and reducing the whole image at once would make full-size copies (Pillow
    premultiplies RGBA into a new image before reducing); done one band of rows at a time,
    the copies stay a few megabytes whatever the image's size.
    """
    return reduced(image, max(1, image.width // (2 * largest_width)))


def reduced(image, factor):
    """``image`` in RGB or RGBA, reduced by the whole ``factor``, a band of rows at a time."""
    mode = "RGBA" if has_transparency(image) else "RGB"
    rows = factor * max(1, BAND_PIXELS // (image.width * factor))
    result = Image.new(mode, (-(-image.width // factor), -(-image.height // factor)))
    for top in range(0, image.height, rows):
        band = image.crop((0, top, image.width, min(top + rows, image.height))).convert(mode)
        result.paste(band.reduce(factor) if factor > 1 else band, (0, top // factor))
    return result


def has_transparency(image):
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


class ResponsiveImage:
    """What an ``<img>`` needs from a set of renditions: src, srcset, width and height."""

    def __init__(self, renditions):
        self.renditions = sorted(renditions, key=lambda rendition: rendition["width"])
        largest = self.renditions[-1]
        # Each address once (the largest is the src and in the srcset): the storage's url()
        # joins addresses with urljoin, most of what a card's image costs.
        urls = [default_storage.url(rendition["name"]) for rendition in self.renditions]
        self.src = urls[-1]
        self.width = largest["width"]
        self.height = largest["height"]
        self.srcset = ", ".join(
            f"{url} {rendition['width']}w"
            for url, rendition in zip(urls, self.renditions, strict=True)
        )


def responsive_image(renditions):
    return ResponsiveImage(renditions) if renditions else None
