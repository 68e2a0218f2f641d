from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import APIRootView, DefaultRouter

from . import views
from .actor import HasMembership


class ParcoursAPIRootView(APIRootView):
    """The API index answers like every other endpoint: members only (403 otherwise)."""

    permission_classes = [IsAuthenticated, HasMembership]


class ParcoursRouter(DefaultRouter):
    APIRootView = ParcoursAPIRootView


router = ParcoursRouter()
router.register("employment-areas", views.EmploymentAreaViewSet, basename="employment-area")
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("services", views.ServiceViewSet, basename="service")
router.register("persons", views.PersonViewSet, basename="person")
router.register("pathways", views.PathwayViewSet, basename="pathway")
router.register("referrals", views.ReferralViewSet, basename="referral")
router.register("appointments", views.AppointmentViewSet, basename="appointment")
router.register("agreements", views.AgreementViewSet, basename="agreement")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path(
        "me/acting-organisation/",
        views.ActingOrganisationView.as_view(),
        name="me-acting-organisation",
    ),
    *router.urls,
]
