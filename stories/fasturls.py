"""``reverse()`` once per URL pattern, then string formatting: the same URLs, refused where
``reverse()`` refuses, for a third of the work.

Django's ``reverse()`` costs about 20 µs a URL (namespace and resolver lookups, building and
searching the pattern's regex). A listing page links every story, its section and its
bylines, and an import reports the address of every story it read, so the models format their
addresses here instead. The template is built by reversing with marker arguments, and is kept
per URLconf (the request's, else ``ROOT_URLCONF``) and script prefix, so ``override_settings``
and ``FORCE_SCRIPT_NAME`` still work.

Validation is ``reverse()``'s: each argument goes through its converter's ``to_url()`` and
must then match the converter's regex in full, else ``NoReverseMatch``
(``fast_reverse("stories:section", "a/b")`` raises as ``reverse()`` does). The converters come
from the pattern itself (``resolve()`` of the marker URL gives its ``route``). Where parameters
are separated by ``/`` and no converter matches one (every route here), this is exactly
``reverse()``'s check of the whole path. A pattern this cannot read (a ``re_path()``, a view
given by callable, a converter refusing the markers) is simply left to ``reverse()``.

Kept by issue 12's rule (``reverse()`` instead, unless a page or the importer loses more than
10 %). Measured in process on a shared 2-core machine (load average 3.5-5), this module and
``reverse()`` interleaved in one process, medians:

- one story URL: ``reverse()`` 22.7 µs, ``fast_reverse()`` 8.0 µs (section: 22.4 / 6.2 µs);
- ``Story.absolute_urls`` of 10,000 stories (an import's report): 245 ms with ``reverse()``,
  41 ms here; the unchanged re-import of 10,000 stories (bench briefing): 1.37 s CPU here,
  1.58 s with ``reverse()`` (+15 %);
- pages rendered from scratch (2,000 stories, fragments and page cache off) format 20-80 URLs
  each (story 20, feed 48, section 56, home 66, search 80): +0.3 to +1.2 ms with
  ``reverse()``, +6 to +17 % in the steadier of two runs (home +6 %, section +11 %,
  tag +17 %, story +13 %);
- with cached fragments a page formats only the masthead's 2 URLs: about +4 %, within noise.

Before the validation it took 6.6 µs a story URL and 31 ms for 10,000.
"""

import re
from functools import lru_cache
from urllib.parse import quote

from django.conf import settings
from django.urls import (
    NoReverseMatch,
    Resolver404,
    get_script_prefix,
    get_urlconf,
    resolve,
    reverse,
)
from django.urls.converters import get_converters

# What reverse() leaves unquoted in a path (django.urls.resolvers).
SAFE = "!$&'()*+,;=/~:@"
PLAIN = re.compile(r"[A-Za-z0-9_.~-]*")
# A path() parameter in a route, as django.urls.resolvers reads it.
PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def url_text(check, arg, viewname, args):
    """``arg`` as its URL converter writes it, quoted as ``reverse()`` quotes it;
    ``NoReverseMatch`` as ``reverse()`` raises it for a value the converter refuses."""
    to_url, fullmatch = check
    try:
        text = str(to_url(arg))
    except ValueError:
        text = None
    if text is None or fullmatch(text) is None:
        raise NoReverseMatch(
            f"Reverse for '{viewname}' with arguments '{tuple(args)}' not found: "
            f"{arg!r} is not a valid value for its URL converter."
        )
    return text if PLAIN.fullmatch(text) else quote(text, safe=SAFE)


class _Pattern:
    """One URL pattern as a ``str.format`` template and a check per argument."""

    __slots__ = ("checks", "template", "viewname")

    def __init__(self, viewname, template, checks):
        self.viewname = viewname
        self.template = template
        self.checks = checks  # (converter.to_url, converter regex's fullmatch) per argument

    def format(self, args):
        if len(args) != len(self.checks):
            return reverse(self.viewname, args=args)  # which refuses, as it should
        texts = [
            url_text(check, arg, self.viewname, args)
            for arg, check in zip(args, self.checks, strict=True)
        ]
        return self.template.format(*texts)


@lru_cache(maxsize=64)
def _pattern(viewname, arity, prefix, urlconf):
    """``viewname``'s pattern for ``arity`` arguments, or None to leave it to ``reverse()``."""
    # Digits fit the converters used here (int, slug, uslug, str, path).
    markers = [f"9081726354{index:02}" for index in range(arity)]
    try:
        url = reverse(viewname, args=markers, urlconf=urlconf)
    except NoReverseMatch:
        return None  # wrong arity, or a converter that refuses digits: reverse() decides
    # reverse() quotes the prefix (a brace becomes %7B), so the rest is a safe template.
    quoted_prefix = quote(prefix, safe=SAFE)
    if not url.startswith(quoted_prefix):
        return None
    path = url[len(quoted_prefix) :]
    try:
        match = resolve("/" + path, urlconf=urlconf)
    except Resolver404:
        return None
    if match.view_name != viewname:
        return None
    converters = get_converters()
    kinds = {
        found["name"]: found["converter"] or "str" for found in PARAMETER.finditer(match.route)
    }
    names = {str(value): name for name, value in match.captured_kwargs.items()}
    checks = []
    for index, marker in enumerate(markers):
        name = names.get(marker)
        if name not in kinds or kinds[name] not in converters or path.count(marker) != 1:
            return None
        converter = converters[kinds[name]]
        checks.append((converter.to_url, re.compile(converter.regex).fullmatch))
        path = path.replace(marker, f"{{{index}}}")
    return _Pattern(viewname, quoted_prefix + path, tuple(checks))


def url_formatter(viewname, arity):
    """A function formatting ``viewname``'s URL from ``arity`` arguments, for many URLs at
    once: the pattern, script prefix and URLconf are looked up once."""
    pattern = _pattern(viewname, arity, get_script_prefix(), get_urlconf(settings.ROOT_URLCONF))
    if pattern is None:
        return lambda *args: reverse(viewname, args=args)
    return lambda *args: pattern.format(args)


def fast_reverse(viewname, *args):
    """``reverse(viewname, args=args)``, the same URL or the same ``NoReverseMatch``."""
    pattern = _pattern(viewname, len(args), get_script_prefix(), get_urlconf(settings.ROOT_URLCONF))
    if pattern is None:
        return reverse(viewname, args=args)
    return pattern.format(args)


def last_argument_formatter(viewname, *leading):
    """A function of one argument giving ``fast_reverse(viewname, *leading, argument)``, the
    leading arguments checked and formatted once: for many URLs that differ only in their
    last part (a sitemap's stories of one day), a check and a concatenation per URL."""
    arity = len(leading) + 1
    pattern = _pattern(viewname, arity, get_script_prefix(), get_urlconf(settings.ROOT_URLCONF))
    if pattern is None:
        return lambda last: reverse(viewname, args=[*leading, last])
    # The template formatted with a marker for the last argument, split around it.
    marker = "x9f8e7d6c5b4a3"
    anything = (str, PLAIN.fullmatch)
    parts = _Pattern(viewname, pattern.template, (*pattern.checks[:-1], anything))
    parts = parts.format([*leading, marker]).split(marker)
    if len(parts) != 2:
        return lambda last: pattern.format([*leading, last])
    before, after = parts
    check = pattern.checks[-1]

    def format_last(last):
        return before + url_text(check, last, viewname, (*leading, last)) + after

    return format_last
