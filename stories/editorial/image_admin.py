"""The image library in the admin: upload, describe, choose the focal point, reuse.

Anyone on the staff with the role for it uploads images and uses them as a story's lead image
or a byline's photo (chosen by search, with a thumbnail; "+" opens the upload form in a
popup). Editors change and delete any image; reporters change their own, while no published
story or byline shows it (``Image.editable_by``), and delete none: an image in use is
protected anyway, and one a reporter uploaded by mistake is an editor's to remove.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.db.models import Exists, OuterRef, Q
from django.utils.html import format_html, format_html_join

from stories.models import Byline, Image, Story
from stories.text import CleanTextAdminMixin

from .saving import save_image


def thumbnail(image, shape="card", width=160, css_class="image-thumbnail", alt=""):
    """An ``<img>`` of ``image``'s smallest rendition of ``shape`` at least ``width`` wide,
    shown ``width`` pixels wide; "-" if it has none (yet). ``alt`` is empty where the
    image's description is printed beside it."""
    rendition = image.rendition(shape, width) if image else None
    if rendition is None:
        return "-"
    height = round(rendition["height"] * width / rendition["width"])
    return format_html(
        '<img class="{}" src="{}" width="{}" height="{}" alt="{}" loading="lazy">',
        css_class,
        rendition["url"],
        width,
        height,
        alt,
    )


class FocalPointWidget(forms.NumberInput):
    """A number from 0 to 1 that the focal-point picker fills in when the image is clicked;
    typed in, it is the picker's keyboard fallback."""

    def __init__(self, axis):
        super().__init__(
            attrs={"min": 0, "max": 1, "step": "0.01", "class": f"focal-input focal-{axis}"}
        )


class ImageAdminForm(forms.ModelForm):
    class Meta:
        model = Image
        fields = ["file", "alt", "caption", "credit", "focal_x", "focal_y"]
        widgets = {"focal_x": FocalPointWidget("x"), "focal_y": FocalPointWidget("y")}


class UseFilter(admin.SimpleListFilter):
    title = "use"
    parameter_name = "use"

    def lookups(self, request, model_admin):
        return [
            ("public", "On the site"),
            ("private", "Used only by stories not live"),
            ("unused", "Not used"),
        ]

    def queryset(self, request, queryset):
        used = Exists(Story.objects.filter(lead_image=OuterRef("pk"))) | Exists(
            Byline.objects.filter(photo=OuterRef("pk"))
        )
        public = Q(pk__in=Image.objects.used_publicly().values("pk"))
        if self.value() == "public":
            return queryset.filter(public)
        if self.value() == "private":
            return queryset.filter(used).exclude(public)
        if self.value() == "unused":
            return queryset.exclude(used)
        return queryset


@admin.register(Image)
class ImageAdmin(CleanTextAdminMixin, admin.ModelAdmin):
    form = ImageAdminForm
    list_display = ["thumbnail", "alt", "credit", "size", "uploaded_by", "created_at"]
    list_display_links = ["thumbnail", "alt"]
    list_filter = [UseFilter, ("uploaded_by", admin.RelatedOnlyFieldListFilter), "created_at"]
    list_select_related = ["uploaded_by"]
    search_fields = ["alt", "caption", "credit"]
    date_hierarchy = "created_at"
    readonly_fields = ["focal_point_picker", "crops", "size", "uploaded_by", "created_at"]
    fieldsets = [
        (None, {"fields": ["file", "alt", "caption", "credit"]}),
        (
            "Focal point",
            {
                "fields": ["focal_point_picker", "focal_x", "focal_y", "crops"],
                "description": "Click the picture on the point that must stay in every crop "
                "(a face, the ball), or type the point as fractions of the width and height. "
                "The crops are remade when you save.",
            },
        ),
        ("Record", {"fields": ["size", "uploaded_by", "created_at"]}),
    ]

    class Media:
        css = {"all": ["stories/image-library.css"]}
        js = ["stories/focal-point.js"]

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or obj.editable_by(request.user)

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        return request.user.has_perm("stories.change_any_image")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.uploaded_by = request.user
        save_image(obj)

    @admin.display(description="Image")
    def thumbnail(self, image):
        # A link to the image's page: its text is the image's description.
        return thumbnail(image, alt=image.alt)

    @admin.display(description="Size")
    def size(self, image):
        return f"{image.width} × {image.height}" if image.width else "-"

    @admin.display(description="Click the point to keep")
    def focal_point_picker(self, image):
        rendition = image.rendition("lead", 800) if image.pk else None
        if rendition is None:
            return "Save the image first; then click it here to choose its focal point."
        # The marker is placed by focal-point.js (no inline style under the CSP).
        return format_html(
            '<div class="focal-picker" tabindex="0" role="group" '
            'aria-label="Focal point: click the image, or use the arrow keys">'
            '<img src="{}" width="{}" height="{}" alt="{}" draggable="false">'
            '<span class="focal-marker" aria-hidden="true"></span></div>',
            rendition["url"],
            rendition["width"],
            rendition["height"],
            image.alt,
        )

    @admin.display(description="Crops")
    def crops(self, image):
        shapes = [
            ("card", "Card 3:2"),
            ("wide", "Wide 16:9"),
            ("og", "Social 1.91:1"),
        ]
        if not image.pk:
            return "-"
        return format_html(
            '<div class="image-crops">{}</div>',
            format_html_join(
                "",
                "<figure>{}<figcaption>{}</figcaption></figure>",
                ((thumbnail(image, shape, 160), label) for shape, label in shapes),
            ),
        )


class ImageAutocomplete(AutocompleteSelect):
    """The admin's image search, with a thumbnail of the image chosen when the form loaded
    (image-picker.js hides it once another is chosen)."""

    def render(self, name, value, attrs=None, renderer=None):
        select = super().render(name, value, attrs, renderer)
        image = Image.objects.filter(pk=value).first() if value else None
        if image is None:
            return select
        return format_html(
            '{}<div class="chosen-image" data-for="{}">{}</div>',
            select,
            (attrs or {}).get("id", ""),
            thumbnail(image, "lead", 160),
        )

    @property
    def media(self):
        return super().media + forms.Media(
            css={"all": ["stories/image-library.css"]}, js=["stories/image-picker.js"]
        )


class LibraryImagePickerMixin:
    """For admins with a foreign key to the library (a story's lead image, a byline's
    photo) in ``autocomplete_fields``: searched with a thumbnail of the current choice."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Image and db_field.name in self.get_autocomplete_fields(
            request
        ):
            kwargs.setdefault(
                "widget", ImageAutocomplete(db_field, self.admin_site, using=kwargs.get("using"))
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
