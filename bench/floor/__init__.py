"""The benchmark's floor: the story page and a section listing written as a careful
plain-Django developer would write them, to measure ours against (issue 16).

Plain function views, plain templates (an ``{% include %}`` per card), ``select_related``
and ``prefetch_related`` so that no query repeats per row, Django's ``Paginator``: no
cached pieces, no lazy querysets, no hand-made URL formatting. They render what our pages
render (the masthead and section menu, title, meta tags with Open Graph, Twitter and
JSON-LD, the article with its dateline, bylines, dates, lead image with renditions, body,
corrections, tags and author boxes; a listing's 20 cards with section, date and bylines,
its header and pagination), from the same models, under the same middleware and context
processors, served by the same gunicorn.

Mounted only by ``floor.settings`` (the benchmark's settings: the site's, with this URLconf
in front); never part of the product. ``tests/test_bench_floor.py`` checks that both pages
show what ours show.
"""
