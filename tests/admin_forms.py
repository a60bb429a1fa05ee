"""Turn a rendered admin change form back into the POST body a browser would send, and post
briefings to the admin import as its two steps (preview, confirm) do."""

import re
from urllib.parse import urlencode

from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import CheckboxInput, FileInput
from django.urls import reverse


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
        # A change to a row past the rendered ones is a row added with "Add another" (inlines
        # with no blank rows, like corrections): count it, as the admin's script does.
        rows = [
            int(match.group(1))
            for name in changes
            if (match := re.fullmatch(rf"{re.escape(formset.prefix)}-(\d+)-\w+", name))
        ]
        total = f"{formset.prefix}-TOTAL_FORMS"
        for number in range(int(data[total]), max(rows, default=-1) + 1):
            for name, value in form_fields(formset.empty_form).items():
                data[name.replace("__prefix__", str(number))] = value
            data[total] = str(number + 1)
    data.update(changes)
    return data


def page_form(html):
    """The fields a browser would post from the admin page's main form, as [name, value]s."""
    from .htmlforms import FormFields

    form_id = re.search(r'<form[^>]*\sid="(\w+_form)"', html)
    assert form_id, "no admin form on the page"
    parser = FormFields(form_id.group(1))
    parser.feed(html)
    return parser.fields


def add_inline_row(fields, prefix):
    """What the admin's "Add another" link does: copy the empty row, bump TOTAL_FORMS."""
    total = next(pair for pair in fields if pair[0] == f"{prefix}-TOTAL_FORMS")
    number = int(total[1])
    template = f"{prefix}-__prefix__-"
    fields.extend(
        [name.replace(template, f"{prefix}-{number}-"), value]
        for name, value in list(fields)
        if template in name
    )
    total[1] = str(number + 1)
    return number


def browser_post(client, url, changes=None, *, add_rows=()):
    """Open ``url`` and submit its admin form as a browser would (what the page really
    renders, hidden initial values and all), with ``changes`` by field name and an "Add
    another" row for each inline prefix in ``add_rows``."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    fields = page_form(page.content.decode())
    for prefix in add_rows:
        add_inline_row(fields, prefix)
    for name, value in (changes or {}).items():
        fields = [pair for pair in fields if pair[0] != name]
        for item in value if isinstance(value, list) else [value]:
            fields.append([name, item])
    body = urlencode([(name, value) for name, value in fields])
    return client.post(url, body, content_type="application/x-www-form-urlencoded")


# --- the admin's briefing import (test_admin_import, test_admin_write_paths) -------------

IMPORT = reverse("admin:stories_story_import")
BRIEFING = (
    "Port of Odesa reopens\n"
    "Grain ships sail again\n"
    "Ships left Odesa in Ukraine on Monday for the first time since March.\n"
    "— Ana Lima\n"
    "Chile elects a new president\n"
    "Voters in Santiago chose a new leader.\n"
    "— Pedro Ruiz and Ana Lima\n"
)


def preview(client, text=BRIEFING, name="2024-05-01-desk.txt", **options):
    data = {"section": "world", "date": "", "status": "published", **options}
    data["briefing"] = SimpleUploadedFile(name, text.encode() if isinstance(text, str) else text)
    return client.post(IMPORT, data)


HIDDEN = re.compile(
    r'<input type="hidden" name="(staged|section|new_section|date|status)" value="([^"]*)"'
)


def confirm(client, response, page=None):
    fields = dict(HIDDEN.findall(page or response.content.decode()))
    return client.post(IMPORT, {**fields, "confirm": "Confirm import"})
