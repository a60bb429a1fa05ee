"""Reader pages. Every queryset starts from ``Story.objects.live()``."""

from datetime import date
from functools import wraps

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.generic import DetailView, ListView

from stories import listings
from stories.delivery import page_cache, surrogates
from stories.delivery.page_cache import page_number
from stories.delivery.pagination import CachedCountMixin, CachedRanking, DeferredJoinPaginator
from stories.models import ListingChange, Story, TagSlugRedirect, live_tags

from . import pieces
from .lookups import byline_or_404, live_tag_or_404, section_or_404, site_page_or_404
from .previews import PreviewableStoryMixin
from .search import canonical_query, clean_query, search_ranking, search_terms


class LazyListing(SimpleLazyObject):
    """A listing's queryset, built when first used: with its count and content cached for
    the content generation a page never uses it, and building the ``live()`` filter was a
    fifth of such a page's time. (With ``DeferredJoinPaginator``'s lazy page it stays until
    ``make bench`` says a plain queryset costs a warm listing less than 10 %.)"""

    # Listings keep the model's ordering; saying so spares the paginator's check from
    # building the queryset.
    ordered = True


class StoryListView(CachedCountMixin, ListView):
    paginate_by = settings.STORIES_PER_PAGE
    paginator_class = DeferredJoinPaginator
    template_name = "stories/story_list.html"
    context_object_name = "stories"
    # The query parameters the page depends on, each with the function that writes its value
    # the one way (stories.delivery.page_cache keeps one address per page).
    canonical_parameters = {"page": page_number}

    def get_queryset(self):
        # What the page shows, for its cached parts and the cache in front: declared before
        # anything is rendered (``stories.delivery.surrogates``).
        surrogates.add_keys(self.request, *self.surrogate_keys())
        return LazyListing(self.listing)

    def surrogate_keys(self):
        return ["home"]

    def listing(self):
        """The stories listed, newest first."""
        return Story.objects.live().for_cards()

    # How many stories editors may pin atop the listing's first page (``pinned()``); 0 for
    # a listing with no pins (tags, bylines).
    pinned_places = 0

    def pinned(self):
        """The stories pinned atop the first page (a queryset sliced to ``pinned_places``):
        they lead it, and the paginator leaves them out of the date order, so no page
        repeats them and every page but the last lists ``paginate_by`` stories."""
        raise NotImplementedError

    def get_paginator(self, *args, **kwargs):
        if self.pinned_places:
            kwargs.update(pinned=self.pinned, pinned_most=self.pinned_places)
        return super().get_paginator(*args, **kwargs)

    def count_listing(self):
        """How many stories ``listing()`` lists, from the count the database keeps (one
        query: it was a COUNT of every live story, 72 ms at a million)."""
        return listings.live_count()

    def cache_name(self):
        return "home"

    def get_template_names(self):
        # Only ``template_name``: ListView would also look at the queryset's model, which
        # means building it.
        return [self.template_name]

    def get_context_data(self, **kwargs):
        # The listing's name keys its cached meta tags and content (``{% cache %}`` in the
        # templates) with the page number; the page's stories are read only when the
        # content has to be rendered.
        return super().get_context_data(cache_name=self.cache_name(), **kwargs)


class HomeView(StoryListView):
    # The front page (lead story, sections) is laid out by ``{% front_page %}`` inside the
    # template's cached content block (``stories.reader.pieces.front_page``).
    template_name = "stories/home.html"

    @property
    def pinned_places(self):
        return pieces.home_places()

    def pinned(self):
        return pieces.pinned_on_home()


class SectionView(StoryListView):
    def get_queryset(self):
        self.section = section_or_404(self.request, self.kwargs["slug"])
        return super().get_queryset()

    def listing(self):
        return super().listing().in_section(self.section)

    def count_listing(self):
        return listings.live_count(ListingChange.Kind.SECTION, self.section.pk)

    pinned_places = 1

    def pinned(self):
        return pieces.pinned_atop(self.section)

    def cache_name(self):
        return f"section:{self.section.pk}"

    def surrogate_keys(self):
        return [f"section-{self.section.pk}"]

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            heading=self.section.name,
            kind="Section",
            section=self.section,
            current_section_slug=self.section.slug,
            description=self.section.description,
            **kwargs,
        )


def follow_tag_merges(view):
    """A tag merged into another (``editorial.tags.merge_tags``) leaves its addresses behind:
    the page (``?page=`` kept) and its feeds lead, permanently, to the same page of the tag it
    was merged into, if that tag is live; any other unknown tag is still a 404."""

    @wraps(view)
    def wrapper(request, *args, slug, **kwargs):
        try:
            return view(request, *args, slug=slug, **kwargs)
        except Http404:
            moved = TagSlugRedirect.objects.filter(slug=slug).select_related("tag").first()
            if moved is None or not live_tags().filter(pk=moved.tag_id).exists():
                raise
            name = request.resolver_match.view_name
            address = reverse(name, args=args, kwargs={**kwargs, "slug": moved.tag.slug})
            # The same page of it: ?page= carried over, written the one way.
            try:
                page = page_number(request.GET.get("page", "1"))
            except ValueError:
                page = ""
            return redirect(f"{address}?page={page}" if page else address, permanent=True)

    return wrapper


class TagView(StoryListView):
    def get_queryset(self):
        self.tag = live_tag_or_404(self.request, self.kwargs["slug"])
        return super().get_queryset()

    def listing(self):
        return super().listing().tagged(self.tag)

    def count_listing(self):
        return listings.live_count(ListingChange.Kind.TAG, self.tag.pk)

    def cache_name(self):
        return f"tag:{self.tag.pk}"

    def get_paginator(self, *args, **kwargs):
        return super().get_paginator(*args, sort_apart=True, **kwargs)

    def surrogate_keys(self):
        return [f"tag-{self.tag.pk}"]

    def get_context_data(self, **kwargs):
        return super().get_context_data(heading=self.tag.name, kind="Tag", tag=self.tag, **kwargs)


class BylineView(StoryListView):
    template_name = "stories/byline_detail.html"

    def get_queryset(self):
        self.byline = byline_or_404(self.request, self.kwargs["slug"])
        return super().get_queryset()

    def listing(self):
        return super().listing().by_byline(self.byline)

    def count_listing(self):
        return listings.live_count(ListingChange.Kind.BYLINE, self.byline.pk)

    def cache_name(self):
        return f"byline:{self.byline.pk}"

    def get_paginator(self, *args, **kwargs):
        return super().get_paginator(*args, sort_apart=True, **kwargs)

    def surrogate_keys(self):
        return [f"byline-{self.byline.pk}"]

    def get_context_data(self, **kwargs):
        return super().get_context_data(byline=self.byline, **kwargs)


class StoryDetailView(PreviewableStoryMixin, DetailView):
    context_object_name = "story"

    def get_queryset(self):
        # The row with its section and lead image (joined on their keys: no dearer than the
        # row alone), unordered (a slug is unique): the page's bylines, tags and corrections
        # are read only when its cached parts have to be rendered
        # (``stories.reader.pieces.story_page_parts``).
        return Story.objects.live().select_related("section", "lead_image").order_by()

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        surrogates.add_keys(request, f"story-{self.object.pk}")
        published_on = self.object.url_date()
        requested = (self.kwargs["year"], self.kwargs["month"], self.kwargs["day"])
        if requested != (published_on.year, published_on.month, published_on.day):
            # The slug is what identifies a story; a wrong date in the address is
            # a reader's typo or an old link, so send them to the right one.
            return redirect(self.object, permanent=True)
        return self.render_to_response(self.get_context_data(object=self.object))

    def get_object(self, queryset=None):
        try:
            date(self.kwargs["year"], self.kwargs["month"], self.kwargs["day"])
        except (ValueError, OverflowError):  # 2025/02/30, or a year with 20 digits
            raise Http404("No such date") from None
        return self.get_story(self.kwargs["slug"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not self.is_preview:
            context["story_parts"] = pieces.story_page_parts(self.request, self.object)
        return context


class SitePageView(DetailView):
    """A page about the site (About, Contact, the corrections policy), as editors wrote it.
    The page is looked up once while its key stands (``lookups.site_page_or_404``) and its
    meta tags and body are cached by the template's ``{% cache %}`` blocks."""

    template_name = "stories/site_page.html"
    context_object_name = "site_page"

    def get_object(self, queryset=None):
        page = site_page_or_404(self.request, self.kwargs["slug"])
        surrogates.add_keys(self.request, f"page-{page.pk}")
        return page

    def get_context_data(self, **kwargs):
        # The footer marks the page it links to (its cached block is keyed by this too).
        return super().get_context_data(current_page_slug=self.object.slug, **kwargs)


class SearchView(ListView):
    """Ranked search over live stories; see ``stories.reader.search``. The ranking is cached for
    the content generation (``stories.delivery.pagination.CachedRanking``)."""

    template_name = "stories/search.html"
    paginate_by = settings.SEARCH_RESULTS_PER_PAGE
    context_object_name = "stories"
    canonical_parameters = {"q": canonical_query, "page": page_number}

    def get_queryset(self):
        surrogates.add_keys(self.request, "search")
        self.query = clean_query(self.request.GET.get("q", ""))
        terms = search_terms(self.query)
        if not terms:
            return Story.objects.none()
        # The words are what the results depend on: "Volcano!" and "volcano" rank alike.
        return CachedRanking(
            self.request,
            "search:" + " ".join(terms),
            lambda: search_ranking(self.query),
            lambda: Story.objects.live().for_cards(),
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            query=self.query, has_terms=bool(search_terms(self.query)), **kwargs
        )

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        if not context["paginator"].count:
            # Anyone can make up words: a search that finds nothing takes no cache space.
            page_cache.keep_out_of_page_cache(response)
        return response


def robots_txt(request):
    sitemaps = [
        reverse("stories:sitemap"),
        reverse("stories:sitemap_section", kwargs={"section": "news"}),
    ]
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        # Result pages are endless and thin; stories are found through the sitemaps.
        "Disallow: /search/",
        "",
        *(f"Sitemap: {request.build_absolute_uri(path)}" for path in sitemaps),
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
