"""Refuse image uploads that are also something else (polyglots).

Pillow reading a file as a JPEG, PNG, WebP or GIF only says the image part is sound. A
polyglot is an image with a second meaning: HTML or a script hidden in a comment or metadata
block, PHP or JavaScript appended after the image's end, or an image named ``.html`` so that
the media server hands it to browsers as a page. Uploads are stored and served as they came,
so each of these is refused, with a message an editor can act on:

- the file name's extension must be one of its format's own;
- the file must end where the image does (no bytes after PNG's IEND, GIF's trailer,
  JPEG's end-of-image marker or WebP's RIFF length);
- no markup a browser would act on (``<script``, ``<html``, ``<?php``, ``<svg``...) may
  appear anywhere in the bytes; in real photographs these byte runs do not occur.
"""

import re
import struct

from django import forms

EXTENSIONS = {
    "JPEG": {".jpg", ".jpeg"},
    "PNG": {".png"},
    "WEBP": {".webp"},
    "GIF": {".gif"},
}
MARKUP = re.compile(
    rb"<\s*(?:script|html|body|iframe|object|embed|svg|!doctype|\?php)|javascript:",
    re.IGNORECASE,
)


def check_image_contents(data, image_format, name):
    """Raise ``ValidationError`` if ``data`` (a whole upload Pillow read as ``image_format``)
    is named for another type, carries bytes after the image, or holds markup."""
    extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in EXTENSIONS[image_format]:
        raise forms.ValidationError(
            "The file is named “%(name)s” but holds a %(format)s image. Rename it to end in "
            "%(expected)s and upload it again.",
            code="image_extension",
            params={
                "name": name,
                "format": image_format,
                "expected": " or ".join(sorted(EXTENSIONS[image_format])),
            },
        )
    end = IMAGE_END[image_format](data)
    if end is None or data[end:].strip(b"\x00"):
        raise forms.ValidationError(
            "The file holds something more than the image (data after its end). Open it in "
            "an image editor and export it again as a plain %(format)s.",
            code="image_trailing_data",
            params={"format": image_format},
        )
    if MARKUP.search(data):
        raise forms.ValidationError(
            "The file holds web page code or a script as well as the image. Export it again "
            "from an image editor.",
            code="image_markup",
        )


def png_end(data):
    offset = 8
    while offset + 8 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        offset += 12 + length
        if kind == b"IEND":
            return offset
    return None


def gif_end(data):
    """Walk the GIF's blocks to its trailer byte; None if the structure is broken."""
    try:
        flags = data[10]
        offset = 13 + ((3 << ((flags & 7) + 1)) if flags & 0x80 else 0)
        while True:
            block = data[offset]
            if block == 0x3B:  # trailer
                return offset + 1
            if block == 0x21:  # extension: label, then sub-blocks
                offset = skip_sub_blocks(data, offset + 2)
            elif block == 0x2C:  # image: descriptor, local colour table, LZW data
                flags = data[offset + 9]
                offset += 10 + ((3 << ((flags & 7) + 1)) if flags & 0x80 else 0)
                offset = skip_sub_blocks(data, offset + 1)
            else:
                return None
    except IndexError:
        return None


def skip_sub_blocks(data, offset):
    while data[offset]:
        offset += data[offset] + 1
    return offset + 1


def jpeg_end(data):
    # Entropy-coded data escapes 0xFF, so a file that is only a JPEG ends with EOI.
    stripped = data.rstrip(b"\x00")
    return len(stripped) if stripped.endswith(b"\xff\xd9") else None


def webp_end(data):
    if len(data) < 12 or data[:4] != b"RIFF":
        return None
    (size,) = struct.unpack("<I", data[4:8])
    return 8 + size + (size & 1)  # chunks are padded to an even length


IMAGE_END = {"PNG": png_end, "GIF": gif_end, "JPEG": jpeg_end, "WEBP": webp_end}
