"""The administrators' form for a partner system's token (page « Accès API des systèmes »)."""

from django import forms
from django.conf import settings

from parcours import api_scopes
from parcours.services.api_token import MAX_RATE, SYSTEM_NAME_MAX, TECHNICAL_ROLES

from .form_base import Form

NEW_ACCOUNT = ""


class ApiTokenForm(Form):
    system_name = forms.CharField(
        label="Système",
        max_length=SYSTEM_NAME_MAX,
        help_text="Le logiciel qui utilisera ce jeton, par exemple « Logiciel rSa du "
        "département ».",
    )
    member = forms.ChoiceField(
        label="Agit en tant que",
        required=False,
        help_text="Un compte technique créé pour ce système, ou le compte d'un membre (ses "
        "jetons sont révoqués s'il change de mot de passe).",
    )
    role = forms.ChoiceField(
        label="Rôle du compte technique",
        required=False,
        choices=[(NEW_ACCOUNT, "—"), *((r.value, r.label) for r in TECHNICAL_ROLES)],
        help_text="Obligatoire pour un nouveau compte technique : ce qu'il peut faire, comme "
        "un membre de ce rôle.",
    )
    scopes = forms.MultipleChoiceField(
        label="Portée",
        choices=[(s, api_scopes.scope_label(s)) for s in api_scopes.SCOPES],
        widget=forms.CheckboxSelectMultiple,
        help_text="Les familles de données que le système lit ou écrit ; la portée ne donne "
        "jamais plus que ce que le rôle permet.",
    )
    valid_days = forms.IntegerField(
        label="Validité (jours)",
        min_value=1,
        max_value=settings.PARCOURS_API_TOKEN_MAX_DAYS,
        initial=settings.PARCOURS_API_TOKEN_DEFAULT_DAYS,
    )
    requests_per_minute = forms.IntegerField(
        label="Débit (requêtes par minute)",
        min_value=1,
        max_value=MAX_RATE,
        initial=settings.PARCOURS_API_TOKEN_REQUESTS_PER_MINUTE,
    )

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = [
            (NEW_ACCOUNT, "Un nouveau compte technique"),
            *(
                (
                    str(m.user_id),
                    f"{m.user.get_full_name() or m.user.get_username()} ({m.get_role_display()})",
                )
                for m in members
            ),
        ]
