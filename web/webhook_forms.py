"""The administrators' form for a webhook subscription (page « Webhooks des systèmes »)."""

from django import forms

from parcours.services.webhooks import (
    DESCRIPTION_MAX,
    EVENTS,
    PATHWAY_EVENTS,
    REFERRAL_EVENTS,
    URL_MAX,
    event_label,
)

from .form_base import Form

# How the page groups the events' boxes: what happens to a referral, then to a pathway.
EVENT_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "Orientations",
        "Ce qui arrive aux orientations que votre organisation a envoyées ou reçues.",
        REFERRAL_EVENTS,
    ),
    (
        "Parcours",
        "Ce qui change dans les parcours que votre organisation peut voir : référent, modalité "
        "d'accompagnement, clôture.",
        PATHWAY_EVENTS,
    ),
)


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
        help_text="Ce qui arrive aux orientations dont votre organisation est partie et aux "
        "parcours qu'elle peut voir.",
    )

    def event_groups(self) -> list[tuple[str, str, list]]:
        """The events' boxes by group (title, hint, boxes), for web/webhooks/_events.html: the
        field's own boxes (their ids and checked state), shown under two headings."""
        boxes = {box.data["value"]: box for box in self["events"]}
        return [(title, hint, [boxes[e] for e in events]) for title, hint, events in EVENT_GROUPS]
