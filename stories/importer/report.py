"""What an import did, or in a dry run would do: one ``StoryOutcome`` per story, in an
``ImportResult``, each with an ``Action`` whose one table gives the words the admin's preview,
the command's output and the result's counts use for it."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from django.urls import get_script_prefix, get_urlconf, set_script_prefix, set_urlconf
from django.utils import timezone

from stories.models import Story

from .parser import ParsedStory


class Action(StrEnum):
    """What an import does with a story. A ``str``: JSON output and templates print the value."""

    # Value; label in the admin's preview; in the command's output; name in the counts.
    CREATED = "created", "Create", "created", "created"
    UPDATED = "updated", "Update", "updated", "updated"
    UNCHANGED = "unchanged", "Unchanged", "unchanged", "unchanged"
    CONFLICT = "conflict", "Conflict: left alone", "CONFLICT", "conflicts"
    MISSING = "missing", "Missing from file: kept", "missing", "missing"
    DELETED = "deleted", "Deleted in the newsroom: not imported", "DELETED", "deleted"

    def __new__(cls, value, preview_label, result_label, count_name):
        action = str.__new__(cls, value)
        action._value_ = value
        action.preview_label = preview_label  # the admin's import preview
        action.result_label = result_label  # manage.py import_briefing's output
        action.count_name = count_name  # ImportResult.counts, the admin's summary message
        return action


class Addresses:
    """The addresses of an import's stories (``Story.absolute_urls``), formatted all at once
    when the first is asked for, as they would have been when the import finished.

    A report that gives none (``bench/scale_import.py``, the counts of an API client) never
    formats them, and never loads the site's URL configuration to do so: with the API's
    schema views that is 0.12-0.15 s a process, more than an unchanged re-import of 2,000
    stories costs. The time zone, script prefix, URLconf and time are the import's, kept
    from when it finished, so an address is the same whenever it is read.
    """

    def __init__(self, stories):
        self.stories = stories  # anything with a slug, published_at and created_at
        self.zone = timezone.get_current_timezone()
        self.now = timezone.now()
        self.script_prefix = get_script_prefix()
        self.urlconf = get_urlconf()
        self.urls = None

    def __getitem__(self, index):
        if self.urls is None:
            self.urls = self.format()
        return self.urls[index]

    def format(self):
        script_prefix, urlconf = get_script_prefix(), get_urlconf()
        set_script_prefix(self.script_prefix)
        set_urlconf(self.urlconf)
        try:
            with timezone.override(self.zone):
                return Story.absolute_urls(self.stories, now=self.now)
        finally:
            set_script_prefix(script_prefix)
            set_urlconf(urlconf)


@dataclass
class StoryOutcome:
    """What the import does (or, in a dry run, would do) with one story."""

    source: str
    headline: str
    action: Action
    # Where its address is found (``url``): formatted only when a report gives it.
    addresses: Addresses = field(repr=False, compare=False)
    index: int = field(repr=False, compare=False)
    parsed: ParsedStory | None = None
    tags: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    reason: str = ""
    story_id: int | None = None

    @property
    def url(self):
        return self.addresses[self.index]

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
        return {action.count_name: self.count(action) for action in Action}

    def as_dict(self):
        return {
            **self.counts,
            "dry_run": self.dry_run,
            "section": self.section,
            "publication_status": self.publication_status,
            "stories": [outcome.as_dict() for outcome in self.outcomes],
        }


def outcomes(plan):
    """The outcome of each planned story, then of each story an earlier import of these
    files made and this one no longer has. Their addresses are formatted when first read."""
    addresses = Addresses([*plan.planned, *plan.missing])
    found = [
        StoryOutcome(
            source=planned.source,
            headline=planned.parsed.headline,
            action=planned.action,
            addresses=addresses,
            index=index,
            parsed=planned.parsed,
            tags=planned.tags,
            published_at=planned.published_at,
            reason=planned.reason,
            story_id=planned.story_id,
        )
        for index, planned in enumerate(plan.planned)
    ]
    for index, stored in enumerate(plan.missing, len(found)):
        found.append(
            StoryOutcome(
                source=stored.source,
                headline=stored.headline,
                action=Action.MISSING,
                addresses=addresses,
                index=index,
                reason="no longer in this briefing; kept as it is",
                story_id=stored.story_id,
            )
        )
    return found
