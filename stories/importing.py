"""Saving parsed briefings as stories: planning what would change, then writing it atomically.

Parsing lives in ``stories.briefing`` (text in, dataclasses out). This module reads briefing
files, decides for each parsed story whether it is new, unchanged, corrected or in conflict
with an edit made since the importer wrote it, and writes everything in one transaction.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_unicode_slug
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from taggit.models import Tag

from .briefing import (
    Briefing,
    BriefingError,
    ParsedStory,
    decode_briefing,
    parse_briefing,
    read_briefing,
)
from .caching import content_changed
from .countries import COUNTRY_FOR_TERM, find_countries
from .models import (
    Byline,
    ImportRecord,
    Section,
    Story,
    StoryByline,
    TaggedStory,
)
from .search import search_index_paused

DATE_IN_FILE_NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
QUERY_CHUNK = 500
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
    """Stories are matched to earlier imports by the briefing's file name and headline."""
    return Path(briefing.source).name


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


def checksum(*parts):
    encoded = json.dumps(parts, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def input_checksum(parsed, section_slug, status, day):
    """What the briefing asks for. Tags are not in it, because they follow from the text and
    the tagger; the tagger's fingerprint is, so a new country list re-tags on re-import.

    Each part is length-prefixed, so no two different inputs hash the same text; hashing
    the strings directly is several times faster than JSON for 600-word stories.
    """
    parts = (
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
    digest = hashlib.sha256()
    for part in parts:
        encoded = part.encode("utf-8", "surrogatepass")
        digest.update(b"%d:" % len(encoded))
        digest.update(encoded)
    return digest.hexdigest()


def state_checksum(story, section_slug, byline_slugs, tag_names):
    """Everything an editor could change about a story, as stored.

    Sections and bylines count by slug, not id: a backup restored into a fresh database
    (natural keys) gives them new ids, and its stories must still read as unedited.
    """
    # In UTC, so a time zone setting cannot make a fresh read look like an edit.
    published_at = story.published_at.astimezone(UTC).isoformat() if story.published_at else ""
    return checksum(
        story.headline,
        story.slug,
        story.deck,
        story.body,
        section_slug,
        story.status,
        published_at,
        list(byline_slugs),
        sorted(tag_names),
    )


def chunks(items, size=QUERY_CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def slug_base(model, text, max_length):
    """The slug ``unique_slug`` starts from; kept identical so both agree."""
    return slugify(text, allow_unicode=True)[:max_length].strip("-") or model._meta.model_name


def allocate_slugs(model, texts, *, max_length):
    """Unique slugs for many new rows at once, in a few queries rather than one per row.

    The same slugs ``unique_slug`` would give one by one: the plain slug when it is free,
    else the lowest free ``-2``, ``-3``... suffix.
    """
    bases = [slug_base(model, text, max_length) for text in texts]
    manager = model._default_manager
    taken = set()
    for chunk in chunks(set(bases)):
        taken.update(manager.filter(slug__in=chunk).values_list("slug", flat=True))
    seen, repeated = set(), set()
    for base in bases:
        (repeated if base in seen else seen).add(base)
    # Only bases already used (in the database or twice in this batch) need suffixes, so
    # only they need to know which suffixed forms exist. Rare: headlines seldom repeat.
    for base in sorted(taken | repeated):
        taken.update(manager.filter(slug__startswith=base).values_list("slug", flat=True))
    slugs = []
    for base in bases:
        candidate, number = base, 1
        while candidate in taken:
            number += 1
            suffix = f"-{number}"
            candidate = base[: max_length - len(suffix)].rstrip("-") + suffix
        taken.add(candidate)
        slugs.append(candidate)
    return slugs


@dataclass
class PlannedStory:
    briefing: Briefing
    parsed: ParsedStory
    tags: list[str] | None
    day: date | None
    checksum: str
    record: ImportRecord | None = None
    action: str = CREATED
    reason: str = ""


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

    def validate_options(self):
        source = ", ".join(b.source for b in self.briefings) or "<briefing>"
        try:
            validate_unicode_slug(self.section_slug)
        except ValidationError:
            raise BriefingError(
                f"--section {self.section_slug!r} is not a slug (letters, numbers, - and _)",
                source=source,
            ) from None
        if self.status not in Story.Status.values:
            raise BriefingError(f"unknown status {self.status!r}", source=source)
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

    def plan(self):
        self.validate_options()
        for briefing in self.briefings:
            day = self.day or date_from_file_name(briefing)
            for parsed in briefing.stories:
                self.planned.append(
                    PlannedStory(
                        briefing=briefing,
                        parsed=parsed,
                        tags=None,
                        day=day,
                        checksum=input_checksum(parsed, self.section_slug, self.status, day),
                    )
                )
        records = self.existing_records()
        for planned in self.planned:
            record = records.pop((import_key(planned.briefing), planned.parsed.headline), None)
            planned.record = record
            if record is None:
                planned.action = CREATED
            elif record.is_edited:
                planned.action = CONFLICT
                planned.reason = "changed since the importer last wrote it; left alone"
            elif record.input_checksum == planned.checksum:
                planned.action = UNCHANGED
                # Same text, same tagger: the tags are the ones stored, in mention order.
                planned.tags = record.stored_tags
            else:
                planned.action = UPDATED
            if planned.tags is None:
                # Tagging is the costly part of planning; unchanged stories skip it.
                planned.tags = find_countries(story_text(planned.parsed))
        self.missing = sorted(records.values(), key=lambda record: (record.source, record.pk))
        return self

    def existing_records(self):
        """Earlier imports of these files, each with its story and the story's stored
        byline slugs and tag names (read as plain values: far cheaper than model rows)."""
        sources = {import_key(briefing) for briefing in self.briefings}
        # Bodies are the bulk of a story; they are read a chunk at a time below, only to
        # see whether anyone edited the story, so 10,000 of them are never all in memory.
        records = list(
            ImportRecord.objects.filter(source__in=sources)
            .select_related("story__section")
            .defer("story__body")
        )
        byline_slugs = {record.story_id: [] for record in records}
        tag_names = {record.story_id: [] for record in records}
        for chunk in chunks(byline_slugs):
            rows = (
                StoryByline.objects.filter(story_id__in=chunk)
                .order_by("position", "pk")
                .values_list("story_id", "byline__slug")
            )
            for story_id, byline_slug in rows:
                byline_slugs[story_id].append(byline_slug)
            rows = (
                TaggedStory.objects.filter(content_object_id__in=chunk)
                .order_by("pk")
                .values_list("content_object_id", "tag__name")
            )
            for story_id, name in rows:
                tag_names[story_id].append(name)
        by_story = {record.story_id: record for record in records}
        for chunk in chunks(by_story):
            for story_id, body in Story.objects.filter(pk__in=chunk).values_list("pk", "body"):
                record = by_story[story_id]
                record.stored_byline_slugs = byline_slugs[story_id]
                record.stored_tags = tag_names[story_id]
                record.is_edited = self.edited_since_import(record, body)
        return {(record.source, record.headline): record for record in records}

    @staticmethod
    def edited_since_import(record, body):
        story = record.story
        if story.updated_at != record.written_at:
            return True
        # The checksum reads story.body: give it the stored body for a moment only.
        story.body = body
        try:
            stored = state_checksum(
                story, story.section.slug, record.stored_byline_slugs, record.stored_tags
            )
        finally:
            del story.body  # deferred again: read from the database if ever needed
        return stored != record.state_checksum

    def published_at_for(self, planned):
        if planned.day is None and planned.record is not None:
            return planned.record.story.published_at
        return publication_time(planned.day, self.now)

    def outcomes(self, urls):
        outcomes = []
        for index, planned in enumerate(self.planned):
            published_at = (
                planned.record.story.published_at
                if planned.action in (UNCHANGED, CONFLICT)
                else self.published_at_for(planned)
            )
            outcomes.append(
                StoryOutcome(
                    source=import_key(planned.briefing),
                    headline=planned.parsed.headline,
                    action=planned.action,
                    url=urls[index],
                    parsed=planned.parsed,
                    tags=planned.tags,
                    published_at=published_at,
                    reason=planned.reason,
                    story_id=planned.record.story.pk if planned.record else None,
                )
            )
        for record in self.missing:
            outcomes.append(
                StoryOutcome(
                    source=record.source,
                    headline=record.headline,
                    action=MISSING,
                    url=record.story.get_absolute_url(),
                    reason="no longer in this briefing; kept as it is",
                    story_id=record.story_id,
                )
            )
        return outcomes

    def preview_urls(self):
        """Addresses the stories have, or would get, without writing anything."""
        new = [planned for planned in self.planned if planned.record is None]
        slugs = dict(
            zip(
                map(id, new),
                allocate_slugs(Story, [p.parsed.headline for p in new], max_length=200),
                strict=True,
            )
        )
        stories = []
        for planned in self.planned:
            if planned.record is not None:
                story = planned.record.story
                if planned.action == UPDATED:
                    story = Story(slug=story.slug, published_at=self.published_at_for(planned))
            else:
                story = Story(slug=slugs[id(planned)], published_at=self.published_at_for(planned))
            stories.append(story)
        return Story.absolute_urls(stories)

    def apply(self):
        with transaction.atomic():
            changing = [p for p in self.planned if p.action in (CREATED, UPDATED)]
            if not changing:
                return Story.absolute_urls([p.record.story for p in self.planned])
            section = self.get_or_create_section()
            bylines = self.get_or_create_bylines(changing)
            tags = self.get_or_create_tags(changing)
            # One index rebuild per story, not one per byline and tag row written.
            with search_index_paused() as touched:
                self.create_stories([p for p in changing if p.action == CREATED], section)
                self.update_stories([p for p in changing if p.action == UPDATED], section)
                self.write_relations(changing, bylines, tags)
                touched.update(p.record.story.pk for p in changing)
            # Bulk writes send no signals, so tell the reader page cache here.
            content_changed()
        return Story.absolute_urls([p.record.story for p in self.planned])

    def get_or_create_section(self):
        section = Section.objects.filter(slug=self.section_slug).first()
        if section is None:
            section = Section.objects.create(
                slug=self.section_slug, name=section_name_from_slug(self.section_slug)
            )
        return section

    def get_or_create_bylines(self, planned_stories):
        """Bylines by exact name; the oldest wins if an editor made two with one name."""
        names = {name for p in planned_stories for name in p.parsed.bylines}
        found = {}
        for chunk in chunks(names):
            for byline in Byline.objects.filter(name__in=chunk).order_by("-pk"):
                found[byline.name] = byline
        for name in sorted(names - found.keys()):
            found[name] = Byline.objects.create(name=name)
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
            "published_at": self.published_at_for(planned),
        }

    def create_stories(self, planned_stories, section):
        slugs = allocate_slugs(
            Story, [planned.parsed.headline for planned in planned_stories], max_length=200
        )
        stories = [
            Story(slug=slug, created_by=self.user, **self.story_fields(planned, section))
            for planned, slug in zip(planned_stories, slugs, strict=True)
        ]
        # Their first revisions are written with the relations, in write_relations().
        Story.objects.bulk_create(stories, batch_size=QUERY_CHUNK)
        for planned, story in zip(planned_stories, stories, strict=True):
            planned.record = ImportRecord(
                story=story,
                source=import_key(planned.briefing),
                headline=planned.parsed.headline,
            )

    def update_stories(self, planned_stories, section):
        stories = []
        for planned in planned_stories:
            story = planned.record.story
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

    def write_relations(self, planned_stories, bylines, tags):
        story_bylines, tagged, records_to_create, records_to_update = [], [], [], []
        revisions = []
        for planned in planned_stories:
            story = planned.record.story
            story_bylines.extend(
                StoryByline(story=story, byline=bylines[name], position=position)
                for position, name in enumerate(planned.parsed.bylines)
            )
            tagged.extend(
                TaggedStory(content_object=story, tag=tags[name]) for name in planned.tags
            )
            record = planned.record
            record.input_checksum = planned.checksum
            byline_slugs = [bylines[name].slug for name in planned.parsed.bylines]
            record.state_checksum = state_checksum(
                story, story.section.slug, byline_slugs, planned.tags
            )
            record.written_at = story.updated_at
            (records_to_update if record.pk else records_to_create).append(record)
            revisions.append(self.revision(story, planned, byline_slugs))
        StoryByline.objects.bulk_create(story_bylines, batch_size=QUERY_CHUNK)
        TaggedStory.objects.bulk_create(tagged, batch_size=QUERY_CHUNK)
        ImportRecord.objects.bulk_create(records_to_create, batch_size=QUERY_CHUNK)
        ImportRecord.objects.bulk_update(
            records_to_update,
            ["input_checksum", "state_checksum", "written_at"],
            batch_size=QUERY_CHUNK,
        )
        Story.history.model.objects.bulk_create(revisions, batch_size=QUERY_CHUNK)

    def revision(self, story, planned, byline_slugs):
        """The story's revision for this import, bylines and tags included (as
        simple-history's bulk helpers would write it, which cannot carry those)."""
        revision_model = Story.history.model
        return revision_model(
            history_date=self.now,
            history_user=self.user,
            history_change_reason=CHANGE_REASON,
            history_type="+" if planned.action == CREATED else "~",
            byline_slugs=byline_slugs,
            tag_names=sorted(planned.tags, key=str.casefold),
            **{
                field.attname: getattr(story, field.attname)
                for field in revision_model.tracked_fields
            },
        )


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
