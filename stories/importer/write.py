"""Writing a plan: every story it creates or updates, with bylines, tags, import records and
revisions, in one transaction.

The search index is paused meanwhile and rebuilt once per story (``stories.search_index``).
Every bulk write here announces itself (``stories.changes``), so readers get a new content
generation, as they do after any other edit.
"""

from functools import cached_property
from types import SimpleNamespace

from django.db import connection, transaction
from django.utils import timezone
from taggit.models import Tag

from stories.listings import apply_pending as apply_listing_notes
from stories.listings import fold as fold_listings
from stories.listings import maintained_by_writer
from stories.models import (
    Byline,
    ImportConflict,
    ImportRecord,
    Section,
    Story,
    StoryByline,
    TaggedStory,
)
from stories.richtext import paragraphs_html, paragraphs_text
from stories.search_index import search_index_paused, search_index_resumed
from stories.slugs import allocate_slugs

from .bulk import QUERY_CHUNK, chunks, copy_rows, insert_rows, reserve_ids
from .plan import max_length, section_name_from_slug, state_checksum
from .report import Action

# Stories written together: the models of one batch are in memory at a time.
WRITE_BATCH = 500
COPY_BATCH = 2000
CHANGE_REASON = "Imported from a briefing"


class Writer:
    """Carries out a ``stories.importer.plan.Plan`` that has been made."""

    def __init__(self, plan):
        self.plan = plan
        self.now = plan.now
        self.user = plan.user
        self.status = plan.status

    def apply(self):
        """Write the plan (its stories' ids, slugs and times are set on it)."""
        with transaction.atomic():
            changing = [
                p for p in self.plan.planned if p.action in (Action.CREATED, Action.UPDATED)
            ]
            if changing:
                if self.plan.restored_records:
                    # A deleted story imported again gets a new record; its tombstone goes.
                    ImportRecord.objects.filter(pk__in=self.plan.restored_records).delete()
                self.plan.allocate_new_slugs()
                section = self.get_or_create_section()
                bylines = self.get_or_create_bylines(changing)
                tags = self.get_or_create_tags(changing)
                # One index rebuild per story, not one per byline and tag row written.
                # The listings' latest changes (``stories.listings``) are counted here for
                # the stories written, rather than worked out anew for every listing.
                with search_index_paused() as touched, maintained_by_writer():
                    # A batch at a time, so only one batch's rows (and their copies of the
                    # bodies) are in memory at once.
                    for batch in chunks(changing, self.batch_size):
                        created = [p for p in batch if p.action == Action.CREATED]
                        updated = [p for p in batch if p.action == Action.UPDATED]
                        if self.copying:
                            self.copy_new_stories(created, section, bylines, tags)
                        else:
                            stories = self.create_stories(created, section)
                            self.write_relations(created, stories, bylines, tags)
                            touched.update(p.story_id for p in created)
                        stories = self.update_stories(updated, section)
                        self.write_relations(updated, stories, bylines, tags)
                        touched.update(p.story_id for p in updated)
                    # Once for the whole run: a note per listing, not per listing and batch.
                    fold_listings([p.story_id for p in changing])
            # The desk's panel is the editors' to-do list, which only editors clear: an
            # import by someone who may not publish neither adds to it nor settles it.
            if self.plan.may_publish:
                self.remember_conflicts()
        # The run's notes are applied now, so the next reader of the sitemaps need not.
        apply_listing_notes()

    @cached_property
    def untouched(self):
        """What a record this import writes says of its story: untouched since, on PostgreSQL,
        whose triggers say when that stops being true (migration 0029). Elsewhere nothing
        would, so the record says nothing, and re-imports check the story's state."""
        return connection.vendor == "postgresql"

    @cached_property
    def copying(self):
        """New stories go through ``COPY`` (PostgreSQL); elsewhere through ``bulk_create``."""
        return connection.vendor == "postgresql"

    @cached_property
    def batch_size(self):
        # COPY holds no model instances and streams its rows: bigger batches mean fewer
        # statements, while one batch's rows stay a few megabytes.
        return COPY_BATCH if self.copying else WRITE_BATCH

    def copy_new_stories(self, planned_stories, section, bylines, tags):
        """PostgreSQL: write new stories, their relations, import records and revisions
        with one ``COPY`` per table, ids taken from the sequence beforehand.

        A story's bylines and tags are written before the story itself (foreign keys are
        checked at commit), with the search index paused; then the story rows go in with
        the index's row trigger running, which reads the bylines and tags already there
        and indexes each story once, whole, as it is stored. Rebuilding the index after
        the rows were written would write every new story twice (and its index entries).
        """
        if not planned_stories:
            return
        ids = reserve_ids(Story, len(planned_stories))
        now = timezone.now()
        user_id = self.user.pk if self.user else None
        rows = []
        for planned, story_id in zip(planned_stories, ids, strict=True):
            planned.story_id, planned.created_at = story_id, now
            rows.append(
                {
                    **self.story_defaults,
                    **self.story_fields(planned, section, ids=True),
                    "id": story_id,
                    "slug": planned.slug,
                    "created_at": now,
                    "updated_at": now,
                    "created_by_id": user_id,
                }
            )
        copy_rows(
            StoryByline,
            (
                {"story_id": planned.story_id, "byline_id": bylines[name].pk, "position": position}
                for planned in planned_stories
                for position, name in enumerate(planned.parsed.bylines)
            ),
        )
        copy_rows(
            TaggedStory,
            (
                {"content_object_id": planned.story_id, "tag_id": tags[name].pk}
                for planned in planned_stories
                for name in planned.tags
            ),
        )
        with search_index_resumed():
            copy_rows(Story, rows)
        records, revisions = [], []
        for planned, row in zip(planned_stories, rows, strict=True):
            story = SimpleNamespace(**row)
            byline_slugs = [bylines[name].slug for name in planned.parsed.bylines]
            records.append(
                {
                    "story_id": story.id,
                    "source": planned.source,
                    "headline": planned.parsed.headline,
                    "input_checksum": planned.checksum,
                    "state_checksum": state_checksum(
                        story, section.slug, byline_slugs, planned.tags
                    ),
                    "written_at": now,
                    "untouched": self.untouched,
                }
            )
            revisions.append(self.revision(story, planned, byline_slugs))
        copy_rows(ImportRecord, records)
        copy_rows(self.revision_model, revisions)

    @cached_property
    def story_defaults(self):
        """Every column of a new story row, at its field's default. (No Story field has a
        default made by a callable, which would have to be called per row.)"""
        return {
            field.attname: field.get_default()
            for field in Story._meta.concrete_fields
            if not field.primary_key
        }

    def remember_conflicts(self):
        """The stories this run left alone, for the desk's "Import conflicts" panel. They
        replace what earlier runs of these files found about the same stories; a run that
        finds what the last one found writes nothing."""
        stored = {p.story_id: p for p in self.plan.planned if p.stored is not None}
        # One read by file name, not one per 500 stories: the stories of these files that
        # this run no longer has (missing) are not its to settle, so they are left out.
        sources = {p.source for p in stored.values()}
        found = {
            conflict.story_id: conflict
            for conflict in ImportConflict.objects.filter(story__import_record__source__in=sources)
            if conflict.story_id in stored
        }
        now_in_conflict = {
            story_id: planned
            for story_id, planned in stored.items()
            if planned.action == Action.CONFLICT
        }
        settled = [story_id for story_id in found if story_id not in now_in_conflict]
        for chunk in chunks(settled):
            ImportConflict.objects.filter(story_id__in=chunk).delete()
        reason_limit = max_length(ImportConflict, "reason")
        changed, new = [], []
        for story_id, planned in now_in_conflict.items():
            conflict = found.get(story_id) or ImportConflict(story_id=story_id)
            values = {"source": planned.source, "reason": planned.reason[:reason_limit]}
            if conflict.pk is None:
                new.append(conflict)
            elif all(getattr(conflict, name) == value for name, value in values.items()):
                continue
            else:
                changed.append(conflict)
            for name, value in values.items():
                setattr(conflict, name, value)
            conflict.found_at = self.now
        ImportConflict.objects.bulk_create(new, batch_size=QUERY_CHUNK)
        ImportConflict.objects.bulk_update(
            changed, ["source", "reason", "found_at"], batch_size=QUERY_CHUNK
        )

    def get_or_create_section(self):
        plan = self.plan
        if plan.section is None:  # validate_options() checked the user may make one
            plan.section = Section.objects.create(
                slug=plan.section_slug, name=section_name_from_slug(plan.section_slug)
            )
        return plan.section

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

    def story_fields(self, planned, section, *, ids=False):
        """A story's values as the briefing gives them; ``ids``: by attname
        (``section_id``), for rows written without a model."""
        return {
            "headline": planned.parsed.headline,
            "deck": planned.parsed.deck,
            # Bulk writes skip Story.save(): the body is built here from escaped paragraphs
            # (what the sanitizer would write), and its plain text with it.
            "body": paragraphs_html(planned.parsed.paragraphs),
            "body_plain": paragraphs_text(planned.parsed.paragraphs),
            **({"section_id": section.pk} if ids else {"section": section}),
            "status": self.status,
            "published_at": planned.published_at,
        }

    def create_stories(self, planned_stories, section):
        if not planned_stories:
            return []
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
        # Locked until the import commits, before anything is written: another session
        # linking a byline or tag to one of them waits at its foreign key check, and clears
        # the record's ``untouched`` after this import sets it. (Unlocked, it could first
        # lock the record through its trigger, then wait for the story row its search
        # trigger rewrites while this import waited for the record: a deadlock.)
        loaded = (
            Story.objects.select_for_update()
            .order_by()
            .in_bulk([planned.story_id for planned in planned_stories])
        )
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
                "body_plain",
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
                "untouched": self.untouched,
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
            ["input_checksum", "state_checksum", "written_at", "untouched"],
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
            "history_type": "+" if planned.action == Action.CREATED else "~",
            "byline_slugs": byline_slugs,
            "tag_names": sorted(planned.tags, key=str.casefold),
        }
