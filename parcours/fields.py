"""Encrypted model fields and blind indexes (docs/security.md).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, authenticated) under a MultiFernet
built from settings.FIELD_ENCRYPTION_KEYS (newest first): the newest key encrypts, every listed
key decrypts, so keys rotate without downtime (`manage.py rotate_field_keys`). Every non-null
value is encrypted, the empty string included: the database shows neither content nor emptiness.
Tokens are random per encryption, so an encrypted column cannot be searched or compared in SQL:
lookups on these fields are refused (only `isnull`), exact search goes through the blind indexes
(HMAC-SHA256 under settings.SEARCH_INDEX_KEY, a separate key) computed by `blind_index`.

Never put a decrypted value in a log line or an exception message: `FieldIntegrityError` names
the model and the field, never the value.
"""

import base64
import functools
import hashlib
import hmac
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver

from .fernet_reader import FernetReader


class FieldIntegrityError(Exception):
    """A stored value does not decrypt: tampered, truncated, or encrypted under a removed key."""

    def __init__(self, label: str, field: str, pk: object = None) -> None:
        where = f"{label}.{field}" + (f" (n°{pk})" if pk is not None else "")
        super().__init__(
            f"Intégrité compromise : la valeur chiffrée de {where} ne peut pas être déchiffrée "
            "(donnée altérée en base, ou chiffrée avec une clé retirée de "
            "FIELD_ENCRYPTION_KEYS). Voir docs/security.md."
        )
        self.label, self.field, self.pk = label, field, pk


@functools.lru_cache(maxsize=8)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in keys])


@functools.lru_cache(maxsize=8)
def _newest(keys: tuple[str, ...]) -> Fernet:
    return Fernet(keys[0])


def multifernet() -> MultiFernet:
    return _multifernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def newest_fernet() -> Fernet:
    return _newest(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return multifernet().encrypt(value.encode()).decode()


@functools.lru_cache(maxsize=8)
def _reader(keys: tuple[str, ...]) -> FernetReader:
    return FernetReader(keys)


# The reader of the configured keys, kept between values (reading the setting and finding the
# reader cost ~0.5 µs a value: 450 values a persons page); forgotten when the keys change.
_current_reader: FernetReader | None = None


@receiver(setting_changed)
def _forget_reader(*, setting: str, **kwargs: Any) -> None:
    global _current_reader
    if setting == "FIELD_ENCRYPTION_KEYS":
        _current_reader = None


def decrypt(token: str) -> str:
    """Raises cryptography's InvalidToken; callers turn it into FieldIntegrityError. Read by
    `FernetReader` (MultiFernet's answers, 5× sooner: parcours/fernet_reader.py)."""
    global _current_reader
    reader = _current_reader
    if reader is None:
        reader = _current_reader = _reader(tuple(settings.FIELD_ENCRYPTION_KEYS))
    return reader.decrypt(token.encode()).decode()


def blind_index(kind: str, value: str) -> str:
    """HMAC-SHA256 hex of an already normalised value, "" for an empty one. `kind` separates
    the domains (a NIR and a France Travail id never share an index value)."""
    if not value:
        return ""
    key = base64.urlsafe_b64decode(settings.SEARCH_INDEX_KEY.encode())
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def normalise_identifier(value: str) -> str:
    """NIR and France Travail id as stored: no spaces, upper case."""
    return "".join(value.split()).upper()


class EncryptedMixin:
    """Stores the Fernet token of the field's string form in a `text` column."""

    encrypted = True

    def db_type(self, connection: Any) -> str:
        return connection.data_types["TextField"]

    def cast_db_type(self, connection: Any) -> str:
        return connection.data_types["TextField"]

    def rel_db_type(self, connection: Any) -> str:
        return connection.data_types["TextField"]

    def _to_text(self, value: Any) -> str:
        return str(value)

    def _from_text(self, text: str) -> Any:
        return text

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if not prepared:
            value = self.get_prep_value(value)  # type: ignore[attr-defined]
        if value is None:
            return None
        return encrypt(self._to_text(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        try:
            return self._from_text(decrypt(value))
        except (InvalidToken, UnicodeDecodeError, ValueError, TypeError):
            model = self.model  # type: ignore[attr-defined]
            raise FieldIntegrityError(model._meta.label, self.name) from None  # type: ignore[attr-defined]

    def get_lookup(self, lookup_name: str) -> Any:
        # Ciphertext is random per write: SQL comparisons would silently match nothing.
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)  # type: ignore[misc]


class EncryptedTextField(EncryptedMixin, models.TextField):
    pass


class EncryptedCharField(EncryptedMixin, models.CharField):
    """A CharField (max_length validated in Python) whose column holds a token (text)."""


class EncryptedEmailField(EncryptedMixin, models.EmailField):
    pass


class EncryptedBooleanField(EncryptedMixin, models.BooleanField):
    """Stores an encrypted "1" or "0"."""

    def _to_text(self, value: Any) -> str:
        return "1" if value else "0"

    def _from_text(self, text: str) -> Any:
        if text not in ("0", "1"):
            raise ValueError
        return text == "1"


def encrypted_fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if getattr(f, "encrypted", False)]


class EvidenceFileField(models.FileField):
    """A consent's evidence file: the name of a file `parcours.evidence` stored (encrypted, under
    a random name). A file assigned to the field directly would be written by the storage as
    it came, in clear and under its own name: saving one is refused."""

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        file = getattr(model_instance, self.attname)
        if file and not file._committed:
            raise ValueError(
                "Une pièce justificative s'enregistre par parcours.evidence.keep (chiffrée), "
                "jamais en l'affectant au champ."
            )
        return super().pre_save(model_instance, add)
