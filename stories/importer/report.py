"""What an import did, or in a dry run would do: one ``StoryOutcome`` per story, in an
``ImportResult``, each with an ``Action`` whose one table gives the words the admin's preview,
the command's output and the result's counts use for it."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

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


@dataclass
class StoryOutcome:
    """What the import does (or, in a dry run, would do) with one story."""

    source: str
    headline: str
    action: Action
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
        return {action.count_name: self.count(action) for action in Action}

    def as_dict(self):
        return {
            **self.counts,
            "dry_run": self.dry_run,
            "section": self.section,
            "publication_status": self.publication_status,
            "stories": [outcome.as_dict() for outcome in self.outcomes],
        }


def outcomes(plan, urls):
    """The outcome of each planned story (``urls``: their addresses, in order), then of each
    story an earlier import of these files made and this one no longer has."""
    found = [
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
        for planned, url in zip(plan.planned, urls, strict=True)
    ]
    missing_urls = Story.absolute_urls(plan.missing)
    for stored, url in zip(plan.missing, missing_urls, strict=True):
        found.append(
            StoryOutcome(
                source=stored.source,
                headline=stored.headline,
                action=Action.MISSING,
                url=url,
                reason="no longer in this briefing; kept as it is",
                story_id=stored.story_id,
            )
        )
    return found


def preview_urls(plan):
    """Addresses the stories have, or would get, without writing anything."""
    plan.allocate_new_slugs()
    return Story.absolute_urls(plan.planned)
