"""Page forms. They validate shapes and types; every business rule stays in the services, whose
French errors (InvalidInput.fields, DuplicatePerson…) are put back on the form."""

from django import forms
from django.utils.translation import gettext_lazy as _

from notifications.models import DeliveryMode
from parcours.categories import DataCategory
from parcours.models import (
    AppointmentChannel,
    BarrierKind,
    EmploymentArea,
    EvidenceKind,
    Organisation,
    OrganisationKind,
    ReferralKind,
    ReferralOutcome,
    RefusalReason,
    Service,
)


class PersonForm(forms.Form):
    first_name = forms.CharField(label=_("Prénom"), max_length=100)
    last_name = forms.CharField(label=_("Nom"), max_length=100)
    birth_date = forms.DateField(
        label=_("Date de naissance"), widget=forms.DateInput(attrs={"type": "date"})
    )
    nir = forms.CharField(label=_("NIR (numéro de sécurité sociale)"), required=False)
    france_travail_id = forms.CharField(label=_("Identifiant France Travail"), required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Téléphone"), required=False, max_length=20)
    city = forms.CharField(label=_("Commune"), required=False, max_length=100)


class PersonSearchForm(forms.Form):
    last_name = forms.CharField(label=_("Nom (début)"), required=False)
    birth_date = forms.DateField(
        label=_("Date de naissance"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    france_travail_id = forms.CharField(label=_("Identifiant France Travail"), required=False)
    nir = forms.CharField(label=_("NIR (recherche exacte)"), required=False)


class ConsentForm(forms.Form):
    # Validated against the whole directory; rendered by the organisation picker
    # (web/templates/web/directory/_picker.html: the organisations picked and a search), never
    # as one checkbox per organisation.
    organisations = forms.ModelMultipleChoiceField(
        label=_("Organisations destinataires"),
        queryset=Organisation.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
    )
    categories = forms.MultipleChoiceField(
        label=_("Catégories de données partagées"),
        choices=DataCategory.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    purpose = forms.CharField(
        label=_("Finalité"), max_length=300, initial=_("Coordination de l'accompagnement")
    )
    evidence_kind = forms.ChoiceField(label=_("Preuve du recueil"), choices=EvidenceKind.choices)
    evidence_file = forms.FileField(
        label=_("Pièce justificative (formulaire signé…)"),
        required=False,
        help_text=_("PDF ou image ; facultatif pour un accord recueilli oralement."),
    )


class ConsentNarrowForm(forms.Form):
    """Narrowing keeps fewer categories (a wider consent is a new one, with its evidence)."""

    categories = forms.MultipleChoiceField(
        label=_("Catégories à conserver"),
        choices=DataCategory.choices,
        widget=forms.CheckboxSelectMultiple,
    )


class BreakGlassForm(forms.Form):
    category = forms.ChoiceField(label=_("Catégorie"), choices=DataCategory.choices)
    reason = forms.CharField(label=_("Motif"), widget=forms.Textarea(attrs={"rows": 2}))


class SearchInput(forms.TextInput):
    input_type = "search"


class DirectoryFilterForm(forms.Form):
    """The pickers' search (prefix "annuaire": the referral form has a `kind` of its own)."""

    q = forms.CharField(
        label=_("Nom de l'organisme ou d'un de ses services"),
        required=False,
        max_length=100,
        widget=SearchInput,
    )
    area = forms.ModelChoiceField(
        label=_("Bassin d'emploi"),
        queryset=EmploymentArea.objects.order_by("name"),
        required=False,
        empty_label=_("Tous"),
    )
    kind = forms.ChoiceField(
        label=_("Type d'organisme"),
        choices=[("", _("Tous")), *OrganisationKind.choices],
        required=False,
    )
    barrier = forms.ChoiceField(
        label=_("Frein traité"),
        choices=[("", _("Tous")), *BarrierKind.choices],
        required=False,
    )


class ReferralForm(forms.Form):
    # Validated against the whole directory; rendered by the organisation picker, like
    # ConsentForm.organisations, and the chosen organisation's services by its sheet
    # (web/templates/web/directory/_sheet.html).
    receiver_organisation = forms.ModelChoiceField(
        label=_("Organisme destinataire"),
        queryset=Organisation.objects.order_by("name"),
        widget=forms.RadioSelect,
    )
    receiver_service = forms.ModelChoiceField(
        label=_("Service (facultatif)"), queryset=Service.objects.none(), required=False
    )
    kind = forms.ChoiceField(label=_("Type d'orientation"), choices=ReferralKind.choices)
    shared_categories = forms.MultipleChoiceField(
        label=_("Catégories partagées avec le destinataire"),
        choices=DataCategory.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("L'identité et le parcours sont toujours partagés."),
    )
    reason = forms.CharField(
        label=_("Motif de l'orientation"), widget=forms.Textarea(attrs={"rows": 3})
    )
    context_note = forms.CharField(
        label=_("Éléments de contexte"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        organisation_id = self.data.get("receiver_organisation") or self.initial.get(
            "receiver_organisation"
        )
        if str(organisation_id or "").isascii() and str(organisation_id or "").isdigit():
            # Only an id: a typed "abc" is the organisation field's error, not a query's crash.
            self.fields["receiver_service"].queryset = Service.objects.filter(
                organisation_id=organisation_id, is_active=True
            )


class RefuseForm(forms.Form):
    refusal_reason = forms.ChoiceField(label=_("Motif de refus"), choices=RefusalReason.choices)
    comment = forms.CharField(
        label=_("Commentaire"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class AppointmentForm(forms.Form):
    starts_at = forms.DateTimeField(
        label=_("Date et heure du rendez-vous"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M"],
    )
    channel = forms.ChoiceField(label=_("Modalité"), choices=AppointmentChannel.choices)
    place = forms.CharField(label=_("Lieu"), required=False, max_length=300)


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Suite donnée"), choices=ReferralOutcome.choices)
    comment = forms.CharField(
        label=_("Retour d'information"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class PreferenceForm(forms.Form):
    mode = forms.ChoiceField(
        label=_("Réception des alertes"), choices=DeliveryMode.choices, widget=forms.RadioSelect
    )


class ActingOrganisationForm(forms.Form):
    organisation = forms.ChoiceField(label=_("Organisation pour laquelle vous agissez"))

    def __init__(self, *args, memberships=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = [
            (m.organisation_id, f"{m.organisation.name} — {m.get_role_display()}")
            for m in memberships
        ]


def apply_domain_error(form: forms.Form, error) -> None:
    """Put a service's French error on the form: per field where it names fields."""
    placed = False
    for field, messages in getattr(error, "fields", {}).items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)
