"""Planning an import: what would happen to each story, worked out by reading only.

For each parsed story the plan decides whether it is new, unchanged, corrected (updated) or in
conflict with an edit made since the importer wrote it, by comparing checksums: of what the
briefing asks for (``input_checksums``) and of the story as the importer last left it
(``state_checksum``). Nothing here writes; ``stories.importer.write`` carries a plan out.
"""

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from django.core.exceptions import ValidationError
from django.core.validators import validate_unicode_slug
from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.utils import timezone
from taggit.models import Tag

from stories.models import Byline, ImportRecord, Section, Story, StoryByline, TaggedStory
from stories.slugs import allocate_slugs

from .bulk import QUERY_CHUNK, chunks
from .parser import BriefingError, ParsedStory
from .places import COUNTRY_FOR_TERM, find_countries
from .report import Action
from .sources import date_from_file_name, import_key

TAGGER_FINGERPRINT = hashlib.sha256(
    json.dumps(sorted(COUNTRY_FOR_TERM.items(), key=str)).encode()
).hexdigest()[:16]


def max_length(model, field_name):
    """A field's limit as the model declares it (PostgreSQL enforces it; SQLite does not)."""
    return model._meta.get_field(field_name).max_length


def shortened(text, length=60):
    """``text`` to quote in an error message: a 1 MB name must not make a 1 MB message."""
    return text if len(text) <= length else text[: length - 1] + "…"


def check_length(text, limit, what, *, source, line=None):
    if len(text) > limit:
        raise BriefingError(
            f"{what} “{shortened(text)}” is {len(text):,} characters long; "
            f"at most {limit:,} are allowed",
            source=source,
            line=line,
        )


def publication_time(day, now):
    """Today's stories go live at import time; any other day at noon, site time."""
    if day is None or day == timezone.localdate(now):
        return now
    return timezone.make_aware(datetime.combine(day, time(12)))


def section_name_from_slug(slug):
    return slug.replace("-", " ").replace("_", " ").strip().title() or slug


def story_text(parsed):
    return "\n".join((parsed.headline, parsed.deck, *parsed.paragraphs))


def hashed_bytes(parts):
    """The bytes ``hash_parts`` hashes: each string's UTF-8 length, ":", the string."""
    encoded = [part.encode("utf-8", "surrogatepass") for part in parts]
    return b"".join([b"%d:%s" % (len(part), part) for part in encoded])


def hash_parts(parts):
    """SHA-256 of a sequence of strings. Each is length-prefixed, so no two different
    sequences hash the same bytes; hashing the strings directly is several times faster than
    hashing them as JSON, which escapes every character of a 600-word body first."""
    # One buffer hashed once: two update() calls per part cost more than the hashing.
    return hashlib.sha256(hashed_bytes(parts)).hexdigest()


def input_checksums(stories, section_slug, status, day):
    """What the briefing asks for, of each of its stories, in order. Tags are not in it,
    because they follow from the text and the tagger; the tagger's fingerprint is, so a new
    country list re-tags on re-import. For half the work of one ``hash_parts`` a story: what
    follows a story's bylines is the same for the whole briefing, so it is encoded once, and
    each story's parts are encoded without a call per story. (The same bytes are hashed: the
    checksums stored by earlier imports still match.)"""
    tail = hashed_bytes(
        ("\x1e", TAGGER_FINGERPRINT, section_slug, status, day.isoformat() if day else "")
    )
    sha256 = hashlib.sha256
    checksums = []
    for parsed in stories:
        encoded = [
            part.encode("utf-8", "surrogatepass")
            for part in (parsed.headline, parsed.deck, *parsed.paragraphs, "\x1e", *parsed.bylines)
        ]
        hashed = [b"%d:%s" % (len(part), part) for part in encoded]
        hashed.append(tail)
        checksums.append(sha256(b"".join(hashed)).hexdigest())
    return checksums


def state_checksum(story, section_slug, byline_slugs, tag_names):
    """Everything an editor could change about a story, as stored. ``story`` is a Story,
    or a row read with the names of its fields.

    Sections and bylines count by slug, not id: a backup restored into a fresh database
    (natural keys) gives them new ids, and its stories must still read as unedited.
    (Records written before migration 0007 hashed these as JSON; it rewrote them.)
    """
    # In UTC, so a time zone setting cannot make a fresh read look like an edit.
    published_at = story.published_at.astimezone(UTC).isoformat() if story.published_at else ""
    # Each list is preceded by its length, so where one ends is never in doubt.
    return hash_parts(
        (
            story.headline,
            story.slug,
            story.deck,
            story.body,
            section_slug,
            story.status,
            published_at,
            str(len(byline_slugs)),
            *byline_slugs,
            str(len(tag_names)),
            *sorted(tag_names),
        )
    )


@dataclass(slots=True)
class StoredImport:
    """An earlier import of one story, as plain values: what planning compares and reports.

    At 10,000 stories, reading model rows cost more than the comparison itself, so models
    are loaded only for the stories an import changes (``Writer.update_stories`` in
    ``stories.importer.write``).
    """

    record_id: int
    story_id: int
    source: str
    headline: str
    input_checksum: str
    slug: str
    status: str
    published_at: datetime | None
    created_at: datetime | None
    tags: list[str]  # as stored, in mention order (read as ids, then named)
    is_edited: bool  # changed by anyone since the importer wrote it


@dataclass
class PlannedStory:
    source: str  # the briefing's import key
    file: str  # where the briefing came from, for errors
    parsed: ParsedStory
    tags: list[str] | None
    day: date | None
    checksum: str
    stored: StoredImport | None = None
    action: Action = Action.CREATED
    reason: str = ""
    # Where the story is, or will be: what the report links to.
    story_id: int | None = None
    slug: str = ""
    published_at: datetime | None = None
    created_at: datetime | None = None


class Plan:
    """One import run's plan: ``make()`` reads and decides; ``stories.importer.write`` writes
    it, or ``stories.importer.report`` previews it."""

    def __init__(
        self,
        briefings,
        *,
        section="world",
        day=None,
        status=Story.Status.PUBLISHED,
        user=None,
        now=None,
        restore_deleted=False,
    ):
        self.briefings = list(briefings)
        self.section_slug = section
        self.day = day
        self.status = status
        self.user = user
        self.now = now or timezone.now()
        self.planned = []
        self.missing = []
        self.restore_deleted = restore_deleted
        self.restored_records = []  # tombstones (ids) of deleted stories imported again
        self.section = None  # the existing section, once planned; None if it is to be made
        self.tags_within_limits = set()
        # Someone who may not publish (a Reporter) imports undated drafts: a date from the
        # form or the file name would be kept on the draft and, when an editor later
        # publishes it, put it in the past. Only an editor dates an import, on purpose.
        # No user is the command line, run by whoever runs the site.
        self.may_publish = user is None or user.has_perm("stories.publish_story")
        self.may_add_section = user is None or user.has_perm("stories.add_section")

    def validate_options(self):
        source = ", ".join(b.source for b in self.briefings) or "<briefing>"
        try:
            validate_unicode_slug(self.section_slug)
        except ValidationError:
            raise BriefingError(
                f"--section {self.section_slug!r} is not a slug (letters, numbers, - and _)",
                source=source,
            ) from None
        check_length(
            self.section_slug, max_length(Section, "slug"), "--section slug", source=source
        )
        if self.status not in Story.Status.values:
            raise BriefingError(f"unknown status {self.status!r}", source=source)
        if not self.may_publish:
            if self.status != Story.Status.DRAFT:
                raise BriefingError(
                    "only editors may import stories as anything but drafts", source=source
                )
            if self.day is not None:
                raise BriefingError(
                    "only editors may give an import a publication date", source=source
                )
        self.section = Section.objects.filter(slug=self.section_slug).first()
        if self.section is None:
            if not self.may_add_section:
                raise BriefingError(
                    f"there is no section “{self.section_slug}”, and only editors may create "
                    "sections: choose an existing one",
                    source=source,
                )
            check_length(
                section_name_from_slug(self.section_slug),
                max_length(Section, "name"),
                f"the name of new section “{shortened(self.section_slug)}”,",
                source=source,
            )
        seen = {}
        for briefing in self.briefings:
            key = import_key(briefing)
            if key in seen:
                raise BriefingError(
                    f"two briefings named {key} in one import ({seen[key]} and "
                    f"{briefing.source}); stories are matched by file name",
                    source=briefing.source,
                )
            seen[key] = briefing.source

    def check_limits(self, briefing):
        """Every text the import would store fits its field, or a ``BriefingError`` names
        the file and line (on PostgreSQL, an overlong value was a 500 at the INSERT)."""
        source = briefing.source
        check_length(
            import_key(briefing), max_length(ImportRecord, "source"), "file name", source=source
        )
        headline_limit = min(max_length(Story, "headline"), max_length(ImportRecord, "headline"))
        deck_limit = max_length(Story, "deck")
        name_limit = max_length(Byline, "name")
        # A comparison first, and the call that raises only for a text over its limit: a
        # call per text was most of this loop's time.
        for parsed in briefing.stories:
            if len(parsed.headline) > headline_limit:
                check_length(
                    parsed.headline, headline_limit, "headline", source=source, line=parsed.line
                )
            if len(parsed.deck) > deck_limit:
                check_length(parsed.deck, deck_limit, "deck", source=source, line=parsed.line)
            for name in parsed.bylines:
                if len(name) > name_limit:
                    check_length(
                        name, name_limit, "byline name", source=source, line=parsed.bylines_line
                    )

    def check_tag_limits(self, planned):
        # Tags come from the country list, so this guards a future edit of that list. Each
        # name once: slugifying every story's tags again was a fifth of planning's time.
        for name in planned.tags:
            if name in self.tags_within_limits:
                continue
            for value, limit, what in (
                (name, max_length(Tag, "name"), "tag"),
                (Tag().slugify(name), max_length(Tag, "slug"), "tag slug"),
            ):
                check_length(value, limit, what, source=planned.file, line=planned.parsed.line)
            self.tags_within_limits.add(name)

    def make(self):
        self.validate_options()
        for briefing in self.briefings:
            self.check_limits(briefing)
            # A Reporter's stories are undated (see __init__), whatever the file name says.
            day = (self.day or date_from_file_name(briefing)) if self.may_publish else None
            source = import_key(briefing)
            checksums = input_checksums(briefing.stories, self.section_slug, self.status, day)
            for parsed, checksum in zip(briefing.stories, checksums, strict=True):
                self.planned.append(
                    PlannedStory(
                        source=source,
                        file=briefing.source,
                        parsed=parsed,
                        tags=None,
                        day=day,
                        checksum=checksum,
                    )
                )
        stored_imports = self.stored_imports()
        deleted = self.deleted_imports()
        for planned in self.planned:
            stored = stored_imports.pop((planned.source, planned.parsed.headline), None)
            planned.stored = stored
            if stored is None:
                planned.action = Action.CREATED
                tombstone = deleted.get((planned.source, planned.parsed.headline))
                if tombstone is not None:
                    self.plan_deleted(planned, *tombstone)
            else:
                planned.story_id, planned.slug = stored.story_id, stored.slug
                planned.created_at = stored.created_at
                if stored.is_edited:
                    planned.action = Action.CONFLICT
                    planned.reason = "changed since the importer last wrote it; left alone"
                elif stored.input_checksum == planned.checksum:
                    planned.action = Action.UNCHANGED
                    # Same text, same tagger: the tags are the ones stored, in mention order.
                    planned.tags = stored.tags
                elif (
                    stored.status == Story.Status.PUBLISHED
                    and self.status != Story.Status.PUBLISHED
                ):
                    # Taking a story off the site is an editor's act in the admin, never a
                    # side effect of re-importing its file as a draft.
                    planned.action = Action.CONFLICT
                    planned.reason = (
                        "published; an import never unpublishes a story (import with status "
                        "published to update it, or unpublish it in the admin)"
                    )
                else:
                    planned.action = Action.UPDATED
            if planned.action in (Action.UNCHANGED, Action.CONFLICT):
                planned.published_at = stored.published_at
            elif planned.action == Action.DELETED:
                planned.published_at = None
            else:
                planned.published_at = self.published_at_for(planned)
            if planned.tags is None:
                # Tagging is the costly part of planning; unchanged stories skip it. Stories
                # left alone (a conflict, deleted in the newsroom) are tagged too: the report
                # gives every story the tags its briefing gives it, written or not.
                planned.tags = find_countries(story_text(planned.parsed))
                self.check_tag_limits(planned)
        self.missing = sorted(stored_imports.values(), key=lambda s: (s.source, s.record_id))
        return self

    def stored_imports(self):
        """Earlier imports of these files by (file name, headline), each checked for edits
        made since: its story's stored state against the checksum the importer wrote."""
        sources = {import_key(briefing) for briefing in self.briefings}
        if database_hashes_as_python():
            return stored_imports_checked_in_database(sources)
        return stored_imports_checked_here(sources)

    def deleted_imports(self):
        """Tombstones of these files' stories deleted in the newsroom (``ImportRecord``
        with no story), as ``(record id, deleted_at, deleted by)`` by (file name, headline)."""
        sources = {import_key(briefing) for briefing in self.briefings}
        records = ImportRecord.objects.filter(source__in=sources, story__isnull=True)
        return {
            (source, headline): tombstone
            for source, headline, *tombstone in records.values_list(
                "source", "headline", "pk", "deleted_at", "deleted_by__username"
            )
        }

    def plan_deleted(self, planned, record_id, deleted_at, deleted_by):
        """A story the newsroom deleted is not brought back by re-importing its file, as
        an edit is not overwritten; only on the operator's word (``--restore-deleted``)."""
        when = f"on {timezone.localdate(deleted_at):%Y-%m-%d}" if deleted_at else "earlier"
        if deleted_by:
            when += f" by {deleted_by}"
        if self.restore_deleted:
            self.restored_records.append(record_id)
            planned.reason = f"deleted in the newsroom {when}; imported again (restored)"
        else:
            planned.action = Action.DELETED
            planned.reason = (
                f"deleted in the newsroom {when}; not imported again "
                "(manage.py import_briefing --restore-deleted brings it back)"
            )

    def published_at_for(self, planned):
        if not self.may_publish:
            return None
        if planned.day is None and planned.stored is not None:
            return planned.stored.published_at
        return publication_time(planned.day, self.now)

    def allocate_new_slugs(self):
        """The slugs the new stories get (reads only: a dry run reports them too)."""
        new = [planned for planned in self.planned if planned.action == Action.CREATED]
        slugs = allocate_slugs(
            Story, [p.parsed.headline for p in new], max_length=max_length(Story, "slug")
        )
        for planned, slug in zip(new, slugs, strict=True):
            planned.slug = slug


def _part(sql):
    """SQL for one part of ``hash_parts``: the UTF-8 length of the text, ":", the text (the
    database's encoding is UTF-8, so ``octet_length`` counts what Python encodes). A list of
    arguments for one ``concat()``, which builds the whole text once (``||`` after ``||``
    copied it again for every part)."""
    return [f"octet_length({sql})::text", "':'", sql]


# ``state_checksum`` in SQL, part for part. ``published_at`` as Python's isoformat() writes
# it in UTC (microseconds only when there are some); byline slugs by position, tag names in
# code point order (what Python's sorted() gives; "C" compares UTF-8 bytes, the same order).
# Each list (its length, then its items) is one subquery, evaluated only when the checksum is.
_PUBLISHED_ISO = """CASE WHEN s.published_at IS NULL THEN '' ELSE
    to_char(s.published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
    || CASE WHEN extract(microseconds FROM s.published_at)::bigint %% 1000000 = 0 THEN ''
        ELSE to_char(s.published_at AT TIME ZONE 'UTC', '.US') END
    || '+00:00' END"""
_BYLINE_PARTS = """(SELECT concat({count},
        string_agg(concat({slug}), '' ORDER BY sb.position, sb.id))
    FROM stories_storybyline sb JOIN stories_byline b ON b.id = sb.byline_id
    WHERE sb.story_id = s.id)""".format(
    count=", ".join(_part("count(*)::text")), slug=", ".join(_part("b.slug"))
)
_TAG_PARTS = """(SELECT concat({count},
        string_agg(concat({name}), '' ORDER BY t.name COLLATE "C"))
    FROM stories_taggedstory ts JOIN taggit_tag t ON t.id = ts.tag_id
    WHERE ts.content_object_id = s.id)""".format(
    count=", ".join(_part("count(*)::text")), name=", ".join(_part("t.name"))
)
_STATE_CHECKSUM_SQL = "encode(sha256(convert_to(concat({}), 'UTF8')), 'hex')".format(
    ", ".join(
        [
            *(
                argument
                for column in ("s.headline", "s.slug", "s.deck", "s.body")
                for argument in _part(column)
            ),
            *_part("section.slug"),
            *_part("s.status"),
            *_part(f"({_PUBLISHED_ISO})"),
            _BYLINE_PARTS,
            _TAG_PARTS,
        ]
    )
)
# Whether story ``s`` (its section joined as ``section``) was changed since the importer
# wrote its record ``r``: saved since, or its state hashes otherwise. (Migration 0029 checks
# every existing record with it.)
STATE_EDITED_SQL = f"(s.updated_at <> r.written_at OR {_STATE_CHECKSUM_SQL} <> r.state_checksum)"
# An untouched record (``ImportRecord.untouched``: no write since the importer's, as the
# triggers of migration 0029 note) needs no hashing: only the others are checked. Tags come
# as ids, named afterwards (``stored_imports_checked_in_database``): joined to their names
# here, each story's few tags were matched by a scan of the whole tag table (the planner's
# choice for a small one), most of the query's time.
STORED_IMPORTS_SQL = f"""
SELECT r.id, r.story_id, r.source, r.headline, r.input_checksum,
    s.slug, s.status, s.published_at, s.created_at,
    ARRAY(
        SELECT ts.tag_id FROM stories_taggedstory ts
        WHERE ts.content_object_id = s.id ORDER BY ts.id
    ),
    CASE WHEN r.untouched THEN false ELSE {STATE_EDITED_SQL} END
FROM stories_importrecord r
JOIN stories_story s ON s.id = r.story_id
JOIN stories_section section ON section.id = s.section_id
WHERE r.source = ANY(%s)
"""


def database_hashes_as_python():
    """Whether the database can make ``state_checksum`` itself: PostgreSQL storing text as
    UTF-8 (``STORED_IMPORTS_SQL`` counts and hashes the text's bytes in that encoding). The
    server reports its encoding when the connection opens; no query is needed."""
    if connection.vendor != "postgresql":
        return False
    connection.ensure_connection()
    return connection.connection.info.parameter_status("server_encoding") == "UTF8"


def stored_imports_checked_in_database(sources):
    """PostgreSQL: ``Plan.stored_imports``, with each story's state checksum made by the
    database (``STORED_IMPORTS_SQL``, the same bytes ``state_checksum`` hashes) and compared
    there. Bodies, bylines and tags no longer cross the wire to be hashed here, which was
    most of an unchanged re-import's time."""
    from psycopg.types.datetime import TimestamptzLoader  # PostgreSQL's driver, only here

    stored_imports = {}
    tag_ids = set()
    with connection.cursor() as cursor:
        # For this query's two times a row, psycopg's own loader (compiled) rather than the
        # one Django registers (Python, to attach its time zone): the times are the same
        # instants, in the session's zone, which Django sets to UTC. Django's cost as much
        # as the rest of the row, a tenth of an unchanged re-import's client time.
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(STORED_IMPORTS_SQL, [sorted(sources)])
        # All rows at once: psycopg makes them in one call, where iterating made each in
        # Python. (A few short values each; the stories' texts stay in the database.)
        for row in cursor.fetchall():
            stored = StoredImport(*row)
            stored_imports[stored.source, stored.headline] = stored
            tag_ids.update(stored.tags)
    names = {}
    for chunk in chunks(tag_ids):
        names.update(Tag.objects.filter(pk__in=chunk).values_list("pk", "name"))
    for stored in stored_imports.values():
        try:
            stored.tags = [names[tag_id] for tag_id in stored.tags]
        except KeyError:
            # Deleted since the first query read its links (a statement of its own, which
            # sees what committed in between): the story's tags are those left.
            stored.tags = [names[tag_id] for tag_id in stored.tags if tag_id in names]
    return stored_imports


def stored_imports_checked_here(sources):
    """``Plan.stored_imports`` read row by row and checked here (SQLite): each stored story's
    fields, bylines and tags are read and hashed with ``state_checksum``."""
    byline_slugs, tag_names = defaultdict(list), defaultdict(list)
    rows = (
        StoryByline.objects.filter(story__import_record__source__in=sources)
        .order_by("position", "pk")
        .values_list("story_id", "byline__slug")
    )
    for story_id, byline_slug in rows:
        byline_slugs[story_id].append(byline_slug)
    rows = (
        TaggedStory.objects.filter(content_object__import_record__source__in=sources)
        .order_by("pk")
        .values_list("content_object_id", "tag__name")
    )
    for story_id, name in rows:
        tag_names[story_id].append(name)
    # Named after Story's own fields, so state_checksum() reads a row as it reads a story.
    rows = (
        Story.objects.filter(import_record__source__in=sources)
        .order_by()
        # Compared in the database: two fewer timestamps per story to read and convert
        # (a fifth of an unchanged re-import's time on the client).
        .annotate(
            is_saved_since=ExpressionWrapper(
                ~Q(updated_at=F("import_record__written_at")), output_field=BooleanField()
            )
        )
        .values_list(
            "pk",
            "headline",
            "slug",
            "deck",
            "body",
            "section__slug",
            "status",
            "published_at",
            "created_at",
            "is_saved_since",
            "import_record__pk",
            "import_record__source",
            "import_record__headline",
            "import_record__input_checksum",
            "import_record__state_checksum",
            named=True,
        )
    )
    stored_imports = {}
    # Bodies are read a chunk at a time, only to be hashed: 10,000 of them are never all
    # in memory at once.
    for row in rows.iterator(chunk_size=QUERY_CHUNK):
        tags = tag_names.get(row.pk, [])
        is_edited = row.is_saved_since or (
            state_checksum(row, row.section__slug, byline_slugs.get(row.pk, []), tags)
            != row.import_record__state_checksum
        )
        stored = StoredImport(
            record_id=row.import_record__pk,
            story_id=row.pk,
            source=row.import_record__source,
            headline=row.import_record__headline,
            input_checksum=row.import_record__input_checksum,
            slug=row.slug,
            status=row.status,
            published_at=row.published_at,
            created_at=row.created_at,
            tags=tags,
            is_edited=is_edited,
        )
        stored_imports[stored.source, stored.headline] = stored
    return stored_imports
