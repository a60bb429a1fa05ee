"""Template helpers for reader pages: story cards and pagination links."""

from django import template
from django.template import TemplateSyntaxError
from django.utils.safestring import mark_safe

from ..delivery import fragments

register = template.Library()


@register.simple_tag(takes_context=True)
def story_cards(context, stories, level=2, lead=False, hide_section=False):
    """Cards for ``stories`` (from ``for_cards()``), one after another. A tag rather than an
    ``{% include %}`` per card: cards are kept per content generation and fetched together
    (``stories.delivery.fragments``), and the include's own cost per card was most of a page's."""
    request = getattr(context, "request", None)
    cards = fragments.story_cards(
        request, stories, level=level, lead=lead, hide_section=hide_section
    )
    return mark_safe("\n".join(cards))  # each card was rendered (and escaped) by its template


@register.simple_tag(takes_context=True)
def page_url(context, number):
    """The address of page ``number`` of the current listing; page 1 drops ``page`` so it
    has one address. Other query parameters (a campaign's ``utm_source``) are not carried:
    the listing's content is kept and shared by every reader of that page."""
    request = getattr(context, "request", None)
    if number == 1:
        return request.path if request is not None else "?"
    return f"?page={number}"


@register.simple_tag
def page_range(page_obj):
    """Page numbers around the current one, with ``…`` for the gaps: 1 … 4 5 6 … 20."""
    return page_obj.paginator.get_elided_page_range(page_obj.number, on_each_side=1, on_ends=1)


@register.tag
def kept(parser, token):
    """``{% kept name value… %}…{% endkept %}``: the block's HTML, kept for the content
    generation under ``name`` and the values given (``stories.delivery.fragments.kept_html``), like
    Django's ``{% cache %}`` but following every edit at once. Rendered afresh when kept
    fragments are off."""
    bits = token.split_contents()
    if len(bits) < 2:
        raise TemplateSyntaxError("'kept' needs a name: {% kept name value… %}")
    nodelist = parser.parse(("endkept",))
    parser.delete_first_token()
    return KeptNode(nodelist, bits[1], [parser.compile_filter(bit) for bit in bits[2:]])


class KeptNode(template.Node):
    def __init__(self, nodelist, name, values):
        self.nodelist, self.name, self.values = nodelist, name, values

    def render(self, context):
        request = context.get("request")
        if not fragments.enabled(request):
            return self.nodelist.render(context)
        values = [value.resolve(context) for value in self.values]
        return fragments.kept_html(
            request, self.name, values, lambda: self.nodelist.render(context)
        )
