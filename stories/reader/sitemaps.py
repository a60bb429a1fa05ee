"""Sitemaps of live stories and the section, tag and byline pages that list them.

``/sitemap.xml`` is the index; each sitemap gives its own latest change to the index with one
aggregate query rather than by loading every item. ``news`` is the Google News sitemap: live
stories published in the last two days, at most 1,000, with the ``news:`` fields.
"""

from datetime import timedelta

from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.db.models import Max, OuterRef, Subquery
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils import timezone
from taggit.models import Tag

from stories.delivery import surrogates
from stories.models import Byline, Section, Story

NEWS_WINDOW = timedelta(days=2)
NEWS_LIMIT = 1000


def latest_change(stories):
    """When any of ``stories`` last changed for readers: saved, or went live."""
    return stories.aggregate(at=Greatest(Max("updated_at"), Max("published_at")))["at"]


def latest_change_of(stories, related_field):
    """A subquery: the latest change among ``stories`` linked to the outer row."""
    return Subquery(
        stories.filter(**{related_field: OuterRef("pk")})
        .order_by()
        .values(related_field)
        .annotate(at=Greatest(Max("updated_at"), Max("published_at")))
        .values("at")
    )


class StorySitemap(Sitemap):
    def items(self):
        return Story.objects.live().only("slug", "published_at", "updated_at", "created_at")

    def lastmod(self, story):
        return max(story.published_at, story.updated_at)

    def get_latest_lastmod(self):
        return latest_change(Story.objects.live())


class NewsSitemap(StorySitemap):
    limit = NEWS_LIMIT

    def items(self):
        since = timezone.now() - NEWS_WINDOW
        stories = Story.objects.live().filter(published_at__gte=since)
        fields = ("slug", "headline", "published_at", "updated_at", "created_at")
        return stories.only(*fields)[:NEWS_LIMIT]

    def get_latest_lastmod(self):
        since = timezone.now() - NEWS_WINDOW
        return latest_change(Story.objects.live().filter(published_at__gte=since))


class SectionSitemap(Sitemap):
    """Only sections with a live story, as their pages (``live_sections()``)."""

    def items(self):
        return (
            Section.objects.annotate(last_change=latest_change_of(Story.objects.live(), "section"))
            .filter(last_change__isnull=False)
            .order_by("position", "name")
        )

    def lastmod(self, section):
        return section.last_change

    def get_latest_lastmod(self):
        return latest_change(Story.objects.live())


class TagSitemap(Sitemap):
    """Only tags with a live story: a tag used only by drafts would give a draft away."""

    def items(self):
        return (
            Tag.objects.annotate(
                last_change=latest_change_of(Story.objects.live(), "tagged_items__tag")
            )
            # A tag stored without a slug has no address (see Story.sorted_tags).
            .filter(last_change__isnull=False)
            .exclude(slug="")
            .order_by("name")
        )

    def location(self, tag):
        return reverse("stories:tag", args=[tag.slug])

    def lastmod(self, tag):
        return tag.last_change

    def get_latest_lastmod(self):
        return latest_change(Story.objects.live().filter(tagged_items__isnull=False))


class BylineSitemap(Sitemap):
    """Only bylines with a live story."""

    def items(self):
        return (
            Byline.objects.annotate(
                last_change=latest_change_of(Story.objects.live(), "story_bylines__byline")
            )
            .filter(last_change__isnull=False)
            .order_by("name")
        )

    def lastmod(self, byline):
        return byline.last_change

    def get_latest_lastmod(self):
        return latest_change(Story.objects.live().filter(story_bylines__isnull=False))


SITEMAPS = {
    "stories": StorySitemap,
    "news": NewsSitemap,
    "sections": SectionSitemap,
    "tags": TagSitemap,
    "bylines": BylineSitemap,
}


def sitemap_index(request):
    surrogates.add_keys(request, "sitemaps")
    return sitemap_views.index(request, SITEMAPS, sitemap_url_name="stories:sitemap_section")


def sitemap_section(request, section):
    surrogates.add_keys(request, "sitemaps")
    # Django's own template gives lastmod as a date; news changes by the minute.
    template = "stories/sitemap_news.xml" if section == "news" else "stories/sitemap.xml"
    return sitemap_views.sitemap(request, SITEMAPS, section=section, template_name=template)
