"""Gunicorn settings for `make serve` and the benchmark, read from the environment.

Sync workers, one process per core by default: reader pages are CPU-bound Python with
fast local queries, so threads or event loops would add switching and buy nothing; a
proxy or load balancer in front handles slow clients and keep-alive.
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# The application is loaded once in the master, so workers share its memory pages.
preload_app = True
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
# Forwarder headers (SCRIPT_NAME, PATH_INFO, X-Forwarded-Proto and the like) are believed only
# from these addresses: gunicorn's own default trusts 127.0.0.1, so anyone on the machine, or a
# local proxy that passes client headers on, could set the script prefix or scheme of pages
# kept for every reader. Nobody by default; set FORWARDED_ALLOW_IPS to the proxy's address.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "")
