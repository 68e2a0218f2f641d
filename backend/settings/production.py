"""Production: everything from the environment, secure cookies, HTTPS only, no debug.

`manage.py check --deploy` passes with no warning (tests/test_settings.py), and a weak secret key
stops start-up.
"""

from parcours.crypto_keys import check_secret_key_strength

from .base import *  # noqa: F403

DEBUG = False
check_secret_key_strength(SECRET_KEY)  # noqa: F405
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)  # noqa: F405
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A request that reached us over plain HTTP (the proxy says so) is redirected to HTTPS; the
# docker compose stack, served on http://localhost, turns it off.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)  # noqa: F405
SECURE_CONTENT_TYPE_NOSNIFF = True
# HSTS: browsers that saw the site once refuse plain HTTP for it for a year, its subdomains too
# (docs/operations.md, "Behind a reverse proxy"). `preload` only matters if the domain's owner
# submits it to the browsers' preload list.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)  # noqa: F405
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(  # noqa: F405
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True
)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
