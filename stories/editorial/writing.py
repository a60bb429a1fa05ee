"""The story form's writing aids: the rich-text body editor, live character counts on the
headline and deck, and the warning that changing a live story's slug moves its address.

The editor is django-prose-editor (ProseMirror through Tiptap), whose JavaScript ships with
the package. It offers only what ``stories.richtext`` keeps; the server sanitizes whatever is
posted anyway (``Story.save``). Its modules are found through an import map, an inline
script, which gets the request's CSP nonce (``RichTextAdminMixin``); its styles are static
files (``static/stories/body_editor.js`` turns off Tiptap's injected ``<style>``).
"""

from django import forms
from django.utils.html import conditional_escape
from django_prose_editor.widgets import (
    AdminProseEditorWidget,
    prose_editor_admin_media,
    prose_editor_js,
)
from js_asset import Media, Script
from simple_history.template_utils import HistoricalRecordContextHelper

from stories.models import Image
from stories.richtext import body_text, sanitize_body

# Only what stories.richtext.ALLOWED_TAGS keeps, and a toolbar with nothing else (undo and
# redo stay on the keyboard).
BODY_EDITOR_CONFIG = {
    "extensions": {
        "Heading": {"levels": [2, 3]},
        "Bold": True,
        "Italic": True,
        "Link": {"protocols": ["http", "https", "mailto"], "enableTarget": False},
        "Blockquote": True,
        "BulletList": True,
        "OrderedList": True,
        "ListItem": True,
        "NoSpellCheck": False,
        "Menu": {
            "groups": [
                {"group": "blockType -lists", "type": "dropdown", "minItems": 2},
                {"group": "lists"},
                {"group": "nodes -blockType -lists"},
                {"group": "marks"},
                {"group": "link"},
            ]
        },
    }
}


class BodyEditorWidget(AdminProseEditorWidget):
    """The body's ProseMirror editor, set up by our own module (``data-django-prose-editor-
    newsroom``) rather than the package's, which would inject a ``<style>`` the CSP refuses."""

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, config=BODY_EDITOR_CONFIG, preset="newsroom")

    def format_value(self, value):
        # The editor turns this text into live DOM: only what the allowlist keeps reaches it,
        # even for a body that was never saved through the model (an old backup, a form
        # re-shown with its errors).
        return super().format_value(sanitize_body(value) if value else value)

    @property
    def media(self):
        return prose_editor_admin_media + Media(
            css={"all": ["stories/body_editor.css"]},
            js=[prose_editor_js, Script("stories/body_editor.js", type="module")],
        )


class BodyField(forms.CharField):
    """The body as the editor posts it, compared with the stored one as HTML, not as bytes.

    A browser sends a textarea's line breaks as CRLF, so an untouched body with a newline
    between its blocks would come back different; and the editor was given the sanitized
    body (``BodyEditorWidget.format_value``), which an old or imported body may not be
    byte for byte. Neither is an edit: an untouched body neither counts as changed nor is
    rewritten."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n") if value else value

    def has_changed(self, initial, data):
        if self.disabled:
            return False
        return sanitize_body(self.to_python(data) or "") != sanitize_body(initial or "")


class CountedTextInput(forms.TextInput):
    """A full-width text input with a live count of its characters against its
    ``maxlength`` (set by the form field from the model's ``max_length``)."""

    def __init__(self, attrs=None):
        super().__init__({"class": "vTextField story-form__wide", **(attrs or {})})
        self.attrs["data-character-count"] = ""

    class Media:
        css = {"all": ["stories/story_form.css"]}
        js = ["stories/story_form.js"]


class SlugInput(forms.TextInput):
    class Media:
        css = {"all": ["stories/story_form.css"]}
        js = ["stories/story_form.js"]


WRITING_WIDGETS = {
    "headline": CountedTextInput,
    "deck": CountedTextInput,
    "slug": SlugInput,
    "body": BodyEditorWidget,
}


def warn_about_live_slug(form):
    """On a live story, say by the slug that changing it moves the story's address (the old
    one redirects: ``editorial.saving.remember_old_address``); the script repeats it in a
    warning as soon as the slug is edited."""
    story = form.instance
    slug = form.fields.get("slug")
    if slug is None or story.pk is None or not story.is_live():
        return
    slug.widget.attrs["data-live-slug"] = story.slug
    slug.help_text = (
        f"This story is live at its current address. Changing the slug gives it a new "
        f"address; readers and links using the old one (…/{story.slug}/) are redirected."
    )


class BodyAsTextHistoryHelper(HistoricalRecordContextHelper):
    """The history list's "Changes" column in an editor's words: what changed in a body's
    words, not in its markup (``stories.richtext.body_text``; each row's "Compare" shows it
    word by word), and a lead image by its alt text, not "Deleted image (pk=None)"."""

    def prepare_delta_change_value(self, change, value):
        if change.field == "body":
            return body_text(value)
        if change.field == "lead_image":
            # simple-history hands over the related object, or a stand-in without a pk.
            pk = getattr(value, "pk", value)
            if pk is None:
                return "no image"
            image = Image.objects.filter(pk=pk).first()
            return f"“{image.alt}”" if image else f"an image since deleted (#{pk})"
        return super().prepare_delta_change_value(change, value)

    def stringify_delta_change_values(self, change, old, new):
        if change.field == "lead_image":
            return conditional_escape(old), conditional_escape(new)
        return super().stringify_delta_change_values(change, old, new)


class RichTextAdminMixin:
    """For the story's ModelAdmin (a SimpleHistoryAdmin), which loads the body editor.

    The page's scripts and the editor's import map (an inline script) carry the request's CSP
    nonce, on the change form and on simple-history's revision form alike (which renders its
    media to a string, so it is rebuilt here); the history compares bodies as text.
    """

    def get_historical_record_context_helper(self, request, historical_record):
        return BodyAsTextHistoryHelper(self.model, historical_record)

    def render_change_form(self, request, context, *args, **kwargs):
        context["media"] = Media.from_media(context["media"], nonce=request.csp_nonce)
        return super().render_change_form(request, context, *args, **kwargs)

    def render_history_view(self, request, template, context, **kwargs):
        admin_form = context.get("adminform")
        if admin_form is not None:
            context["media"] = Media.from_media(
                self.media + admin_form.media, nonce=request.csp_nonce
            )
        return super().render_history_view(request, template, context, **kwargs)
