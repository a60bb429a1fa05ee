"""Profile one page with pyinstrument, in process, against the benchmark's newsroom.

    python bench/profile_page.py /sections/world/ [requests] [--cold]

Uses DATABASE_URL if set, else bench/work/newsroom.sqlite3 (built by `make bench`).
Calls the WSGI application directly, so the figures are the page's own cost, without the
test client's instrumentation or a network. With ``--cold`` every request is the first after
an edit: every surrogate key is invalidated before each, so no cached piece can be used.
"""

import io
import os
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{BENCH_DIR / 'work' / 'newsroom.sqlite3'}")
os.environ.setdefault("NEWSROOM_VAR_DIR", str(BENCH_DIR / "work" / "var"))
os.environ.setdefault("SECRET_KEY", "bench-profile-only-" + "k" * 40)
os.environ.setdefault("PAGE_CACHE_SECONDS", "0")

from django.core.wsgi import get_wsgi_application  # noqa: E402
from pyinstrument import Profiler  # noqa: E402

application = get_wsgi_application()


from stories.delivery import surrogates  # noqa: E402


def request(url):
    path, _, query = url.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.input": io.BytesIO(),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }
    statuses = []
    body = b"".join(application(environ, lambda status, headers: statuses.append(status)))
    return statuses[0], body


def edited():
    """What an edit to everything does to cached pages and pieces: every surrogate key
    invalidated (``stories.delivery.surrogates``)."""
    surrogates.stamp({surrogates.ALL})


def main():
    arguments = [argument for argument in sys.argv[1:] if argument != "--cold"]
    before = edited if "--cold" in sys.argv else lambda: None
    url = arguments[0]
    count = int(arguments[1]) if len(arguments) > 1 else 200
    status, _ = request(url)
    print(f"{url}: {status}")
    for _ in range(20):
        before()
        request(url)
    started = time.process_time()
    for _ in range(count):
        before()
        request(url)
    print(f"CPU per request, unprofiled: {(time.process_time() - started) / count * 1000:.2f} ms")
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for _ in range(count):
        before()
        request(url)
    profiler.stop()
    print(profiler.output_text(color=False, show_all=True))


if __name__ == "__main__":
    main()
