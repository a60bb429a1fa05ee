"""Seed the Lighthouse audit's newsroom (run by bench/audit.py in its own database).

    python bench/audit_seed.py

The demo briefing as `make run` imports it, then what a real newsroom has and the briefing
does not: a lead image on every live story and a photo for every byline (library images
made as the desk makes them, renditions and all), a bio, and a correction. Prints the
addresses of one page of each audited type, as JSON, on its last line.
"""

import json
import os
import random
import sys
from io import BytesIO, StringIO
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path[:0] = [str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")

import django  # noqa: E402

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.urls import reverse  # noqa: E402
from PIL import Image as PillowImage  # noqa: E402
from PIL import ImageDraw, ImageFilter  # noqa: E402

from stories.editorial.saving import save_image  # noqa: E402
from stories.models import Byline, Correction, Image, Story  # noqa: E402

SEED = ROOT / "fixtures" / "briefing.txt"


def photo_bytes(size, seed):
    """A photograph-like JPEG: soft shapes over a gradient, so that its renditions weigh what
    real pictures do (a flat colour would compress to nothing and flatter the scores)."""
    rng = random.Random(seed)
    width, height = size
    picture = PillowImage.linear_gradient("L").resize(size).convert("RGB")
    tint = PillowImage.new("RGB", size, tuple(rng.randrange(40, 200) for _ in range(3)))
    picture = PillowImage.blend(picture, tint, 0.6)
    draw = ImageDraw.Draw(picture)
    for _ in range(60):
        x, y = rng.randrange(width), rng.randrange(height)
        radius = rng.randrange(10, width // 6)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
    picture = picture.filter(ImageFilter.GaussianBlur(3))
    noise = PillowImage.effect_noise(size, 24).convert("RGB")
    picture = PillowImage.blend(picture, noise, 0.12)
    buffer = BytesIO()
    picture.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def library_image(name, size, seed, **fields):
    image = Image(file=SimpleUploadedFile(name, photo_bytes(size, seed)), **fields)
    save_image(image)
    return image


@transaction.atomic
def add_pictures_and_corrections():
    stories = list(Story.objects.live().for_listing())
    for number, story in enumerate(stories):
        story.lead_image = library_image(
            f"lead-{number}.jpg",
            (2000, 1333),
            number,
            alt=f"A scene from the story: {story.headline}"[:300],
            caption="A caption as long as the desk usually writes one, naming the place.",
            credit="Staff photographer",
        )
        story.save(update_fields=["lead_image"])
    for number, byline in enumerate(Byline.objects.all()):
        byline.photo = library_image(f"byline-{number}.jpg", (800, 800), 1000 + number, alt="")
        byline.bio = byline.bio or f"{byline.name} reports for the newsroom from the foreign desk."
        byline.save(update_fields=["photo", "bio"])
    Correction.objects.create(story=stories[0], text="An earlier version gave the wrong date.")
    return stories[0]


def pages(story):
    word = max(story.headline.split(), key=len).strip("’'\".,:;")
    return {
        "home": reverse("stories:home"),
        "section": story.section.get_absolute_url(),
        "tag": reverse("stories:tag", args=[story.sorted_tags[0].slug]),
        "byline": story.ordered_bylines[0].get_absolute_url(),
        "story": story.get_absolute_url(),
        "search": reverse("stories:search") + f"?q={word}",
    }


def main():
    call_command("import_briefing", str(SEED), stdout=StringIO())
    add_pictures_and_corrections()
    story = Story.objects.live().for_listing().filter(corrections__isnull=False).first()
    print(json.dumps(pages(story)))


if __name__ == "__main__":
    main()
