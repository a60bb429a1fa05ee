"""Turn a rendered admin change form back into the POST body a browser would send."""

from django.forms import CheckboxInput, FileInput


def form_fields(form):
    data = {}
    for name in form.fields:
        bound = form[name]
        widget = bound.field.widget
        widget = getattr(widget, "widget", widget)  # the admin's related-object wrapper
        if isinstance(widget, FileInput):
            continue
        context = widget.get_context(bound.html_name, bound.value(), {})["widget"]
        for part in context.get("subwidgets") or [context]:
            if isinstance(widget, CheckboxInput):
                if part["attrs"].get("checked"):
                    data[part["name"]] = "on"
                continue
            value = part.get("value")
            if value is None:
                value = ""
            data[part["name"]] = value
    return data


def admin_form_data(response, **changes):
    """The form as rendered (main form, every inline, management forms), with ``changes``."""
    data = form_fields(response.context["adminform"].form)
    # The revision (history) form has no inlines.
    inlines = response.context.get("inline_admin_formsets") or []
    for inline in inlines:
        formset = inline.formset
        data.update(form_fields(formset.management_form))
        for form in formset.forms:
            data.update(form_fields(form))
    data.update(changes)
    return data
