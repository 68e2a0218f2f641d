"""The project's URLs (and its error handlers) with three views that fail, for
test_error_pages.py (pytest.mark.urls)."""

from django.core.exceptions import PermissionDenied
from django.urls import path

from backend.urls import handler403, handler500
from backend.urls import urlpatterns as project_urlpatterns


def broken_page(request):
    raise RuntimeError("a bug in a page")


def broken_api(request):
    raise RuntimeError("a bug in the API")


def denied(request):
    raise PermissionDenied("Forbidden by some English code")


urlpatterns = [
    path("panne/", broken_page),
    path("api/v1/panne/", broken_api),
    path("interdit/", denied),
    *project_urlpatterns,
]

__all__ = ["handler403", "handler500", "urlpatterns"]
