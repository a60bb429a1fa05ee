"""The section, byline, tag or site page an address names, cached while its surrogate keys
stand
(``stories.delivery.fragments.cached_lookup``): pages and feeds share them. Each has a live
story (site pages need none), or the address names nothing (Http404; misses are not
cached)."""

from django.http import Http404

from stories.delivery import fragments
from stories.models import SitePage, live_bylines, live_sections, live_tags


def _live_or_404(request, kind, table, slug, keys):
    found = fragments.cached_lookup(
        request, f"{kind}:{slug}", lambda: table().filter(slug=slug).first(), keys
    )
    if found is None:
        raise Http404(f"No {kind.replace('-', ' ')} has this address.")
    return found


def section_or_404(request, slug):
    return _live_or_404(
        request, "section", live_sections, slug, lambda found: ["sections", f"section-{found.pk}"]
    )


def byline_or_404(request, slug):
    return _live_or_404(request, "byline", live_bylines, slug, lambda found: [f"byline-{found.pk}"])


def live_tag_or_404(request, slug):
    return _live_or_404(request, "live-tag", live_tags, slug, lambda found: [f"tag-{found.pk}"])


def site_page_or_404(request, slug):
    return _live_or_404(
        request, "site-page", SitePage.objects.all, slug, lambda found: [f"page-{found.pk}"]
    )
