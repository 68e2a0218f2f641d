from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
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
