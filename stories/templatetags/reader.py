"""Template helpers for reader pages: story cards, the front page, the section menu and
pagination links."""

from django import template
from django.utils.safestring import mark_safe

from .. import models
from ..delivery import fragments
from ..reader import pieces

register = template.Library()


@register.simple_tag(takes_context=True)
def story_cards(context, stories, level=2, lead=False, hide_section=False):
    """Cards for ``stories`` (from ``for_cards()``), one after another. A tag rather than an
    ``{% include %}`` per card: cards are cached per content generation and fetched together
    (``stories.delivery.fragments``), and the include's own cost per card was most of a page's."""
    request = getattr(context, "request", None)
    stories = list(stories)
    options = {"level": level, "lead": lead, "hide_section": hide_section}
    # The first row's images load at once, the rest (below the fold) lazily.
    first_row, others = fragments.card_groups(
        request,
        [
            (stories[: pieces.EAGER_CARDS], {**options, "eager": True}),
            (stories[pieces.EAGER_CARDS :], options),
        ],
    )
    # Each card was rendered (and escaped) by its template.
    return mark_safe("\n".join([*first_row, *others]))


@register.simple_tag(takes_context=True)
def page_url(context, number):
    """The address of page ``number`` of the current listing; page 1 drops ``page`` so it
    has one address. Other query parameters (a campaign's ``utm_source``) are not carried:
    the listing's content is cached and shared by every reader of that page."""
    request = getattr(context, "request", None)
    if number == 1:
        return request.path if request is not None else "?"
    return f"?page={number}"


@register.simple_tag
def page_range(page_obj):
    """Page numbers around the current one, with ``…`` for the gaps: 1 … 4 5 6 … 20."""
    return page_obj.paginator.get_elided_page_range(page_obj.number, on_each_side=1, on_ends=1)


@register.simple_tag(takes_context=True)
def front_page(context, stories):
    """``{% front_page page_obj.object_list as front %}``: the lead, the top stories and the
    sections' cards (``stories.reader.pieces.front_page``), inside the cached content block
    so the page's stories are read only when it is rendered."""
    return pieces.front_page(getattr(context, "request", None), stories)


@register.simple_tag(takes_context=True)
def listing_front(context, stories, section=None, hide_section=False):
    """``{% listing_front page_obj.object_list section=section as front %}``: a section or
    tag page's lead card and the cards after it (``stories.reader.pieces.listing_front``)."""
    request = getattr(context, "request", None)
    return pieces.listing_front(request, stories, section or None, hide_section=bool(hide_section))


@register.simple_tag(takes_context=True)
def live_sections(context):
    """``{% live_sections as sections %}``: the sections of the menu and the footer (those
    with a live story), read only when a cached block that shows them is rendered (the tag
    runs inside it), and once per request however many blocks do."""
    request = getattr(context, "request", None)
    if request is None:
        return models.live_sections()
    sections = getattr(request, "_live_sections", None)
    if sections is None:
        sections = request._live_sections = list(models.live_sections())
    return sections


@register.simple_tag
def footer_pages():
    """``{% footer_pages as pages %}``: the site pages the footer links to, a queryset read
    only when the footer's cached block is rendered."""
    return models.SitePage.objects.filter(in_footer=True).only("title", "slug")
