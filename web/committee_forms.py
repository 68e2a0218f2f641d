"""Forms of the case committee (CLCVP). They check shapes; who may, on which pathway, with
which basis, holder or receiver is the services' (parcours/services/committee.py)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from parcours.models import DecisionOutcome, Organisation, ProposalBasis, ReferralKind
from parcours.models.action_plan import PLAN_ACTION_LABEL_MAX
from parcours.models.committee import PLACE_MAX, PROPOSAL_TEXT_MAX

from .form_base import Form

NECESSARY_ONLY = _(
    "Le comité lit ce texte : n'écrivez que ce qui est nécessaire à l'examen de la situation, "
    "sans donnée de santé ni de justice."
)


def _text(label, help_text="", required=True) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=PROPOSAL_TEXT_MAX,
        required=required,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class ProposalForm(Form):
    reason = _text(_("Motif"), _("Pourquoi le parcours est bloqué."))
    question = _text(_("Question posée au comité"), _("Ce que vous attendez des partenaires."))
    summary = _text(_("Situation, résumée pour le comité"), NECESSARY_ONLY)
    basis = forms.ChoiceField(
        label=_("Base du partage avec le comité"),
        widget=forms.RadioSelect,
        help_text=_(
            "L'accord de la personne en cours de validité, ou une base légale dont votre "
            "organisation dispose pour ce parcours."
        ),
        error_messages={"required": _("Indiquez la base du partage avec le comité.")},
    )

    def __init__(self, *args, bases=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = []
        if bases is not None:
            choices += [
                (
                    f"consent:{c.pk}",
                    _("Accord de la personne du %(day)s (%(purpose)s)")
                    % {"day": f"{c.starts_on:%d/%m/%Y}", "purpose": c.purpose},
                )
                for c in bases.consents
            ]
            choices += [(code, _("Base légale : %s") % label) for code, label in bases.legal]
        self.fields["basis"].choices = choices

    def basis_arguments(self) -> dict:
        """The service's arguments for the basis chosen."""
        value = self.cleaned_data["basis"]
        if value.startswith("consent:"):
            return {
                "basis_kind": ProposalBasis.CONSENT,
                "consent_id": int(value.removeprefix("consent:")),
            }
        return {"basis_kind": ProposalBasis.LEGAL, "legal_basis": value}


class CommitteeForm(Form):
    employment_area = forms.TypedChoiceField(label=_("Bassin d'emploi"), coerce=int)
    meets_at = forms.DateTimeField(
        label=_("Date et heure"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M"],
        help_text=_("Au format jj/mm/aaaa hh:mm ; dans l'année qui vient."),
    )
    place = forms.CharField(
        label=_("Lieu ou lien de visioconférence"),
        max_length=PLACE_MAX,
        help_text=_("Par exemple : Maison de l'emploi, salle 2 — ou le lien de la visio."),
    )
    attendees = forms.ModelMultipleChoiceField(
        label=_("Organisations invitées"),
        queryset=Organisation.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Les organisations dont un dossier est inscrit sont invitées d'office."),
    )

    def __init__(self, *args, areas=(), organisations=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["employment_area"].choices = [(a.pk, str(a)) for a in areas]
        if organisations is not None:
            self.fields["attendees"].queryset = organisations


class ScheduleForm(Form):
    proposal = forms.TypedChoiceField(label=_("Dossier à inscrire"), coerce=int)

    def __init__(self, *args, proposals=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["proposal"].choices = [
            (
                p.pk,
                _("%(ref)s — proposé par %(org)s le %(day)s")
                % {
                    "ref": p.reference,
                    "org": p.proposer_organisation.name,
                    "day": f"{p.created_at:%d/%m/%Y}",
                },
            )
            for p in proposals
        ]


class DeclineForm(Form):
    reason = _text(_("Motif"), _("L'organisation qui a proposé le dossier le lit."))


class DecisionForm(Form):
    decision = _text(_("Décision du comité"), NECESSARY_ONLY)
    outcome = forms.ChoiceField(
        label=_("Issue"),
        choices=DecisionOutcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choisissez l'issue de l'examen.")},
    )
    action_label = forms.CharField(
        label=_("Action du plan d'action (facultatif)"),
        max_length=PLAN_ACTION_LABEL_MAX,
        required=False,
        help_text=_("Ajoutée au plan de la personne au nom de l'organisation qui propose."),
    )
    action_owner = forms.TypedChoiceField(
        label=_("Organisation qui porte l'action"), coerce=int, required=False, empty_value=None
    )
    action_due_on = forms.DateField(
        label=_("Échéance de l'action"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Au format jj/mm/aaaa."),
    )
    referral_receiver = forms.TypedChoiceField(
        label=_("Orientation vers (facultatif)"), coerce=int, required=False, empty_value=None
    )
    referral_kind = forms.ChoiceField(
        label=_("Type d'orientation"),
        choices=ReferralKind.choices,
        initial=ReferralKind.SIMULTANEOUS,
        required=False,
    )
    referral_reason = forms.CharField(
        label=_("Motif de l'orientation"),
        max_length=PROPOSAL_TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    # The service's field names (`actions.0.label`) → this form's.
    SERVICE_FIELDS = {
        "actions.0.label": "action_label",
        "actions.0.owner_organisation": "action_owner",
        "actions.0.due_on": "action_due_on",
        "referrals.0.receiver_organisation": "referral_receiver",
        "referrals.0.shared_categories": "referral_receiver",
        "referrals.0.receiver_service": "referral_receiver",
        "referrals.0.kind": "referral_kind",
        "referrals.0.reason": "referral_reason",
    }

    def __init__(self, *args, holders=(), receivers=(), **kwargs):
        super().__init__(*args, **kwargs)
        empty = [("", _("Choisissez une organisation"))]
        self.fields["action_owner"].choices = empty + [(o.pk, o.name) for o in holders]
        self.fields["referral_receiver"].choices = empty + [(o.pk, o.name) for o in receivers]

    def clean(self):
        data = super().clean()
        action = [data.get("action_label"), data.get("action_owner"), data.get("action_due_on")]
        if any(action) and not all(action):
            for name, value in zip(
                ("action_label", "action_owner", "action_due_on"), action, strict=True
            ):
                if not value and name not in self.errors:
                    self.add_error(name, _("Complétez l'action, ou videz ses trois champs."))
        referral = [data.get("referral_receiver"), (data.get("referral_reason") or "").strip()]
        if any(referral) and not all(referral):
            for name, value in zip(("referral_receiver", "referral_reason"), referral, strict=True):
                if not value and name not in self.errors:
                    self.add_error(name, _("Complétez l'orientation, ou videz ses champs."))
        return data
