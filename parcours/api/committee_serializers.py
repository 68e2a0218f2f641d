"""The case committee in the API (CLCVP): sessions, proposals and the payloads of their writes.
Shapes only; the rules are the services' (parcours/services/committee.py).

A session and the lists say nothing of a person (a reference, states, dates, organisations);
a proposal's detail carries the text written for the committee — a journaled read."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Committee, CommitteeProposal, DecisionOutcome, ProposalBasis, ReferralKind
from ..models.action_plan import PLAN_ACTION_LABEL_MAX
from ..models.committee import PLACE_MAX, PROPOSAL_TEXT_MAX


class AgendaItemSerializer(serializers.ModelSerializer):
    """An item of a session's agenda, or a proposal in a list: naming nobody."""

    reference = serializers.CharField(read_only=True, help_text=_("Référence du dossier."))

    class Meta:
        model = CommitteeProposal
        fields = [
            "id",
            "reference",
            "employment_area",
            "proposer_organisation",
            "created_at",
            "status",
            "committee",
            "position",
            "outcome",
            "decided_at",
        ]
        read_only_fields = fields


class CommitteeSerializer(serializers.ModelSerializer):
    agenda = serializers.SerializerMethodField(help_text=_("L'ordre du jour, dans l'ordre."))

    class Meta:
        model = Committee
        fields = [
            "id",
            "employment_area",
            "meets_at",
            "place",
            "status",
            "attendees",
            "created_at",
            "agenda",
        ]
        read_only_fields = fields

    @extend_schema_field(AgendaItemSerializer(many=True))
    def get_agenda(self, committee: Committee) -> list:
        items = sorted(committee.agenda.all(), key=lambda item: item.position or 0)
        return list(AgendaItemSerializer(items, many=True).data)


class FollowUpSerializer(serializers.Serializer):
    plan_action = serializers.IntegerField(allow_null=True)
    referral = serializers.IntegerField(allow_null=True)


class ProposalSerializer(serializers.ModelSerializer):
    """A proposal with the text written for the committee (a journaled read)."""

    reference = serializers.CharField(read_only=True)
    basis = serializers.SerializerMethodField(help_text=_("Base du partage avec le comité."))
    follow_ups = serializers.SerializerMethodField()

    class Meta:
        model = CommitteeProposal
        fields = [
            "id",
            "reference",
            "employment_area",
            "pathway",
            "proposer_organisation",
            "created_at",
            "reason",
            "question",
            "summary",
            "basis_kind",
            "basis",
            "status",
            "committee",
            "position",
            "declined_reason",
            "decision",
            "outcome",
            "decided_at",
            "follow_ups",
        ]
        read_only_fields = fields

    def get_basis(self, proposal: CommitteeProposal) -> str:
        from ..services.committee import proposal_basis_code

        return proposal_basis_code(proposal)

    @extend_schema_field(FollowUpSerializer(many=True))
    def get_follow_ups(self, proposal: CommitteeProposal) -> list:
        return [
            {"plan_action": f.plan_action_id, "referral": f.referral_id}
            for f in proposal.follow_ups.all()
        ]


class CommitteeCreateSerializer(serializers.Serializer):
    employment_area = serializers.IntegerField(label=_("bassin d'emploi"))
    meets_at = serializers.DateTimeField(label=_("date et heure"))
    place = serializers.CharField(max_length=PLACE_MAX, label=_("lieu ou lien de visioconférence"))
    attendees = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, max_length=100
    )


class AttendeesSerializer(serializers.Serializer):
    attendees = serializers.ListField(child=serializers.IntegerField(), max_length=100)


class ProposalCreateSerializer(serializers.Serializer):
    pathway = serializers.IntegerField(label=_("parcours"))
    reason = serializers.CharField(max_length=PROPOSAL_TEXT_MAX, label=_("motif"))
    question = serializers.CharField(max_length=PROPOSAL_TEXT_MAX, label=_("question"))
    summary = serializers.CharField(max_length=PROPOSAL_TEXT_MAX, label=_("situation"))
    basis_kind = serializers.ChoiceField(choices=ProposalBasis.choices, label=_("base"))
    consent = serializers.IntegerField(required=False, allow_null=True, label=_("accord"))
    legal_basis = serializers.CharField(
        required=False, allow_blank=True, max_length=40, label=_("base légale")
    )


class ScheduleSerializer(serializers.Serializer):
    committee = serializers.IntegerField(label=_("comité"))


class MoveSerializer(serializers.Serializer):
    offset = serializers.ChoiceField(choices=[(-1, _("monter")), (1, _("descendre"))])


class DeclineSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=PROPOSAL_TEXT_MAX, label=_("motif"))


class DecidedActionSerializer(serializers.Serializer):
    # A declared field named like Field.label: DRF's metaclass takes it out of the class.
    label = serializers.CharField(  # type: ignore[assignment]
        max_length=PLAN_ACTION_LABEL_MAX, label=_("action")
    )
    owner_organisation = serializers.IntegerField(label=_("organisation qui porte l'action"))
    due_on = serializers.DateField(label=_("échéance"))


class DecidedReferralSerializer(serializers.Serializer):
    receiver_organisation = serializers.IntegerField(label=_("organisme destinataire"))
    receiver_service = serializers.IntegerField(required=False, allow_null=True)
    kind = serializers.ChoiceField(
        choices=ReferralKind.choices, default=ReferralKind.SIMULTANEOUS, label=_("type")
    )
    reason = serializers.CharField(max_length=PROPOSAL_TEXT_MAX, label=_("motif"))


class DecideSerializer(serializers.Serializer):
    decision = serializers.CharField(max_length=PROPOSAL_TEXT_MAX, label=_("décision"))
    outcome = serializers.ChoiceField(choices=DecisionOutcome.choices, label=_("issue"))
    actions = DecidedActionSerializer(many=True, required=False, default=list)
    referrals = DecidedReferralSerializer(many=True, required=False, default=list)
