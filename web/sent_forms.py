"""The filters of « Orientations envoyées », read from the query string (ids and choices only,
never personal data in a URL). A value the form does not offer is a French field error, never
a silent « no filter » nor a 500."""

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from parcours.models import Organisation, ReferralStatus
from parcours.selectors.sent_referrals import (
    SENT_BY_LABELS,
    SENT_SINCE_DAYS,
    SENT_STATUSES,
    SentBy,
    SentFilters,
)

# The query string's words for the API's `sent_by` values.
from .form_base import Form

BY_WORDS = {"moi": SentBy.ME, "organisation": SentBy.ORGANISATION}


class SentFilterForm(Form):
    par = forms.ChoiceField(
        label=_("Orientations envoyées"),
        choices=[(word, SENT_BY_LABELS[by]) for word, by in BY_WORDS.items()],
        required=False,
        widget=forms.RadioSelect,
    )
    statut = forms.ChoiceField(
        label=_("État"),
        choices=[("", _("Tous les états")), *((s, ReferralStatus(s).label) for s in SENT_STATUSES)],
        required=False,
    )
    # Plain choices (id, name), not a ModelChoiceField: a large organisation sent to ~2,000
    # others, and building a model instance per option cost more than the page's list (issue 17).
    destinataire = forms.TypedChoiceField(
        label=_("Organisme destinataire"),
        choices=[],
        coerce=int,
        empty_value=None,
        required=False,
    )
    depuis = forms.TypedChoiceField(
        label=_("Envoyées depuis"),
        choices=[("", _("Toujours")), *((str(d), f"{d} derniers jours") for d in SENT_SINCE_DAYS)],
        coerce=int,
        empty_value=None,
        required=False,
    )
    a_regarder = forms.BooleanField(
        label=_("À regarder seulement"),
        help_text=_(
            "Les orientations refusées, expirées, clôturées avec leur suite, ou dont la "
            "personne ne s'est pas présentée."
        ),
        required=False,
    )

    def __init__(self, data, *, receivers: QuerySet[Organisation]):
        # « Par moi » unless the user chose: the counsellor follows the people they sent.
        data = data.copy()
        data.setdefault("par", "moi")
        super().__init__(data)
        self.fields["destinataire"].choices = [
            ("", _("Tous les destinataires")),
            *((str(pk), name) for pk, name in receivers.values_list("pk", "name")),
        ]

    def filters(self) -> SentFilters:
        data = self.cleaned_data
        return SentFilters(
            by=BY_WORDS.get(data["par"], SentBy.ME),
            status=data["statut"],
            receiver=data["destinataire"],
            since_days=data["depuis"],
            needs_attention=data["a_regarder"],
        )
