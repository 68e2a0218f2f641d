"""Idempotency-Key for the API's writes (docs/guide-integration-partenaires.md,
« Idempotence »): a partner system that retries a write after a timeout must never apply it
twice.

The key is kept per caller (the acting organisation and account: a token acts as one account
of one organisation) with a fingerprint of the request (method, path, body) and, once the write
succeeded, its answer. The key's row is inserted at the start of the request's transaction and
the answer stored at its end, in that same transaction: two requests racing with one key are
serialised by the unique index (the second waits, then finds the first's answer), and a write
that failed (any answer but 2xx) leaves no key, so its retry runs again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models.webhook import IdempotencyKey

KEY_MAX = 255
_KEY_SHAPE = re.compile(r"^[\x21-\x7e]{1,255}$")


class IdempotencyConflict(Exception):
    """The key was used for another request: 422."""

    message = (
        "Cette clé d'idempotence a déjà servi pour une autre requête (méthode, adresse ou "
        "contenu différents) : utilisez une nouvelle clé pour une nouvelle requête."
    )


class IdempotencyInvalid(Exception):
    message = "En-tête Idempotency-Key invalide : de 1 à 255 caractères ASCII visibles."


def fingerprint_of(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def scope_of(*, organisation_id: int, user_id: int) -> str:
    return f"org:{organisation_id}:user:{user_id}"


def _expired_before(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(hours=settings.PARCOURS_IDEMPOTENCY_KEY_HOURS)


def idempotency_key_begin(*, scope: str, key: str, fingerprint: str) -> IdempotencyKey | None:
    """Inside the request's transaction. The row to complete (a first request), or None… never:
    a key already answered raises `IdempotentReplay` with its row; a key of another request
    raises IdempotencyConflict."""
    if not _KEY_SHAPE.match(key or ""):
        raise IdempotencyInvalid()
    now = timezone.now()
    # A key older than its keeping time is forgotten even before the purge ran.
    IdempotencyKey.objects.filter(
        scope=scope, key=key, created_at__lt=_expired_before(now)
    ).delete()
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                scope=scope,
                key=key,
                fingerprint=fingerprint,
                status_code=0,
                response="",
                created_at=now,
            )
    except IntegrityError:
        # Another request with this key committed first (the insert waited for it).
        pass
    existing = IdempotencyKey.objects.get(scope=scope, key=key)
    if existing.fingerprint != fingerprint:
        raise IdempotencyConflict()
    raise IdempotentReplay(existing)


class IdempotentReplay(Exception):
    def __init__(self, row: IdempotencyKey):
        super().__init__(row.key)
        self.row = row


def idempotency_key_complete(row: IdempotencyKey, *, status_code: int, response: str) -> None:
    row.status_code = status_code
    row.response = response
    row.save(update_fields=["status_code", "response"])


def idempotency_keys_purge(*, now: dt.datetime | None = None) -> int:
    deleted, _ = IdempotencyKey.objects.filter(
        created_at__lt=_expired_before(now or timezone.now())
    ).delete()
    return deleted
