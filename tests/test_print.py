"""The story page on paper: its address printed, what only a screen can use left out, the
image sized for a page, black on white."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from .factories import StoryFactory

pytestmark = pytest.mark.django_db

STYLESHEET = Path(settings.BASE_DIR) / "static" / "css" / "site.css"


def print_rules():
    css = STYLESHEET.read_text(encoding="utf-8")
    start = css.index("@media print {")
    depth, end = 0, start
    for end in range(start, len(css)):
        depth += {"{": 1, "}": -1}.get(css[end], 0)
        if depth == 0 and css[end] == "}":
            break
    return css[start:end]


def test_the_story_page_carries_its_absolute_address_for_print(client):
    story = StoryFactory(published=True)
    html = client.get(story.get_absolute_url()).content.decode()
    address = f"http://testserver{story.get_absolute_url()}"
    assert (
        f'<p class="story__address print-only">Read online: <a class="canonical" '
        f'href="{address}">{address}</a></p>'
    ) in html


def test_the_address_is_shown_only_in_print():
    css = STYLESHEET.read_text(encoding="utf-8")
    outside_print = css.replace(print_rules(), "")
    assert re.search(r"\.print-only \{ display: none; \}", outside_print)
    assert re.search(r"\.print-only \{ display: block !important; \}", print_rules())


def test_print_leaves_out_navigation_footer_and_related_and_sizes_the_image():
    rules = print_rules()
    hidden = re.search(r"([^{}]+)\{ display: none !important; \}", rules)[1]
    for selector in (".section-nav", ".site-search", ".site-footer", ".story-related"):
        assert selector in hidden
    assert re.search(r"\.story__image img \{[^}]*max-height: 45vh", rules)
    assert re.search(r"\.story__image img \{[^}]*max-width: 100%", rules)
    assert "--paper: #fff; --ink: #000;" in rules
