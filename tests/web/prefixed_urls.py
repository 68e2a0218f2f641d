"""The pages under another path, for test_template_builtins.py: a URL conf that changes
every address."""

from django.urls import include, path

urlpatterns = [path("ailleurs/", include("web.urls"))]
