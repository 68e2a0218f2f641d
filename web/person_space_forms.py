"""The person's sign-in forms (issue 19): their address and birth date, then the code."""

from django import forms

from .form_base import Form


class CodeRequestForm(Form):
    email = forms.EmailField(
        label="Votre adresse e-mail",
        help_text="Celle que vous avez donnée à votre conseiller. Exemple : nom@exemple.fr",
        max_length=254,
        error_messages={
            "required": "Indiquez votre adresse e-mail.",
            "invalid": "Indiquez une adresse e-mail valide, par exemple nom@exemple.fr.",
        },
    )
    birth_date = forms.DateField(
        label="Votre date de naissance",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": "Indiquez votre date de naissance.",
            "invalid": "Indiquez une date valide, par exemple 02/04/1990.",
        },
    )


class CodeForm(Form):
    code = forms.RegexField(
        label="Le code reçu par e-mail",
        help_text="6 chiffres.",
        regex=r"^\s*([0-9]\s*){6}$",
        error_messages={
            "required": "Tapez le code reçu par e-mail.",
            "invalid": "Le code a 6 chiffres.",
        },
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
