"""The read API's views: thin, over querysets that start from ``access.visible_stories``."""

from urllib.parse import unquote, urlsplit

from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404, JsonResponse
from django.urls import Resolver404, resolve
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics

from stories.models import (
    Correction,
    StorySlugRedirect,
    is_live_condition,
    live_bylines,
    live_sections,
    live_tags,
)
from stories.reader.search import search_stories

from . import serializers
from .access import visible_stories
from .caching import GenerationETagMixin
from .pagination import KeysetPagination

NEWEST_FIRST = ("-published_at", "-pk")

ERRORS = {
    400: OpenApiResponse(
        OpenApiTypes.OBJECT, description="A parameter is wrong: {parameter: [what is wrong]}."
    ),
    401: OpenApiResponse(
        serializers.DetailSerializer, description="The API key is unknown or revoked."
    ),
    404: OpenApiResponse(serializers.DetailSerializer, description="No such story."),
    429: OpenApiResponse(
        serializers.DetailSerializer, description="Too many requests; see Retry-After."
    ),
}


def documented(ok, *errors):
    """The responses an operation may give, for the OpenAPI schema."""
    return {200: ok, **{status: ERRORS[status] for status in (*errors, 401, 429)}}


def stories_updated_since(stories, moment):
    """Stories a partner syncing since ``moment`` must fetch again: published (a scheduled
    story going live), edited or corrected at or after it."""
    corrected = Correction.objects.filter(story=OuterRef("pk"), published_at__gte=moment)
    return stories.filter(
        Q(published_at__gte=moment) | Q(updated_at__gte=moment) | Exists(corrected)
    )


class ParametersMixin:
    parameters_class = serializers.PageParameters

    def parameters(self):
        if not hasattr(self, "_parameters"):
            checked = self.parameters_class(data=self.request.query_params)
            checked.is_valid(raise_exception=True)
            self._parameters = checked.validated_data
        return self._parameters

    def list(self, request, *args, **kwargs):
        self.parameters()  # a bad parameter is a 400 before anything is read
        return super().list(request, *args, **kwargs)


class StoryList(GenerationETagMixin, ParametersMixin, generics.ListAPIView):
    """Stories, newest first (with ``q``, best match first), a page at a time."""

    serializer_class = serializers.StorySerializer
    parameters_class = serializers.StoryListParameters
    pagination_class = KeysetPagination

    def get_ordering(self):
        if self.parameters().get("q"):
            return ("search_tier", *NEWEST_FIRST)
        return NEWEST_FIRST

    def get_queryset(self):
        parameters = self.parameters()
        stories = visible_stories(self.request)
        if "section" in parameters:
            stories = stories.filter(section__slug=parameters["section"])
        if "tag" in parameters:
            stories = stories.filter(tagged_items__tag__slug=parameters["tag"])
        if "byline" in parameters:
            stories = stories.filter(story_bylines__byline__slug=parameters["byline"])
        if "updated_since" in parameters:
            stories = stories_updated_since(stories, parameters["updated_since"])
        if parameters.get("q"):
            stories = search_stories(parameters["q"], stories)
        return stories.for_api()

    @extend_schema(
        parameters=[serializers.StoryListParameters],
        responses=documented(serializers.StorySerializer(many=True), 400),
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class StoryDetail(GenerationETagMixin, generics.RetrieveAPIView):
    serializer_class = serializers.StorySerializer

    def get_queryset(self):
        return visible_stories(self.request).for_api()

    @extend_schema(responses=documented(serializers.StorySerializer, 404))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def slug_in_story_path(address):
    """The slug a story's address names (a path, or a whole URL as the API's ``url`` gives
    it, percent-encoded or not), or None if it is no story's address."""
    path = unquote(urlsplit(address).path)
    try:
        match = resolve(path)
    except Resolver404:
        return None
    if match.view_name != "stories:detail":
        return None
    return match.kwargs["slug"]


class StoryByPath(GenerationETagMixin, generics.RetrieveAPIView):
    """The story at a public address (``/2024/09/12/slug/``); an old address (the slug
    changed) finds the story too, as the site redirects it. The date in the address is not
    checked: as on the site, the slug names the story."""

    serializer_class = serializers.StorySerializer

    def get_object(self):
        checked = serializers.PathParameters(data=self.request.query_params)
        checked.is_valid(raise_exception=True)
        slug = slug_in_story_path(checked.validated_data["path"])
        if slug is None:
            raise Http404("No story has this address.")
        stories = visible_stories(self.request).for_api()
        story = stories.filter(slug=slug).first()
        if story is None:
            moved = StorySlugRedirect.objects.filter(slug=slug).values("story")
            story = stories.filter(pk__in=moved).first()
        if story is None:
            raise Http404("No story has this address.")
        return story

    @extend_schema(
        parameters=[serializers.PathParameters],
        responses=documented(serializers.StorySerializer, 400, 404),
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SectionList(GenerationETagMixin, generics.ListAPIView):
    """Sections with live stories, in the site's menu order, with their live-story counts.
    Every client sees what readers see here, embargo keys too."""

    serializer_class = serializers.SectionSerializer
    pagination_class = None

    def get_queryset(self):
        # Explicitly: Meta.ordering is not applied to a query with GROUP BY.
        return (
            live_sections()
            .annotate(story_count=Count("stories", filter=is_live_condition("stories__")))
            .order_by("position", "name")
        )

    @extend_schema(responses=documented(serializers.SectionSerializer(many=True)))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class TagList(GenerationETagMixin, ParametersMixin, generics.ListAPIView):
    """Tags on live stories, by slug, with their live-story counts."""

    serializer_class = serializers.TagSerializer
    pagination_class = KeysetPagination

    def get_ordering(self):
        return ("slug",)

    def get_queryset(self):
        items = "stories_taggedstory_items"
        return live_tags().annotate(
            story_count=Count(items, filter=is_live_condition(f"{items}__content_object__"))
        )

    @extend_schema(
        parameters=[serializers.PageParameters],
        responses=documented(serializers.TagSerializer(many=True), 400),
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class BylineList(GenerationETagMixin, ParametersMixin, generics.ListAPIView):
    """Bylines on live stories, by slug, with their live-story counts."""

    serializer_class = serializers.BylineSerializer
    pagination_class = KeysetPagination

    def get_ordering(self):
        return ("slug",)

    def get_queryset(self):
        return live_bylines().annotate(
            story_count=Count("story_bylines", filter=is_live_condition("story_bylines__story__"))
        )

    @extend_schema(
        parameters=[serializers.PageParameters],
        responses=documented(serializers.BylineSerializer(many=True), 400),
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def not_found(request, *args, **kwargs):
    return JsonResponse({"detail": "Not found."}, status=404, headers={"Vary": "Authorization"})
