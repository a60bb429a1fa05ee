"""Library images for tests: made as the image admin makes them (``save_image``)."""

from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PillowImage

from stories.editorial.saving import save_image
from stories.models import Image


def image_bytes(size=(1000, 600), colour="teal", image_format="JPEG"):
    buffer = BytesIO()
    PillowImage.new("RGB", size, colour).save(buffer, image_format)
    return buffer.getvalue()


def library_image(size=(1000, 600), colour="teal", name="photo.jpg", **fields):
    """A saved library image of one colour, with its renditions made."""
    image_format = "PNG" if name.endswith(".png") else "JPEG"
    fields.setdefault("alt", "A picture")
    image = Image(file=SimpleUploadedFile(name, image_bytes(size, colour, image_format)), **fields)
    save_image(image)
    return image
