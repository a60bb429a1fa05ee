"""Who sees what through the API: what readers see, and scheduled stories for embargo keys.

Every API queryset of stories starts here, as every reader page starts from ``live()``.
"""

from stories.models import ApiKey, Story


def api_key_of(request):
    """The request's API key (``ApiKeyAuthentication`` set it), or None for anonymous."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiKey) else None


def sees_embargoed(request):
    api_key = api_key_of(request)
    return api_key is not None and api_key.has_scope(ApiKey.Scope.EMBARGO)


def visible_stories(request):
    """Live stories; with an embargo key, also published stories whose time has not come.
    Never drafts, stories in review or unpublished ones, whatever the key."""
    if sees_embargoed(request):
        return Story.objects.filter(status=Story.Status.PUBLISHED, published_at__isnull=False)
    return Story.objects.live()
