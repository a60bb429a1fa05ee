"""The desk's "Front page" screen: editors choose what leads the home page and each section.

One screen (the change form of the one ``FrontPage`` row): the home page's stories in order,
the first live one leading and the others as top stories, and a top story per section, each
chosen by search among published stories (live or scheduled). Beside them, what readers see
now, with the places the newest stories fill. Saving starts a new content generation
(``stories.delivery.generation``), so readers see the change on their next request.

Editors only: reporters have no permission on these models (``stories.roles``), so the
screen, its autocomplete and a forged POST all answer 403.
"""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Max, Q
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from stories.models import FrontPage, FrontPagePin, SectionTopStory, Story, pinnable_stories
from stories.reader.pieces import home_pinned, lead_and_top
from stories.text import CleanTextAdminMixin

from .accessibility import LabelledWidgetsMixin


def on_the_site(story):
    """Whether readers see a pinned story now, and if not, when or why not."""
    if story.is_live():
        return "Shown"
    if story.is_scheduled():
        when = date_format(timezone.localtime(story.published_at), "DATETIME_FORMAT")
        return format_html("<strong>Scheduled</strong>: shown from {}", when)
    return format_html("<strong>{}</strong>: not shown", "Not published")


class PinForm(forms.ModelForm):
    """A pin's row. A story pinned earlier and unpublished since stays chosen (kept, not
    shown) while the rest of the screen is saved; only a newly chosen story must be
    published."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        pinned = self.instance.story_id if self.instance.pk else None
        if pinned is not None and "story" in self.fields:
            self.fields["story"].queryset = Story.objects.filter(pinnable_stories() | Q(pk=pinned))

    def _get_validation_exclusions(self):
        # The model checks the story against ``pinnable_stories`` too: an unchanged pin is
        # kept as it is, whatever became of its story.
        excluded = super()._get_validation_exclusions()
        if self.instance.pk and "story" not in self.changed_data:
            excluded.add("story")
        return excluded


class PinInlineMixin(LabelledWidgetsMixin, CleanTextAdminMixin):
    form = PinForm
    autocomplete_fields = ["story"]
    readonly_fields = ["on_the_site"]
    extra = 1

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("story")

    @admin.display(description="On the site")
    def on_the_site(self, pin):
        return on_the_site(pin.story) if pin.story_id else "-"


class FrontPagePinInline(PinInlineMixin, admin.TabularInline):
    model = FrontPagePin
    fields = ["position", "story", "on_the_site"]
    # The lead and the top stories: a pin beyond them would never show.
    max_num = 1 + settings.FRONT_PAGE_TOP_STORIES
    verbose_name = "home page story"
    verbose_name_plural = (
        f"Home page: the lead and up to {settings.FRONT_PAGE_TOP_STORIES} top stories, in "
        "order (the first live one leads; places left show the newest stories)"
    )

    def get_formset(self, request, obj=None, **kwargs):
        # The form shows no more rows than places, and the server refuses more than that
        # too (a hand-made POST with seven pins was saved, the two past the places hidden
        # until an earlier pin stopped being live).
        kwargs.setdefault("validate_max", True)
        formset = super().get_formset(request, obj, **kwargs)
        if obj is not None:
            # A row added goes after those there (0 for every new row made the lead
            # whichever came first).
            last = obj.pins.aggregate(last=Max("position"))["last"]
            formset.form.base_fields["position"].initial = 1 if last is None else last + 1
        return formset


class SectionTopStoryInline(PinInlineMixin, admin.TabularInline):
    model = SectionTopStory
    fields = ["section", "story", "on_the_site"]
    verbose_name_plural = "Sections: the story that leads each section's page (else its newest)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("section")


@admin.register(FrontPage)
class FrontPageAdmin(admin.ModelAdmin):
    inlines = [FrontPagePinInline, SectionTopStoryInline]
    fields = ["home_now", "updated_at", "updated_by"]
    readonly_fields = ["home_now", "updated_at", "updated_by"]

    def has_add_permission(self, request):
        return False  # one row, made by its migration

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # There is one front page: its list is its screen.
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)  # Django's 403
        return redirect("admin:stories_frontpage_change", FrontPage.load().pk)

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="Home page now")
    def home_now(self, front_page):
        """The home page's lead and top stories as readers see them: pinned, or the newest
        filling a place (the reader's own ``lead_and_top``)."""
        places = 1 + settings.FRONT_PAGE_TOP_STORIES
        pinned = home_pinned()
        newest = list(Story.objects.live().for_cards()[:places])
        leading = lead_and_top(pinned, newest, places)
        if not leading:
            return "No live stories yet."
        pinned_keys = {story.pk for story in pinned}
        return format_html(
            '<ol class="front-page-now">{}</ol>',
            format_html_join(
                "",
                "<li>{}{} <span class='quiet'>({})</span></li>",
                (
                    (
                        "Lead: " if number == 0 else "",
                        story.headline,
                        "pinned" if story.pk in pinned_keys else "newest",
                    )
                    for number, story in enumerate(leading)
                ),
            ),
        )
