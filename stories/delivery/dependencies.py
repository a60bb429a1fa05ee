"""Which surrogate keys each change to content affects (``stories.delivery.surrogates``).

One function per model maps changed rows (by primary key, read as the database has them now)
to the keys of the pages showing them. The signal handlers below call it before a save or
delete (old relations) and after (new ones), and invalidate the union: moving a story from
one section to another invalidates both sections' listings.

A live story is on its own page, on the front page, on its section's, tags' and bylines'
listings and their feeds, in search results and in the sitemaps; a story that is not live
(a draft, a scheduled story) is on no cached page, so its edits touch only its own key
(its previews are never cached). The section menu on every page (``sections``) changes
only when a section is edited or gains its first live story or loses its last.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.utils import timezone
from taggit.models import Tag

from stories.changes import content_changed as bulk_written
from stories.models import (
    Byline,
    Correction,
    FrontPagePin,
    Image,
    Section,
    SectionTopStory,
    SitePage,
    Story,
    StoryByline,
    TaggedStory,
)

from . import surrogates
from .surrogates import ALL, keys_of, register

LIVE_STORY_KEYS = ("home", "search", "sitemaps")


def live_pks(pks):
    return list(Story.objects.live().filter(pk__in=pks).values_list("pk", flat=True))


@register(Story)
def story_keys(pks):
    keys = {f"story-{pk}" for pk in pks}
    live = Story.objects.live().filter(pk__in=pks).order_by()
    sections = set(live.values_list("section_id", flat=True))
    if not sections:
        return keys
    live = list(live.values_list("pk", flat=True))
    keys.update(LIVE_STORY_KEYS)
    keys.update(f"section-{pk}" for pk in sections)
    tags = TaggedStory.objects.filter(content_object_id__in=live).values_list("tag_id", flat=True)
    keys.update(f"tag-{pk}" for pk in set(tags))
    bylines = StoryByline.objects.filter(story_id__in=live).values_list("byline_id", flat=True)
    keys.update(f"byline-{pk}" for pk in set(bylines))
    return keys


@register(Section)
def section_keys(pks):
    # Its name is in the menu on every page, on cards and in feeds' categories.
    return {"sections", "sitemaps", *(f"section-{pk}" for pk in pks)}


@register(Byline)
def byline_keys(pks):
    # Its name is printed on its stories' pages and cards, wherever those are listed.
    stories = StoryByline.objects.filter(byline_id__in=pks).values_list("story_id", flat=True)
    return {"sitemaps", *(f"byline-{pk}" for pk in pks)} | story_keys(set(stories))


@register(Tag)
def tag_keys(pks):
    stories = TaggedStory.objects.filter(tag_id__in=pks).values_list("content_object_id", flat=True)
    return {"sitemaps", *(f"tag-{pk}" for pk in pks)} | story_keys(set(stories))


@register(Image)
def image_keys(pks):
    # Alt text, caption, credit and crops are printed wherever a story leads with it.
    return story_keys(set(Story.objects.filter(lead_image_id__in=pks).values_list("pk", flat=True)))


@register(Correction)
def correction_keys(pks):
    stories = Correction.objects.filter(pk__in=pks).values_list("story_id", flat=True)
    return story_keys(set(stories))


@register(StoryByline)
def story_byline_keys(pks):
    rows = StoryByline.objects.filter(pk__in=pks).values_list("story_id", "byline_id")
    return {f"byline-{byline}" for _, byline in rows} | story_keys({story for story, _ in rows})


@register(TaggedStory)
def tagged_story_keys(pks):
    rows = TaggedStory.objects.filter(pk__in=pks).values_list("content_object_id", "tag_id")
    return {f"tag-{tag}" for _, tag in rows} | story_keys({story for story, _ in rows})


@register(FrontPagePin)
def front_page_pin_keys(pks):
    # What editors pin leads the home page's first page and leaves the date order of every
    # home page (each of them a story earlier or later): "home" names them all.
    return {"home"}


@register(SectionTopStory)
def section_top_story_keys(pks):
    # The story pinned atop a section leads that section's first page and leaves the date
    # order of all its pages (moved to another section, both: keys are worked out before
    # and after the write).
    rows = SectionTopStory.objects.filter(pk__in=pks).values_list("section_id", flat=True)
    return {f"section-{pk}" for pk in rows}


@register(SitePage)
def site_page_keys(pks):
    # Its own page, the footer of every page (``pages``), and the sitemap of site pages.
    return {"pages", "sitemaps", *(f"page-{pk}" for pk in pks)}


def sections_with_live_stories(section_ids):
    live = Story.objects.live().filter(section_id__in=section_ids).order_by()
    return set(live.values_list("section_id", flat=True).distinct())


def would_be_live(story):
    return story.status == Story.Status.PUBLISHED and (
        story.published_at is not None and story.published_at <= timezone.now()
    )


def before_change(sender, instance, **kwargs):
    """Keys of the rows as they are before the write, kept on the instance for after."""
    new = instance.pk is None
    instance._surrogate_keys_before = set() if new else keys_of(sender, [instance.pk])
    if sender is Story:
        # The menu lists sections with a live story: note which of the story's old and new
        # sections have one, to see after the write whether that changed.
        old = (
            None
            if new
            else Story.objects.filter(pk=instance.pk).values_list("section_id", flat=True).first()
        )
        involved = {old, instance.section_id} - {None}
        was_live = any(key.startswith("section-") for key in instance._surrogate_keys_before)
        instance._surrogate_menu = (None, None)
        if was_live or would_be_live(instance):
            instance._surrogate_menu = (involved, sections_with_live_stories(involved))


def after_change(sender, instance, **kwargs):
    keys = getattr(instance, "_surrogate_keys_before", set())
    if kwargs.get("signal") is not post_delete:
        keys = keys | keys_of(sender, [instance.pk])
    if sender is Story:
        involved, before = getattr(instance, "_surrogate_menu", (None, None))
        if involved and sections_with_live_stories(involved) != before:
            keys.add("sections")
    surrogates.invalidate(keys)


def tags_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    """``story.tags.add/remove/set/clear()`` (taggit sends ``m2m_changed``)."""
    if action.startswith("pre_"):
        instance._surrogate_m2m_before = keys_of(type(instance), [instance.pk])
        return
    keys = getattr(instance, "_surrogate_m2m_before", set()) | keys_of(
        type(instance), [instance.pk]
    )
    keys |= keys_of(model, pk_set or [])
    surrogates.invalidate(keys)


def bulk_change(sender, keys=None, pks=None, **kwargs):
    """A bulk write (``stories.changes.announce``): its keys if it names them, else those of
    the rows it names (announced before and after the write), else all."""
    if keys is None and pks is not None and sender in surrogates.KEYS_OF:
        # Rows no page shows (an image no story leads) still change the content: the
        # whole-site token (``surrogates.ANY``, the API's ETags) moves.
        keys = keys_of(sender, pks) or {surrogates.ANY}
    surrogates.invalidate(keys if keys is not None else {ALL})


WATCHED = (
    Story,
    Section,
    Byline,
    StoryByline,
    TaggedStory,
    Tag,
    Correction,
    Image,
    FrontPagePin,
    SectionTopStory,
    SitePage,
)


def connect_signals():
    for model in WATCHED:
        uid = f"surrogates-{model._meta.label}"
        pre_save.connect(before_change, sender=model, dispatch_uid=f"{uid}-pre-save")
        post_save.connect(after_change, sender=model, dispatch_uid=f"{uid}-save")
        pre_delete.connect(before_change, sender=model, dispatch_uid=f"{uid}-pre-delete")
        post_delete.connect(after_change, sender=model, dispatch_uid=f"{uid}-delete")
    m2m_changed.connect(tags_changed, sender=TaggedStory, dispatch_uid="surrogates-m2m-tags")
    bulk_written.connect(bulk_change, dispatch_uid="surrogates-bulk")
