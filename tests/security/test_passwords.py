"""The password rule (issue 15), after the CNIL's recommendation (délibération n° 2022-100): 12
characters of the four kinds, or 14 of three; Django's similarity, common and numeric checks
beside it; French messages."""

import pytest
from django.contrib.auth.password_validation import (
    password_validators_help_texts,
    validate_password,
)
from django.core.exceptions import ValidationError
from django.test import Client

from parcours.management.commands.seed_demo import DEMO_PASSWORD
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

ACCEPTED = (
    "Un-nouveau-mot-de-passe-42",  # long, four kinds
    "Tr0mbone!Bleu",  # 13 characters, four kinds
    "cheval bleu mange 2026 pommes",  # a passphrase: lower case, spaces, digits
    DEMO_PASSWORD,  # `make run`'s demo accounts (README)
    "secret-pass-123",  # the tests' accounts (tests.factories.UserFactory)
)
REFUSED = {
    "Court-1!aB": "trop faible",  # 10 characters
    "Abcdefgh1234": "trop faible",  # 12 characters, three kinds only
    "toutenminusculesbienlong": "trop faible",  # long, one kind
    "MOTDEPASSEFORT2026": "trop faible",  # long, two kinds
    "12345678901234567890": "entièrement numérique",
}


@pytest.mark.parametrize("password", ACCEPTED)
def test_strong_passwords_pass(password):
    validate_password(password, UserFactory(username="camille.agent"))


@pytest.mark.parametrize(("password", "says"), REFUSED.items())
def test_weak_passwords_are_refused_in_french(password, says):
    with pytest.raises(ValidationError) as refused:
        validate_password(password, UserFactory(username="camille.agent"))
    assert any(says in message for message in refused.value.messages), refused.value.messages


def test_a_password_close_to_the_account_is_refused():
    user = UserFactory(username="camille.durand", first_name="Camille", last_name="Durand")
    with pytest.raises(ValidationError, match="trop semblable"):
        validate_password("Camille.Durand-2026", user)


def test_the_rule_is_told_in_french():
    texts = " ".join(password_validators_help_texts())
    assert "au moins 12 caractères mêlant majuscules, minuscules, chiffres" in texts


def test_the_password_change_page_refuses_a_weak_one():
    user = MembershipFactory().user
    client = Client()
    client.force_login(user)
    response = client.post(
        "/mot-de-passe/",
        {
            "old_password": "secret-pass-123",
            "new_password1": "toutenminusculesbienlong",
            "new_password2": "toutenminusculesbienlong",
        },
    )
    assert response.status_code == 200
    assert "Ce mot de passe est trop faible" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password("secret-pass-123")
