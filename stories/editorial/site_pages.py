"""The desk's screen for the site's own pages (About, Contact, the corrections policy):
editors write them with the story body's editor; the model sanitizes what is saved
(``SitePage.save``), so no script reaches a reader whatever the browser posts."""

from django import forms
from django.contrib import admin

from stories.models import SitePage
from stories.text import CleanTextAdminMixin

from .accessibility import LabelledWidgetsMixin
from .writing import BodyEditorWidget, RichTextAdminMixin


class SitePageForm(forms.ModelForm):
    class Meta:
        model = SitePage
        fields = ["title", "slug", "summary", "body", "position", "in_footer"]
        widgets = {"body": BodyEditorWidget}


@admin.register(SitePage)
class SitePageAdmin(
    LabelledWidgetsMixin, CleanTextAdminMixin, RichTextAdminMixin, admin.ModelAdmin
):
    form = SitePageForm
    list_display = ["title", "slug", "position", "in_footer", "updated_at"]
    list_editable = ["position", "in_footer"]
    prepopulated_fields = {"slug": ["title"]}
    search_fields = ["title", "slug"]
    view_on_site = True
