"""The password rule, after the CNIL's recommendation on passwords (délibération n° 2022-100 du
21 juillet 2022): a password that is the only secret must carry about 80 bits of entropy —
for instance 12 characters mixing upper case, lower case, digits and special characters, or 14
characters of three of those kinds (a passphrase such as « cheval bleu 2026 »). Django's
validators beside it refuse a password close to the account's name or e-mail, a common one and
an all-digit one (AUTH_PASSWORD_VALIDATORS, backend/settings/base.py)."""

from django.core.exceptions import ValidationError

SHORT_MIN = 12  # with the four kinds of characters
LONG_MIN = 14  # with three of the four

RULE = (
    "au moins 12 caractères mêlant majuscules, minuscules, chiffres et caractères spéciaux, "
    "ou au moins 14 caractères de trois de ces quatre sortes (par exemple une phrase de passe "
    "avec des espaces ou des tirets et un chiffre)"
)


def character_kinds(password: str) -> int:
    """How many of the four kinds (upper case, lower case, digit, other) the password uses."""
    return sum(
        (
            any(c.isupper() for c in password),
            any(c.islower() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )


class CnilPasswordValidator:
    def validate(self, password: str, user=None) -> None:
        kinds = character_kinds(password)
        if (len(password) >= SHORT_MIN and kinds == 4) or (
            len(password) >= LONG_MIN and kinds >= 3
        ):
            return
        raise ValidationError(
            f"Ce mot de passe est trop faible : il faut {RULE}.", code="password_too_weak"
        )

    def get_help_text(self) -> str:
        return f"Votre mot de passe doit comporter {RULE}."


class RevokeApiTokensOnPasswordChange:
    """Not a rule: the hook Django offers every validator when a password was set and saved
    (`password_validation.password_changed`). A changed password revokes the API tokens acting
    as that account (services/api_token.py): a token must not outlive the secret of the person
    whose account it speaks for. A rehash at sign-in (a stronger hasher) is no change."""

    def validate(self, password: str, user=None) -> None:
        return None

    def password_changed(self, password: str, user=None) -> None:
        if user is None or user.pk is None:
            return
        from .services.api_token import api_tokens_revoke_for_password_change

        api_tokens_revoke_for_password_change(account=user)

    def get_help_text(self) -> str:
        return "Changer de mot de passe révoque les jetons d'accès API qui agissent en votre nom."
