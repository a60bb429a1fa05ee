"""Saving parsed briefings as stories: planning what would change, then writing it atomically.

Parsing lives in ``stories.importer.parser`` (text in, dataclasses out). This module reads
briefing files, decides for each parsed story whether it is new, unchanged, corrected or in
conflict with an edit made since the importer wrote it, and writes everything in one
transaction.
"""

import hashlib
import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import cached_property
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_unicode_slug
from django.db import IntegrityError, transaction
from django.utils import timezone
from taggit.models import Tag

from stories.delivery.generation import content_changed
from stories.models import (
    Byline,
    ImportRecord,
    Section,
    Story,
    StoryByline,
    TaggedStory,
)
from stories.search_index import search_index_paused
from stories.slugs import allocate_slugs

from .bulk import insert_rows
from .parser import (
    BriefingError,
    ParsedStory,
    decode_briefing,
    parse_briefing,
    read_briefing,
)
from .places import COUNTRY_FOR_TERM, find_countries

DATE_IN_FILE_NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
QUERY_CHUNK = 500
# Stories written together: the models of one batch are in memory at a time.
WRITE_BATCH = 500
CHANGE_REASON = "Imported from a briefing"
# Two imports racing on PostgreSQL: the loser hits a unique constraint, rolls back and
# plans again, now seeing the winner's rows (so its stories come out "unchanged").
IMPORT_ATTEMPTS = 3

CREATED, UPDATED, UNCHANGED, CONFLICT, MISSING = (
    "created",
    "updated",
    "unchanged",
    "conflict",
    "missing",
)
ACTIONS = (CREATED, UPDATED, UNCHANGED, CONFLICT, MISSING)
TAGGER_FINGERPRINT = hashlib.sha256(
    json.dumps(sorted(COUNTRY_FOR_TERM.items(), key=str)).encode()
).hexdigest()[:16]


@dataclass
class StoryOutcome:
    """What the import does (or, in a dry run, would do) with one story."""

    source: str
    headline: str
    action: str
    url: str
    parsed: ParsedStory | None = None
    tags: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    reason: str = ""
    story_id: int | None = None

    def as_dict(self):
        data = {
            "file": self.source,
            "headline": self.headline,
            "url": self.url,
            "status": self.action,
        }
        if self.parsed is not None:
            data.update(
                deck=self.parsed.deck,
                paragraphs=len(self.parsed.paragraphs),
                bylines=list(self.parsed.bylines),
                tags=self.tags,
                published_at=self.published_at.isoformat() if self.published_at else None,
            )
        if self.reason:
            data["reason"] = self.reason
        return data


@dataclass
class ImportResult:
    outcomes: list[StoryOutcome]
    section: str
    publication_status: str
    dry_run: bool

    def count(self, action):
        return sum(1 for outcome in self.outcomes if outcome.action == action)

    @property
    def counts(self):
        return {
            "created": self.count(CREATED),
            "updated": self.count(UPDATED),
            "unchanged": self.count(UNCHANGED),
            "conflicts": self.count(CONFLICT),
            "missing": self.count(MISSING),
        }

    def as_dict(self):
        return {
            **self.counts,
            "dry_run": self.dry_run,
            "section": self.section,
            "publication_status": self.publication_status,
            "stories": [outcome.as_dict() for outcome in self.outcomes],
        }


def read_briefing_file(path):
    """Read, decode and parse one briefing file; every failure is a ``BriefingError``."""
    path = Path(path)
    source = str(path)
    limit = settings.BRIEFING_MAX_BYTES
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise BriefingError("is a directory, not a briefing file", source=source)
        if size > limit:
            raise BriefingError(
                f"file is {size:,} bytes; briefings are limited to {limit:,} bytes", source=source
            )
        # A block at a time: the whole text of a 47 MB briefing would be 94 MB more.
        with path.open("rb") as briefing_file:
            return read_briefing(briefing_file, source, max_bytes=limit)
    except FileNotFoundError:
        raise BriefingError("no such file", source=source) from None
    except PermissionError:
        raise BriefingError("permission denied", source=source) from None
    except OSError as error:
        raise BriefingError(error.strerror or str(error), source=source) from None


def decode_briefing_bytes(data, *, source):
    limit = settings.BRIEFING_MAX_BYTES
    if len(data) > limit:
        raise BriefingError(f"file is larger than {limit:,} bytes", source=source)
    return decode_briefing(data, source=source)


def parse_briefing_bytes(data, *, source):
    """Decode and parse a briefing's bytes (say, an upload); failures are ``BriefingError``."""
    return parse_briefing(decode_briefing_bytes(data, source=source), source=source, checked=True)


def import_key(briefing):
    """Stories are matched to earlier imports by the briefing's file name and headline.

    In NFC, as the parser reads the headlines: macOS names files in NFD, and a file copied
    from there must still match its earlier import."""
    return unicodedata.normalize("NFC", Path(briefing.source).name)


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


def date_from_file_name(briefing):
    match = DATE_IN_FILE_NAME.match(import_key(briefing))
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise BriefingError(
            f"file name starts with {match.group(0)}, which is not a real date",
            source=briefing.source,
        ) from None


def publication_time(day, now):
    """Today's stories go live at import time; any other day at noon, site time."""
    if day is None or day == timezone.localdate(now):
        return now
    return timezone.make_aware(datetime.combine(day, time(12)))


def section_name_from_slug(slug):
    return slug.replace("-", " ").replace("_", " ").strip().title() or slug


def story_text(parsed):
    return "\n".join((parsed.headline, parsed.deck, *parsed.paragraphs))


def hash_parts(parts):
    """SHA-256 of a sequence of strings. Each is length-prefixed, so no two different
    sequences hash the same bytes; hashing the strings directly is several times faster than
    hashing them as JSON, which escapes every character of a 600-word body first."""
    digest = hashlib.sha256()
    for part in parts:
        encoded = part.encode("utf-8", "surrogatepass")
        digest.update(b"%d:" % len(encoded))
        digest.update(encoded)
    return digest.hexdigest()


def input_checksum(parsed, section_slug, status, day):
    """What the briefing asks for. Tags are not in it, because they follow from the text and
    the tagger; the tagger's fingerprint is, so a new country list re-tags on re-import."""
    return hash_parts(
        (
            parsed.headline,
            parsed.deck,
            *parsed.paragraphs,
            "\x1e",
            *parsed.bylines,
            "\x1e",
            TAGGER_FINGERPRINT,
            section_slug,
            status,
            day.isoformat() if day else "",
        )
    )


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


def chunks(items, size=QUERY_CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(slots=True)
class StoredImport:
    """An earlier import of one story, as plain values: what planning compares and reports.

    At 10,000 stories, reading model rows cost more than the comparison itself, so models
    are loaded only for the stories an import changes (``Importer.update_stories``).
    """

    record_id: int
    story_id: int
    source: str
    headline: str
    input_checksum: str
    slug: str
    published_at: datetime | None
    created_at: datetime | None
    tags: list[str]  # as stored, in mention order
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
    action: str = CREATED
    reason: str = ""
    # Where the story is, or will be: what the report links to.
    story_id: int | None = None
    slug: str = ""
    published_at: datetime | None = None
    created_at: datetime | None = None


class Importer:
    """One import run: plan first (reads only), then apply (writes, atomically)."""

    def __init__(
        self,
        briefings,
        *,
        section="world",
        day=None,
        status=Story.Status.PUBLISHED,
        user=None,
        now=None,
    ):
        self.briefings = list(briefings)
        self.section_slug = section
        self.day = day
        self.status = status
        self.user = user
        self.now = now or timezone.now()
        self.planned = []
        self.missing = []
        self.section = None  # the existing section, once planned; None if it is to be made
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
        for parsed in briefing.stories:
            check_length(
                parsed.headline, headline_limit, "headline", source=source, line=parsed.line
            )
            check_length(parsed.deck, deck_limit, "deck", source=source, line=parsed.line)
            for name in parsed.bylines:
                check_length(
                    name, name_limit, "byline name", source=source, line=parsed.bylines_line
                )

    def check_tag_limits(self, planned):
        # Tags come from the country list, so this guards a future edit of that list.
        for name in planned.tags:
            for value, limit, what in (
                (name, max_length(Tag, "name"), "tag"),
                (Tag().slugify(name), max_length(Tag, "slug"), "tag slug"),
            ):
                check_length(value, limit, what, source=planned.file, line=planned.parsed.line)

    def plan(self):
        self.validate_options()
        for briefing in self.briefings:
            self.check_limits(briefing)
            # A Reporter's stories are undated (see __init__), whatever the file name says.
            day = (self.day or date_from_file_name(briefing)) if self.may_publish else None
            source = import_key(briefing)
            for parsed in briefing.stories:
                self.planned.append(
                    PlannedStory(
                        source=source,
                        file=briefing.source,
                        parsed=parsed,
                        tags=None,
                        day=day,
                        checksum=input_checksum(parsed, self.section_slug, self.status, day),
                    )
                )
        stored_imports = self.stored_imports()
        for planned in self.planned:
            stored = stored_imports.pop((planned.source, planned.parsed.headline), None)
            planned.stored = stored
            if stored is None:
                planned.action = CREATED
            else:
                planned.story_id, planned.slug = stored.story_id, stored.slug
                planned.created_at = stored.created_at
                if stored.is_edited:
                    planned.action = CONFLICT
                    planned.reason = "changed since the importer last wrote it; left alone"
                elif stored.input_checksum == planned.checksum:
                    planned.action = UNCHANGED
                    # Same text, same tagger: the tags are the ones stored, in mention order.
                    planned.tags = stored.tags
                else:
                    planned.action = UPDATED
            if planned.action in (UNCHANGED, CONFLICT):
                planned.published_at = stored.published_at
            else:
                planned.published_at = self.published_at_for(planned)
            if planned.tags is None:
                # Tagging is the costly part of planning; unchanged stories skip it.
                planned.tags = find_countries(story_text(planned.parsed))
                self.check_tag_limits(planned)
        self.missing = sorted(stored_imports.values(), key=lambda s: (s.source, s.record_id))
        return self

    def stored_imports(self):
        """Earlier imports of these files by (file name, headline), each checked for edits
        made since: its story's stored state against the checksum the importer wrote."""
        sources = {import_key(briefing) for briefing in self.briefings}
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
                "updated_at",
                "import_record__pk",
                "import_record__source",
                "import_record__headline",
                "import_record__input_checksum",
                "import_record__state_checksum",
                "import_record__written_at",
                named=True,
            )
        )
        stored_imports = {}
        # Bodies are read a chunk at a time, only to be hashed: 10,000 of them are never all
        # in memory at once.
        for row in rows.iterator(chunk_size=QUERY_CHUNK):
            tags = tag_names.get(row.pk, [])
            is_edited = row.updated_at != row.import_record__written_at or (
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
                published_at=row.published_at,
                created_at=row.created_at,
                tags=tags,
                is_edited=is_edited,
            )
            stored_imports[stored.source, stored.headline] = stored
        return stored_imports

    def published_at_for(self, planned):
        if not self.may_publish:
            return None
        if planned.day is None and planned.stored is not None:
            return planned.stored.published_at
        return publication_time(planned.day, self.now)

    def outcomes(self, urls):
        outcomes = [
            StoryOutcome(
                source=planned.source,
                headline=planned.parsed.headline,
                action=planned.action,
                url=url,
                parsed=planned.parsed,
                tags=planned.tags,
                published_at=planned.published_at,
                reason=planned.reason,
                story_id=planned.story_id,
            )
            for planned, url in zip(self.planned, urls, strict=True)
        ]
        missing_urls = Story.absolute_urls(self.missing)
        for stored, url in zip(self.missing, missing_urls, strict=True):
            outcomes.append(
                StoryOutcome(
                    source=stored.source,
                    headline=stored.headline,
                    action=MISSING,
                    url=url,
                    reason="no longer in this briefing; kept as it is",
                    story_id=stored.story_id,
                )
            )
        return outcomes

    def allocate_new_slugs(self):
        new = [planned for planned in self.planned if planned.stored is None]
        slugs = allocate_slugs(
            Story, [p.parsed.headline for p in new], max_length=max_length(Story, "slug")
        )
        for planned, slug in zip(new, slugs, strict=True):
            planned.slug = slug

    def preview_urls(self):
        """Addresses the stories have, or would get, without writing anything."""
        self.allocate_new_slugs()
        return Story.absolute_urls(self.planned)

    def apply(self):
        with transaction.atomic():
            changing = [p for p in self.planned if p.action in (CREATED, UPDATED)]
            if changing:
                self.allocate_new_slugs()
                section = self.get_or_create_section()
                bylines = self.get_or_create_bylines(changing)
                tags = self.get_or_create_tags(changing)
                # One index rebuild per story, not one per byline and tag row written.
                with search_index_paused() as touched:
                    # A batch at a time, so only one batch's models (and their copies of
                    # the bodies) are in memory at once.
                    for batch in chunks(changing, WRITE_BATCH):
                        stories = self.create_stories(
                            [p for p in batch if p.action == CREATED], section
                        ) + self.update_stories([p for p in batch if p.action == UPDATED], section)
                        self.write_relations(batch, stories, bylines, tags)
                    touched.update(p.story_id for p in changing)
                # Bulk writes send no signals, so tell the reader page cache here.
                content_changed()
        return Story.absolute_urls(self.planned)

    def get_or_create_section(self):
        if self.section is None:  # validate_options() checked the user may make one
            self.section = Section.objects.create(
                slug=self.section_slug, name=section_name_from_slug(self.section_slug)
            )
        return self.section

    def get_or_create_bylines(self, planned_stories):
        """Bylines by exact name; the oldest wins if an editor made two with one name."""
        names = {name for p in planned_stories for name in p.parsed.bylines}
        found = {}
        for chunk in chunks(names):
            for byline in Byline.objects.filter(name__in=chunk).order_by("-pk"):
                found[byline.name] = byline
        # New ones in bulk, slugs and all: one by one, each save read every slug its name
        # could clash with, so thousands of alike names took quadratic time.
        # They get no public page of their own until a story carrying them is live.
        new_names = sorted(names - found.keys())
        slugs = allocate_slugs(Byline, new_names, max_length=max_length(Byline, "slug"))
        new = [Byline(name=name, slug=slug) for name, slug in zip(new_names, slugs, strict=True)]
        for byline in Byline.objects.bulk_create(new, batch_size=QUERY_CHUNK):
            found[byline.name] = byline
        return found

    def get_or_create_tags(self, planned_stories):
        names = {name for p in planned_stories for name in p.tags}
        found = {}
        for chunk in chunks(names):
            for tag in Tag.objects.filter(name__in=chunk):
                found[tag.name] = tag
        for name in sorted(names - found.keys()):
            found[name] = Tag.objects.create(name=name)
        return found

    def story_fields(self, planned, section):
        return {
            "headline": planned.parsed.headline,
            "deck": planned.parsed.deck,
            "body": "\n\n".join(planned.parsed.paragraphs),
            "section": section,
            "status": self.status,
            "published_at": planned.published_at,
        }

    def create_stories(self, planned_stories, section):
        stories = [
            Story(slug=planned.slug, created_by=self.user, **self.story_fields(planned, section))
            for planned in planned_stories
        ]
        # Their first revisions are written with the relations, in write_relations().
        Story.objects.bulk_create(stories, batch_size=QUERY_CHUNK)
        for planned, story in zip(planned_stories, stories, strict=True):
            planned.story_id, planned.created_at = story.pk, story.created_at
        return stories

    def update_stories(self, planned_stories, section):
        if not planned_stories:
            return []
        loaded = Story.objects.in_bulk([planned.story_id for planned in planned_stories])
        stories = []
        for planned in planned_stories:
            story = loaded[planned.story_id]
            for name, value in self.story_fields(planned, section).items():
                setattr(story, name, value)
            story.updated_at = self.now
            # An admin form opened before this import must not save over it.
            story.version += 1
            stories.append(story)
        Story.objects.bulk_update(
            stories,
            [
                "headline",
                "deck",
                "body",
                "section",
                "status",
                "published_at",
                "updated_at",
                "version",
            ],
            batch_size=QUERY_CHUNK,
        )
        story_ids = [story.pk for story in stories]
        for chunk in chunks(story_ids):
            StoryByline.objects.filter(story_id__in=chunk).delete()
            TaggedStory.objects.filter(content_object_id__in=chunk).delete()
        return stories

    def write_relations(self, planned_stories, stories, bylines, tags):
        """Bylines, tags, import records and revisions of stories just written, which
        ``stories`` holds in the order of ``planned_stories``."""
        story_bylines, tagged, records_to_create, records_to_update = [], [], [], []
        revisions = []
        for planned, story in zip(planned_stories, stories, strict=True):
            story_bylines.extend(
                {"story_id": story.pk, "byline_id": bylines[name].pk, "position": position}
                for position, name in enumerate(planned.parsed.bylines)
            )
            tagged.extend(
                {"content_object_id": story.pk, "tag_id": tags[name].pk} for name in planned.tags
            )
            byline_slugs = [bylines[name].slug for name in planned.parsed.bylines]
            written = {
                "input_checksum": planned.checksum,
                "state_checksum": state_checksum(
                    story, story.section.slug, byline_slugs, planned.tags
                ),
                "written_at": story.updated_at,
            }
            if planned.stored is None:
                records_to_create.append(
                    {
                        "story_id": story.pk,
                        "source": planned.source,
                        "headline": planned.parsed.headline,
                        **written,
                    }
                )
            else:
                records_to_update.append(ImportRecord(pk=planned.stored.record_id, **written))
            revisions.append(self.revision(story, planned, byline_slugs))
        insert_rows(StoryByline, story_bylines)
        insert_rows(TaggedStory, tagged)
        insert_rows(ImportRecord, records_to_create)
        ImportRecord.objects.bulk_update(
            records_to_update,
            ["input_checksum", "state_checksum", "written_at"],
            batch_size=QUERY_CHUNK,
        )
        insert_rows(self.revision_model, revisions)

    @cached_property
    def revision_model(self):
        # Story.history builds a new manager class on every access: once per import, not
        # once per story.
        return Story.history.model

    @cached_property
    def revision_story_fields(self):
        return [field.attname for field in self.revision_model.tracked_fields]

    def revision(self, story, planned, byline_slugs):
        """The story's revision for this import as a revision row's values by field,
        bylines and tags included (simple-history's bulk helpers cannot carry those)."""
        return {
            **{attname: getattr(story, attname) for attname in self.revision_story_fields},
            "history_date": self.now,
            "history_user_id": self.user.pk if self.user else None,
            "history_change_reason": CHANGE_REASON,
            "history_type": "+" if planned.action == CREATED else "~",
            "byline_slugs": byline_slugs,
            "tag_names": sorted(planned.tags, key=str.casefold),
        }


def import_briefings(
    briefings,
    *,
    section="world",
    day=None,
    status=Story.Status.PUBLISHED,
    user=None,
    dry_run=False,
    now=None,
):
    """Import parsed briefings as one unit: all of them are written, or none.

    Raises ``BriefingError`` for bad options; returns an ``ImportResult`` in which
    conflicts and missing stories are reported, not raised.

    Safe to run twice at once: the database's unique constraints (story slug, one import
    record per file and headline, byline slug, tag name) stop the second run from creating
    duplicates, and it then starts over and finds the first run's stories unchanged.
    """
    briefings = list(briefings)
    now = now or timezone.now()
    for attempt in range(1, IMPORT_ATTEMPTS + 1):
        importer = Importer(briefings, section=section, day=day, status=status, user=user, now=now)
        try:
            with transaction.atomic():
                importer.plan()
                urls = importer.preview_urls() if dry_run else importer.apply()
        except IntegrityError:
            if attempt == IMPORT_ATTEMPTS:
                raise
            continue
        break
    return ImportResult(
        outcomes=importer.outcomes(urls),
        section=section,
        publication_status=status,
        dry_run=dry_run,
    )
