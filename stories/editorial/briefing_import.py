"""Importing a briefing from the admin: upload, see what would happen, confirm.

It runs the same code as ``manage.py import_briefing``: ``parse_briefing_bytes`` and
``stories.importer.import_briefings``, first as a dry run for the preview, then for
real. Between the two steps the upload is kept in ``var/imports`` under a random name that
the confirmation form carries signed, so nobody can make the server import another file.
Staged uploads are private to the server's user (0600 in a 0700 folder), go once confirmed or
once they can no longer be confirmed, and are bounded: a user's latest ``STAGED_PER_USER``,
``BRIEFING_STAGING_MAX_BYTES`` in all.
"""

import os
import secrets
import time

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from stories.importer import BriefingError, import_briefings, parse_briefing_bytes
from stories.importer.report import Action
from stories.models import Section, Story

from .forms import ImportBriefingForm

STAGED_SALT = "stories.admin-import"
STAGED_MAX_AGE = 60 * 60  # seconds between the preview and the confirmation
# Previews a user may have waiting (say, in several tabs); staging another drops the oldest.
STAGED_PER_USER = 3


def staging_dir():
    return settings.VAR_DIR / "imports"


def staged_path(user_pk, token):
    return staging_dir() / f"{user_pk}-{token}.briefing"


def staged_files(pattern="*.briefing"):
    """Staged uploads with their size and time, oldest first; ones gone meanwhile left out."""
    found = []
    for staged in staging_dir().glob(pattern):
        try:
            stat = staged.stat()
        except FileNotFoundError:  # confirmed or cleaned up by another request
            continue
        found.append((stat.st_mtime, stat.st_size, staged))
    return sorted(found)


def stage_upload(data, name, user):
    """Keep an upload until its confirmation; the signed token that names it.

    ``BriefingError`` if all staged uploads together would pass BRIEFING_STAGING_MAX_BYTES."""
    directory = staging_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)  # mkdir's mode is cut by the umask, and the folder may be older
    cutoff = time.time() - STAGED_MAX_AGE
    for mtime, _size, old in staged_files():
        if mtime < cutoff:  # its signed token has expired: nobody can confirm it now
            old.unlink(missing_ok=True)
    mine = staged_files(f"{user.pk}-*.briefing")
    for _mtime, _size, old in mine[: max(0, len(mine) - STAGED_PER_USER + 1)]:
        old.unlink(missing_ok=True)
    waiting = sum(size for _mtime, size, _path in staged_files())
    if waiting + len(data) > settings.BRIEFING_STAGING_MAX_BYTES:
        raise BriefingError(
            "too many imports are waiting for confirmation; try again later", source=name
        )
    token = secrets.token_hex(16)
    target = staged_path(user.pk, token)
    # Created private and exclusive (never over another file), whatever the umask.
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as staged:
            staged.write(data)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return signing.dumps({"token": token, "name": name, "user": user.pk}, salt=STAGED_SALT)


def read_staged(signed, user):
    """The staged upload's bytes and file name; ``BriefingError`` if gone or not this user's."""
    try:
        staged = signing.loads(signed, salt=STAGED_SALT, max_age=STAGED_MAX_AGE)
    except signing.BadSignature:
        raise BriefingError("the preview has expired; upload the file again") from None
    if staged.get("user") != user.pk:
        raise BriefingError("this preview belongs to someone else; upload the file again")
    path = staged_path(user.pk, staged["token"])
    try:
        return path, path.read_bytes(), staged["name"]
    except FileNotFoundError:
        raise BriefingError(
            "the uploaded file is gone (already imported?); upload it again"
        ) from None


class ImportBriefingMixin:
    """Adds "Import briefing" to StoryAdmin."""

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name=f"{opts.app_label}_{opts.model_name}_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ImportBriefingForm(request.POST or None, request.FILES or None, user=request.user)
        context = {"form": form, "result": None}
        if request.method == "POST" and form.is_valid():
            confirming = "confirm" in request.POST and form.cleaned_data["staged"]
            try:
                if confirming:
                    path, data, name = read_staged(form.cleaned_data["staged"], request.user)
                else:
                    upload = form.cleaned_data["briefing"]
                    path, data, name = None, upload.read(), upload.name
                result = self.run_import(request, form, data, name, dry_run=not confirming)
                staged = None if confirming else stage_upload(data, name, request.user)
            except BriefingError as error:
                form.add_error(None, str(error))
            else:
                if confirming:
                    path.unlink(missing_ok=True)
                    self.report_import(request, result)
                    return redirect(reverse("admin:stories_story_changelist"))
                context.update(
                    result=result,
                    staged=staged,
                    rows=[(outcome, outcome.action.preview_label) for outcome in result.outcomes],
                )
        context.update(
            self.admin_site.each_context(request),
            opts=self.model._meta,
            # As the change form does: the admin's scripts (core.js, which AdminDateWidget's
            # calendar needs but does not list) before the form's own.
            media=self.media + form.media,
            title="Import a briefing",
        )
        return TemplateResponse(request, "admin/stories/story/import_briefing.html", context)

    def run_import(self, request, form, data, name, *, dry_run):
        briefing = parse_briefing_bytes(data, source=name)
        options = {
            "section": form.cleaned_data["section_slug"],
            "day": form.cleaned_data["date"],
            "status": form.cleaned_data["status"],
            "user": request.user,
        }
        preview = import_briefings([briefing], dry_run=True, **options)
        self.check_may_update(request, preview)
        if dry_run:
            return preview
        with transaction.atomic():
            new_section = form.cleaned_data.get("new_section")
            if new_section:
                # Named as the editor typed it (the importer would name it from the slug);
                # made in the import's transaction, so a failed import leaves no section.
                Section.objects.get_or_create(
                    slug=options["section"], defaults={"name": new_section}
                )
            return import_briefings([briefing], dry_run=False, **options)

    def check_may_update(self, request, result):
        """A re-import may rewrite stories; only those the user may edit."""
        ids = [o.story_id for o in result.outcomes if o.action == Action.UPDATED and o.story_id]
        refused = [
            story.headline
            for story in Story.objects.filter(pk__in=ids)
            if not self.has_change_permission(request, story)
        ]
        if refused:
            raise BriefingError(
                "this import would change stories you may not edit: " + "; ".join(refused),
                source=result.outcomes[0].source,
            )

    def report_import(self, request, result):
        counts = result.counts
        summary = ", ".join(f"{number} {name}" for name, number in counts.items() if number)
        left_alone = {Action.CONFLICT: "Conflict", Action.DELETED: "Not imported"}
        level = (
            messages.WARNING
            if any(counts[action.count_name] for action in left_alone)
            else messages.SUCCESS
        )
        self.message_user(request, f"Imported: {summary or 'nothing to do'}.", level)
        for outcome in result.outcomes:
            if outcome.action in left_alone:
                self.message_user(
                    request,
                    f"{left_alone[outcome.action]}: “{outcome.headline}” {outcome.reason}.",
                    level,
                )
