"""The sign-in forms beyond the password: a second-factor code, and the code that confirms a new
authenticator app. Shapes only; the services check the codes."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm

# The longest thing a person may type: a recovery code (8 characters) or six digits, with spaces.
from .form_base import Form

CODE_TYPED = 20


class LoginForm(AuthenticationForm):
    """Django's form, in French: the account is never said to exist or not."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "Saisissez un nom d'utilisateur et un mot de passe valides. Après "
            "%(failure_limit)s échecs, le compte est verrouillé pour %(cool_off)s minutes."
        ),
    }

    def clean_username(self):
        username = self.cleaned_data["username"]
        if len(username) > self.fields["username"].max_length:
            raise forms.ValidationError(
                "Un nom d'utilisateur compte au plus %(max)s caractères.",
                params={"max": self.fields["username"].max_length},
            )
        return username

    def get_invalid_login_error(self):
        from django.conf import settings

        return forms.ValidationError(
            self.error_messages["invalid_login"],
            code="invalid_login",
            params={
                "username": self.username_field.verbose_name,
                "failure_limit": settings.AXES_FAILURE_LIMIT,
                "cool_off": settings.PARCOURS_LOGIN_COOLOFF_MINUTES,
            },
        )


class SecondFactorForm(Form):
    code = forms.CharField(
        label="Code de vérification",
        max_length=CODE_TYPED,
        help_text=(
            "Les 6 chiffres affichés par votre application d'authentification, "
            "ou l'un de vos codes de secours."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )


class EnrolmentForm(Form):
    code = forms.CharField(
        label="Code affiché par l'application",
        max_length=CODE_TYPED,
        help_text="Les 6 chiffres que l'application affiche pour parcours. Exemple : 123456",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )
