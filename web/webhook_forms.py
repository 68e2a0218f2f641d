"""The administrators' form for a webhook subscription (page « Webhooks des systèmes »)."""

from django import forms

from parcours.services.webhooks import DESCRIPTION_MAX, EVENTS, URL_MAX, event_label

from .form_base import Form


class WebhookSubscriptionForm(Form):
    description = forms.CharField(
        label="Système",
        max_length=DESCRIPTION_MAX,
        help_text="Le logiciel qui recevra les messages, par exemple « Logiciel rSa du "
        "département ».",
    )
    # A CharField, not a URLField: the service says in French what is wrong with an address
    # (https only, no private network…), the same sentence as the API's.
    url = forms.CharField(
        label="Adresse de réception",
        max_length=URL_MAX,
        help_text="L'adresse https:// où votre système reçoit les messages (méthode POST).",
    )
    events = forms.MultipleChoiceField(
        label="Événements",
        choices=[(e, event_label(e)) for e in EVENTS],
        widget=forms.CheckboxSelectMultiple,
        help_text="Ce qui arrive aux orientations dont votre organisation est partie.",
    )
