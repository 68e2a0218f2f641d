"""API viewsets: thin. Querysets come from `parcours.access`; writes call services."""

import datetime as dt

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils.functional import cached_property
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import access, gate
from ..actor import Actor
from ..api_scopes import Family
from ..categories import DataCategory
from ..diagnostic_domains import DIAGNOSTIC_CATEGORIES
from ..errors import NoMembership
from ..gate import Action
from ..gate.relations import relations_to_referral
from ..models import (
    Agreement,
    AgreementParty,
    Appointment,
    EmploymentArea,
    EscalationRung,
    Organisation,
    Pathway,
    Person,
    Referral,
    Service,
)
from ..selectors.diagnostic import diagnostic_by_domain
from ..selectors.referral_messages import with_unread_messages
from ..services import agreement as agreement_services
from ..services import diagnostic as diagnostic_services
from ..services import pathway as pathway_services
from ..services import person as person_services
from ..services import receiver_link as link_services
from ..services import referral as referral_services
from ..services import referral_assignment
from ..services import referral_message as message_services
from . import filters, list_rows, serializers
from .actor import SESSION_KEY, HasMembership, request_actor
from .idempotency import IdempotentWritesMixin
from .pagination import (
    MessageCursorPagination,
    NameOrderCursorPagination,
    RecentFirstCursorPagination,
    TimelineCursorPagination,
)
from .reads import journal_reads
from .redaction import VisibleCategories


def record_id(pk: str | None) -> int:
    """The id in a detail URL: anything but an integer is a record that does not exist (404,
    as `get_object()` answers), never an int() crash."""
    try:
        return int(pk)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise NotFound() from None


def encrypted_fields_of(model, prefix: str = "") -> list[str]:
    """The model's field-encrypted columns, as `defer()` names them through `prefix`: each is a
    Fernet decryption per row loaded (issue 17: 500 of them for a page of 50 pathways that shows
    of each person only the id and the name, a fifth of the list's CPU)."""
    return [
        f"{prefix}{field.name}"
        for field in model._meta.concrete_fields
        if getattr(field, "encrypted", False)
    ]


class ActorViewMixin(IdempotentWritesMixin, generics.GenericAPIView):
    permission_classes = (IsAuthenticated, HasMembership)
    # Viewsets over people's records name their journal object type and the gate's action for
    # each DRF action that reads: a detail is found through the gate (a refusal is journaled
    # there) and every read or list served is journaled through the gate (`journal_reads`).
    journal_object_type: str | None = None
    gate_actions: dict[str, Action] = {}
    # What the door shows of each object: None, every category visible (redacted serializers);
    # else those categories, `journal_because` naming the ones whose bases justify the access.
    journal_shown: frozenset[str] | None = None
    journal_because: frozenset[str] | None = None
    # A detail's scope compiled once per role (`access.ScopedRecord`), where one is defined.
    scoped_record: access.ScopedRecord | None = None

    @property
    def actor(self):
        return request_actor(self.request)

    @cached_property
    def visible_categories(self) -> VisibleCategories:
        return VisibleCategories(self.actor)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["actor"] = self.actor
        context["visible_categories"] = self.visible_categories
        return context

    def journal_subject(self, obj) -> tuple[int | None, list[int]]:
        """(person id, pathway ids) of a served object, for its journal row."""
        return None, []

    def journal_id(self, obj) -> int:
        """The id the journal row names (of `journal_object_type`): the object's own, unless
        the viewset serves records about another one (an alert names its referral)."""
        return obj.pk

    def get_object(self):
        action = self.gate_actions.get(self.action)
        if action is None:
            return super().get_object()
        lookup = self.lookup_url_kwarg or self.lookup_field
        # The scope is the queryset's (get_queryset); the list's filters and ordering say
        # nothing about one record, and building their form cost 7 % of a detail (issue 17).
        if self.action == "retrieve" and self.scoped_record is not None:
            # The same queryset, compiled once per role (access.ScopedRecord).
            obj = gate.locate_compiled(
                self.actor,
                self.scoped_record,
                self.get_queryset,
                self.kwargs.get(lookup),
                action=action,
            )
        else:
            obj = gate.locate(
                self.actor,
                self.get_queryset(),
                self.kwargs.get(lookup),
                action=action,
            )
        self.check_object_permissions(self.request, obj)
        self.served = [obj]
        return obj

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:
            self.served = list(page)
            # One query for the grants of a whole page, not one per row.
            self.visible_categories.prime(
                pid for obj in self.served for pid in self.journal_subject(obj)[1]
            )
        return page

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        journal_reads(self, request, response)
        return response


# A list whose page is written by a plain function of `list_rows` (issue 17: DRF's per-field
# serialization was the largest piece of a list's Python), with the serializer's keys, types and
# redaction; the serializer still describes the answer in the OpenAPI document and writes the
# details. No docstrings here: drf-spectacular would publish them as the operations' descriptions.
class RowsWrittenDirectly(generics.GenericAPIView):
    write_rows: staticmethod
    # The list's scope compiled once per role and page shape (`access.ScopedPage`), where one
    # is defined: used for a page asked without filters but those the compiled page holds (its
    # `own_organisation` ones, valued with the actor's organisation).
    scoped_page: access.ScopedPage | None = None

    def list(self, request, *args, **kwargs):
        narrowed = self._page_compiled()
        if narrowed is not None:
            actor = request_actor(self.request)
            scope = CompiledScope(self.scoped_page, actor, narrowed=narrowed)
            page = self.paginate_queryset(scope)
            return self.get_paginated_response(self.write_rows(page, self.get_serializer_context()))
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        context = self.get_serializer_context()
        if page is None:  # these viewsets always paginate; kept as ListModelMixin answers
            return Response(self.write_rows(list(queryset), context))
        return self.get_paginated_response(self.write_rows(page, context))

    def _page_compiled(self) -> tuple[str, ...] | None:
        """The filters the compiled page applies (none, or some of its `own_organisation`
        ones, each asked once with the actor's organisation's id), when the rest of the request
        is what it compiles: an ordering the paginator fixes, a cursor page, an actor whose
        scope compiles. None: the ORM's way."""
        if self.scoped_page is None or not isinstance(self.paginator, CursorPagination):
            return None
        # With no parameter but the cursor's and those filters, no other filter applies nor
        # ordering is chosen.
        if not set(self.filter_backends) <= {DjangoFilterBackend, OrderingFilter}:
            return None
        actor = request_actor(self.request)
        paging = {self.paginator.cursor_query_param, self.paginator.page_size_query_param}
        narrowed = []
        for name, values in self.request.query_params.lists():
            if name in paging:
                continue
            # As the filter reads it otherwise: the organisation found by this id (a value
            # written another way, or another organisation, is the ORM's to answer).
            if name not in self.scoped_page.own_organisation or values != [
                str(actor.organisation.pk)
            ]:
                return None
            narrowed.append(name)
        if not self.scoped_page.compiles(actor):
            return None
        return tuple(narrowed)


# A detail whose serializer is the list's: written by the list's row writer (the serializer's
# data byte for byte: tests/api/test_list_rows.py). DRF's serializer building its fields and
# walking them for one row was the largest share of a detail's CPU (issue 17). No docstring:
# drf-spectacular would publish it as the operation's description.
class DetailWrittenAsRow(RowsWrittenDirectly):
    def write_detail(self, record, context) -> dict:
        return self.write_rows([record], context)[0]

    def retrieve(self, request, *args, **kwargs):
        record = self.get_object()
        return Response(self.write_detail(record, self.get_serializer_context()))


class CompiledScope:
    """What DRF's `CursorPagination` asks of the queryset it pages — an ordering, the cursor's
    position as a filter, a slice — answered by the list's compiled scope (`ScopedPage`)."""

    def __init__(self, scoped, actor, ordering=(), lookup=None, position=None, narrowed=()):
        self.scoped, self.actor, self.narrowed = scoped, actor, narrowed
        self.ordering, self.lookup, self.position = ordering, lookup, position

    def order_by(self, *ordering):
        return CompiledScope(self.scoped, self.actor, tuple(ordering), narrowed=self.narrowed)

    def filter(self, **position):
        ((lookup, value),) = position.items()
        return CompiledScope(
            self.scoped, self.actor, self.ordering, lookup, value, narrowed=self.narrowed
        )

    def __getitem__(self, index: slice):
        return self.scoped.page(
            self.actor,
            self.ordering,
            self.lookup,
            self.position,
            index.start,
            index.stop,
            narrowed=self.narrowed,
        )


class EmploymentAreaViewSet(ActorViewMixin, viewsets.ReadOnlyModelViewSet):
    token_family = Family.DIRECTORY
    serializer_class = serializers.EmploymentAreaSerializer
    filterset_class = filters.EmploymentAreaFilter
    ordering_fields = ["code", "name", "departement"]
    queryset = EmploymentArea.objects.order_by("departement", "name")


class OrganisationViewSet(ActorViewMixin, viewsets.ReadOnlyModelViewSet):
    """Partner directory (shared by all members), with each organisation's services."""

    token_family = Family.DIRECTORY

    queryset = Organisation.objects.none()  # for the schema; real scoping in get_queryset

    serializer_class = serializers.OrganisationSerializer
    filterset_class = filters.OrganisationFilter
    ordering_fields = ["name", "kind", "departement"]

    def get_queryset(self):
        return (
            access.organisations_visible_to(self.actor)
            .select_related("employment_area")
            .prefetch_related("services")
            .order_by("name", "id")
        )


class ServiceViewSet(ActorViewMixin, viewsets.ReadOnlyModelViewSet):
    token_family = Family.DIRECTORY
    queryset = Service.objects.none()  # for the schema; real scoping in get_queryset
    serializer_class = serializers.ServiceSerializer
    filterset_class = filters.ServiceFilter
    ordering_fields = ["name", "usual_delay_days"]

    def get_queryset(self):
        organisations = access.organisations_visible_to(self.actor)
        return Service.objects.filter(organisation__in=organisations).order_by(
            "organisation_id", "name"
        )


class MeView(APIView):
    token_family = Family.ACCOUNT
    permission_classes = [IsAuthenticated, HasMembership]

    @extend_schema(responses=serializers.MeSerializer)
    def get(self, request):
        # Written directly (`list_rows.me_row`: MeSerializer's bytes, tests/api/test_me.py),
        # its memberships' query compiled once: the serializer was half the answer's CPU.
        actor = request_actor(request)
        return Response(list_rows.me_row(actor, access.memberships_listed(actor)))


class ActingOrganisationView(APIView):
    """Choose which of the user's organisations the browser session acts for."""

    # Closed to tokens: a token acts for its own organisation, and must never set a session.
    token_family = None

    permission_classes = [IsAuthenticated, HasMembership]

    @extend_schema(
        request=serializers.ActingOrganisationSerializer, responses=serializers.MeSerializer
    )
    def post(self, request):
        payload = serializers.ActingOrganisationSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        organisation_id = payload.validated_data["organisation"]
        if (
            not access.memberships_of(request_actor(request))
            .filter(organisation_id=organisation_id)
            .exists()
        ):
            raise NoMembership()
        request.session[SESSION_KEY] = organisation_id
        request._parcours_actor = None
        return MeView().get(request)


def _person_scope(actor: Actor, now: dt.datetime | None = None) -> QuerySet[Person]:
    """The persons the API reads (each with its pathways, for the journal's row)."""
    return access.persons_visible_to(actor, now=now).prefetch_related(
        Prefetch(
            "pathways",
            queryset=Pathway.objects.only("pk", "person_id", "status"),
            to_attr="all_pathways",
        )
    )


class PersonViewSet(
    DetailWrittenAsRow,
    ActorViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    token_family = Family.PERSONS
    queryset = Person.objects.none()  # for the schema; real scoping in get_queryset
    journal_object_type = "person"
    gate_actions = {
        "retrieve": Action.PERSON_READ,
        "list": Action.PERSON_LIST,
        "partial_update": Action.PERSON_RECTIFY,
    }
    serializer_class = serializers.PersonSerializer
    write_rows = staticmethod(list_rows.person_rows)
    scoped_record = access.ScopedRecord(Person, _person_scope)
    scoped_page = access.ScopedPage(Person, _person_scope, str)
    filterset_class = filters.PersonFilter
    ordering_fields = ["last_name", "first_name", "birth_date", "updated_at"]
    pagination_class = NameOrderCursorPagination
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return _person_scope(self.actor).order_by("last_name", "first_name", "id")

    def journal_subject(self, person) -> tuple[int | None, list[int]]:
        return person.pk, [p.pk for p in person.all_pathways]

    @extend_schema(
        request=serializers.PersonWriteSerializer, responses={201: serializers.PersonSerializer}
    )
    def create(self, request, *args, **kwargs):
        payload = serializers.PersonWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        person = person_services.person_create(actor=self.actor, **payload.validated_data)
        output = serializers.PersonSerializer(person, context=self.get_serializer_context())
        return Response(output.data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=serializers.PersonWriteSerializer, responses=serializers.PersonSerializer
    )
    def partial_update(self, request, *args, **kwargs):
        person = self.get_object()
        payload = serializers.PersonWriteSerializer(person, data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        person = person_services.person_update(
            actor=self.actor, person_id=person.pk, changes=payload.validated_data
        )
        return Response(
            serializers.PersonSerializer(person, context=self.get_serializer_context()).data
        )


def _pathway_action(service, payload_class, *, name: str):
    """Build a POST action on a pathway that validates its payload, calls one pathway service,
    and answers with the pathway as the acting organisation now sees it."""

    def handler(self, request, pk=None):
        payload = payload_class(data=request.data)
        payload.is_valid(raise_exception=True)
        service(actor=self.actor, pathway_id=record_id(pk), **payload.validated_data)
        return self._detail(record_id(pk))

    handler.__name__ = name
    routed = action(detail=True, methods=["post"])(handler)
    # Outside @action, which would overwrite the schema override that extend_schema stores.
    return extend_schema(
        request=payload_class,
        responses=serializers.PathwayDetailSerializer,
        operation_id=f"v1_pathways_{name}_create",  # the ids generated before: clients keep them
    )(routed)


def _pathway_detail_scope(actor: Actor, now: dt.datetime | None = None) -> QuerySet[Pathway]:
    """The pathways a detail reads one of: the ORM's path and the compiled one (below)."""
    return (
        access.pathways_visible_to(actor, now=now)
        .select_related("person", "owner_organisation", "referent", "referent_organisation")
        # Of the person, the serializers show the id and the name.
        .defer(*encrypted_fields_of(Person, "person__"))
        .prefetch_related("modality_periods", "barriers")
    )


def _pathway_scope(actor: Actor, now: dt.datetime | None = None) -> QuerySet[Pathway]:
    return (
        access.pathways_visible_to(actor, now=now)
        .select_related("person", "owner_organisation", "referent", "referent_organisation")
        # Of the person, the serializers show the id and the name.
        .defer(*encrypted_fields_of(Person, "person__"))
    )


def _pathway_list_scope(actor: Actor, now: dt.datetime | None = None) -> QuerySet[Pathway]:
    """The pathways a list pages through: the ORM's path and the compiled one."""
    return _pathway_scope(actor, now).defer("diagnostic_summary")  # the detail's alone


class PathwayViewSet(DetailWrittenAsRow, ActorViewMixin, viewsets.ReadOnlyModelViewSet):
    token_family = Family.PATHWAYS
    write_rows = staticmethod(list_rows.pathway_rows)
    scoped_record = access.ScopedRecord(Pathway, _pathway_detail_scope)
    scoped_page = access.ScopedPage(Pathway, _pathway_list_scope, dt.datetime)
    queryset = Pathway.objects.none()  # for the schema; real scoping in get_queryset
    journal_object_type = "pathway"
    gate_actions = {
        "retrieve": Action.PATHWAY_READ,
        "list": Action.PATHWAY_LIST,
        "timeline": Action.TIMELINE_READ,
        "diagnostic": Action.DIAGNOSTIC_READ,
    }
    filterset_class = filters.PathwayFilter
    pagination_class = RecentFirstCursorPagination
    # Cursor pages fix the order (most recently updated first); no `ordering` parameter.
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self):
        if self.action == "retrieve":
            return _pathway_detail_scope(self.actor)
        if self.action == "list":
            return _pathway_list_scope(self.actor)
        return _pathway_scope(self.actor)

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.PathwayDetailSerializer
        return serializers.PathwaySerializer

    def journal_subject(self, pathway) -> tuple[int | None, list[int]]:
        return pathway.person_id, [pathway.pk]

    def write_detail(self, record, context) -> dict:
        # The detail has more than the list's row: `list_rows.pathway_detail_row` writes
        # PathwayDetailSerializer's bytes (tests/api/test_list_rows.py), for the detail and for
        # the pathway a write action answers with.
        return list_rows.pathway_detail_row(record, context)

    def _detail(self, pathway_id: int) -> Response:
        pathway = (
            self.get_queryset().prefetch_related("modality_periods", "barriers").get(pk=pathway_id)
        )
        return Response(self.write_detail(pathway, self.get_serializer_context()))

    @extend_schema(responses=serializers.PathwayEventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def timeline(self, request, pk=None):
        pathway = self.get_object()
        events = access.events_visible_to(
            self.actor, pathway.pk, self.visible_categories.of([pathway.pk])
        ).select_related("actor", "organisation")
        paginator = TimelineCursorPagination()
        page = paginator.paginate_queryset(events, request, view=self)
        data = serializers.PathwayEventSerializer(page, many=True).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        request=serializers.NoteSerializer, responses={201: serializers.PathwayEventSerializer}
    )
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        payload = serializers.NoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        event = pathway_services.pathway_add_note(
            actor=self.actor, pathway_id=record_id(pk), **payload.validated_data
        )
        return Response(
            serializers.PathwayEventSerializer(event).data, status=status.HTTP_201_CREATED
        )

    def _diagnostic(self, pathway: Pathway) -> dict:
        categories = self.visible_categories.of([pathway.pk])
        versions = access.diagnostic_visible_to(self.actor, pathway.pk, categories)
        return serializers.DiagnosticSerializer(
            {
                "id": pathway.pk,
                "categories": sorted(categories),
                "domains": diagnostic_by_domain(
                    versions.select_related("author", "author_organisation"), categories
                ),
            }
        ).data

    @extend_schema(methods=["GET"], responses=serializers.DiagnosticSerializer)
    @extend_schema(
        methods=["POST"],
        request=serializers.DiagnosticWriteSerializer,
        responses={201: serializers.DiagnosticSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def diagnostic(self, request, pk=None):
        """The shared diagnostic: the domains of the categories the actor sees, each with its
        current version and the previous ones. POST writes a new version of one domain (the
        actor must see its category) and answers the diagnostic as it now stands."""
        if request.method == "POST":
            payload = serializers.DiagnosticWriteSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            diagnostic_services.diagnostic_write(
                actor=self.actor, pathway_id=record_id(pk), **payload.validated_data
            )
            pathway = self.get_queryset().get(pk=record_id(pk))
            return Response(self._diagnostic(pathway), status=status.HTTP_201_CREATED)
        pathway = self.get_object()
        self.journal_shown = DIAGNOSTIC_CATEGORIES  # what the read showed, for its journal row
        return Response(self._diagnostic(pathway))

    modality = _pathway_action(
        pathway_services.pathway_set_modality, serializers.ModalityChangeSerializer, name="modality"
    )
    referent = _pathway_action(
        pathway_services.pathway_set_referent, serializers.ReferentChangeSerializer, name="referent"
    )
    barriers = _pathway_action(
        pathway_services.barrier_record, serializers.BarrierWriteSerializer, name="barriers"
    )
    close = _pathway_action(
        pathway_services.pathway_close, serializers.PathwayCloseSerializer, name="close"
    )


# A referral's parties as the answers show them (organisations and users; see served_referrals).
REFERRAL_PARTIES = (
    "sender_organisation",
    "sender_user",
    "receiver_organisation",
    "transfer_organisation",
    "assigned_user",
)


def served_referrals(referrals):
    """What the referral answers read with each referral: its pathway and person joined, its
    parties (organisations, users) fetched after the rows, and the id of the referral a transfer
    replaced — by a subquery on the served rows, not the reverse one-to-one's join, which
    PostgreSQL merged with the whole `transferred_to_id` index (150 of 212 ms of a large inbox at
    1 M pathways, issue 17).

    The parties by `prefetch_related`, not joined: with them joined (8 relations, ~190 columns)
    PostgreSQL spent 13–24 ms *planning* the list's statement at 1 M pathways, for 2–17 ms of
    execution, and 4 ms planning a detail run in 0.2 ms — the planner carries every column
    through each join order it weighs. Without them: 1.2–1.6 ms of planning; the five lookups
    by primary key cost ~0.2 ms each (docs/performance.md, "Planning the referrals")."""
    return (
        referrals.select_related("pathway__person")
        .prefetch_related(*REFERRAL_PARTIES)
        # Of the pathway and its person, a referral shows ids and the person's name.
        .defer(
            *encrypted_fields_of(Pathway, "pathway__"),
            *encrypted_fields_of(Person, "pathway__person__"),
        )
        .annotate(
            transferred_from_pk=Subquery(
                Referral.objects.filter(transferred_to=OuterRef("pk")).values("pk")[:1]
            )
        )
    )


def _referral_scope(actor: Actor, now: dt.datetime | None = None) -> QuerySet[Referral]:
    """The referrals the API serves (a list's, a detail's): the ORM's path and the compiled one
    (`ReferralViewSet.scoped_record`, `scoped_page`)."""
    return with_unread_messages(
        served_referrals(access.referrals_visible_to(actor, now=now)), actor
    )


def _referral_filter(name: str) -> access.Narrowing:
    """The list's filter `name` as the filter set applies it (one definition of it)."""
    declared = filters.ReferralFilter.base_filters[name]
    return lambda referrals, organisation: declared.filter(referrals, organisation)


def _referral_action(service, payload_class=None, *, name: str):
    """Build a POST action that validates its payload, calls one referral service, and answers
    with the referral as the acting organisation now sees it."""

    def handler(self, request, pk=None):
        arguments = {}
        if payload_class is not None:
            payload = payload_class(data=request.data)
            payload.is_valid(raise_exception=True)
            arguments = payload.validated_data
        service(actor=self.actor, referral_id=record_id(pk), **arguments)
        # The move may end the organisation's last basis on the pathway (a sender withdrawing
        # with no basis but the referral): the answer is then the referral redacted to nothing
        # but its (empty) categories — done, and no longer visible — never a 404 after a write.
        referral = self.get_queryset().filter(pk=record_id(pk)).first() or served_referrals(
            Referral.objects.all()
        ).get(pk=record_id(pk))
        return Response(
            serializers.ReferralSerializer(referral, context=self.get_serializer_context()).data
        )

    handler.__name__ = name
    routed = action(detail=True, methods=["post"], url_path=name.replace("_", "-"))(handler)
    # Outside @action, which would overwrite the schema override that extend_schema stores.
    return extend_schema(
        request=payload_class,
        responses=serializers.ReferralSerializer,
        operation_id=f"referrals_{name}",
    )(routed)


def _propose_transfer(*, actor, referral_id, receiver_organisation, reason, receiver_service=None):
    """The payload's names (those of a referral's creation) to the service's."""
    return referral_services.referral_propose_transfer(
        actor=actor,
        referral_id=referral_id,
        receiver_organisation_id=receiver_organisation,
        receiver_service_id=receiver_service,
        reason=reason,
    )


class ReferralViewSet(
    DetailWrittenAsRow,
    ActorViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    token_family = Family.REFERRALS
    queryset = Referral.objects.none()  # for the schema; real scoping in get_queryset
    journal_object_type = "referral"
    gate_actions = {
        "retrieve": Action.REFERRAL_READ,
        "list": Action.REFERRAL_LIST,
        "messages": Action.REFERRAL_MESSAGE_READ,
        "receiver_link": Action.REFERRAL_READ,
    }
    serializer_class = serializers.ReferralSerializer
    write_rows = staticmethod(list_rows.referral_rows)
    scoped_record = access.ScopedRecord(Referral, _referral_scope)
    # A partner's referrals received and sent (`?receiver=<its id>`, `?sender=<its id>`).
    scoped_page = access.ScopedPage(
        Referral,
        _referral_scope,
        dt.datetime,
        own_organisation={
            # In the filter set's order: the order it applies them in.
            name: _referral_filter(name)
            for name in filters.ReferralFilter.base_filters
            if name in ("receiver", "sender")
        },
    )
    filterset_class = filters.ReferralFilter
    pagination_class = RecentFirstCursorPagination
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self):
        if self.action == "messages":
            # The thread's referral is only located (in scope, its parties' ids, its person):
            # the answer is the messages, not the referral.
            return access.referrals_visible_to(self.actor).select_related("pathway")
        return _referral_scope(self.actor)

    def journal_subject(self, referral) -> tuple[int | None, list[int]]:
        return referral.pathway.person_id, [referral.pathway_id]

    @extend_schema(
        request=serializers.ReferralCreateSerializer,
        responses={201: serializers.ReferralSerializer},
    )
    def create(self, request, *args, **kwargs):
        payload = serializers.ReferralCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        referral = referral_services.referral_create(
            actor=self.actor,
            pathway_id=data["pathway"],
            receiver_organisation_id=data["receiver_organisation"],
            receiver_service_id=data.get("receiver_service"),
            kind=data["kind"],
            reason=data["reason"],
            context_note=data["context_note"],
            shared_categories=data["shared_categories"],
            send=data["send"],
        )
        output = serializers.ReferralSerializer(
            self.get_queryset().get(pk=referral.pk), context=self.get_serializer_context()
        )
        return Response(output.data, status=status.HTTP_201_CREATED)

    send = _referral_action(referral_services.referral_send, name="send")
    withdraw = _referral_action(
        referral_services.referral_withdraw, serializers.CommentSerializer, name="withdraw"
    )
    accept = _referral_action(referral_services.referral_accept, name="accept")
    refuse = _referral_action(
        referral_services.referral_refuse, serializers.RefuseSerializer, name="refuse"
    )
    set_appointment = _referral_action(
        referral_services.referral_set_appointment,
        serializers.AppointmentWriteSerializer,
        name="set_appointment",
    )
    record_attendance = _referral_action(
        referral_services.referral_record_attendance, name="record_attendance"
    )
    record_no_show = _referral_action(
        referral_services.referral_record_no_show, name="record_no_show"
    )
    close = _referral_action(
        referral_services.referral_close, serializers.ReferralCloseSerializer, name="close"
    )
    correct_attendance = _referral_action(
        referral_services.referral_correct_attendance,
        serializers.CorrectionSerializer,
        name="correct_attendance",
    )
    # Réorientation: the receiver proposes (done at once within an agreement that allows it),
    # the sender confirms or declines.
    propose_transfer = _referral_action(
        _propose_transfer,
        serializers.TransferProposalSerializer,
        name="propose_transfer",
    )
    confirm_transfer = _referral_action(
        referral_services.referral_confirm_transfer, name="confirm_transfer"
    )
    decline_transfer = _referral_action(
        referral_services.referral_decline_transfer,
        serializers.CommentSerializer,
        name="decline_transfer",
    )
    # The receiving team: hand the referral to one of the receiver's case workers.
    assign = _referral_action(
        referral_assignment.referral_assign, serializers.AssignSerializer, name="assign"
    )

    # The link of a receiver without an account (issue 19): its state (never the token), and
    # the sender's revocation or new link (the gate's RECEIVER_LINK_* rows).
    @extend_schema(
        responses=serializers.ReceiverLinkSerializer, operation_id="referrals_receiver_link"
    )
    @action(detail=True, methods=["get"], url_path="receiver-link", filter_backends=[])
    def receiver_link(self, request, pk=None):
        """The state of the referral's link for a receiver without an account."""
        referral = self.get_object()  # in scope, else 404 (the probe journaled by the gate)
        self.journal_shown = frozenset({DataCategory.PATHWAY})
        link = link_services.current_link(referral)
        return Response(serializers.ReceiverLinkSerializer.of(link))

    @extend_schema(
        request=None,
        responses=serializers.ReceiverLinkSerializer,
        operation_id="referrals_receiver_link_revoke",
    )
    @action(detail=True, methods=["post"], url_path="receiver-link/revoke")
    def receiver_link_revoke(self, request, pk=None):
        """The sender revokes the link: it opens nothing from now on (409 if none in force)."""
        referral = link_services.receiver_link_revoke(actor=self.actor, referral_id=record_id(pk))
        return Response(serializers.ReceiverLinkSerializer.of(link_services.current_link(referral)))

    @extend_schema(
        request=None,
        responses={201: serializers.ReceiverLinkSerializer},
        operation_id="referrals_receiver_link_issue",
    )
    @action(detail=True, methods=["post"], url_path="receiver-link/issue")
    def receiver_link_issue(self, request, pk=None):
        """The sender sends a new link to the receiver's contact address (the former revoked)."""
        link = link_services.receiver_link_issue(actor=self.actor, referral_id=record_id(pk))
        return Response(serializers.ReceiverLinkSerializer.of(link), status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        responses=serializers.ReferralMessageSerializer(many=True),
        operation_id="referrals_messages_list",
    )
    @extend_schema(
        methods=["POST"],
        request=serializers.ReferralMessageWriteSerializer,
        responses={201: serializers.ReferralMessageSerializer},
        operation_id="referrals_messages_create",
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def messages(self, request, pk=None):
        """The thread between the referral's sender and receiver, newest first (cursor pages).
        Reading a page marks the thread read for the acting organisation up to the newest message
        it shows. POST writes a message (the other party is told by e-mail, without its text)."""
        if request.method == "POST":
            payload = serializers.ReferralMessageWriteSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            message = message_services.referral_message_post(
                actor=self.actor, referral_id=record_id(pk), **payload.validated_data
            )
            return Response(
                serializers.ReferralMessageSerializer(message).data,
                status=status.HTTP_201_CREATED,
            )
        referral = self.get_object()  # in scope, else 404 (the probe journaled by the gate)
        gate.require(
            self.actor,
            Action.REFERRAL_MESSAGE_READ,
            relations=relations_to_referral(self.actor, referral),
            subject=gate.Subject("referral", referral.pk, referral.pathway.person_id),
        )
        self.journal_shown = frozenset({DataCategory.PATHWAY})  # the read's journal row
        thread = (
            access.referral_messages_visible_to(self.actor)
            .filter(referral=referral)
            .select_related("author", "author_organisation")
        )
        paginator = MessageCursorPagination()
        page = paginator.paginate_queryset(thread, request, view=self)
        if page:
            message_services.referral_messages_mark_read(
                actor=self.actor, referral_id=referral.pk, up_to_id=max(m.pk for m in page)
            )
        data = serializers.ReferralMessageSerializer(page, many=True).data
        return paginator.get_paginated_response(data)


class AppointmentViewSet(ActorViewMixin, viewsets.ReadOnlyModelViewSet):
    """Appointments are written through the referral actions (set-appointment, record-…)."""

    token_family = Family.REFERRALS

    queryset = Appointment.objects.none()  # for the schema; real scoping in get_queryset
    journal_object_type = "appointment"
    gate_actions = {"retrieve": Action.APPOINTMENT_READ, "list": Action.APPOINTMENT_LIST}
    journal_shown = frozenset({DataCategory.PATHWAY})
    serializer_class = serializers.AppointmentSerializer
    filterset_class = filters.AppointmentFilter
    ordering_fields = ["starts_at"]

    def get_queryset(self):
        return (
            access.appointments_visible_to(self.actor)
            .select_related("referral__pathway")
            .order_by("-starts_at", "-id")
        )

    def journal_subject(self, appointment) -> tuple[int | None, list[int]]:
        return appointment.referral.pathway.person_id, [appointment.referral.pathway_id]


def _ladder_terms(rungs: list[dict] | None) -> list[tuple[int, str]] | None:
    """The serializer's rungs as the service takes them (None: the ladder was not sent)."""
    if rungs is None:
        return None
    return [(rung["after_hours"], rung["audience"]) for rung in rungs]


class AgreementViewSet(
    ActorViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Partnership agreements: an organisation proposes (POST), each party accepts or declines
    for itself (accept/, decline/), a party changes it (PATCH)."""

    token_family = Family.AGREEMENTS

    queryset = Agreement.objects.none()  # for the schema; real scoping in get_queryset
    serializer_class = serializers.AgreementSerializer
    filterset_class = filters.AgreementFilter
    ordering_fields = ["starts_on", "name"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return (
            access.agreements_visible_to(self.actor)
            .prefetch_related(
                "parties",
                Prefetch(
                    "signatures",
                    queryset=AgreementParty.objects.select_related("organisation").order_by(
                        "organisation__name", "pk"
                    ),
                ),
                Prefetch("escalation_rungs", queryset=EscalationRung.objects.order_by("order")),
            )
            .order_by("-starts_on", "id")
        )

    def _answer(self, agreement_id: int) -> Response:
        """The agreement as the acting organisation now sees it."""
        return Response(self.get_serializer(self.get_queryset().get(pk=agreement_id)).data)

    def create(self, request, *args, **kwargs):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        parties = [p.pk for p in data.pop("parties")]
        agreement = agreement_services.agreement_propose(
            actor=self.actor,
            party_ids=parties,
            escalation_ladder=_ladder_terms(data.pop("escalation_rungs", None)),
            **data,
        )
        response = self._answer(agreement.pk)
        response.status_code = status.HTTP_201_CREATED
        return response

    def partial_update(self, request, *args, **kwargs):
        agreement = self.get_object()
        payload = self.get_serializer(agreement, data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        parties = data.pop("parties", None)
        agreement = agreement_services.agreement_update(
            actor=self.actor,
            agreement_id=agreement.pk,
            party_ids=[p.pk for p in parties] if parties is not None else None,
            escalation_ladder=_ladder_terms(data.pop("escalation_rungs", None)),
            **data,
        )
        return self._answer(agreement.pk)

    @extend_schema(
        request=None, responses=serializers.AgreementSerializer, operation_id="agreements_accept"
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """Accept the agreement's current version for the acting organisation."""
        agreement = agreement_services.agreement_accept(
            actor=self.actor, agreement_id=record_id(pk)
        )
        return self._answer(agreement.pk)

    @extend_schema(
        request=serializers.AgreementDeclineSerializer,
        responses=serializers.AgreementSerializer,
        operation_id="agreements_decline",
    )
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        """Decline the agreement, or withdraw the acting organisation's acceptance."""
        agreement_id = record_id(pk)
        payload = serializers.AgreementDeclineSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        agreement = agreement_services.agreement_decline(
            actor=self.actor, agreement_id=agreement_id, **payload.validated_data
        )
        return self._answer(agreement.pk)
