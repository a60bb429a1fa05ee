"""The API's JSON, declared as DRF serializers so drf-spectacular documents it exactly.

Stories are built by ``ninjs.story_ninjs`` (the serializer's fields describe its output for
the schema; Schemathesis checks the two agree). Query parameters are serializers too, so a
bad value is a 400 naming the parameter.
"""

from django.conf import settings
from rest_framework import serializers

from stories.reader.search import MAX_QUERY_LENGTH, search_terms

from .ninjs import story_ninjs


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ValueSerializer(serializers.Serializer):
    role = serializers.CharField(required=False)
    contenttype = serializers.CharField(required=False)
    value = serializers.CharField()


class BodySerializer(ValueSerializer):
    charcount = serializers.IntegerField()
    wordcount = serializers.IntegerField()


class ConceptSerializer(serializers.Serializer):
    name = serializers.CharField()
    rel = serializers.CharField()
    literal = serializers.CharField(help_text="Our slug; for places, the ISO 3166-1 code.")
    uri = serializers.URLField(help_text="The page readers see for it.")


class RenditionSerializer(serializers.Serializer):
    name = serializers.CharField()
    href = serializers.URLField()
    contenttype = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class AssociationSerializer(serializers.Serializer):
    name = serializers.CharField()
    uri = serializers.CharField()
    type = serializers.ChoiceField(["picture"])
    renditions = RenditionSerializer(many=True)
    headlines = ValueSerializer(many=True, required=False, help_text="The caption.")
    descriptions = ValueSerializer(many=True, required=False, help_text="The alt text.")
    by = serializers.CharField(required=False, help_text="The credit.")


class StandardSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()
    schema = serializers.URLField()


class CorrectionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(["correction", "clarification"])
    text = serializers.CharField()
    published = serializers.DateTimeField()


class StorySerializer(serializers.Serializer):
    """A story in IPTC ninjs 2.1, with our extensions (docs/api.md has the mapping)."""

    uri = serializers.CharField(help_text="Stable identifier (a tag: URI, as in the feeds).")
    standard = StandardSerializer()
    type = serializers.ChoiceField(["text"])
    representationtype = serializers.ChoiceField(["full"])
    version = serializers.CharField(help_text="Counts the story's saves.")
    firstcreated = serializers.DateTimeField(help_text="When it was (or will be) published.")
    versioncreated = serializers.DateTimeField(help_text="When this version was saved.")
    pubstatus = serializers.ChoiceField(["usable", "withheld", "canceled"])
    embargoed = serializers.DateTimeField(
        required=False, help_text="Embargo keys only: the go-live time of a scheduled story."
    )
    language = serializers.CharField()
    slugline = serializers.CharField()
    located = serializers.CharField(required=False, help_text="The dateline.")
    headlines = ValueSerializer(many=True)
    descriptions = ValueSerializer(many=True, help_text="The deck, if any.")
    bodies = BodySerializer(many=True, help_text="HTML, then plain text.")
    by = serializers.CharField(allow_blank=True, help_text="The bylines as printed.")
    people = ConceptSerializer(many=True, help_text="The bylines, in printed order.")
    subjects = ConceptSerializer(many=True, help_text="The section, then the tags.")
    places = ConceptSerializer(many=True, help_text="Tags that name a country.")
    associations = AssociationSerializer(many=True, help_text="The lead image, if any.")
    url = serializers.URLField(help_text="The story's page, on the host asked.")
    canonical_url = serializers.URLField(help_text="The story's page on the published site.")
    corrections = CorrectionSerializer(many=True)

    def to_representation(self, instance):
        return story_ninjs(instance, self.context.get("request"))


class SectionSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    url = serializers.SerializerMethodField()
    story_count = serializers.IntegerField(help_text="Live stories in the section.")

    def get_url(self, obj) -> str:
        return self.context["request"].build_absolute_uri(obj.get_absolute_url())


class TagSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    url = serializers.SerializerMethodField()
    story_count = serializers.IntegerField(help_text="Live stories with the tag.")

    def get_url(self, obj) -> str:
        from django.urls import reverse

        return self.context["request"].build_absolute_uri(reverse("stories:tag", args=[obj.slug]))


class BylineSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField(allow_blank=True)
    url = serializers.SerializerMethodField()
    story_count = serializers.IntegerField(help_text="Live stories under the byline.")

    def get_url(self, obj) -> str:
        return self.context["request"].build_absolute_uri(obj.get_absolute_url())


class PageParameters(serializers.Serializer):
    # An empty value of any parameter counts as none given (the first page, no search).
    cursor = serializers.CharField(required=False, allow_blank=True)
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=settings.API_MAX_PAGE_SIZE
    )


class StoryListParameters(PageParameters):
    section = serializers.CharField(required=False, help_text="A section's slug.")
    tag = serializers.CharField(required=False, help_text="A tag's slug.")
    byline = serializers.CharField(required=False, help_text="A byline's slug.")
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_QUERY_LENGTH,
        help_text="Search words, ranked as the site's search ranks them (then newest first).",
    )
    updated_since = serializers.DateTimeField(
        required=False,
        help_text=(
            "ISO 8601 (2024-09-12T08:00:00Z); without an offset, site time. Stories "
            "published, edited or corrected at or after it."
        ),
    )

    def validate_q(self, value):
        if value and not search_terms(value):
            raise serializers.ValidationError("Give at least one word to search for.")
        return value


class PathParameters(serializers.Serializer):
    path = serializers.CharField(
        max_length=500, help_text="A story's address on the site, e.g. /2024/09/12/slug/."
    )
