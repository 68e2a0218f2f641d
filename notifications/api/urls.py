from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("alerts", views.AlertViewSet, basename="alert")
router.register("answers", views.AnswerViewSet, basename="answer")

urlpatterns = [
    path(
        "me/notification-preference/",
        views.NotificationPreferenceView.as_view(),
        name="me-notification-preference",
    ),
    *router.urls,
]
