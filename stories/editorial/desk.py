"""The desk: the admin's home page for staff, a panel per pile of work.

Each panel is a condition on stories (``panel_condition``), so the desk's counts, its top
stories and the story list's "On my desk" filter (``DeskFilter``) always agree. The page
reads its counts in two queries (drafts and stories in review; the published), the import
conflicts' in one more, and each panel's top stories in one more, whatever the number of
stories.

Role-aware: editors (``stories.publish_story``) also see "Awaiting review" and "Import
conflicts"; reporters instead see their own stories they sent for review ("Sent for review"),
so a story does not drop out of sight once sent; everyone sees what is scheduled and recently
published, and their own drafts and stories returned to them (their own: made by them or
carrying their byline). A returned draft is listed under "Returned to me" only, not also
under "My drafts".
"""

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from stories.models import ImportConflict, ReturnNote, Story, StoryByline, is_live_condition
from stories.roles import PUBLISH_PERMISSION

PANEL_SIZE = 5  # stories listed in each panel; the count and the link give the rest
RECENT_DAYS = 7  # "Recently published": live stories published this many days back


@dataclass(frozen=True)
class PanelKind:
    key: str
    title: str
    # Who sees the panel: EVERYONE, EDITORS (stories.publish_story) or the others, REPORTERS.
    audience: str
    ordering: tuple
    # The story list's filter for the whole pile: a built-in one, or DeskFilter's.
    changelist_query: dict
    empty: str


EVERYONE, EDITORS, REPORTERS = "everyone", "editors", "reporters"

PANELS = [
    PanelKind(
        "review",
        "Awaiting review",
        EDITORS,
        ("updated_at", "pk"),  # the longest waiting first
        {"status__exact": Story.Status.REVIEW},
        "Nothing is waiting for review.",
    ),
    PanelKind(
        "scheduled",
        "Scheduled",
        EVERYONE,
        ("published_at", "pk"),  # the next to go live first
        {"publication": "scheduled"},
        "Nothing is scheduled.",
    ),
    PanelKind(
        "drafts",
        "My drafts",
        EVERYONE,
        ("-updated_at", "-pk"),
        {"desk": "drafts"},
        "You have no drafts.",
    ),
    PanelKind(
        "returned",
        "Returned to me",
        EVERYONE,
        ("-updated_at", "-pk"),
        {"desk": "returned"},
        "Nothing has been returned to you.",
    ),
    PanelKind(
        "sent",
        "Sent for review",
        REPORTERS,
        ("-updated_at", "-pk"),  # the latest sent first
        {"desk": "sent"},
        "None of your stories is waiting for review.",
    ),
    PanelKind(
        "published",
        "Recently published",
        EVERYONE,
        ("-published_at", "-pk"),
        {"desk": "published"},
        f"Nothing was published in the last {RECENT_DAYS} days.",
    ),
    PanelKind(
        "conflicts",
        "Import conflicts",
        EDITORS,
        ("-import_conflict__found_at", "-pk"),
        {"desk": "conflicts"},
        "The last imports left no story alone.",
    ),
]
PANEL_KINDS = {kind.key: kind for kind in PANELS}


def is_editor(user):
    return user.has_perm(PUBLISH_PERMISSION)


def panels_for(user):
    audience = EDITORS if is_editor(user) else REPORTERS
    return [kind for kind in PANELS if kind.audience in (EVERYONE, audience)]


def owned_by(user):
    """Stories that are ``user``'s own: they made it, or it carries their byline.

    The byline's stories as one list (``IN``), which PostgreSQL reads once and hashes, where a
    correlated ``EXISTS`` probed the links once per draft (10,000 probes at 1M stories)."""
    return Q(created_by=user) | Q(
        pk__in=StoryByline.objects.filter(byline__user=user).values("story_id")
    )


def open_return_notes():
    return ReturnNote.objects.filter(story=OuterRef("pk"), resolved_at__isnull=True)


def returned_stories():
    """The stories with an open return note, as one list (see ``owned_by``)."""
    return ReturnNote.objects.filter(resolved_at__isnull=True).values("story_id")


def panel_condition(key, user, now):
    """Which stories belong in the panel ``key`` for ``user`` at ``now``."""
    if key == "review":
        return Q(status=Story.Status.REVIEW)
    if key == "scheduled":
        return Q(status=Story.Status.PUBLISHED, published_at__gt=now)
    if key == "drafts":  # returned ones are under "returned" only
        return Q(status=Story.Status.DRAFT) & owned_by(user) & ~Q(pk__in=returned_stories())
    if key == "returned":
        return Q(status=Story.Status.DRAFT) & owned_by(user) & Q(pk__in=returned_stories())
    if key == "sent":
        return Q(status=Story.Status.REVIEW) & owned_by(user)
    if key == "published":
        return is_live_condition() & Q(published_at__gte=now - timedelta(days=RECENT_DAYS))
    if key == "conflicts":
        return Q(Exists(ImportConflict.objects.filter(story=OuterRef("pk"))))
    raise ValueError(f"no desk panel called {key!r}")


# The panels counted together, by the stories they are drawn from (``group_condition``).
PANEL_GROUPS = {
    "in the works": {"review", "drafts", "returned", "sent"},
    "published": {"scheduled", "published"},
}


def group_condition(group, now):
    """The stories every panel of ``group`` is drawn from: a condition an index answers."""
    if group == "in the works":
        return Q(status__in=[Story.Status.DRAFT, Story.Status.REVIEW])
    return Q(status=Story.Status.PUBLISHED, published_at__gte=now - timedelta(days=RECENT_DAYS))


@dataclass
class Panel:
    kind: PanelKind
    count: int
    stories: list

    @property
    def url(self):
        changelist = reverse("admin:stories_story_changelist")
        return f"{changelist}?{urlencode(self.kind.changelist_query)}"

    @property
    def more(self):
        return self.count - len(self.stories)


def panel_stories(kind, user, now):
    stories = (
        Story.objects.filter(panel_condition(kind.key, user, now))
        .select_related("section", "created_by")
        .defer("body")
        .order_by(*kind.ordering)
    )
    if kind.key == "returned":
        latest = open_return_notes().order_by("-created_at", "-pk")
        stories = stories.annotate(
            note_text=Subquery(latest.values("text")[:1]),
            note_at=Subquery(latest.values("created_at")[:1]),
            note_by=Subquery(latest.values("author__username")[:1]),
        )
    if kind.key == "conflicts":
        stories = stories.select_related("import_conflict")
    return list(stories[:PANEL_SIZE])


def desk_panels(user, now=None):
    """The user's panels, each with its count and its first ``PANEL_SIZE`` stories."""
    now = now or timezone.now()
    kinds = panels_for(user)
    counts = {}
    # Every panel but the conflicts holds drafts or stories in review, or stories published
    # in the last week or later. Each group is counted from an index that holds all the
    # counts ask of it, without the table: drafts and stories in review from their own
    # (story_desk_idx), the published from that of live stories by date. One count over
    # both groups had to read a table page per draft (20,000 at 1M stories).
    for group, keys in PANEL_GROUPS.items():
        wanted = [kind.key for kind in kinds if kind.key in keys]
        if wanted:
            counts.update(
                Story.objects.filter(group_condition(group, now))
                .order_by()
                .aggregate(
                    **{key: Count("pk", filter=panel_condition(key, user, now)) for key in wanted}
                )
            )
    if any(kind.key == "conflicts" for kind in kinds):
        # Conflicts are counted from their own table: at most one row per story.
        counts["conflicts"] = ImportConflict.objects.count()
    return [
        Panel(
            kind,
            counts[kind.key],
            panel_stories(kind, user, now) if counts[kind.key] else [],
        )
        for kind in kinds
    ]


class DeskFilter(admin.SimpleListFilter):
    """The story list narrowed to one of the desk's piles (its "more" links land here)."""

    title = "pile on my desk"
    parameter_name = "desk"

    def lookups(self, request, model_admin):
        return [
            (kind.changelist_query["desk"], kind.title)
            for kind in panels_for(request.user)
            if "desk" in kind.changelist_query
        ]

    def queryset(self, request, queryset):
        allowed = {key for key, _ in self.lookup_choices}
        if self.value() in allowed:
            return queryset.filter(panel_condition(self.value(), request.user, timezone.now()))
        if self.value() is not None:
            # Another role's pile, or none: refused (the list with "?e=1"), not ignored.
            raise IncorrectLookupParameters(f"No such pile on this desk: {self.value()!r}")
        return queryset
