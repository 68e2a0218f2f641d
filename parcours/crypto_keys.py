"""Validation of the field-encryption keys, read by the settings at start-up (docs/security.md).

Imported by backend/settings: depends on nothing but cryptography and Django's exceptions.
Messages name the faulty variable and position, never a key.
"""

import base64
import binascii

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured


def parse_encryption_keys(raw: str) -> list[str]:
    """FIELD_ENCRYPTION_KEYS: comma-separated Fernet keys, newest first. Raises
    ImproperlyConfigured with a message that names the faulty position, never the key."""
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if not keys:
        raise ImproperlyConfigured(
            "La variable d'environnement FIELD_ENCRYPTION_KEYS est obligatoire : une ou plusieurs "
            "clés Fernet séparées par des virgules, la plus récente en premier "
            "(générez-en une : python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'). Voir docs/security.md."
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, binascii.Error):
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS : la clé n°{position} est malformée (attendu : 32 octets "
                "encodés en base64 url-safe, comme Fernet.generate_key()). "
                "Voir docs/security.md."
            ) from None
    if len(set(keys)) != len(keys):
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS : une même clé est listée deux fois.")
    return keys


def parse_search_index_key(raw: str, *, encryption_keys: list[str], secret_key: str) -> str:
    """SEARCH_INDEX_KEY: at least 32 random bytes, base64url; distinct from every other key."""
    if not raw:
        raise ImproperlyConfigured(
            "La variable d'environnement SEARCH_INDEX_KEY est obligatoire : 32 octets aléatoires "
            "encodés en base64 url-safe, distincts des clés de chiffrement (générez-en une : "
            "python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'). Voir docs/security.md."
        )
    try:
        decoded = base64.urlsafe_b64decode(raw.encode())
    except (ValueError, binascii.Error):
        decoded = b""
    if len(decoded) < 32:
        raise ImproperlyConfigured(
            "SEARCH_INDEX_KEY est malformée : attendu au moins 32 octets encodés en base64 "
            "url-safe. Voir docs/security.md."
        )
    if raw in encryption_keys or raw == secret_key:
        raise ImproperlyConfigured(
            "SEARCH_INDEX_KEY doit être distincte de FIELD_ENCRYPTION_KEYS et de "
            "DJANGO_SECRET_KEY (séparation des clés). Voir docs/security.md."
        )
    return raw


# Django's own bar (`check --deploy`, security.W009) and a little more: production refuses to
# start below it rather than warn (issue 15).
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_DISTINCT_CHARACTERS = 10
SECRET_KEY_INSECURE_PREFIX = "django-insecure"  # noqa: S105 (a prefix, not a key)
# Placeholders seen in examples and documentation, whatever their length.
SECRET_KEY_PLACEHOLDERS = ("changeme", "change-me", "change_me", "secret", "example", "build-only")
SECRET_KEY_HINT = "générez-en une : python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"  # noqa: S105


def check_secret_key_strength(value: str) -> None:
    """DJANGO_SECRET_KEY in production: long, varied, not Django's generated development key nor
    a placeholder; else ImproperlyConfigured, in French, never quoting the key."""
    lowered = value.lower()
    if lowered.startswith(SECRET_KEY_INSECURE_PREFIX):
        reason = "c'est une clé de développement générée par Django (« django-insecure… »)"
    elif any(word in lowered for word in SECRET_KEY_PLACEHOLDERS):
        reason = "elle contient un mot d'exemple (« changeme », « secret »…)"
    elif len(value) < SECRET_KEY_MIN_LENGTH:
        reason = f"elle fait moins de {SECRET_KEY_MIN_LENGTH} caractères"
    elif len(set(value)) < SECRET_KEY_MIN_DISTINCT_CHARACTERS:
        reason = f"elle a moins de {SECRET_KEY_MIN_DISTINCT_CHARACTERS} caractères différents"
    else:
        return
    raise ImproperlyConfigured(
        f"DJANGO_SECRET_KEY est trop faible pour la production : {reason}. Refus de démarrer ; "
        f"{SECRET_KEY_HINT} (voir docs/operations.md)."
    )
