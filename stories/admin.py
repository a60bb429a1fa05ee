"""The editors' workspace: the Django admin, customised for stories."""

from django.contrib import admin
from django.db.models import Count, Prefetch

from .models import Byline, Section, Story, StoryByline


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "story_count"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(story_count=Count("stories"))

    @admin.display(description="Stories", ordering="story_count")
    def story_count(self, section):
        return section.story_count


@admin.register(Byline)
class BylineAdmin(admin.ModelAdmin):
    list_display = ["name", "role", "user", "story_count"]
    list_select_related = ["user"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "role"]
    autocomplete_fields = ["user"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(story_count=Count("story_bylines"))

    @admin.display(description="Stories", ordering="story_count")
    def story_count(self, byline):
        return byline.story_count


class StoryBylineInline(admin.TabularInline):
    model = StoryByline
    extra = 1
    autocomplete_fields = ["byline"]
    fields = ["byline", "position"]
    ordering = ["position", "pk"]


@admin.register(Story)
class StoryAdmin(admin.ModelAdmin):
    list_display = ["headline", "section", "status", "published_at", "byline_names", "is_live"]
    list_filter = ["status", "section", ("tags", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["section"]
    search_fields = ["headline", "deck", "body", "story_bylines__byline__name"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["headline"]}
    autocomplete_fields = ["section"]
    inlines = [StoryBylineInline]
    readonly_fields = ["created_at", "updated_at", "created_by"]
    fieldsets = [
        (None, {"fields": ["headline", "slug", "deck", "body", "section", "tags"]}),
        ("Publishing", {"fields": ["status", "published_at"]}),
        (
            "Record",
            {"classes": ["collapse"], "fields": ["created_by", "created_at", "updated_at"]},
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "story_bylines",
                    queryset=StoryByline.objects.select_related("byline").order_by(
                        "position", "pk"
                    ),
                )
            )
        )

    @admin.display(description="Bylines")
    def byline_names(self, story):
        return ", ".join(byline.name for byline in story.ordered_bylines)

    @admin.display(boolean=True, description="Live")
    def is_live(self, story):
        return story.is_live()

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
