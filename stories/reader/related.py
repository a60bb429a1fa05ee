"""What a story page offers next: "More in <section>" (the section's newest live stories)
and "Related" (live stories sharing the most tags with it, newest first among equals).

Both are read with a number of queries that does not grow with the stories, and neither
reads more rows as the archive grows. "More in" walks the section's live index
(``story_section_live_idx``) and stops after a few rows. "Related" never scans the stories
or a tag's whole list: for each of the story's tags (at most ``MAX_TAGS``) it takes the
newest ``CANDIDATES_PER_TAG`` taggings from the through table's ``(tag, story)`` index
(``tagged_story_recent_idx``), stories added last first, and only those few hundred
candidates are checked for being live, counted and ranked. A story sharing tags with this
one but older than every tag's newest ``CANDIDATES_PER_TAG`` is not offered: on a tag with
a million stories, "related" means recent. "Newest" in the window is by story id (stories
are numbered as they are written), which a bulk-loaded archive written oldest-last can
turn around; within the window the ranking uses the publication time.

Rendered once per story and content generation with the rest of the page
(``stories.reader.pieces.story_page_parts``); the cards come from the card cache
(``stories.delivery.fragments.card_groups``).
"""

from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.expressions import RawSQL
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from stories.delivery import fragments
from stories.models import Story, TaggedStory

MORE_IN_SECTION = 4
RELATED = 4
MAX_TAGS = 12
CANDIDATES_PER_TAG = 50
RELATED_TEMPLATE = "stories/_story_related.html"


def more_in_section(story, limit=MORE_IN_SECTION):
    """The newest live stories of the story's section, this one left out."""
    return list(
        Story.objects.live().for_cards().in_section(story.section_id).exclude(pk=story.pk)[:limit]
    )


def recent_taggings(tag_ids, story_id, per_tag=None):
    """SQL and parameters: the ids of the stories most recently given each tag (by story id,
    newest first), ``per_tag`` at most for each, ``story_id`` left out. One bounded index
    range per tag, glued with UNION ALL; each part is wrapped in its own SELECT, since SQLite
    takes LIMIT in a compound statement's parts only there."""
    per_tag = CANDIDATES_PER_TAG if per_tag is None else per_tag
    table = connection.ops.quote_name(TaggedStory._meta.db_table)
    story_column = connection.ops.quote_name(TaggedStory._meta.get_field("content_object").column)
    tag_column = connection.ops.quote_name(TaggedStory._meta.get_field("tag").column)
    part = (
        f"SELECT {story_column} FROM (SELECT {story_column} FROM {table}"
        f" WHERE {tag_column} = %s AND {story_column} <> %s"
        f" ORDER BY {story_column} DESC LIMIT %s) AS recent"
    )
    sql = " UNION ALL ".join(part for _ in tag_ids)
    params = [value for tag_id in tag_ids for value in (tag_id, story_id, per_tag)]
    return sql, params


def related_stories(story, tag_ids, *, exclude=(), limit=RELATED):
    """Live stories sharing tags with ``story``: the most shared tags first, then the newest.
    ``exclude``: ids of stories already offered on the page ("More in")."""
    tag_ids = sorted(set(tag_ids))[:MAX_TAGS]
    if not tag_ids:
        return []
    shared_tags = Subquery(
        TaggedStory.objects.filter(content_object=OuterRef("pk"), tag_id__in=tag_ids)
        .order_by()
        .values("content_object")
        .annotate(shared=Count("pk"))
        .values("shared"),
        output_field=IntegerField(),
    )
    return list(
        Story.objects.live()
        .for_cards()
        .filter(pk__in=RawSQL(*recent_taggings(tag_ids, story.pk)))
        .exclude(pk__in=[story.pk, *exclude])
        .annotate(shared_tags=shared_tags)
        .order_by("-shared_tags", "-published_at", "-pk")[:limit]
    )


def render_related(request, story):
    """The HTML of the story page's "More in" and "Related" lists ("" if both are empty),
    and the stories they list (their edits, or their leaving the site, must reach the page:
    ``stories.reader.pieces.story_page_parts`` keys the page by them). The story's tags are
    those ``render_story_page_parts`` prefetched (``sorted_tags``)."""
    more = more_in_section(story)
    related = related_stories(
        story, [tag.pk for tag in story.sorted_tags], exclude=[other.pk for other in more]
    )
    listed = [other.pk for other in [*more, *related]]
    if not more and not related:
        return "", listed
    more_cards, related_cards = fragments.card_groups(
        request,
        [(more, {"level": 3, "hide_section": True}), (related, {"level": 3})],
    )
    html = render_to_string(
        RELATED_TEMPLATE,
        {
            "section": story.section,
            # Rendered (and escaped) by the card template.
            "more_cards": mark_safe("\n".join(more_cards)),
            "related_cards": mark_safe("\n".join(related_cards)),
        },
    )
    return html, listed
