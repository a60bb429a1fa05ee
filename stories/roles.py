"""The newsroom's two roles, Reporter and Editor, as Django groups with fixed permissions.

``sync_roles`` makes the groups hold exactly these permissions. A data migration runs it, and
so does every ``migrate`` (post_migrate), so the groups follow this file: change the lists
here and the next migrate brings every database into line.
"""

REPORTER = "Reporter"
EDITOR = "Editor"

PUBLISH_PERMISSION = "stories.publish_story"


def model_permissions(app_label, model, actions=("add", "change", "delete", "view")):
    return [f"{app_label}.{action}_{model}" for action in actions]


ROLE_PERMISSIONS = {
    # Reporters write: they create stories and edit their own drafts (which rules apply to
    # which story is StoryAdmin's business); they only look at sections, bylines and tags.
    REPORTER: [
        *model_permissions("stories", "story"),
        *model_permissions("stories", "storybyline"),
        "stories.view_section",
        "stories.view_byline",
        "stories.view_correction",
        "taggit.view_tag",
        # The image library: they upload and use images, and change their own
        # (ImageAdmin and Image.editable_by say which); deleting is an editor's.
        *model_permissions("stories", "image", ("add", "change", "view")),
        # Notes on the stories they may edit (StoryNote.readable_by); never changed once added.
        *model_permissions("stories", "storynote", ("add", "view")),
    ],
    # Editors publish, and manage everything the site is organised by.
    EDITOR: [
        *model_permissions("stories", "story"),
        PUBLISH_PERMISSION,
        *model_permissions("stories", "storybyline"),
        *model_permissions("stories", "section"),
        *model_permissions("stories", "byline"),
        # Corrections are append-only: no one changes or deletes one once it is printed.
        *model_permissions("stories", "correction", ("add", "view")),
        *model_permissions("stories", "previewlink"),
        *model_permissions("taggit", "tag"),
        # The site's own pages (About, Contact, the corrections policy), in every footer.
        *model_permissions("stories", "sitepage"),
        # Partners' keys to the read API: made and revoked, never deleted (the record of who
        # had access stays); only the name changes after a key is made.
        *model_permissions("stories", "apikey", ("add", "change", "view")),
        "stories.revoke_apikey",
        # Webhooks: editors register subscribers and may send a delivery again.
        *model_permissions("stories", "webhooksubscriber"),
        *model_permissions("stories", "webhookdelivery", ("change", "view")),
        *model_permissions("stories", "image"),
        "stories.change_any_image",
        *model_permissions("stories", "storynote", ("add", "view")),
        # The front page: what leads home and each section is an editor's call (reporters
        # have none of these, so the desk's "Front page" screen is closed to them).
        *model_permissions("stories", "frontpage", ("change", "view")),
        *model_permissions("stories", "frontpagepin"),
        *model_permissions("stories", "sectiontopstory"),
        # Reporter accounts (stories.editorial.people): never editors' or superusers', and
        # never more rights than a reporter's; no deleting, accounts are deactivated.
        *model_permissions("auth", "user", ("add", "change", "view")),
    ],
}


def sync_roles(apps, using="default"):
    """Create the groups if missing and set each one's permissions to exactly its list."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; a fresh database needs them now.
    # Migration states hold app configs without a models module, which create_permissions
    # skips, so those are flagged for the call and put back as they were.
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        try:
            create_permissions(app_config, apps=apps, verbosity=0, using=using)
        finally:
            app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        wanted = Permission.objects.none()
        for code in codes:
            app_label, codename = code.split(".")
            # A permission is missing only while a database is migrated back to before its
            # model existed; the next forward migrate adds it.
            wanted |= Permission.objects.using(using).filter(
                content_type__app_label=app_label, codename=codename
            )
        group.permissions.set(wanted)


def sync_roles_after_migrate(sender, *, using, apps=None, **kwargs):
    # `flush` (run between transactional tests) sends post_migrate without `apps`.
    from django.apps import apps as installed_apps

    sync_roles(apps or installed_apps, using=using)
