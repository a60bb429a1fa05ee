"""Reader: the public site (pages, feeds, sitemaps, search, meta tags, previews, media),
built from live content; it asks delivery to cache what every reader sees alike."""
