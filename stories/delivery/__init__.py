"""Delivery: keeping what readers are sent, per content generation (the page cache, cached
pieces of pages, cached counts). It knows caching, not what the pages say."""
