"""Endpoints for the person's choices and access mechanics. Thin: validate, call, render."""

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import access
from .. import evidence as evidence_files
from ..api_scopes import Family
from ..categories import DataCategory
from ..gate import Action
from ..models import AccessRequest, BreakGlass, CareTeamMember, Consent, Objection, Pathway
from ..services import access_request as access_request_services
from ..services import break_glass as break_glass_services
from ..services import care_team as care_team_services
from ..services import consent as consent_services
from . import access_serializers as s
from .views import ActorViewMixin, record_id

# Consents and objections show no field of the person's record: their journal rows carry no
# category, and the bases of the identity (what makes them visible) as their justification.
_PERSON_PATHWAYS = Prefetch(
    "person__pathways", queryset=Pathway.objects.only("pk", "person_id"), to_attr="all_pathways"
)


class _AboutAPerson:
    journal_shown: frozenset[str] | None = frozenset()
    journal_because: frozenset[str] | None = frozenset({DataCategory.IDENTITY})

    def journal_subject(self, obj) -> tuple[int | None, list[int]]:
        return obj.person_id, [p.pk for p in obj.person.all_pathways]


class ConsentViewSet(
    _AboutAPerson,
    ActorViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Accords of the person: record (POST), list by person, narrow, revoke. A partner reads
    the consents that concern it (access.consents_visible_to)."""

    token_family = Family.ACCESS

    queryset = Consent.objects.none()
    journal_object_type = "consent"
    gate_actions = {"retrieve": Action.CONSENT_READ, "list": Action.CONSENT_LIST}
    serializer_class = s.ConsentSerializer
    filterset_fields = ["person"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return (
            access.consents_visible_to(self.actor)
            .prefetch_related("organisations", _PERSON_PATHWAYS)
            .order_by("-created_at", "-id")
        )

    def perform_content_negotiation(self, request, force=False):
        # The evidence file is sent whatever the client accepts (`Accept: application/pdf`
        # included, which no renderer of the API names); a refusal is still JSON.
        return super().perform_content_negotiation(
            request, force=force or getattr(self, "action", None) == "evidence"
        )

    @extend_schema(request=s.ConsentCreateSerializer, responses={201: s.ConsentSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.ConsentCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        consent = consent_services.consent_record(
            actor=self.actor,
            person_id=data["person"],
            organisation_ids=data["organisations"],
            organisation_kinds=data["organisation_kinds"],
            categories=data["categories"],
            purpose=data["purpose"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            evidence_kind=data["evidence_kind"],
            evidence_file=data["evidence_file"],
        )
        return Response(s.ConsentSerializer(consent).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.ConsentChoicesSerializer,
        responses={201: s.ConsentSerializer(many=True)},
        description=(
            "Enregistre en une fois ce que la personne accepte de partager, catégorie par "
            "catégorie, et avec qui : un accord par groupe de catégories allant aux mêmes "
            "destinataires, tous ou aucun. Une catégorie sans destinataire n'est pas partagée."
        ),
    )
    @action(detail=False, methods=["post"])
    def choices(self, request):
        payload = s.ConsentChoicesSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        consents = consent_services.consent_record_choices(
            actor=self.actor,
            person_id=data["person"],
            choices=[
                consent_services.ConsentChoice(
                    [choice["category"]],
                    organisation_ids=choice["organisations"],
                    organisation_kinds=choice["organisation_kinds"],
                )
                for choice in data["choices"]
            ],
            purpose=data["purpose"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            evidence_kind=data["evidence_kind"],
        )
        return Response(
            s.ConsentSerializer(consents, many=True).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=None,
        responses={
            **{(200, kind.content_type): OpenApiTypes.BINARY for kind in evidence_files.ACCEPTED},
            # A file stored before the types were checked, none of those: bytes to save.
            (200, evidence_files.UNKNOWN.content_type): OpenApiTypes.BINARY,
            404: OpenApiResponse(
                description="Accord introuvable, hors de votre périmètre, ou sans pièce jointe."
            ),
        },
        description=(
            "La pièce justificative de l'accord (formulaire signé…), déchiffrée, en pièce jointe "
            "(Content-Disposition: attachment), avec le type reconnu à son contenu. Qui lit "
            "l'accord la lit ; chaque téléchargement est journalisé."
        ),
    )
    @action(detail=True, methods=["get"])
    def evidence(self, request, pk=None):
        # The gate, the journal and the headers are parcours.evidence's, as for the pages.
        download = evidence_files.evidence_read(actor=self.actor, consent_id=record_id(pk))
        return evidence_files.http_response(download)

    @extend_schema(request=None, responses=s.ConsentSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        consent = consent_services.consent_revoke(actor=self.actor, consent_id=record_id(pk))
        return Response(s.ConsentSerializer(consent).data)

    @extend_schema(request=s.ConsentNarrowSerializer, responses=s.ConsentSerializer)
    @action(detail=True, methods=["post"])
    def narrow(self, request, pk=None):
        payload = s.ConsentNarrowSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        consent = consent_services.consent_narrow(
            actor=self.actor,
            consent_id=record_id(pk),
            categories=data.get("categories"),
            organisation_ids=data.get("organisations"),
            organisation_kinds=data.get("organisation_kinds"),
            ends_on=data.get("ends_on"),
        )
        return Response(s.ConsentSerializer(consent).data)


class ObjectionViewSet(
    _AboutAPerson,
    ActorViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The person's objection (droit d'opposition): ends every consent-based visibility."""

    token_family = Family.ACCESS

    queryset = Objection.objects.none()
    journal_object_type = "objection"
    gate_actions = {"retrieve": Action.OBJECTION_READ, "list": Action.OBJECTION_LIST}
    serializer_class = s.ObjectionSerializer
    filterset_fields = ["person"]
    ordering_fields = ["recorded_at"]

    def get_queryset(self):
        return (
            access.objections_visible_to(self.actor)
            .prefetch_related(_PERSON_PATHWAYS)
            .order_by("-recorded_at", "-id")
        )

    @extend_schema(request=s.ObjectionCreateSerializer, responses={201: s.ObjectionSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.ObjectionCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        objection = consent_services.objection_record(
            actor=self.actor,
            person_id=payload.validated_data["person"],
            reason=payload.validated_data["reason"],
        )
        return Response(s.ObjectionSerializer(objection).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.ObjectionSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        objection = consent_services.objection_withdraw(
            actor=self.actor, objection_id=record_id(pk)
        )
        return Response(s.ObjectionSerializer(objection).data)


class CareTeamViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Équipe de suivi: organisations explicitly following a pathway."""

    token_family = Family.ACCESS

    queryset = CareTeamMember.objects.none()
    journal_object_type = "care_team_member"
    gate_actions = {"retrieve": Action.CARE_TEAM_READ, "list": Action.CARE_TEAM_LIST}
    journal_shown = frozenset()
    journal_because = frozenset({DataCategory.PATHWAY})
    serializer_class = s.CareTeamMemberSerializer
    filterset_fields = ["pathway", "organisation"]
    ordering_fields = ["started_at"]

    def get_queryset(self):
        return (
            access.care_team_visible_to(self.actor)
            .select_related("pathway")
            .order_by("-started_at", "-id")
        )

    def journal_subject(self, member) -> tuple[int | None, list[int]]:
        return member.pathway.person_id, [member.pathway_id]

    @extend_schema(request=s.CareTeamAddSerializer, responses={201: s.CareTeamMemberSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.CareTeamAddSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        member = care_team_services.care_team_add(
            actor=self.actor,
            pathway_id=payload.validated_data["pathway"],
            organisation_id=payload.validated_data["organisation"],
        )
        return Response(s.CareTeamMemberSerializer(member).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CareTeamEndSerializer, responses=s.CareTeamMemberSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        payload = s.CareTeamEndSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        member = care_team_services.care_team_end(
            actor=self.actor, member_id=record_id(pk), reason=payload.validated_data["reason"]
        )
        return Response(s.CareTeamMemberSerializer(member).data)


class BreakGlassViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Accès exceptionnels: open one category of a pathway for a short period, with a reason."""

    token_family = Family.ACCESS

    queryset = BreakGlass.objects.none()
    serializer_class = s.BreakGlassSerializer
    filterset_fields = ["pathway", "user"]
    ordering_fields = ["starts_at"]

    def get_queryset(self):
        return access.break_glasses_visible_to(self.actor).order_by("-starts_at", "-id")


class PathwayBreakGlassView(ActorViewMixin):
    """POST /pathways/{id}/break-glass/: the opening (journaled as such by the service)."""

    token_family = Family.ACCESS

    queryset = Pathway.objects.none()  # for the schema (the id is a pathway's); never read
    serializer_class = s.BreakGlassCreateSerializer

    @extend_schema(request=s.BreakGlassCreateSerializer, responses={201: s.BreakGlassSerializer})
    def post(self, request, pk=None):
        payload = s.BreakGlassCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        grant = break_glass_services.break_glass_open(
            actor=self.actor,
            pathway_id=record_id(pk),
            category=payload.validated_data["category"],
            reason=payload.validated_data["reason"],
        )
        return Response(s.BreakGlassSerializer(grant).data, status=status.HTTP_201_CREATED)


class AccessRequestViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Demandes d'accès: made to the owner of a record found outside one's scope."""

    token_family = Family.ACCESS

    queryset = AccessRequest.objects.none()
    serializer_class = s.AccessRequestSerializer
    filterset_fields = ["status"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return access.access_requests_visible_to(self.actor).order_by("-created_at", "-id")

    @extend_schema(
        request=s.AccessRequestCreateSerializer, responses={201: s.AccessRequestSerializer}
    )
    def create(self, request, *args, **kwargs):
        payload = s.AccessRequestCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        created = access_request_services.access_request_create(
            actor=self.actor, **payload.validated_data
        )
        return Response(s.AccessRequestSerializer(created).data, status=status.HTTP_201_CREATED)

    def _decided(self, request, pk, service):
        payload = s.DecisionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        decided = service(
            actor=self.actor, request_id=record_id(pk), comment=payload.validated_data["comment"]
        )
        return Response(s.AccessRequestSerializer(decided).data)

    @extend_schema(request=s.DecisionSerializer, responses=s.AccessRequestSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._decided(request, pk, access_request_services.access_request_accept)

    @extend_schema(request=s.DecisionSerializer, responses=s.AccessRequestSerializer)
    @action(detail=True, methods=["post"])
    def refuse(self, request, pk=None):
        return self._decided(request, pk, access_request_services.access_request_refuse)
