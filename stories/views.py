"""Reader pages. Every queryset starts from ``Story.objects.live()``."""

from datetime import date

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.generic import DetailView, ListView
from taggit.models import Tag

from .models import Byline, Section, Story
from .pagination import DeferredJoinPaginator


class LiveStoryMixin:
    def get_queryset(self):
        return Story.objects.live().for_listing()


class StoryListView(LiveStoryMixin, ListView):
    paginate_by = settings.STORIES_PER_PAGE
    paginator_class = DeferredJoinPaginator
    template_name = "stories/story_list.html"
    context_object_name = "stories"

    def get_queryset(self):
        return Story.objects.live().for_cards()


class HomeView(StoryListView):
    template_name = "stories/home.html"


class SectionView(StoryListView):
    def get_queryset(self):
        self.section = get_object_or_404(Section, slug=self.kwargs["slug"])
        return super().get_queryset().in_section(self.section)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            heading=self.section.name,
            kind="Section",
            current_section_slug=self.section.slug,
            description=self.section.description,
            **kwargs,
        )


class TagView(StoryListView):
    def get_queryset(self):
        self.tag = get_object_or_404(Tag, slug=self.kwargs["slug"])
        return super().get_queryset().tagged(self.tag)

    def get_context_data(self, **kwargs):
        return super().get_context_data(heading=self.tag.name, kind="Tag", **kwargs)


class BylineView(StoryListView):
    template_name = "stories/byline_detail.html"

    def get_queryset(self):
        self.byline = get_object_or_404(Byline, slug=self.kwargs["slug"])
        return super().get_queryset().by_byline(self.byline)

    def get_context_data(self, **kwargs):
        return super().get_context_data(byline=self.byline, **kwargs)


class StoryDetailView(LiveStoryMixin, DetailView):
    context_object_name = "story"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        published_on = timezone.localdate(self.object.published_at)
        requested = (self.kwargs["year"], self.kwargs["month"], self.kwargs["day"])
        if requested != (published_on.year, published_on.month, published_on.day):
            # The slug is what identifies a story; a wrong date in the address is
            # a reader's typo or an old link, so send them to the right one.
            return redirect(self.object, permanent=True)
        return self.render_to_response(self.get_context_data(object=self.object))

    def get_object(self, queryset=None):
        try:
            date(self.kwargs["year"], self.kwargs["month"], self.kwargs["day"])
        except ValueError:
            raise Http404("No such date") from None
        return get_object_or_404(self.get_queryset(), slug=self.kwargs["slug"])
