"""Previews of stories that are not live, and addresses that moved.

Staff who may edit a story see it at its public address before it is live; anyone with a
shareable preview link sees that one story. Both are rendered with the real templates, a
"Preview — not published" banner, and headers that keep them out of every cache and index.
Readers without either still get 404.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe
from django.views.generic import DetailView

from stories.delivery import fragments, surrogates
from stories.models import PreviewLink, Story, StorySlugRedirect


def mark_private(response):
    """Headers no shared cache may store and no search engine may index."""
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    patch_vary_headers(response, ["Cookie"])
    return response


def story_page_queryset():
    """A story page renders the card's relations plus its corrections."""
    return Story.objects.for_listing().prefetch_related("corrections")


class PreviewableStoryMixin:
    """For the story page: previews for staff who may edit, and 301s from old slugs."""

    is_preview = False

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except Http404:
            moved = (
                StorySlugRedirect.objects.filter(slug=self.kwargs["slug"])
                .select_related("story")
                .first()
            )
            if moved is not None and (moved.story.is_live() or self.may_preview(moved.story)):
                surrogates.add_keys(request, f"story-{moved.story.pk}")
                return redirect(moved.story, permanent=True)
            raise

    def get_story(self, slug):
        """The live story with this slug or, for staff who may edit it, any story."""
        story = fragments.cached_lookup(
            self.request,
            f"live-story:{slug}",
            lambda: next(iter(self.get_queryset().filter(slug=slug)[:1]), None),
            lambda found: [f"story-{found.pk}"],
        )
        if story is not None:
            return story
        if self.request.user.is_staff:
            story = story_page_queryset().filter(slug=slug).first()
            if story is not None and self.may_preview(story):
                self.is_preview = True
                return story
        raise Http404("No live story has this address.")

    def may_preview(self, story):
        return self.request.user.is_staff and story.editable_by(self.request.user)

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(
            {**context, "is_preview": self.is_preview}, **response_kwargs
        )
        return mark_private(response) if self.is_preview else response


class SharedPreviewView(DetailView):
    """A story as a shareable preview link shows it: read-only, for that one story."""

    template_name = "stories/story_detail.html"
    context_object_name = "story"

    def get_link(self):
        link = PreviewLink.from_token(self.kwargs["token"])
        if link is None:
            raise Http404("This preview link does not work (mistyped or made up).")
        return link

    def get(self, request, *args, **kwargs):
        link = self.get_link()
        if not link.is_usable():
            # Gone on purpose, and for good: say so rather than pretend it never existed.
            response = render(request, "stories/preview_gone.html", {"link": link}, status=410)
            return mark_private(response)
        self.object = get_object_or_404(story_page_queryset(), pk=link.story_id)
        if self.object.is_live():  # published since the link was made
            return redirect(self.object)
        # Media of a story that is not live is served to staff only (stories.reader.media),
        # and whoever holds the link has no login: show the text without a broken image.
        self.object.lead_image = None
        return self.render_to_response(self.get_context_data(object=self.object))

    def get_context_data(self, **kwargs):
        return super().get_context_data(is_preview=True, is_shared_preview=True, **kwargs)

    def render_to_response(self, context, **response_kwargs):
        return mark_private(super().render_to_response(context, **response_kwargs))


shared_preview = require_safe(SharedPreviewView.as_view())
