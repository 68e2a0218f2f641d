"""The key canary (parcours/key_canary.py): wrong FIELD_ENCRYPTION_KEYS or SEARCH_INDEX_KEY
refuse start-up with a French message naming the variable; rotation keeps the canary readable."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.test import override_settings

from parcours import key_canary
from parcours.models import KeyCanary
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def check_database() -> str:
    out = io.StringIO()
    call_command("check", "--database", "default", stdout=out, stderr=out)
    return out.getvalue()


def test_the_right_keys_pass_and_the_canary_is_written():
    KeyCanary.objects.all().delete()
    assert "no issues" in check_database()
    canary = KeyCanary.objects.get()
    assert canary.sealed == key_canary.PLAINTEXT
    assert canary.search_digest == key_canary.search_digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT sealed FROM parcours_keycanary")
        assert key_canary.PLAINTEXT not in cursor.fetchone()[0]  # stored encrypted


def test_a_wrong_field_key_refuses_start_up_naming_it():
    key_canary.canary_problems()
    wrong = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[wrong]), pytest.raises(SystemCheckError) as error:
        check_database()
    message = str(error.value)
    assert "parcours.E104" in message
    assert "FIELD_ENCRYPTION_KEYS ne déchiffre pas" in message
    assert "SEARCH_INDEX_KEY" not in message.split("FIELD_ENCRYPTION_KEYS ne")[0]
    assert wrong not in message


def test_a_wrong_search_key_refuses_start_up_naming_it():
    key_canary.canary_problems()
    with (
        override_settings(SEARCH_INDEX_KEY=Fernet.generate_key().decode()),
        pytest.raises(SystemCheckError) as error,
    ):
        check_database()
    assert "parcours.E105" in str(error.value)
    assert "SEARCH_INDEX_KEY n'est pas la clé" in str(error.value)
    assert "E104" not in str(error.value)


def test_the_servers_start_refuses_wrong_keys():
    from django.core.exceptions import ImproperlyConfigured

    key_canary.canary_problems()
    with (
        override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]),
        pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS"),
    ):
        key_canary.refuse_wrong_keys()
    key_canary.refuse_wrong_keys()  # the right keys: nothing raised


def test_a_database_with_people_never_gets_a_canary_under_wrong_keys():
    """The first check after the upgrade (no canary yet) reads one person before writing the
    canary: wrong keys at that moment must not become the canary's keys."""
    PersonFactory(email="a@example.fr")
    KeyCanary.objects.all().delete()
    wrong = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[wrong]):
        assert key_canary.canary_problems() == [key_canary.FIELD_KEYS_PROBLEM]
    with override_settings(SEARCH_INDEX_KEY=Fernet.generate_key().decode()):
        assert key_canary.canary_problems() == [key_canary.SEARCH_KEY_PROBLEM]
    assert not KeyCanary.objects.exists()
    assert key_canary.canary_problems() == []
    assert KeyCanary.objects.exists()


def test_rotation_keeps_the_canary_readable(settings):
    key_canary.canary_problems()
    old = settings.FIELD_ENCRYPTION_KEYS
    new = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, *old]):
        call_command("rotate_field_keys", stdout=io.StringIO())
        assert key_canary.canary_problems() == []
    # The old key retired: the canary was re-encrypted under the new one with the other rows.
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
        assert key_canary.canary_problems() == []
        assert "no issues" in check_database()
    with override_settings(FIELD_ENCRYPTION_KEYS=old):
        assert key_canary.canary_problems() == [key_canary.FIELD_KEYS_PROBLEM]


def test_the_check_without_a_database_does_not_open_it(django_assert_num_queries):
    """A plain `check` (the image build, no database) skips the canary."""
    from parcours.checks import key_canary_check

    with django_assert_num_queries(0):
        assert key_canary_check(databases=None) == []
