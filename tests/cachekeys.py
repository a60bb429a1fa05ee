"""The keys the cache holds, on the local-memory cache the suite uses by default and on Redis
(CI's second run): tests that check what is, and is not, kept."""

from django.core.cache import cache


def cache_keys(containing):
    store = cache._cache
    if isinstance(store, dict):  # LocMemCache
        keys = list(store)
    else:  # RedisCache: its client gives the redis-py connection
        keys = [key.decode() for key in store.get_client().scan_iter(f"*{containing}*")]
    return [key for key in keys if containing in key]
