"""Template tags for the desk's (the admin's) own templates, loaded as ``{% load desk %}``.

Named in ``TEMPLATES``' ``libraries`` (``newsroom/settings.py``) rather than kept in
``stories/templatetags``, whose tags are the reader's and may not import the editorial wing.
"""

from django import template

from . import story_list

register = template.Library()

register.simple_tag(story_list.choice_items, name="choice_items")
