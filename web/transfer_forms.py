"""Forms of a referral's réorientation (transfer). Shapes only: who may propose, confirm or
decline, from which state, is the transitions table's and the gate's (services/referral.py)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from parcours.models import Organisation, Service
from parcours.services.referral import TRANSFER_REASON_MAX

from .form_base import Form


class TransferForm(Form):
    # Validated against the whole directory; rendered by the organisation picker (one to pick)
    # and the chosen organisation's sheet (its services), as on the referral form.
    receiver_organisation = forms.ModelChoiceField(
        label=_("Partenaire proposé"),
        queryset=Organisation.objects.order_by("name"),
        widget=forms.RadioSelect,
    )
    receiver_service = forms.ModelChoiceField(
        label=_("Service (facultatif)"), queryset=Service.objects.none(), required=False
    )
    reason = forms.CharField(
        label=_("Motif de la réorientation"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=TRANSFER_REASON_MAX,
        help_text=_("Pourquoi ce partenaire conviendrait mieux à la personne."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        organisation_id = str(
            self.data.get("receiver_organisation")
            or self.initial.get("receiver_organisation")
            or ""
        )
        if organisation_id.isascii() and organisation_id.isdigit() and len(organisation_id) < 10:
            # Only an id: a typed "abc" is the organisation field's error, not a query's crash.
            self.fields["receiver_service"].queryset = Service.objects.filter(
                organisation_id=organisation_id, is_active=True
            )


class DeclineTransferForm(Form):
    comment = forms.CharField(
        label=_("Commentaire (facultatif)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=TRANSFER_REASON_MAX,
        help_text=_("Dit à l'organisme destinataire pourquoi la personne reste orientée vers lui."),
    )
