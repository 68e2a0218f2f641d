from django.urls import path, re_path
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import APIRootView, DefaultRouter

from ..api_scopes import Family
from . import (
    access_views,
    action_plan_views,
    agreement_indicator_views,
    api_token_views,
    committee_views,
    dpo_views,
    statistics_views,
    territory_views,
    views,
    webhook_views,
)
from .actor import HasMembership


class ParcoursAPIRootView(APIRootView):
    """The API index answers like every other endpoint: members only (403 otherwise)."""

    token_family = Family.ACCOUNT

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
router.register("consents", access_views.ConsentViewSet, basename="consent")
router.register("objections", access_views.ObjectionViewSet, basename="objection")
router.register("care-team-members", access_views.CareTeamViewSet, basename="care-team-member")
router.register("break-glasses", access_views.BreakGlassViewSet, basename="break-glass")
router.register("access-requests", access_views.AccessRequestViewSet, basename="access-request")
router.register("objectives", action_plan_views.ObjectiveViewSet, basename="objective")
router.register("plan-actions", action_plan_views.PlanActionViewSet, basename="plan-action")
router.register("committees", committee_views.CommitteeViewSet, basename="committee")
router.register(
    "committee-proposals", committee_views.CommitteeProposalViewSet, basename="committee-proposal"
)
router.register("api-tokens", api_token_views.ApiTokenViewSet, basename="api-token")
router.register(
    "webhook-subscriptions",
    webhook_views.WebhookSubscriptionViewSet,
    basename="webhook-subscription",
)
router.register(
    "webhook-deliveries", webhook_views.WebhookDeliveryViewSet, basename="webhook-delivery"
)
router.register("dpo/users", dpo_views.ReportableUserViewSet, basename="dpo-user")
router.register(
    "dpo/rights-requests", dpo_views.RightsRequestViewSet, basename="dpo-rights-request"
)

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path(
        "me/acting-organisation/",
        views.ActingOrganisationView.as_view(),
        name="me-acting-organisation",
    ),
    # Same id pattern as the router's detail routes: a non-numeric id reaches the view and
    # answers the API's JSON 404 (an <int:pk> converter gave Django's HTML 404 page).
    re_path(
        r"^pathways/(?P<pk>[^/.]+)/break-glass/$",
        access_views.PathwayBreakGlassView.as_view(),
        name="pathway-break-glass",
    ),
    # The DPO's reports (docs/dpo-guide.md). Same id pattern as the router: JSON 404s.
    re_path(
        r"^dpo/persons/(?P<pk>[^/.]+)/access-report/$",
        dpo_views.PersonAccessReportView.as_view(),
        name="dpo-person-access-report",
    ),
    re_path(
        r"^dpo/persons/(?P<pk>[^/.]+)/subject-access-pack/$",
        dpo_views.SubjectAccessPackView.as_view(),
        name="dpo-subject-access-pack",
    ),
    re_path(
        r"^dpo/users/(?P<pk>[^/.]+)/activity-report/$",
        dpo_views.UserActivityReportView.as_view(),
        name="dpo-user-activity-report",
    ),
    path("dpo/person-lookup/", dpo_views.PersonLookupView.as_view(), name="dpo-person-lookup"),
    # The managers' statistics (issue 18): aggregates only.
    path(
        "statistics/referrals/",
        statistics_views.ReferralStatisticsView.as_view(),
        name="statistics-referrals",
    ),
    # The agreement indicators (issue 18): the catalogue, those annexed, their report.
    path(
        "statistics/indicators/",
        agreement_indicator_views.IndicatorCatalogueView.as_view(),
        name="statistics-indicators",
    ),
    re_path(
        r"^agreements/(?P<pk>[^/.]+)/indicators/$",
        agreement_indicator_views.AgreementIndicatorsView.as_view(),
        name="agreement-indicators",
    ),
    re_path(
        r"^agreements/(?P<pk>[^/.]+)/indicators/report/$",
        agreement_indicator_views.AgreementIndicatorReportView.as_view(),
        name="agreement-indicators-report",
    ),
    # The territorial coordinator's overdue referrals (issue 18): no person.
    path(
        "territory/overdue-referrals/",
        territory_views.OverdueReferralsView.as_view(),
        name="territory-overdue-referrals",
    ),
    path("dpo/anomalies/", dpo_views.AnomaliesReportView.as_view(), name="dpo-anomalies"),
    path(
        "dpo/journal-integrity/",
        dpo_views.JournalIntegrityView.as_view(),
        name="dpo-journal-integrity",
    ),
    path(
        "dpo/journal-integrity/verify/",
        dpo_views.JournalVerifyView.as_view(),
        name="dpo-journal-verify",
    ),
    path(
        "dpo/processing-register/",
        dpo_views.ProcessingRegisterView.as_view(),
        name="dpo-processing-register",
    ),
    *router.urls,
]
