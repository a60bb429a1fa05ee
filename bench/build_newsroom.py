"""Build the benchmark's newsroom in the database DATABASE_URL names (run by bench/run.py).

    python bench/build_newsroom.py STORIES

8 sections (uneven, the biggest deep enough for page 100), 50 bylines, 200 tags,
1-2 bylines and 2-4 tags (about 3) per story, 600-word bodies (HTML paragraphs with their
plain text, as the importer writes them), publication times spread over two years.
Everything a story page can show is there for some stories: a lead image from a library of
real images with renditions (three stories in four), a photo for half the bylines, a
dateline for half the stories and corrections on one story in twenty. Written with bulk
inserts: the point is the pages, not how they got there. Rebuilds only when the database
does not already hold exactly this newsroom.
"""

import os
import random
import sys
from datetime import timedelta
from io import BytesIO
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH_DIR.parent), str(BENCH_DIR)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")

import django  # noqa: E402

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.text import slugify  # noqa: E402
from fakenews import (  # noqa: E402
    SECTIONS,
    body_paragraphs,
    byline_names,
    country_names,
    deck,
    headline,
)
from PIL import Image as PillowImage  # noqa: E402
from taggit.models import Tag  # noqa: E402

from stories.editorial.saving import save_image  # noqa: E402
from stories.listings import apply_pending  # noqa: E402
from stories.models import (  # noqa: E402
    Byline,
    Correction,
    Image,
    Section,
    Story,
    StoryByline,
    TaggedStory,
)
from stories.richtext import paragraphs_html, paragraphs_text  # noqa: E402

SEED = 5
CHUNK = 1000
IMAGES = 4
COLOURS = ("teal", "navy", "olive", "maroon", "purple", "grey", "orange", "sienna")
DATELINES = ("KYIV", "NAIROBI", "LIMA", "OSAKA", "ACCRA", "OSLO")


def already_built(count):
    return (
        Story.objects.count() == count
        and Section.objects.count() == len(SECTIONS)
        and Byline.objects.count() == 50
        and Tag.objects.count() == 200
        and Image.objects.count() == IMAGES
        and Correction.objects.exists()
    )


def library_images():
    """Real library images, their renditions made as the image admin makes them."""
    images = []
    for number in range(IMAGES):
        buffer = BytesIO()
        PillowImage.new("RGB", (1200, 675), COLOURS[number % len(COLOURS)]).save(buffer, "JPEG")
        image = Image(
            file=SimpleUploadedFile(f"bench-{number}.jpg", buffer.getvalue()),
            alt=f"Bench picture {number}",
            caption=f"A scene from the news, picture {number}.",
            credit="Bench Agency",
        )
        save_image(image)
        images.append(image)
    return images


def build(count):
    rng = random.Random(SEED)
    with transaction.atomic():
        for model in (Correction, TaggedStory, StoryByline, Story, Tag, Byline, Section, Image):
            model.objects.all().delete()
        # Its own random numbers, so the stories themselves stay as they always were.
        extras = random.Random(SEED + 1)
        images = library_images()
        sections = Section.objects.bulk_create(
            Section(slug=slug, name=name, position=position)
            for position, (slug, name, _) in enumerate(SECTIONS)
        )
        weights = [share for _, _, share in SECTIONS]
        bylines = Byline.objects.bulk_create(
            Byline(
                name=name,
                slug=slugify(name),
                role="Staff writer",
                bio=f"{name} reports for the newsroom.",
                photo=images[number % IMAGES] if number % 2 == 0 else None,
            )
            for number, name in enumerate(byline_names(50, rng))
        )
        tags = Tag.objects.bulk_create(
            Tag(name=name, slug=slugify(name)) for name in country_names(200)
        )
        now = timezone.now()
        for start in range(0, count, CHUNK):
            stories = []
            for number in range(start + 1, min(start + CHUNK, count) + 1):
                minutes = rng.randrange(2 * 365 * 24 * 60)
                paragraphs = list(body_paragraphs(rng))
                stories.append(
                    Story(
                        headline=headline(rng, number),
                        slug=f"story-{number}",
                        deck=deck(rng),
                        body=paragraphs_html(paragraphs),
                        body_plain=paragraphs_text(paragraphs),
                        dateline=extras.choice(DATELINES) if extras.random() < 0.5 else "",
                        lead_image=extras.choice(images) if extras.random() < 0.75 else None,
                        section=rng.choices(sections, weights)[0],
                        status=Story.Status.PUBLISHED,
                        published_at=now - timedelta(minutes=minutes, seconds=number % 60),
                    )
                )
            Story.objects.bulk_create(stories)
            relations, tagged, corrections = [], [], []
            for story in stories:
                if extras.random() < 0.05:
                    for kind in extras.sample(list(Correction.Kind), extras.choice((1, 2))):
                        corrections.append(
                            Correction(
                                story=story,
                                kind=kind,
                                text=f"An earlier version of this story misstated a {kind}.",
                                published_at=story.published_at
                                + timedelta(hours=extras.randrange(1, 48)),
                            )
                        )
                for position, byline in enumerate(rng.sample(bylines, rng.choice((1, 2)))):
                    relations.append(StoryByline(story=story, byline=byline, position=position))
                for tag in rng.sample(tags, rng.choice((2, 3, 4))):
                    tagged.append(TaggedStory(content_object=story, tag=tag))
            StoryByline.objects.bulk_create(relations)
            TaggedStory.objects.bulk_create(tagged)
            Correction.objects.bulk_create(corrections)


def main():
    count = int(sys.argv[1])
    call_command("migrate", verbosity=0)
    # What the background worker does within a tick of a write (``webhooks.tasks.tick``):
    # writers' notes about listings applied, so the pages measured read their kept counts
    # instead of counting their stories on every request, as no reader of a real site does.
    if already_built(count):
        apply_pending()
        print(f"newsroom of {count:,} stories already built")
        return
    build(count)
    apply_pending()
    if django.db.connection.vendor == "postgresql":
        with django.db.connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # fresh statistics and visibility map
    elif django.db.connection.vendor == "sqlite":
        with django.db.connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"built a newsroom of {count:,} stories")


if __name__ == "__main__":
    main()
