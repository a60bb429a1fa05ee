"""Text people type: control characters are refused with a form error naming the field, in
every text field of every admin form (and at the model), and text is stored as NFC.

The walks below go over every CharField and TextField of our models and taggit's Tag, and
every admin form and inline registered for them, so a field or form added later is checked
without anyone remembering to add it here.
"""

import unicodedata

import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models
from django.test import RequestFactory
from django.urls import reverse
from taggit.models import Tag

from stories.editorial.forms import ImportBriefingForm
from stories.editorial.notes import StoryNoteForm
from stories.models import (
    Byline,
    Correction,
    ImportConflict,
    ImportRecord,
    ListingChangeNote,
    Section,
    Story,
    StoryNote,
    StorySlugRedirect,
    TagSlugRedirect,
    WebhookStoryState,
    WorkingCopy,
)
from stories.text import NoControlCharacters

from .admin_forms import admin_form_data
from .factories import BylineFactory, SectionFactory, StoryFactory

pytestmark = pytest.mark.django_db

# Every C0 control character and DEL: what the briefing importer refuses too.
CONTROL = [chr(code) for code in [*range(0x20), 0x7F]]
LINE_BREAKS = ["\t", "\n", "\r"]
REFUSED_EVERYWHERE = [c for c in CONTROL if c not in LINE_BREAKS]
# Nobody types these: import records are written by the importer (which refuses control
# characters itself), old slugs by Story.save(), merged tags' slugs by merge_tags(), import
# conflicts by the importer's writer, working copies by autosave (a JSON copy of the form,
# checked again by the form when restored and saved; the draft key is matched to a pattern),
# webhook states by the worker, listing change notes by every write (stories.listings).
NOT_TYPED = {
    ImportRecord,
    ListingChangeNote,
    ImportConflict,
    StorySlugRedirect,
    TagSlugRedirect,
    WorkingCopy,
    WebhookStoryState,
}


def is_text_field(field):
    return (
        isinstance(field, models.CharField | models.TextField)
        and field.editable
        and not field.choices
    )


def typed_models():
    from django.apps import apps

    found = [
        model
        for model in apps.get_app_config("stories").get_models()
        if model not in NOT_TYPED and not model.__name__.startswith("Historical")
    ]
    return [*found, Tag]


def text_fields():
    return [
        (model, field)
        for model in typed_models()
        for field in model._meta.get_fields()
        if is_text_field(field)
    ]


@pytest.fixture
def superuser_request():
    request = RequestFactory().get("/admin/")
    request.user = User.objects.create_superuser("boss", password="pw-for-tests-only")
    return request


def admin_forms(request):
    """(model, form class) for every admin form and inline form of our models and Tag."""
    forms = []
    for model in typed_models():
        model_admin = admin.site._registry.get(model)
        if model_admin is None:
            continue
        forms.append((model, model_admin.get_form(request)))
        for inline in model_admin.get_inline_instances(request):
            forms.append((inline.model, inline.get_formset(request).form))
    # Editorial notes are added on the story's page through their own form, not an admin's.
    forms.append((StoryNote, StoryNoteForm))
    return forms


def control_errors(form, name):
    return [error for error in form.errors.as_data().get(name, []) if error.code != "required"]


def test_every_text_field_a_person_types_is_in_an_admin_form_that_refuses_control_characters(
    superuser_request,
):
    covered = set()
    for model, form_class in admin_forms(superuser_request):
        for name, form_field in form_class.base_fields.items():
            if not isinstance(form_field, forms.CharField):
                continue
            multiline = isinstance(form_field.widget, forms.Textarea)
            for character in CONTROL:
                form = form_class({name: f"before{character}after"})
                errors = control_errors(form, name)
                allowed = multiline and character in LINE_BREAKS
                if allowed:
                    assert not any(e.code == "control_character" for e in errors), (model, name)
                else:
                    assert errors, f"{model.__name__}.{name} accepts U+{ord(character):04X}"
            covered.add((model, name))
    missing = [
        f"{model.__name__}.{field.name}"
        for model, field in text_fields()
        if (model, field.name) not in covered
    ]
    assert not missing, f"text fields no admin form checks: {missing}"


def test_every_text_field_of_our_models_refuses_control_characters_at_the_model():
    # Tag is taggit's: its admin form checks it (above); a validator on it would need a
    # migration in taggit's app.
    for model, field in text_fields():
        if model is Tag:
            continue
        multiline = isinstance(field, models.TextField)
        # A slug's own validator already refuses anything but letters, digits, - and _.
        if not isinstance(field, models.SlugField):
            validators = [v for v in field.validators if isinstance(v, NoControlCharacters)]
            assert validators, f"{model.__name__}.{field.name}: no control-character validator"
            assert validators[0].multiline is multiline, f"{model.__name__}.{field.name}"
        for character in CONTROL:
            if multiline and character in LINE_BREAKS:
                field.run_validators(f"a{character}b")
                continue
            with pytest.raises(ValidationError) as refused:
                field.run_validators(f"a{character}b")
            expected = "invalid" if isinstance(field, models.SlugField) else "control_character"
            # A URL's own validator speaks first; the control character is named too.
            codes = [error.code for error in refused.value.error_list]
            assert expected in codes, (field, character)


def test_the_error_names_the_field_and_the_character(superuser_request):
    form_class = admin.site._registry[Story].get_form(superuser_request)
    form = form_class({"headline": "Quake\x0bhits", "body": "Line\nbreaks\tare\r\nfine"})
    assert form.errors["headline"] == [
        "Headline holds the control character U+000B (at character 6). "
        "Remove it: it is invisible, and feeds cannot carry it."
    ]
    assert "body" not in form.errors
    form = form_class({"deck": "One\nline"})
    assert form.errors["deck"][0].startswith("Deck holds a line break")


@pytest.fixture
def editor(client):
    user = User.objects.create_superuser("desk", password="pw-for-tests-only")
    client.force_login(user)
    return user


def test_story_form_refuses_a_vertical_tab_and_keeps_the_stored_story(client, editor):
    story = StoryFactory(published=True, body="Clean body.")
    url = reverse("admin:stories_story_change", args=[story.pk])
    for field, value in [
        ("body", "Dirty\x0bbody."),
        ("headline", "Dirty\x00headline"),
        ("dateline", "Dirty\x1bdateline"),
        ("new_tags", "Clean, Dirty\x0btag"),
    ]:
        response = client.post(url, admin_form_data(client.get(url), **{field: value}))
        assert response.status_code == 200, field
        form = response.context["adminform"].form
        assert "control character" in " ".join(form.errors.get(field, [])), field
    story.refresh_from_db()
    assert story.body == "Clean body."
    assert not Tag.objects.exists()


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("!!!", "has no letter or digit"),
        ("Peru, ---", "has no letter or digit"),
        ("x" * 101, "tags are limited to 100"),
    ],
)
def test_new_tags_need_an_address_and_fit_their_field(client, editor, typed, error):
    story = StoryFactory(published=True)
    url = reverse("admin:stories_story_change", args=[story.pk])
    response = client.post(url, admin_form_data(client.get(url), new_tags=typed))
    assert response.status_code == 200
    assert error in " ".join(response.context["adminform"].form.errors["new_tags"])
    assert not Tag.objects.exists()


def test_a_tag_stored_without_an_address_breaks_no_page(client, discovery_newsroom):
    # Written before the form refused it: taggit makes the slug "" from "!!!".
    story = discovery_newsroom["live"]
    story.tags.add("!!!")
    assert Tag.objects.get(name="!!!").slug == ""
    page = client.get(story.get_absolute_url())
    assert page.status_code == 200
    assert "!!!" not in page.content.decode()
    for url in ["/sitemap-tags.xml", "/sitemap.xml", "/feed/", "/feed/atom/"]:
        assert client.get(url).status_code == 200, url


def test_correction_inline_refuses_control_characters(client, editor):
    story = StoryFactory(published=True)
    url = reverse("admin:stories_story_change", args=[story.pk])
    data = admin_form_data(client.get(url), **{"corrections-0-text": "Wrong\x0cdate."})
    response = client.post(url, data)
    assert response.status_code == 200
    assert "control character U+000C" in response.content.decode()
    assert not Correction.objects.exists()
    # Line breaks are text in a correction.
    data = admin_form_data(client.get(url), **{"corrections-0-text": "Wrong date.\r\nFixed."})
    assert client.post(url, data).status_code == 302
    assert Correction.objects.get().text == "Wrong date.\r\nFixed."


@pytest.mark.parametrize(
    ("model", "field", "factory"),
    [
        ("section", "name", SectionFactory),
        ("section", "description", SectionFactory),
        ("byline", "name", BylineFactory),
        ("byline", "role", BylineFactory),
        ("byline", "bio", BylineFactory),
    ],
)
def test_section_and_byline_forms_refuse_control_characters(client, editor, model, field, factory):
    obj = factory()
    url = reverse(f"admin:stories_{model}_change", args=[obj.pk])
    response = client.post(url, admin_form_data(client.get(url), **{field: "a\x0bb"}))
    assert response.status_code == 200
    assert "control character U+000B" in response.content.decode()
    obj.refresh_from_db()
    assert "\x0b" not in getattr(obj, field)


def test_tag_admin_refuses_control_characters(client, editor):
    url = reverse("admin:taggit_tag_add")
    response = client.post(url, admin_form_data(client.get(url), name="Bad\x0btag", slug="bad"))
    assert response.status_code == 200
    assert "control character U+000B" in response.content.decode()
    assert not Tag.objects.exists()


def test_import_form_refuses_control_characters_in_the_section(editor):
    form = ImportBriefingForm({"new_section": "wor\x0bld", "status": "draft"}, user=editor)
    assert "control character" in form.errors["new_section"][0]


# --- NFC ---------------------------------------------------------------------------------

NFD_CAFE = unicodedata.normalize("NFD", "Café")


def test_nfd_text_is_stored_as_nfc_from_the_story_form(client, editor):
    assert NFD_CAFE != "Café"
    section = SectionFactory()
    add = reverse("admin:stories_story_add")
    response = client.post(
        add,
        admin_form_data(
            client.get(add),
            headline=f"{NFD_CAFE} opens",
            deck=f"A {NFD_CAFE} deck",
            body=f"{NFD_CAFE} body.\r\n\r\nMore.",
            section=section.pk,
            new_tags=f"{NFD_CAFE}, Local",
            **{"corrections-0-text": f"{NFD_CAFE} was misspelt."},
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    story = Story.objects.get()
    for value in (story.headline, story.deck, story.body, story.corrections.get().text):
        assert "Café" in value and unicodedata.is_normalized("NFC", value), repr(value)
    assert sorted(story.tags.names()) == ["Café", "Local"]


def test_nfd_and_nfc_name_one_tag(client, editor):
    story = StoryFactory(tags=["Café"])
    url = reverse("admin:stories_story_change", args=[story.pk])
    response = client.post(url, admin_form_data(client.get(url), new_tags=NFD_CAFE))
    assert response.status_code == 302
    assert list(Tag.objects.values_list("name", flat=True)) == ["Café"]


@pytest.mark.parametrize(
    ("url_name", "data", "model"),
    [
        ("admin:stories_section_add", {"name": NFD_CAFE, "slug": "cafe", "position": 0}, Section),
        ("admin:stories_byline_add", {"name": NFD_CAFE, "slug": "cafe"}, Byline),
        ("admin:taggit_tag_add", {"name": NFD_CAFE, "slug": "cafe"}, Tag),
    ],
)
def test_nfd_names_are_stored_as_nfc(client, editor, url_name, data, model):
    url = reverse(url_name)
    response = client.post(url, admin_form_data(client.get(url), **data))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert model.objects.get().name == "Café"
