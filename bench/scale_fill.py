"""Fill a PostgreSQL database with a million stories by set-based SQL, to study query plans.

    python bench/scale_fill.py [--database newsroom_scale_dev] [--stories 1000000]
        [--server-url postgres://postgres@127.0.0.1:5432] [--workers 2] [--ready-file PATH]

A development tool, not a benchmark: **the official figures come from ``make bench-scale``**
(``bench/scale.py``), which builds its archives through the importer, as a newsroom would.
That takes 25 minutes and more on an idle two-core machine; this takes about ten on a loaded
one (load 5-10), so that the plans of reader pages, search and the desk can be studied at
1,000,000 stories.

The database is dropped, created and migrated (``manage.py migrate``), then filled with:
8 sections in ``bench/fakenews.py``'s ``SECTIONS`` shares, 500 bylines, 2,000 tags (country
names, then pairs of ``fakenews.WORDS``), one byline and three tags per story, and per story
a headline and deck as fakenews writes them and five 50-word paragraphs of ``fakenews.WORDS``
(drawn from a seeded pool of 4,096 paragraphs), stored as the importer stores them: ``body``
as ``richtext.paragraphs_html`` writes it, ``body_plain`` as ``richtext.body_text`` reads it.
1 % of stories are drafts and 1 % in review (no publication time, as the desk makes them);
the rest are published, one story every 10 minutes going back from now, the newest with the
highest id. Picks are deterministic (``hashint8`` of the story id), so every fill is the same.

The search vector is written by the database's own trigger (``stories_story_search_row``,
``stories.search_index``), as for the importer: each chunk writes its byline and tag links
first with the search triggers paused, then the story rows with them on, so each story's
row trigger indexes it once, whole. Secondary indexes are dropped during the fill and made
again afterwards from their own definitions (``pg_indexes``); constraints stay. The fill
ends with ``VACUUM ANALYZE``, as autovacuum would leave a table that has settled (visibility
map for index-only scans, statistics for the planner). No revisions are written: no page
measured reads them.
"""

import argparse
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))

POOL = 4096  # paragraphs, headlines and decks to draw from
BYLINES = 500
TAGS = 2000
TAGS_PER_STORY = 3
PARAGRAPHS_PER_STORY = 5
PARAGRAPH_WORDS = 50
SLOT_MINUTES = 10
# Kinds of pick per story, each its own stream of hashint8(id * PICKS + kind).
PICKS = 16
TABLES = ("stories_story", "stories_storybyline", "stories_taggedstory")
STATISTICS_FIRST = ("stories_byline", "taggit_tag", "stories_storybyline", "stories_taggedstory")


def pick(kind, count):
    """SQL: a deterministic number in [0, count) for story ``i`` and this kind of pick."""
    return f"mod(hashint8(i * {PICKS} + {kind})::bigint + 2147483648, {count})"


def django_env(database_url):
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    env["DJANGO_SETTINGS_MODULE"] = "newsroom.settings"
    env.setdefault("SECRET_KEY", "bench-scale-only-" + "k" * 40)
    env.setdefault("NEWSROOM_VAR_DIR", str(BENCH_DIR / "work" / "var"))
    return env


def recreate(server_url, database, database_url):
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=ROOT,
        env=django_env(database_url),
        check=True,
    )


def newsroom_rows(rng):
    """Sections, bylines, tags and the text pools, generated in Python from fakenews."""
    import fakenews
    from django.utils.text import slugify

    from stories import richtext

    sections = [
        (number, name, slug, position)
        for position, (number, (slug, name, _share)) in enumerate(
            enumerate(fakenews.SECTIONS, start=1)
        )
    ]
    bylines = [
        (number, name, slugify(name))
        for number, name in enumerate(fakenews.byline_names(BYLINES, rng), start=1)
    ]
    tag_names, slugs = [], set()
    countries = fakenews.country_names(10_000)
    pairs = ((a, b) for a in fakenews.WORDS for b in fakenews.WORDS if a != b)
    for name in countries:
        if slugify(name) not in slugs:
            tag_names.append(name)
            slugs.add(slugify(name))
    for a, b in pairs:
        if len(tag_names) == TAGS:
            break
        name = f"{a} {b}"
        if slugify(name) not in slugs:
            tag_names.append(name)
            slugs.add(slugify(name))
    tags = [(number, name, slugify(name)) for number, name in enumerate(tag_names, start=1)]

    paragraphs = []
    for number in range(POOL):
        (text,) = fakenews.body_paragraphs(rng, PARAGRAPH_WORDS)
        paragraphs.append((number, richtext.paragraphs_html([text]), text))
    # The body is the paragraphs' HTML one after another, its plain text the paragraphs
    # separated by a blank line: check that against richtext as it is now.
    sample = [paragraphs[n] for n in range(PARAGRAPHS_PER_STORY)]
    body = "".join(html for _n, html, _text in sample)
    assert body == richtext.paragraphs_html([text for _n, _html, text in sample])
    assert richtext.body_text(body) == "\n\n".join(text for _n, _html, text in sample)

    headlines = []
    for number in range(POOL):
        words = fakenews.headline(rng, "").rstrip()
        headlines.append((number, words, slugify(words)))
    decks = [(number, fakenews.deck(rng)) for number in range(POOL)]
    return sections, bylines, tags, paragraphs, headlines, decks


def section_case(kind):
    """SQL: a section id by ``fakenews.SECTIONS``' shares."""
    import fakenews

    parts, upper = [], 0
    for number, (_slug, _name, share) in enumerate(fakenews.SECTIONS, start=1):
        upper += round(share * 1000)
        parts.append(f"WHEN {pick(kind, 1000)} < {upper} THEN {number}")
    return f"CASE {' '.join(parts)} ELSE {len(fakenews.SECTIONS)} END"


def write_newsroom(conn, rows):
    sections, bylines, tags, paragraphs, headlines, decks = rows
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO stories_section (id, name, slug, description, position) "
            "VALUES (%s, %s, %s, '', %s)",
            sections,
        )
        cur.executemany(
            "INSERT INTO stories_byline (id, name, slug, role, bio) "
            "VALUES (%s, %s, %s, 'Staff writer', '')",
            bylines,
        )
        cur.executemany("INSERT INTO taggit_tag (id, name, slug) VALUES (%s, %s, %s)", tags)
        cur.execute(
            "CREATE UNLOGGED TABLE scale_fill_paragraph (n int PRIMARY KEY, html text, plain text);"
            "CREATE UNLOGGED TABLE scale_fill_headline (n int PRIMARY KEY, words text, slug text);"
            "CREATE UNLOGGED TABLE scale_fill_deck (n int PRIMARY KEY, words text)"
        )
        with cur.copy("COPY scale_fill_paragraph (n, html, plain) FROM STDIN") as copy:
            for row in paragraphs:
                copy.write_row(row)
        with cur.copy("COPY scale_fill_headline (n, words, slug) FROM STDIN") as copy:
            for row in headlines:
                copy.write_row(row)
        with cur.copy("COPY scale_fill_deck (n, words) FROM STDIN") as copy:
            for row in decks:
                copy.write_row(row)
    conn.commit()


def drop_secondary_indexes(conn):
    """Drop the indexes no constraint owns; returns their definitions to make them again."""
    definitions = conn.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """,
        [list(TABLES)],
    ).fetchall()
    for name, _definition in definitions:
        conn.execute(f'DROP INDEX "{name}"')
    conn.commit()
    return [definition for _name, definition in definitions]


def fill_chunk(database_url, low, high, total):
    """Stories ``low`` to ``high`` with their links, in one transaction."""
    slot = f"(now_minute - ({total} - i) * interval '{SLOT_MINUTES} minutes')"
    status = f"CASE {pick(0, 100)} WHEN 0 THEN 'draft' WHEN 1 THEN 'review' ELSE 'published' END"
    paragraph_joins = " ".join(
        f"JOIN scale_fill_paragraph p{k} ON p{k}.n = {pick(5 + k, POOL)}"
        for k in range(PARAGRAPHS_PER_STORY)
    )
    body = " || ".join(f"p{k}.html" for k in range(PARAGRAPHS_PER_STORY))
    body_plain = " || E'\\n\\n' || ".join(f"p{k}.plain" for k in range(PARAGRAPHS_PER_STORY))
    tag = f"mod({pick(3, TAGS)} + k * (1 + {pick(4, TAGS // TAGS_PER_STORY)}), {TAGS}) + 1"
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        # The links first, unindexed (foreign keys are checked at commit), then each story
        # indexed once by its row trigger, as the importer does (search_index_resumed).
        cur.execute("SELECT set_config('newsroom.search_paused', 'on', true)")
        cur.execute(
            "INSERT INTO stories_storybyline (id, position, byline_id, story_id) "
            f"SELECT i, 0, 1 + {pick(2, BYLINES)}, i"
            " FROM generate_series(%s::bigint, %s::bigint) i",
            [low, high],
        )
        cur.execute(
            # Ids in tag order, so the document lists the tags in one order whichever
            # index reads them (the trigger's, or a later re-index's).
            "INSERT INTO stories_taggedstory (id, content_object_id, tag_id) "
            f"SELECT (i - 1) * {TAGS_PER_STORY} + row_number() OVER (PARTITION BY i ORDER BY tag),"
            f" i, tag FROM (SELECT i, {tag} AS tag FROM generate_series(%s::bigint, %s::bigint) i,"
            f" generate_series(0, {TAGS_PER_STORY - 1}) k) links",
            [low, high],
        )
        cur.execute("SELECT set_config('newsroom.search_paused', 'off', true)")
        cur.execute(
            f"""
            INSERT INTO stories_story (id, headline, slug, deck, body, body_plain, status,
                published_at, created_at, updated_at, section_id, dateline, version)
            SELECT i, h.words || ' ' || i, h.slug || '-' || i, d.words, {body}, {body_plain},
                s.status, CASE s.status WHEN 'published' THEN {slot} END, {slot}, {slot},
                {section_case(1)}, '', 1
            FROM generate_series(%s::bigint, %s::bigint) i
            CROSS JOIN (SELECT date_trunc('minute', now()) AS now_minute) n
            CROSS JOIN LATERAL (SELECT {status} AS status) s
            JOIN scale_fill_headline h ON h.n = {pick(10, POOL)}
            JOIN scale_fill_deck d ON d.n = {pick(11, POOL)}
            {paragraph_joins}
            """,
            [low, high],
        )
        conn.commit()
    return high - low + 1


def finish(conn, definitions):
    conn.execute("SET maintenance_work_mem = '512MB'")
    for definition in definitions:
        started = time.monotonic()
        conn.execute(definition)
        conn.commit()
        print(f"  {definition.split(' ON ')[0]}: {time.monotonic() - started:.0f} s", flush=True)
    conn.execute("DROP TABLE scale_fill_paragraph, scale_fill_headline, scale_fill_deck")
    for table, column in (
        ("stories_section", "id"),
        ("stories_byline", "id"),
        ("taggit_tag", "id"),
        ("stories_story", "id"),
        ("stories_storybyline", "id"),
        ("stories_taggedstory", "id"),
    ):
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
            f"(SELECT max({column}) FROM {table}))"
        )
    conn.commit()
    conn.autocommit = True
    conn.execute("VACUUM (ANALYZE)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="newsroom_scale_dev")
    parser.add_argument("--server-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--stories", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ready-file", help="touched when the database is complete")
    args = parser.parse_args()

    database_url = f"{args.server_url}/{args.database}"
    os.environ.update(django_env(database_url))
    sys.path.insert(0, str(BENCH_DIR))
    import django

    django.setup()

    started = time.monotonic()
    recreate(args.server_url, args.database, database_url)
    rows = newsroom_rows(random.Random(16))
    with psycopg.connect(database_url) as conn:
        write_newsroom(conn, rows)
        definitions = drop_secondary_indexes(conn)
    print(f"migrated, newsroom written: {time.monotonic() - started:.0f} s", flush=True)

    chunks = [
        (low, min(low + args.chunk - 1, args.stories))
        for low in range(1, args.stories + 1, args.chunk)
    ]
    # The first chunk alone, then statistics: without them (and autovacuum may be off, or
    # not yet round) the search document's lookups of a story's links and names are planned
    # for tables of unknown size, at 26 ms a story instead of 0.5 ms.
    done = fill_chunk(database_url, *chunks[0], args.stories)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"ANALYZE {', '.join(STATISTICS_FIRST)}")
    print(f"  {done:,} stories: {time.monotonic() - started:.0f} s", flush=True)
    with ThreadPoolExecutor(args.workers) as pool:
        futures = [
            pool.submit(fill_chunk, database_url, low, high, args.stories)
            for low, high in chunks[1:]
        ]
        for future in futures:
            done += future.result()
            print(f"  {done:,} stories: {time.monotonic() - started:.0f} s", flush=True)

    with psycopg.connect(database_url) as conn:
        finish(conn, definitions)
    print(f"done: {args.stories:,} stories in {time.monotonic() - started:.0f} s", flush=True)
    if args.ready_file:
        Path(args.ready_file).touch()


if __name__ == "__main__":
    main()
