from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("alerts", views.AlertViewSet, basename="alert")

urlpatterns = [
    path(
        "me/notifications/",
        views.NotificationPreferenceView.as_view(),
        name="me-notifications",
    ),
    *router.urls,
]
