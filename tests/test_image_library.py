"""The image library: focal-point crops, the rendition API, who may change what, and the
reader pages that show library images within their query budgets."""

from io import BytesIO

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from PIL import Image as PillowImage
from PIL import ImageDraw

from stories.editorial.saving import save_image
from stories.images import SHAPE_RATIOS, focal_crop
from stories.models import Image, Story

from .admin_forms import admin_form_data
from .factories import BylineFactory, StoryFactory
from .library import library_image

pytestmark = pytest.mark.django_db

RED = (230, 20, 20)


def dotted(size, dot, radius=12):
    """A grey picture with one red dot at ``dot`` (fractions of the width and height)."""
    picture = PillowImage.new("RGB", size, (128, 128, 128))
    x, y = dot[0] * size[0], dot[1] * size[1]
    ImageDraw.Draw(picture).ellipse((x - radius, y - radius, x + radius, y + radius), fill=RED)
    buffer = BytesIO()
    picture.save(buffer, "PNG")
    return SimpleUploadedFile("dot.png", buffer.getvalue())


def has_red(path):
    with PillowImage.open(path) as made:
        colours = made.convert("RGB").getcolors(made.width * made.height)
        return any(r > 180 and g < 90 and b < 90 for _count, (r, g, b) in colours)


def login(user):
    client = Client()
    client.force_login(user)
    return client


# --- crops around the focal point -----------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "dot"),
    [((1600, 900), (0.95, 0.2)), ((600, 1200), (0.3, 0.92)), ((2400, 800), (0.04, 0.5))],
    ids=["landscape, dot near the right", "portrait, dot near the foot", "panorama, far left"],
)
def test_every_crop_keeps_the_focal_point(media_root, size, dot):
    centred = Image(file=dotted(size, dot), alt="A red dot")
    save_image(centred)
    # Cropped around the centre, some shape loses the dot: the test can tell.
    lost = [
        shape
        for shape in ("card", "wide", "og")
        for r in centred.renditions_for(shape)
        if not has_red(media_root / r["name"])
    ]
    assert lost
    focused = Image(file=dotted(size, dot), alt="A red dot", focal_x=dot[0], focal_y=dot[1])
    save_image(focused)
    for shape, ratio in SHAPE_RATIOS.items():
        made = focused.renditions_for(shape)
        assert made, shape
        for rendition in made:
            assert has_red(media_root / rendition["name"]), (shape, rendition["width"])
            if ratio is not None:
                assert abs(rendition["width"] / rendition["height"] - ratio) < 0.02


def test_moving_the_focal_point_recrops_the_image(client, editor_user, media_root):
    staff = login(editor_user)
    response = staff.post(
        reverse("admin:stories_image_add"),
        {
            "alt": "A red dot",
            "focal_x": "0.5",
            "focal_y": "0.5",
            "file": dotted((1600, 900), (0.95, 0.5)),
        },
    )
    assert response.status_code == 302
    image = Image.objects.get()
    card = image.renditions_for("card")[-1]
    assert not has_red(media_root / card["name"])
    url = reverse("admin:stories_image_change", args=[image.pk])
    data = admin_form_data(staff.get(url), focal_x="0.95", focal_y="0.5")
    assert staff.post(url, data).status_code == 302
    image.refresh_from_db()
    assert (image.focal_x, image.focal_y) == (0.95, 0.5)
    assert image.renditions["focal"] == [0.95, 0.5]
    for rendition in image.renditions_for("card"):
        assert has_red(media_root / rendition["name"])


@pytest.mark.parametrize(
    ("size", "ratio", "focal", "box"),
    [
        ((1600, 900), 3 / 2, (0.5, 0.5), (125, 0, 1475, 900)),
        ((1600, 900), 3 / 2, (1.0, 0.0), (250, 0, 1600, 900)),  # kept inside the edges
        ((1600, 900), 3 / 2, (0.0, 1.0), (0, 0, 1350, 900)),
        ((600, 1200), 16 / 9, (0.5, 0.9), (0, 862, 600, 1200)),
        ((800, 600), None, (0.1, 0.1), (0, 0, 800, 600)),
    ],
)
def test_focal_crop_is_the_largest_box_of_the_shape_nearest_the_point(size, ratio, focal, box):
    assert focal_crop(*size, ratio, *focal) == box


# --- the model and its small API --------------------------------------------------------------


def test_rendition_api_lists_urls_widths_and_heights(media_root):
    image = library_image((1600, 900))
    assert image.rendition("card", 500) == {
        "url": "/media/" + image.renditions_for("card")[2]["name"],
        "width": 640,
        "height": 427,
    }
    assert image.rendition("card")["width"] == 960  # the widest without a width
    assert image.rendition("og", 5000)["width"] == 1200
    assert image.srcset("card").count("w, ") == 3 and image.srcset("card").endswith(" 960w")
    listed = image.rendition_list()
    assert {r["shape"] for r in listed} == set(SHAPE_RATIOS)
    assert all(set(r) == {"shape", "url", "width", "height"} for r in listed)
    assert len(listed) == sum(len(image.renditions_for(shape)) for shape in SHAPE_RATIOS)
    with pytest.raises(ValueError, match="No rendition shape"):
        image.rendition("square")
    assert Image(alt="unsaved").rendition("card") is None


def test_alt_text_is_required_and_the_focal_point_must_be_inside(media_root):
    image = Image(file="images/x.jpg", alt="   ")
    with pytest.raises(ValidationError) as refused:
        image.full_clean()
    assert "alt" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        Image(file="images/x.jpg", alt="A", focal_x=1.5).full_clean()
    assert "focal_x" in refused.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        Image.objects.create(file="images/x.jpg", alt="A", focal_y=-0.1)


def test_image_admin_searches_and_shows_thumbnails(editor_user, media_root):
    library_image(alt="Harbour at dawn", credit="Ana Lima")
    library_image(alt="Parliament", caption="The vote")
    staff = login(editor_user)
    page = staff.get(reverse("admin:stories_image_changelist"), {"q": "harbour"})
    content = page.content.decode()
    assert "Harbour at dawn" in content and "Parliament" not in content
    assert 'class="image-thumbnail" src="/media/renditions/' in content
    page = staff.get(reverse("admin:stories_image_changelist"), {"q": "vote"})
    assert "Parliament" in page.content.decode()
    page = staff.get(reverse("admin:stories_image_changelist"), {"use": "unused"})
    assert page.status_code == 200 and "Parliament" in page.content.decode()


def test_story_form_picks_the_lead_image_from_the_library_with_a_thumbnail(editor_user, media_root):
    image = library_image(alt="Harbour at dawn")
    story = StoryFactory(lead_image=image)
    staff = login(editor_user)
    page = staff.get(reverse("admin:stories_story_change", args=[story.pk])).content.decode()
    assert 'class="chosen-image"' in page
    assert "/media/" + image.renditions_for("lead")[0]["name"] in page
    # The related-object popup: "+" adds a new image to the library from the story form.
    assert reverse("admin:stories_image_add") + "?_to_field=id&amp;_popup=1" in page
    assert "stories/image-picker.js" in page
    found = staff.get(
        reverse("admin:autocomplete"),
        {"app_label": "stories", "model_name": "story", "field_name": "lead_image", "term": "harb"},
    ).json()
    assert [result["text"] for result in found["results"]] == ["Harbour at dawn"]


def test_focal_point_picker_is_a_static_script_with_a_number_fallback(editor_user, media_root):
    image = library_image()
    page = login(editor_user).get(reverse("admin:stories_image_change", args=[image.pk]))
    content = page.content.decode()
    assert 'class="focal-picker" tabindex="0"' in content
    assert "stories/focal-point.js" in content
    assert 'name="focal_x"' in content and 'type="number"' in content
    assert " style=" not in content.split('class="focal-picker"', 1)[1].split("</div>", 1)[0]
    assert "<script>" not in content and " onclick=" not in content


# --- who may change what --------------------------------------------------------------------


def test_reporters_upload_and_use_images(reporter_user, media_root):
    client = login(reporter_user)
    response = client.post(
        reverse("admin:stories_image_add"),
        {"alt": "Mine", "focal_x": "0.5", "focal_y": "0.5", "file": dotted((800, 600), (0.5, 0.5))},
    )
    assert response.status_code == 302
    image = Image.objects.get()
    assert image.uploaded_by == reporter_user
    story = StoryFactory(created_by=reporter_user)
    url = reverse("admin:stories_story_change", args=[story.pk])
    assert (
        client.post(url, admin_form_data(client.get(url), lead_image=image.pk)).status_code == 302
    )
    assert Story.objects.get().lead_image == image
    # Their own image, while no published story shows it: they may correct it.
    url = reverse("admin:stories_image_change", args=[image.pk])
    assert client.post(url, admin_form_data(client.get(url), alt="Mine, fixed")).status_code == 302
    image.refresh_from_db()
    assert image.alt == "Mine, fixed"


def test_reporters_cannot_change_or_delete_images_that_are_not_theirs_to_change(
    reporter_user, editor_user, media_root
):
    others = library_image(alt="An editor's", uploaded_by=editor_user)
    own_live = library_image(alt="Mine, now on the site", uploaded_by=reporter_user)
    StoryFactory(published=True, lead_image=own_live)
    client = login(reporter_user)
    for image in (others, own_live):
        url = reverse("admin:stories_image_change", args=[image.pk])
        page = client.get(url)
        assert page.status_code == 200  # they may look, to reuse it
        assert 'name="alt"' not in page.content.decode()
        response = client.post(url, {"alt": "Vandalised", "focal_x": "0", "focal_y": "0"})
        assert response.status_code == 403
        image.refresh_from_db()
        assert image.alt != "Vandalised" and image.focal_x == 0.5
    own_unused = library_image(alt="Mine, unused", uploaded_by=reporter_user)
    for image in (others, own_unused):
        response = client.post(
            reverse("admin:stories_image_delete", args=[image.pk]), {"post": "yes"}
        )
        assert response.status_code == 403
    response = client.post(
        reverse("admin:stories_image_changelist"),
        {"action": "delete_selected", "_selected_action": [own_unused.pk], "post": "yes"},
    )
    assert Image.objects.filter(pk=own_unused.pk).exists()


def test_editors_change_and_delete_anyones_images(reporter_user, editor_user, media_root):
    image = library_image(alt="A reporter's", uploaded_by=reporter_user)
    StoryFactory(published=True, lead_image=library_image(uploaded_by=reporter_user))
    client = login(editor_user)
    url = reverse("admin:stories_image_change", args=[image.pk])
    assert client.post(url, admin_form_data(client.get(url), alt="Edited")).status_code == 302
    response = client.post(reverse("admin:stories_image_delete", args=[image.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Image.objects.filter(pk=image.pk).exists()


def test_staff_without_the_library_role_see_nothing_of_it(make_staff, media_root):
    from django.contrib.auth.models import User

    image = library_image()
    no_role = User.objects.create_user("norole", is_staff=True)
    client = login(no_role)
    assert client.get(reverse("admin:stories_image_changelist")).status_code == 403
    assert client.get(reverse("admin:stories_image_change", args=[image.pk])).status_code == 403


# --- reader pages ---------------------------------------------------------------------------


def test_reader_pages_show_library_images_within_their_query_budgets(
    client, django_assert_num_queries, django_assert_max_num_queries, media_root
):
    byline = BylineFactory(name="Ana Lima", slug="ana-lima")
    plain = StoryFactory(published=True, bylines=[byline])
    url = plain.get_absolute_url()
    byline_url = byline.get_absolute_url()
    # Cold pages (the first view after a content change), as tests/test_views.py pins them:
    # showing images adds no query (the image comes with the story row and the byline rows).
    with django_assert_num_queries(7) as byline_without:
        client.get(byline_url)
    with django_assert_max_num_queries(9) as story_without:
        client.get(url)
    Story.objects.filter(pk=plain.pk).update(lead_image=library_image(alt="The harbour"))
    byline.photo = library_image((400, 400), alt="Ana Lima")
    byline.save()
    # At most as many: the menu and footer, which the edit did not touch, stay cached.
    with django_assert_max_num_queries(len(byline_without.captured_queries)):
        page = client.get(byline_url).content.decode()
    assert 'class="byline-header__photo"' in page
    with django_assert_max_num_queries(len(story_without.captured_queries)):
        page = client.get(url).content.decode()
    assert 'alt="The harbour"' in page and 'class="byline-box__photo"' in page
    assert 'property="og:image" content="http://testserver/media/renditions/' in page
    assert "-og-" in page.split('property="og:image"', 1)[1].split(">", 1)[0]


def test_upload_new_from_the_story_form_answers_the_popup(reporter_user, media_root):
    # "+" beside "Lead image" opens the add form in a popup; saving hands the new image back.
    client = login(reporter_user)
    url = reverse("admin:stories_image_add") + "?_to_field=id&_popup=1"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "alt": "From the popup",
            "focal_x": "0.5",
            "focal_y": "0.5",
            "file": dotted((640, 480), (0.5, 0.5)),
            "_popup": "1",
            "_to_field": "id",
        },
    )
    assert response.status_code == 200
    image = Image.objects.get()
    assert "popup_response" in response.content.decode()
    assert f"&quot;value&quot;: &quot;{image.pk}&quot;" in response.content.decode()


def test_the_social_card_crop_is_a_jpeg_link_previews_read(media_root):
    """og:image is read by other sites' link previews, not all of which take WebP; a
    transparent PNG's card is flattened on white."""
    image = library_image(size=(1600, 1000), name="logo.png")
    og = image.renditions_for("og")
    assert og and all(r["name"].endswith(".jpg") for r in og)
    from PIL import Image as PillowImage

    with default_storage.open(og[0]["name"]) as stored, PillowImage.open(stored) as card:
        assert card.format == "JPEG" and card.mode == "RGB"
    assert all(r["name"].endswith(".webp") for r in image.renditions_for("card"))
