"""Text people type: control characters refused, Unicode normalised to NFC, and what is
already stored made safe for XML.

The briefing importer refuses C0 control characters and DEL (``stories.importer.parser``); the
admin refuses the same ones, so nothing typed in either can hold them. Feeds cannot carry
them at all (XML 1.0 forbids them, and Django's feed writer raises on them), so feeds strip
them from whatever a row holds, including rows written before these checks or straight to
the database. "Café" typed with a combining accent (NFD) and with a precomposed "é" (NFC)
look alike but would be two headlines, two tags, two search terms: forms store NFC.
"""

import re
import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import pretty_name
from django.utils.deconstruct import deconstructible

# TAB, LF and CR are text in a multi-line field; DEL counts as control, as in the importer.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
LINE_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# What XML 1.0 cannot carry (and DEL), removed from feed output.
XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

CHARACTER_NAMES = {"\t": "a tab", "\n": "a line break", "\r": "a line break"}


def describe_character(character):
    return CHARACTER_NAMES.get(character, f"the control character U+{ord(character):04X}")


@deconstructible
class NoControlCharacters:
    """Refuses C0 control characters and DEL; a ``multiline`` field allows tabs and line
    breaks. ``label`` names the field in the message (forms know it; models say "This
    field", as their errors are shown next to the field)."""

    def __init__(self, multiline=False, label=None):
        self.multiline = multiline
        self.label = label

    def __call__(self, value):
        pattern = CONTROL_CHARACTERS if self.multiline else LINE_CONTROL_CHARACTERS
        found = pattern.search(str(value))
        if found:
            raise ValidationError(
                "%(field)s holds %(character)s (at character %(position)s). "
                "Remove it: it is invisible, and feeds cannot carry it.",
                code="control_character",
                params={
                    "field": self.label or "This field",
                    "character": describe_character(found.group()),
                    "position": found.start() + 1,
                },
            )

    def __eq__(self, other):
        return isinstance(other, NoControlCharacters) and self.multiline == other.multiline

    def __hash__(self):
        return hash((type(self), self.multiline))


# For model fields (migrations reference these by name).
single_line_text = NoControlCharacters()
multiline_text = NoControlCharacters(multiline=True)


def normalized(value):
    """``value`` with every string in it in NFC."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    return value


def xml_safe(value):
    """``value`` (a string, or lists, tuples and dicts of them) without the characters XML
    1.0 cannot carry; anything else as it is."""
    if isinstance(value, str):
        return XML_UNSAFE.sub("", value)
    if isinstance(value, dict):
        return {key: xml_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(xml_safe(item) for item in value)
    return value


class CleanTextFormMixin:
    """For every form people type into: each text field refuses control characters (tabs
    and line breaks only where the widget is a text area), and what is posted is read as
    NFC. Applied to whole forms, not fields, so a field added later is covered too."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound:
            self.data = nfc_data(self.data)
        for name, field in self.fields.items():
            if isinstance(field, forms.CharField):
                field.validators.append(
                    NoControlCharacters(
                        multiline=isinstance(field.widget, forms.Textarea),
                        label=field.label or pretty_name(name),
                    )
                )


def nfc_data(data):
    """Posted form data (a QueryDict, a MultiValueDict or a plain dict) in NFC."""
    if hasattr(data, "lists"):
        copy = data.copy()
        for key, values in data.lists():
            copy.setlist(key, [normalized(value) for value in values])
        return copy
    return {key: normalized(value) for key, value in data.items()}


class CleanTextAdminMixin:
    """For ModelAdmin and inline classes: their form, whatever form class they are given,
    gets ``CleanTextFormMixin`` (once, when the admin is set up)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.form = with_clean_text(self.form)


def with_clean_text(form_class):
    if issubclass(form_class, CleanTextFormMixin):
        return form_class
    return type(form_class.__name__, (CleanTextFormMixin, form_class), {})
