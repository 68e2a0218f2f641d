"""Settings of the HTTP bench's server (bench/http_bench.py): production's, with one floor view.

Production's settings as they are (DEBUG off, persistent connections, secure cookies behind the
proxy's `X-Forwarded-Proto: https`, Redis throttle counters), except:
- the URL conf adds the bench's floor view (bench/http_bench_urls.py);
- static files without the manifest storage: the bench does not run `collectstatic`, and the
  pages it measures only name their assets (whitenoise serves none during the bench).
Only bench/http_bench.py starts a server with it.
"""

import warnings

from backend.settings.production import *  # noqa: F403

# whitenoise looks for STATIC_ROOT, which `collectstatic` would fill: not needed here.
warnings.filterwarnings("ignore", message="No directory at")

ROOT_URLCONF = "http_bench_urls"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
