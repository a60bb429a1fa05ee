# PostgreSQL: a story's search document looked up its bylines' and tags' names with joins
# whose plan depended on table statistics. Before the byline and tag tables were first
# analysed (a fresh database, an import of thousands of stories), the planner walked every
# byline and every tag and probed the link table for each: at 60,000 stories an import spent
# 2 ms of server time per story there, twice the rest of its writing. The names are now read
# from the story's own link rows (by the (story, byline) and (story, tag) unique indexes),
# each name by primary key: the same words, a plan that does not depend on statistics. The
# document's words are unchanged, so no index entry needs rebuilding.

from django.db import migrations

from stories.search_index import BODY_COLUMN, POSTGRES_CONFIG

DOCUMENT = """
CREATE OR REPLACE FUNCTION stories_story_search_document(story stories_story) RETURNS tsvector
LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('{config}', coalesce(story.headline, '')), 'A')
        || setweight(to_tsvector('{config}', coalesce(story.deck, '')), 'B')
        || setweight(to_tsvector('{config}',
               coalesce({bylines}, '')
               || ' ' ||
               coalesce({tags}, '')), 'C')
        || setweight(to_tsvector('{config}', coalesce(story.{body}, '')), 'D')
$$;
"""

BY_LINK_ROWS = {
    "bylines": "(SELECT string_agg((SELECT b.name FROM stories_byline b WHERE b.id = sb.byline_id),"
    " ' ') FROM stories_storybyline sb WHERE sb.story_id = story.id)",
    "tags": "(SELECT string_agg((SELECT t.name FROM taggit_tag t WHERE t.id = ts.tag_id), ' ')"
    " FROM stories_taggedstory ts WHERE ts.content_object_id = story.id)",
}
# As migration 0020 made it.
BY_JOINS = {
    "bylines": "(SELECT string_agg(b.name, ' ') FROM stories_storybyline sb"
    " JOIN stories_byline b ON b.id = sb.byline_id WHERE sb.story_id = story.id)",
    "tags": "(SELECT string_agg(t.name, ' ') FROM stories_taggedstory ts"
    " JOIN taggit_tag t ON t.id = ts.tag_id WHERE ts.content_object_id = story.id)",
}


def by_link_rows(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            DOCUMENT.format(config=POSTGRES_CONFIG, body=BODY_COLUMN, **BY_LINK_ROWS), params=None
        )


def by_joins(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            DOCUMENT.format(config=POSTGRES_CONFIG, body=BODY_COLUMN, **BY_JOINS), params=None
        )


class Migration(migrations.Migration):
    dependencies = [("stories", "0024_scale_indexes")]

    operations = [migrations.RunPython(by_link_rows, by_joins)]
