"""SQLite's planner statistics as ``make bench``'s 10,000-story newsroom has them, for tests
of a query's plan: with a handful of rows, the planner's choices are not a newsroom's."""

from django.db import connection

BENCH_STATISTICS = [
    ("stories_story", "story_updated_idx", "10000 1"),
    ("stories_story", "story_published_idx", "10000 1 1"),
    ("stories_story", "story_section_order_idx", "10000 1250 1250 1 1"),
    ("stories_story", "story_live_order_idx", "10000 10000 1 1"),
    ("stories_story", "stories_story_lead_image_id_b753e6f9", "10000 2000"),
    ("stories_story", "stories_story_created_by_id_052bf6c8", "10000 10000"),
    ("stories_story", "sqlite_autoindex_stories_story_1", "10000 1"),
    ("stories_story_fts_idx", "stories_story_fts_idx", "829 56 1"),
    ("stories_story_fts_docsize", None, "10000"),
    ("stories_story_fts_content", None, "10000"),
    ("stories_story_fts_data", None, "4556"),
]


def use_bench_statistics():
    """Analyze the test database, then give the story table and its search index the
    bench's statistics (tables with no rows, such as the pins', keep none, as there)."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.executemany(
            "DELETE FROM sqlite_stat1 WHERE tbl = %s AND idx IS %s",
            [(table, index) for table, index, _ in BENCH_STATISTICS],
        )
        cursor.executemany("INSERT INTO sqlite_stat1 VALUES (%s, %s, %s)", BENCH_STATISTICS)
        cursor.execute("ANALYZE sqlite_schema")  # the planner reads them again
