from datetime import timedelta

import factory
from django.utils import timezone

from stories.models import Byline, Section, Story, StoryByline


class SectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Section
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Section {n}")
    slug = factory.Sequence(lambda n: f"section-{n}")


class BylineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Byline

    name = factory.Sequence(lambda n: f"Reporter {n}")
    slug = factory.Sequence(lambda n: f"reporter-{n}")
    role = "Staff writer"


class StoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Story
        skip_postgeneration_save = True

    headline = factory.Sequence(lambda n: f"Story number {n}")
    slug = factory.Sequence(lambda n: f"story-number-{n}")
    body = "<p>First paragraph.</p><p>Second paragraph.</p>"
    section = factory.SubFactory(SectionFactory)
    status = Story.Status.DRAFT

    class Params:
        published = factory.Trait(
            status=Story.Status.PUBLISHED,
            published_at=factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1)),
        )
        scheduled = factory.Trait(
            status=Story.Status.PUBLISHED,
            published_at=factory.LazyFunction(lambda: timezone.now() + timedelta(days=1)),
        )

    @factory.post_generation
    def bylines(self, create, bylines):
        for position, byline in enumerate(bylines or []):
            StoryByline.objects.create(story=self, byline=byline, position=position)

    @factory.post_generation
    def tags(self, create, tags):
        if tags:
            self.tags.add(*tags)
