"""Accessible names for the admin's form controls where Django gives them no <label>.

Tabular inlines and the changelist's editable columns name their controls only with a column
header, which is not a label; a split date and time widget labels its first box, not the
second. Screen readers then announce "edit text, blank". ``LabelledWidgetsMixin`` (for any
ModelAdmin or inline) gives each such control an ``aria-label`` from its field's label.
The select2 boxes Django's autocomplete builds in the browser are named by
``static/admin/newsroom/accessibility.js``.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.utils.text import capfirst


def name_widget(widget, name):
    """Give ``widget`` (and each box of a split date and time) an ``aria-label``, unless it
    has one."""
    if isinstance(widget, RelatedFieldWidgetWrapper):
        widget = widget.widget
    if isinstance(widget, forms.SplitDateTimeWidget):
        # The MultiWidget's own attrs would override its parts', so only the parts are named.
        date, time = widget.widgets
        date.attrs.setdefault("aria-label", f"{name}: date")
        time.attrs.setdefault("aria-label", f"{name}: time")
    elif not isinstance(widget, forms.HiddenInput):
        widget.attrs.setdefault("aria-label", name)


def labelled_rows(formset_class):
    """``formset_class`` whose forms, shown as table rows, name every control after its
    field (the row's "Delete" box too)."""

    class LabelledRowsFormSet(formset_class):
        def add_fields(self, form, index):
            super().add_fields(form, index)
            for field in form.fields.values():  # each form's own copies: safe to change
                if field.label:
                    name_widget(field.widget, capfirst(field.label))

    LabelledRowsFormSet.__name__ = formset_class.__name__
    return LabelledRowsFormSet


class LabelledWidgetsMixin:
    """For a ModelAdmin or an InlineModelAdmin: split date and time boxes named in every
    form, and every control named in table rows (tabular inlines, editable list columns)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None and isinstance(formfield.widget, forms.SplitDateTimeWidget):
            name_widget(formfield.widget, capfirst(formfield.label or db_field.verbose_name))
        return formfield

    def get_formset(self, request, obj=None, **kwargs):  # inlines
        formset = super().get_formset(request, obj, **kwargs)
        return labelled_rows(formset) if isinstance(self, admin.TabularInline) else formset

    def get_changelist_formset(self, request, **kwargs):  # ModelAdmins' list_editable
        return labelled_rows(super().get_changelist_formset(request, **kwargs))
