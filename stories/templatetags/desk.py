"""Template helpers for the desk (the admin)."""

from django import template

from ..editorial import story_list

register = template.Library()

register.simple_tag(story_list.choice_items, name="choice_items")
