"""The DPO's endpoints: reports (JSON, CSV, PDF), the subject-access pack, rights requests.
Thin: validate, call the service, render. Non-DPO roles get 403; a person or user outside the
DPO's reach gets 404 like a missing one (parcours.access)."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import access
from ..api_scopes import Family
from ..exports import downloads
from ..models import RightsRequest
from ..selectors.anomalies import THRESHOLD_NAMES, AnomalyThresholds
from ..selectors.dpo_lookup import persons_matching, with_memberships
from ..services import dpo_reports
from ..services import rights_request as rights_services
from . import dpo_serializers as s
from .actor import HasMembership, request_actor
from .views import record_id


class IsDPO(BasePermission):
    message = "Ces rapports sont réservés au délégué à la protection des données."

    def has_permission(self, request, view) -> bool:
        if request.method.upper() not in view.allowed_methods:
            return True  # an undeclared verb answers 405 to everyone, DPO or not
        return access.can_read_dpo_reports(request_actor(request))


DPO_PERMISSIONS = (IsAuthenticated, HasMembership, IsDPO)
VERIFICATION_QUEUED = "Vérification lancée : son résultat apparaîtra dans le rapport d'intégrité."

PERIOD_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="Premier jour (défaut : il y a un an)"),
    OpenApiParameter(
        "to", OpenApiTypes.DATE, description="Dernier jour inclus (défaut : aujourd'hui)"
    ),
    OpenApiParameter(
        "export", str, enum=list(downloads.FORMATS), description="Télécharger en CSV ou PDF"
    ),
]


def with_downloads(serializer, *formats: str) -> dict:
    """The 200 answers of a report: its JSON, or with `export=` the file (CSV, PDF)."""
    responses: dict = {(200, "application/json"): serializer}
    for name in formats:
        responses[(200, downloads.CONTENT_TYPES[name].split(";")[0])] = OpenApiResponse(
            OpenApiTypes.BINARY, description="Le rapport en JSON, ou le fichier avec `export`."
        )
    return responses


class DpoView(APIView):
    token_family = Family.DPO
    permission_classes = DPO_PERMISSIONS

    @property
    def actor(self):
        return request_actor(self.request)


class PersonAccessReportView(DpoView):
    @extend_schema(
        parameters=[
            OpenApiParameter("id", int, OpenApiParameter.PATH),
            *PERIOD_PARAMETERS,
            OpenApiParameter("version", str, enum=["internal", "person"]),
            OpenApiParameter("organisation", int, description="Seulement cette organisation"),
            OpenApiParameter("operation", str, description="Seulement cette opération"),
        ],
        responses=with_downloads(s.PersonAccessReportSerializer, *downloads.FORMATS),
    )
    def get(self, request, pk):
        query = s.PersonReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        report = dpo_reports.dpo_person_report(
            actor=self.actor,
            person_id=record_id(pk),
            start=q["start_at"],
            end=q["end_at"],
            version=q["version"],
            organisation_id=q.get("organisation"),
            operation=q.get("operation"),
        )
        if q.get("export"):
            return downloads.person_report_file(report, q["export"]).as_response()
        return Response(s.PersonAccessReportSerializer(report).data)


class SubjectAccessPackView(DpoView):
    """The person's subject-access pack (GDPR art. 15): a ZIP with a French PDF and a JSON."""

    @extend_schema(
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
        request=None,
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def post(self, request, pk):
        pack = dpo_reports.dpo_subject_access_pack(actor=self.actor, person_id=record_id(pk))
        return downloads.pack_file(pack.content, pack.filename).as_response()


class UserActivityReportView(DpoView):
    @extend_schema(
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH), *PERIOD_PARAMETERS],
        responses=with_downloads(s.UserActivityReportSerializer, *downloads.FORMATS),
    )
    def get(self, request, pk):
        query = s.PeriodSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        report = dpo_reports.dpo_user_report(
            actor=self.actor, user_id=record_id(pk), start=q["start_at"], end=q["end_at"]
        )
        if q.get("export"):
            return downloads.user_report_file(report, q["export"]).as_response()
        return Response(s.UserActivityReportSerializer(report).data)


class AnomaliesReportView(DpoView):
    @extend_schema(
        parameters=[
            *PERIOD_PARAMETERS,
            *(OpenApiParameter(name, float) for name in THRESHOLD_NAMES),
        ],
        responses=with_downloads(s.AnomaliesReportSerializer, *downloads.FORMATS),
    )
    def get(self, request):
        query = s.AnomalyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        thresholds = AnomalyThresholds.from_settings(
            **{name: q.get(name) for name in THRESHOLD_NAMES}
        )
        findings = dpo_reports.dpo_anomalies_report(
            actor=self.actor, start=q["start_at"], end=q["end_at"], thresholds=thresholds
        )
        if q.get("export"):
            return downloads.anomalies_file(
                findings, q["export"], start=q["start_at"], end=q["end_at"], thresholds=thresholds
            ).as_response()
        data = {
            "start": q["start_at"],
            "end": q["end_at"],
            "thresholds": vars(thresholds),
            "findings": findings,
        }
        return Response(s.AnomaliesReportSerializer(data).data)


class JournalIntegrityView(DpoView):
    @extend_schema(parameters=PERIOD_PARAMETERS[:2], responses=s.IntegrityReportSerializer)
    def get(self, request):
        query = s.PeriodSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        report = dpo_reports.dpo_integrity_report(
            actor=self.actor, start=q["start_at"], end=q["end_at"]
        )
        return Response(s.IntegrityReportSerializer(report).data)


class JournalVerifyView(DpoView):
    """Queue a verification of the whole chain (it may take minutes); its result appears in
    the integrity report."""

    @extend_schema(request=None, responses={202: s.VerificationQueuedSerializer})
    def post(self, request):
        dpo_reports.dpo_journal_verification_request(actor=self.actor, request=request)
        return Response({"detail": VERIFICATION_QUEUED}, status=status.HTTP_202_ACCEPTED)


class ProcessingRegisterView(DpoView):
    @extend_schema(
        parameters=[
            OpenApiParameter("export", str, enum=["pdf"], description="Télécharger en PDF")
        ],
        responses=with_downloads(s.ProcessingRegisterSerializer, "pdf"),
    )
    def get(self, request):
        query = s.RegisterQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        register = dpo_reports.dpo_processing_register(actor=self.actor)
        if query.validated_data.get("export") == "pdf":
            return downloads.register_file(register).as_response()
        data = {
            **vars(register),
            "bases": [{"label": label, "grants": n} for label, n in register.bases],
        }
        return Response(s.ProcessingRegisterSerializer(data).data)


class PersonLookupView(DpoView):
    """Find a person to report on by exact identity or NIR (POST: nothing personal in URLs)."""

    @extend_schema(
        request=s.PersonLookupSerializer, responses=s.ReportablePersonSerializer(many=True)
    )
    def post(self, request):
        payload = s.PersonLookupSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        people = persons_matching(
            access.persons_reportable_by(self.actor), **payload.validated_data
        )
        return Response([{"id": p.pk, "reference": f"Personne n°{p.pk}"} for p in people])


class ReportableUserViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Users whose activity the DPO may report on (members of their organisation)."""

    token_family = Family.DPO

    permission_classes = DPO_PERMISSIONS
    serializer_class = s.ReportableUserSerializer
    queryset = RightsRequest.objects.none()  # for the schema; real scoping in get_queryset

    def get_queryset(self):
        return with_memberships(access.users_reportable_by(request_actor(self.request)))

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        rows = [
            {
                "id": user.pk,
                "name": user.get_full_name() or user.get_username(),
                "username": user.get_username(),
                "organisations": sorted({m.organisation.name for m in user.memberships.all()}),
            }
            for user in page
        ]
        return self.get_paginated_response(rows)


class RightsRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Rights requests received by the DPO's organisation: record, extend, decide."""

    token_family = Family.DPO

    permission_classes = DPO_PERMISSIONS
    serializer_class = s.RightsRequestSerializer
    queryset = RightsRequest.objects.none()  # for the schema; real scoping in get_queryset
    filterset_fields = ["status", "kind", "person"]
    ordering_fields = ["due_on", "received_on"]

    @property
    def actor(self):
        return request_actor(self.request)

    def get_queryset(self):
        return access.rights_requests_visible_to(self.actor).order_by("due_on", "id")

    def get_object(self):
        return self.get_queryset().get(pk=record_id(self.kwargs["pk"]))

    @extend_schema(
        request=s.RightsRequestCreateSerializer, responses={201: s.RightsRequestSerializer}
    )
    def create(self, request, *args, **kwargs):
        payload = s.RightsRequestCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        created = rights_services.rights_request_record(
            actor=self.actor,
            person_id=data["person"],
            kind=data["kind"],
            received_on=data["received_on"],
            channel=data["channel"],
            details=data["details"],
        )
        return Response(s.RightsRequestSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.RightsRequestExtendSerializer, responses=s.RightsRequestSerializer)
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        payload = s.RightsRequestExtendSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        extended = rights_services.rights_request_extend(
            actor=self.actor, request_id=record_id(pk), reason=payload.validated_data["reason"]
        )
        return Response(s.RightsRequestSerializer(extended).data)

    @extend_schema(request=s.RightsRequestDecideSerializer, responses=s.RightsRequestSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        payload = s.RightsRequestDecideSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        decided = rights_services.rights_request_decide(
            actor=self.actor, request_id=record_id(pk), **payload.validated_data
        )
        return Response(s.RightsRequestSerializer(decided).data)
