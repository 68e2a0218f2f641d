"""Serializers: shape and validate; writes are delegated to services by the views."""

import copy

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..categories import (
    DIAGNOSTIC_DOMAIN_FIELDS,
    DIAGNOSTIC_FIELDS,
    DIAGNOSTIC_VERSION_FIELDS,
    PATHWAY_FIELDS,
    PERSON_FIELDS,
    REFERRAL_FIELDS,
    DataCategory,
)
from ..diagnostic_domains import TEXT_MAX_LENGTH, DiagnosticDomain, DiagnosticLevel
from ..models import (
    MESSAGE_MAX_LENGTH,
    Agreement,
    AgreementAction,
    AgreementParty,
    Appointment,
    AppointmentChannel,
    Barrier,
    BarrierKind,
    BarrierStatus,
    DiagnosticEntry,
    EmploymentArea,
    EscalationAudience,
    EscalationRung,
    Membership,
    ModalityPeriod,
    Organisation,
    Pathway,
    PathwayEvent,
    PathwayOutcome,
    Person,
    ReceiverLinkState,
    Referral,
    ReferralKind,
    ReferralMessage,
    ReferralOutcome,
    RefusalReason,
    Service,
    SupportModality,
)
from ..models.agreement import MAX_ESCALATION_HOURS
from ..models.person import france_travail_id_validator, validate_nir
from ..services.agreement import agreement_actions_available, agreement_dates_errors
from ..services.person import PERSON_EDITABLE_FIELDS
from .list_rows import (
    PATHWAY_KEYS,
    PERSON_KEYS,
    REFERRAL_KEYS,
    available_actions,
    barriers_seen,
    open_pathway_of,
    person_pathway_ids,
    person_ref,
)
from .redaction import RedactedSerializerMixin


# A read serializer's fields built once per class, then copied for each instance.
# `ModelSerializer.get_fields` inspects the model and builds every field anew for each serializer
# instance (1.6 ms of CPU for a referral, 0.8 for a person, on every request; issue 17); what it
# builds depends on the class alone (Meta, declared fields). Each instance still gets its own
# copies (DRF's own `deepcopy`), bound to it as before. Not for write serializers, whose
# validators may read the instance. No docstring: drf-spectacular would publish it as the
# description of every component that inherits it.
class ServedDateTimeField(serializers.DateTimeField):
    """DRF's, asking the current time zone once per field instance (one serializer, one
    request) rather than for every value: a page of 50 referrals has 15 dates a row."""

    def default_timezone(self):
        try:
            return self._served_timezone
        except AttributeError:
            self._served_timezone = super().default_timezone()
            return self._served_timezone


class FieldsBuiltOnce:
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: ServedDateTimeField,
    }

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built_once")
        if built is None:
            built = super().get_fields()  # type: ignore[misc]
            cls._fields_built_once = built  # type: ignore[attr-defined]
        return copy.deepcopy(built)


class EmploymentAreaSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = EmploymentArea
        fields = ["id", "code", "name", "departement"]


class ServiceSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = [
            "id",
            "organisation",
            "name",
            "description",
            "eligibility",
            "barriers_addressed",
            "usual_delay_days",
            "is_active",
        ]


class OrganisationSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    services = ServiceSerializer(many=True, read_only=True)
    employment_area = EmploymentAreaSerializer(read_only=True)

    class Meta:
        model = Organisation
        fields = [
            "id",
            "kind",
            "siae_kind",
            "name",
            "siret",
            "departement",
            "employment_area",
            "address",
            "contact_email",
            "services",
        ]


class OrganisationRefSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name", "kind"]


class UserRefSerializer(FieldsBuiltOnce, serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.SerializerMethodField()

    def get_full_name(self, user) -> str:
        return user.get_full_name()


class MembershipSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    organisation = OrganisationRefSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "organisation", "role"]


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField()
    email = serializers.EmailField()
    memberships = MembershipSerializer(many=True)
    acting_organisation = OrganisationRefSerializer()
    acting_role = serializers.CharField()


class ActingOrganisationSerializer(serializers.Serializer):
    organisation = serializers.IntegerField(label=_("organisation"))


class PersonSerializer(FieldsBuiltOnce, RedactedSerializerMixin, serializers.ModelSerializer):
    field_categories = PERSON_FIELDS
    categories = serializers.SerializerMethodField()
    under_26 = serializers.BooleanField(read_only=True)
    over_55 = serializers.BooleanField(read_only=True)
    open_pathway = serializers.SerializerMethodField()

    class Meta:
        model = Person
        # The list's writer (list_rows.person_rows) writes these keys, in this order.
        fields = list(PERSON_KEYS)
        read_only_fields = ["created_at", "updated_at"]

    def pathway_ids_of(self, person: Person) -> list[int]:
        return person_pathway_ids(person)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_open_pathway(self, person: Person) -> int | None:
        return open_pathway_of(person)


class PersonWriteSerializer(serializers.ModelSerializer):
    """Field-level validation only; uniqueness is the service's (with a clear 409)."""

    class Meta:
        model = Person
        fields = list(PERSON_EDITABLE_FIELDS)
        validators: list = []  # the service checks duplicates and answers 409
        # Only the format validators: DRF would add UniqueValidators for the unique NIR and
        # France Travail id, answering a duplicate with a bare 400 instead of the service's 409.
        extra_kwargs = {
            "nir": {"validators": [validate_nir]},
            "france_travail_id": {"validators": [france_travail_id_validator]},
        }


class ModalityPeriodSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = ModalityPeriod
        fields = ["modality", "started_at", "ended_at"]


class BarrierSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = Barrier
        fields = ["id", "kind", "status", "detail", "identified_at", "resolved_at"]


class PathwaySerializer(FieldsBuiltOnce, RedactedSerializerMixin, serializers.ModelSerializer):
    field_categories = PATHWAY_FIELDS
    categories = serializers.SerializerMethodField()
    person = serializers.SerializerMethodField()
    owner_organisation = OrganisationRefSerializer(read_only=True)
    referent = UserRefSerializer(read_only=True, allow_null=True)
    referent_organisation = OrganisationRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Pathway
        fields = list(PATHWAY_KEYS)  # list_rows.pathway_rows writes these keys, in this order

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "first_name": {"type": "string"},
                "last_name": {"type": "string"},
            },
        }
    )
    def get_person(self, pathway: Pathway) -> dict:
        return person_ref(pathway.person)

    def pathway_ids_of(self, pathway: Pathway) -> list[int]:
        return [pathway.pk]

    def redact_nested(self, data: dict, visible: frozenset[str]) -> dict:
        if "barriers" in data:
            data["barriers"] = barriers_seen(data["barriers"], visible)
        return data


class PathwayDetailSerializer(PathwaySerializer):
    modality_periods = ModalityPeriodSerializer(many=True, read_only=True)
    barriers = BarrierSerializer(many=True, read_only=True)

    class Meta(PathwaySerializer.Meta):
        fields = [
            *PathwaySerializer.Meta.fields,
            "diagnostic_summary",
            "modality_periods",
            "barriers",
        ]


class PathwayEventSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    # Null for the system's own events (an expiry, the retention job).
    actor = UserRefSerializer(read_only=True, allow_null=True)
    organisation = OrganisationRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = PathwayEvent
        fields = [
            "id",
            "kind",
            "occurred_at",
            "actor",
            "organisation",
            "referral",
            "referral_status",
            "text",
        ]


class NoteSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[("note", _("Note")), ("action", _("Action")), ("diagnostic", _("Diagnostic"))],
        default="note",
    )
    text = serializers.CharField(label=_("texte"), max_length=10000)


class ModalityChangeSerializer(serializers.Serializer):
    modality = serializers.ChoiceField(choices=SupportModality.choices, label=_("modalité"))


class ReferentChangeSerializer(serializers.Serializer):
    referent = serializers.IntegerField(label=_("référent"), source="referent_id")


class BarrierWriteSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=BarrierKind.choices, label=_("frein"))
    status = serializers.ChoiceField(
        choices=BarrierStatus.choices, default=BarrierStatus.IDENTIFIED, label=_("statut")
    )
    detail = serializers.CharField(allow_blank=True, default="", max_length=5000)


class DiagnosticVersionSerializer(serializers.ModelSerializer):
    author = UserRefSerializer(read_only=True)
    author_organisation = OrganisationRefSerializer(read_only=True)

    class Meta:
        model = DiagnosticEntry
        fields = list(DIAGNOSTIC_VERSION_FIELDS)


class DiagnosticDomainSerializer(serializers.Serializer):
    """One domain (`selectors.diagnostic.DomainDiagnostic`): its current version, or null when
    nobody wrote it yet, and the previous ones, newest first."""

    domain = serializers.ChoiceField(choices=DiagnosticDomain.choices)
    category = serializers.ChoiceField(choices=DataCategory.choices)
    current = DiagnosticVersionSerializer(allow_null=True)
    previous_versions = DiagnosticVersionSerializer(many=True, source="previous")

    class Meta:
        fields = list(DIAGNOSTIC_DOMAIN_FIELDS)


class DiagnosticSerializer(serializers.Serializer):
    """A pathway's shared diagnostic: the domains of the categories the actor sees."""

    id = serializers.IntegerField(help_text=_("Le parcours."))
    categories = serializers.ListField(child=serializers.CharField())
    domains = DiagnosticDomainSerializer(many=True)

    class Meta:
        fields = list(DIAGNOSTIC_FIELDS)


class DiagnosticWriteSerializer(serializers.Serializer):
    domain = serializers.ChoiceField(choices=DiagnosticDomain.choices, label=_("domaine"))
    text = serializers.CharField(max_length=TEXT_MAX_LENGTH, label=_("situation"))
    level = serializers.ChoiceField(
        choices=DiagnosticLevel.choices, allow_blank=True, default="", label=_("appréciation")
    )


class PathwayCloseSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=PathwayOutcome.choices, label=_("motif de sortie"))


class AppointmentSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = Appointment
        fields = [
            "id",
            "referral",
            "starts_at",
            "channel",
            "place",
            "outcome",
            "outcome_recorded_at",
            "created_at",
        ]


class ReferralSerializer(FieldsBuiltOnce, RedactedSerializerMixin, serializers.ModelSerializer):
    field_categories = REFERRAL_FIELDS
    categories = serializers.SerializerMethodField()
    sender_organisation = OrganisationRefSerializer(read_only=True)
    sender_user = UserRefSerializer(read_only=True)
    receiver_organisation = OrganisationRefSerializer(read_only=True)
    # The receiver's counsellor in charge (POST …/assign/), null while nobody is.
    assigned_user = UserRefSerializer(read_only=True, allow_null=True)
    reference = serializers.CharField(read_only=True)
    person = serializers.SerializerMethodField()
    available_actions = serializers.SerializerMethodField()
    transfer_organisation = OrganisationRefSerializer(
        read_only=True,
        allow_null=True,
        label=_("partenaire proposé pour la réorientation"),
        help_text=_("Le partenaire que l'organisme destinataire propose à sa place."),
    )
    # Annotated by the viewset's queryset (api/views.py, `served_referrals`).
    transferred_from = serializers.IntegerField(
        source="transferred_from_pk",
        read_only=True,
        allow_null=True,
        help_text=_("L'orientation dont celle-ci est la suite (réorientation), sinon null."),
    )
    unread_messages = serializers.SerializerMethodField(
        help_text=_(
            "Messages de l'autre partie que votre organisation n'a pas encore lus ; null si vous "
            "ne lisez pas les messages de cette orientation (ni prescripteur ni destinataire, "
            "ou un rôle qui ne les lit pas)."
        )
    )

    class Meta:
        model = Referral
        fields = list(REFERRAL_KEYS)  # list_rows.referral_rows writes these keys, in this order

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "first_name": {"type": "string"},
                "last_name": {"type": "string"},
            },
        }
    )
    def get_person(self, referral: Referral) -> dict:
        return person_ref(referral.pathway.person)

    def pathway_ids_of(self, referral: Referral) -> list[int]:
        return [referral.pathway_id]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_available_actions(self, referral: Referral) -> list[str]:
        """What the acting organisation may do next, read from the transitions table (a
        correction: only for its author, within the delay)."""
        return available_actions(self.context.get("actor"), referral)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_unread_messages(self, referral: Referral) -> int | None:
        # Annotated by the viewset's queryset (selectors.referral_messages.with_unread_messages):
        # a list costs no query more; a referral read without it says nothing.
        return getattr(referral, "unread_messages", None)


class ReferralMessageSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """A message of a referral's thread (pathway category: categories.REFERRAL_MESSAGE_FIELDS)."""

    author = UserRefSerializer(read_only=True)
    author_organisation = OrganisationRefSerializer(read_only=True)

    class Meta:
        model = ReferralMessage
        fields = ["id", "referral", "author", "author_organisation", "text", "created_at"]
        read_only_fields = fields


class ReferralMessageWriteSerializer(serializers.Serializer):
    text = serializers.CharField(
        label=_("message"),
        max_length=MESSAGE_MAX_LENGTH,
        help_text=_(
            "Visible des deux organisations de l'orientation ; n'y écrivez ni information de "
            "santé ni information de justice."
        ),
    )


class ReferralCreateSerializer(serializers.Serializer):
    pathway = serializers.IntegerField(label=_("parcours"))
    receiver_organisation = serializers.IntegerField(label=_("organisme destinataire"))
    receiver_service = serializers.IntegerField(
        label=_("service demandé"), required=False, allow_null=True
    )
    kind = serializers.ChoiceField(choices=ReferralKind.choices, label=_("type d'orientation"))
    reason = serializers.CharField(label=_("motif de l'orientation"), max_length=5000)
    context_note = serializers.CharField(
        label=_("éléments de contexte"), allow_blank=True, default="", max_length=10000
    )
    shared_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=DataCategory.choices),
        required=False,
        default=list,
        label=_("catégories partagées avec le destinataire"),
        help_text=_("L'identité et le parcours sont toujours partagés."),
    )
    send = serializers.BooleanField(default=True, label=_("envoyer maintenant"))


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(allow_blank=True, default="", max_length=5000)


class CorrectionSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=1000,
        label=_("motif de la correction"),
        help_text=_("Ce qui s'est réellement passé (la venue ou l'absence saisie était fausse)."),
    )


class TransferProposalSerializer(serializers.Serializer):
    receiver_organisation = serializers.IntegerField(
        label=_("partenaire proposé"),
        help_text=_("Un organisme de l'annuaire, autre que les deux de l'orientation."),
    )
    receiver_service = serializers.IntegerField(
        label=_("service proposé"), required=False, allow_null=True
    )
    reason = serializers.CharField(
        label=_("motif de la réorientation"),
        max_length=2000,
        help_text=_(
            "Pourquoi ce partenaire conviendrait mieux. Si une convention en vigueur entre "
            "votre organisation et ce partenaire le permet, la réorientation est faite aussitôt ; "
            "sinon l'organisme prescripteur la confirme ou la refuse."
        ),
    )


class AssignSerializer(serializers.Serializer):
    # The service's keyword is `user_id`; its French errors name the field `user`.
    user = serializers.IntegerField(
        source="user_id",
        min_value=1,
        label=_("conseiller en charge"),
        help_text=_(
            "Identifiant d'un conseiller ou travailleur social actif de l'organisme destinataire."
        ),
    )


class RefuseSerializer(serializers.Serializer):
    refusal_reason = serializers.ChoiceField(
        choices=RefusalReason.choices, label=_("motif de refus")
    )
    comment = serializers.CharField(allow_blank=True, default="", max_length=5000)


class LocalDateTimeField(serializers.DateTimeField):
    """DRF's, with its French 'out of range' answer where a naive time has no local one: its
    time-zone check overflows on 0001-01-01T00:00 (Paris is then year 0 in UTC), a 500."""

    def enforce_timezone(self, value):
        try:
            return super().enforce_timezone(value)
        except OverflowError:
            self.fail("overflow")


class AppointmentWriteSerializer(serializers.Serializer):
    starts_at = LocalDateTimeField(label=_("date et heure"))
    channel = serializers.ChoiceField(
        choices=AppointmentChannel.choices, default=AppointmentChannel.IN_PERSON
    )
    place = serializers.CharField(allow_blank=True, default="", max_length=300)


class ReferralCloseSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=ReferralOutcome.choices, label=_("suite donnée"))
    comment = serializers.CharField(allow_blank=True, default="", max_length=5000)


class AgreementSignatureSerializer(serializers.ModelSerializer):
    """One party and its own answer to the agreement's current version."""

    organisation = OrganisationRefSerializer(read_only=True)

    class Meta:
        model = AgreementParty
        fields = ["organisation", "status", "decided_at", "decline_reason"]


class EscalationRungSerializer(serializers.ModelSerializer):
    """One rung of the agreement's escalation ladder. Numbered by the service in the order of
    the delays; written as `after_hours` and `audience`."""

    after_hours = serializers.IntegerField(
        min_value=1, max_value=MAX_ESCALATION_HOURS, label=_("après (heures depuis l'alerte)")
    )
    audience = serializers.ChoiceField(choices=EscalationAudience.choices, label=_("destinataires"))
    audience_label = serializers.CharField(source="get_audience_display", read_only=True)

    class Meta:
        model = EscalationRung
        fields = ["order", "after_hours", "audience", "audience_label"]
        read_only_fields = ["order"]

    def validate(self, attrs):
        # A ladder sent replaces the whole ladder, so each rung is whole even in a PATCH (where
        # DRF lets the fields of a partial update, nested ones too, be left out).
        missing = {
            name: [_("Ce champ est obligatoire.")]
            for name in ("after_hours", "audience")
            if name not in attrs
        }
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class AgreementSerializer(serializers.ModelSerializer):
    parties = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Organisation.objects.all(), label=_("signataires")
    )
    shared_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=DataCategory.choices),
        required=False,
        default=list,
        label=_("catégories partagées au titre de la convention"),
        help_text=_("Jamais santé ni justice : elles exigent l'accord de la personne."),
    )
    signatures = AgreementSignatureSerializer(
        many=True,
        read_only=True,
        label=_("réponses des signataires"),
        help_text=_("Chaque signataire accepte pour lui-même la version en cours."),
    )
    accepted_by_every_party = serializers.SerializerMethodField(
        help_text=_("Chaque signataire a accepté la version en cours.")
    )
    in_force = serializers.SerializerMethodField(
        help_text=_(
            "Acceptée par chaque signataire et dans ses dates aujourd'hui : elle lie alors "
            "ses signataires (délais, catégories partagées)."
        )
    )
    escalation_ladder = EscalationRungSerializer(
        source="escalation_rungs",
        many=True,
        required=False,
        label=_("échelle d'escalade"),
        help_text=_(
            "Les relances d'une alerte restée sans suite : chaque échelon dit après combien "
            "d'heures depuis l'alerte et à qui (5 échelons au plus). Vide : l'échelle par "
            "défaut (les responsables des deux structures, par défaut après 72 heures). La "
            "changer est une nouvelle version."
        ),
    )
    available_actions = serializers.SerializerMethodField()

    class Meta:
        model = Agreement
        fields = [
            "id",
            "name",
            "level",
            "parties",
            "proposed_by",
            "starts_on",
            "ends_on",
            "review_on",
            "acknowledge_within_working_days",
            "first_appointment_within_days",
            "no_show_grace_hours",
            "reminder_hours_before",
            "escalation_ladder",
            "shared_categories",
            "receiver_may_transfer",
            "created_at",
            "signatures",
            "accepted_by_every_party",
            "in_force",
            "available_actions",
        ]
        read_only_fields = ["created_at", "proposed_by"]
        extra_kwargs = {
            "acknowledge_within_working_days": {"min_value": 1, "max_value": 60},
            "first_appointment_within_days": {"min_value": 1, "max_value": 180},
            "no_show_grace_hours": {"max_value": 720},
            "reminder_hours_before": {"max_value": 720},
        }

    def validate(self, attrs):
        starts_on = attrs.get("starts_on", getattr(self.instance, "starts_on", None))
        ends_on = attrs.get("ends_on", getattr(self.instance, "ends_on", None))
        if errors := agreement_dates_errors(starts_on, ends_on):  # the service's rule
            raise serializers.ValidationError(errors)
        return attrs

    def get_accepted_by_every_party(self, agreement: Agreement) -> bool:
        return agreement.is_accepted_by_every_party()

    def get_in_force(self, agreement: Agreement) -> bool:
        return agreement.is_in_force_on(timezone.localdate())

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=AgreementAction.choices))
    )
    def get_available_actions(self, agreement: Agreement) -> list[str]:
        """What the acting organisation may do now (AGREEMENT_ROLES × its own answer)."""
        actor = self.context.get("actor")
        return agreement_actions_available(actor, agreement) if actor else []


class AgreementDeclineSerializer(serializers.Serializer):
    reason = serializers.CharField(
        allow_blank=True, default="", max_length=2000, label=_("motif du refus")
    )


class ReceiverLinkSerializer(serializers.Serializer):
    """The state of a referral's link for a receiver without an account (issue 19): never its
    token (only its hash is kept, and the e-mail carried it once). `state` is `none` when the
    referral never had one (its receiver has an account)."""

    state = serializers.ChoiceField(
        choices=[("none", _("Aucun lien")), *ReceiverLinkState.choices], label=_("état")
    )
    state_label = serializers.CharField(label=_("état (libellé)"))
    receiver_organisation = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField(allow_null=True, label=_("créé le"))
    expires_at = serializers.DateTimeField(allow_null=True, label=_("expire le"))
    revoked_at = serializers.DateTimeField(allow_null=True, label=_("révoqué le"))
    last_used_at = serializers.DateTimeField(allow_null=True, label=_("dernière utilisation"))

    @staticmethod
    def of(link) -> dict:
        if link is None:
            return {
                "state": "none",
                "state_label": str(_("Aucun lien")),
                "receiver_organisation": None,
                "created_at": None,
                "expires_at": None,
                "revoked_at": None,
                "last_used_at": None,
            }
        state = link.state()
        return {
            "state": state,
            "state_label": str(ReceiverLinkState(state).label),
            "receiver_organisation": link.organisation_id,
            "created_at": link.created_at,
            "expires_at": link.expires_at,
            "revoked_at": link.revoked_at,
            "last_used_at": link.last_used_at,
        }
