"""The reader-side typography filter: real quotes and dashes, still escaped."""

import pytest
from django.template import Context, Template
from django.utils.safestring import mark_safe

from stories.templatetags.reader import typographic


@pytest.mark.parametrize(
    ("written", "printed"),
    [
        ('"We are not telling yet," Peskov said.', "“We are not telling yet,” Peskov said."),
        ("Kim's first trip", "Kim’s first trip"),
        ("'quoted' words", "‘quoted’ words"),
        ("the '90s", "the ’90s"),
        ('He said "it\'s over."', "He said “it’s over.”"),
        ("a pause -- then", "a pause — then"),
        ("word--word", "word—word"),
        ("then - suddenly", "then – suddenly"),
        ("wait...", "wait…"),
        ("pages 10-12 and Russia-North Korea", "pages 10-12 and Russia-North Korea"),
        ('("inside")', "(“inside”)"),
        ("Already “curly” and ’quoted’", "Already “curly” and ’quoted’"),
    ],
)
def test_typographic_prints_real_quotes_and_dashes(written, printed):
    assert typographic(written) == printed


def test_typographic_escapes_markup():
    assert typographic('<script>alert("x") & 1</script>') == (
        "&lt;script&gt;alert(“x”) &amp; 1&lt;/script&gt;"
    )


def test_typographic_leaves_safe_markup_alone():
    html = mark_safe('<a href="/x">it\'s</a>')
    assert typographic(html) == html


def test_typographic_in_a_template_is_not_escaped_twice():
    rendered = Template("{% load reader %}{{ text|typographic }}").render(
        Context({"text": 'A "deck" & <tag>'})
    )
    assert rendered == "A “deck” &amp; &lt;tag&gt;"
