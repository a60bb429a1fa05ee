"""bench/scale_fill.py: a small fill has the newsroom, the shares and the search vectors the
database's own definitions give (PostgreSQL only; a database of its own, dropped after)."""

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL tool"),
]


def test_a_small_fill_is_a_consistent_newsroom():
    settings = connection.settings_dict
    server = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}"
    database = f"{settings['NAME']}_fill"
    subprocess.run(
        [
            sys.executable,
            "bench/scale_fill.py",
            f"--server-url={server}",
            f"--database={database}",
            "--stories=3000",
            "--chunk=1000",
        ],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    try:
        with psycopg.connect(f"{server}/{database}") as conn:

            def one(sql):
                return conn.execute(sql).fetchone()

            assert one("SELECT count(*) FROM stories_story") == (3000,)
            assert one("SELECT count(*) FROM stories_section") == (8,)
            assert one("SELECT count(*) FROM taggit_tag") == (2000,)
            assert one("SELECT count(*) FROM stories_byline") == (500,)
            links, tags = one("SELECT count(*), count(DISTINCT tag_id) FROM stories_taggedstory")
            assert links == 9000 and tags > 1900
            assert one(
                "SELECT count(DISTINCT (content_object_id, tag_id)) FROM stories_taggedstory"
            ) == (9000,)
            assert one("SELECT count(*) FROM stories_storybyline") == (3000,)
            # Every vector has the words and weights of the document the database's own
            # function makes of the story (the positions of the bylines' and tags' words
            # follow the order the links are read in, which no plan promises).
            words = (
                "(SELECT array_agg((u.lexeme, array(SELECT DISTINCT w FROM unnest(u.weights) w"
                " ORDER BY w))::text ORDER BY u.lexeme) FROM unnest({}) u)"
            )
            assert one(
                "SELECT count(*) FROM stories_story s WHERE s.search_vector IS NULL OR "
                + words.format("s.search_vector")
                + " IS DISTINCT FROM "
                + words.format("stories_story_search_document(s)")
            ) == (0,)
            drafts, review, published = (
                one(f"SELECT count(*) FROM stories_story WHERE status = '{status}'")[0]
                for status in ("draft", "review", "published")
            )
            assert 0 < drafts < 100 and 0 < review < 100 and published > 2800
            assert one(
                "SELECT count(*) FROM stories_story"
                " WHERE (status = 'published') <> (published_at IS NOT NULL)"
            ) == (0,)
            # One story every ten minutes, the newest with the highest id.
            assert one(
                "SELECT extract(epoch FROM max(created_at) - min(created_at)) / 60"
                " FROM stories_story"
            ) == (29990,)
            # Five paragraphs, the plain body the paragraphs' text.
            assert one(
                "SELECT count(*) FROM stories_story WHERE"
                " array_length(string_to_array(body, '<p>'), 1) <> 6"
                " OR array_length(string_to_array(body_plain, E'\\n\\n'), 1) <> 5"
            ) == (0,)
            next_id = one("SELECT nextval(pg_get_serial_sequence('stories_story', 'id'))")
            assert next_id == (3001,)
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
