"""The benchmark's floor: the story page and a section listing written as a careful
plain-Django developer would write them, to measure ours against (issue 16).

Plain function views, plain templates (an ``{% include %}`` per card), ``select_related``
and ``prefetch_related`` so that no query repeats per row, Django's ``Paginator``: no
cached pieces, no lazy querysets, no hand-made URL formatting. They render what our pages
render (the masthead and section menu, the footer with sections, feeds and site pages,
title, meta tags with Open Graph, Twitter and JSON-LD, the article with its dateline,
bylines, dates with the "Corrected"/"Updated" marker, lead image with renditions, body,
corrections, tags and author boxes, then "More in <section>" and "Related" (by shared
tags) cards; a listing's header, its top story (the editors' pick, else the newest) and
cards with date, bylines and lead images (the first row eager, the rest lazy), and its
pagination), from the same models, under the same middleware and context processors,
served by the same gunicorn. Its data loading is its own (plain querysets in the views);
only small presentation tags (``reader_time``) are shared with ours.

Mounted only by ``floor.settings`` (the benchmark's settings: the site's, with this URLconf
in front); never part of the product. ``tests/test_bench_floor.py`` checks that both pages
show what ours show.
"""
