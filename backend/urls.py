from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("parcours.api.urls")),
    path("api/v1/", include("notifications.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Split: the page's script is a file (`?script`), not inline, under the CSP; Swagger UI's own
    # files come from drf-spectacular-sidecar (web/templates/web/api_docs.html).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="web/api_docs.html"),
        name="swagger-ui",
    ),
    path("", include("web.urls")),
]

# French error pages on the DSFR (web/views/errors.py), JSON under /api/.
handler404 = "web.views.errors.page_not_found"
handler403 = "web.views.errors.permission_denied"
handler500 = "web.views.errors.server_error"
