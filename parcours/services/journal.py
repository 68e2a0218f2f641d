"""The access journal: record (insert only), seal (hash chain), verify, purge, checkpoint.

Design (docs/journal.md):
- Rows are written by the gate only (`parcours/gate/journal.py`): a plain INSERT, no lock, no
  hash, so request paths never contend.
- `journal_seal`, run every few seconds by Celery beat, links new rows into one SHA-256 chain
  under a transaction-level advisory lock: `row_hash = sha256(prev_hash ‖ canonical_json(row))`.
  Chain order is `chain_seq`, not `id`: a row committed late is sealed by a later batch.
- `journal_verify` walks the chain in `chain_seq` order and names the first broken row, then
  compares the chain's head with the latest signed checkpoint: rows deleted from the end, or the
  whole journal truncated, are reported too.
- `journal_purge` is the one way to delete rows: it verifies them, then calls the database's
  purge function (`parcours/journal_trigger.py`), which the application's role may execute but
  whose rules it cannot change; the function leaves a `purge_marker` row carrying the hash the
  remaining chain starts from.
- `journal_checkpoint_create` signs the chain head with Ed25519, to be stored outside the system;
  the beat task `parcours.journal_checkpoint_scheduled` signs one every hour.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from ..actor import Actor

# SEAL_LOCK_KEY: the advisory lock key shared by the sealer and the purge.
from ..journal_trigger import PLAN_FUNCTION, PURGE_FUNCTION, SEAL_LOCK_KEY
from ..models import AccessEvent, AccessOperation, JournalCheckpoint

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

logger = logging.getLogger(__name__)

# Hash of the (virtual) row before the first one.
GENESIS_HASH = "0" * 64
# The fields covered by `row_hash`, version 1. Changing this list (even adding a field) changes
# every hash: add a new version instead (see docs/journal.md, "Changing the row format").
CANONICAL_FIELDS: tuple[str, ...] = (
    "id",
    "occurred_at",
    "user_id",
    "organisation_id",
    "operation",
    "object_type",
    "object_id",
    "object_ids",
    "person_id",
    "categories",
    "purpose",
    "basis",
    "request_id",
    "client_ip",
    "detail",
)
SEALING_FIELDS: tuple[str, ...] = ("chain_seq", "prev_hash", "row_hash")


class JournalBroken(Exception):
    """The chain does not verify: sealing on top of it, signing or purging it is refused."""


# --- Canonical form and hashes -----------------------------------------------------------------


def canonical_timestamp(value: dt.datetime) -> str:
    """ISO-8601 in UTC, always with microseconds: 2026-01-31T08:05:00.000000Z."""
    if timezone.is_naive(value):
        raise ValueError("Horodatage sans fuseau : le journal exige des dates UTC.")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return canonical_timestamp(value)
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    raise TypeError(f"Valeur non sérialisable dans le journal : {type(value).__name__}")


def canonical_json(data: Mapping[str, Any]) -> str:
    """Sorted keys, no whitespace, UTF-8 text, UTC timestamps with microseconds."""
    return json.dumps(
        data,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_canonical_default,
    )


def canonical_row(row: Mapping[str, Any]) -> str:
    """The canonical text of one journal row (as read from the database, `CANONICAL_FIELDS`)."""
    data = {name: row[name] for name in CANONICAL_FIELDS}
    data["occurred_at"] = canonical_timestamp(data["occurred_at"])
    if data["client_ip"] is not None:
        data["client_ip"] = str(data["client_ip"])
    return canonical_json(data)


def row_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    """SHA-256(prev_hash ‖ canonical row), hex."""
    return hashlib.sha256((prev_hash + canonical_row(row)).encode("utf-8")).hexdigest()


# --- Sealing -----------------------------------------------------------------------------------


def _try_seal_lock(cursor: Any, *, wait: bool) -> bool:
    if connection.vendor != "postgresql":
        return True
    if wait:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])
        return True
    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])
    return bool(cursor.fetchone()[0])


def journal_seal(*, batch_size: int = 5000) -> int:
    """Link up to `batch_size` unsealed rows into the chain; return how many were sealed.

    Returns 0 at once when another sealer holds the lock. Rows are taken in id order among
    those committed now; the chain continues from the sealed row with the highest `chain_seq`
    (never purged). Only the three sealing fields change (the trigger allows nothing else).
    """
    with transaction.atomic(), connection.cursor() as cursor:
        if not _try_seal_lock(cursor, wait=False):
            return 0
        rows = list(
            AccessEvent.objects.filter(chain_seq__isnull=True)
            .order_by("id")
            .select_for_update()
            .values(*CANONICAL_FIELDS)[:batch_size]
        )
        if not rows:
            return 0
        head = (
            AccessEvent.objects.filter(chain_seq__isnull=False)
            .order_by("-chain_seq")
            .values_list("chain_seq", "row_hash")
            .first()
        )
        seq: int = (head[0] or 0) if head else 0
        prev: str = head[1] if head else GENESIS_HASH
        ids, seqs, prevs, hashes = [], [], [], []
        for row in rows:
            seq += 1
            digest = row_hash(prev, row)
            ids.append(row["id"])
            seqs.append(seq)
            prevs.append(prev)
            hashes.append(digest)
            prev = digest
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {AccessEvent._meta.db_table} AS e "  # noqa: S608 (table name, not input)
                "SET chain_seq = v.seq, prev_hash = v.prev, row_hash = v.hash "
                "FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) "
                "AS v(id, seq, prev, hash) WHERE e.id = v.id",
                [ids, seqs, prevs, hashes],
            )
        else:  # pragma: no cover (the project runs on PostgreSQL; kept for `manage.py check`)
            for values in zip(ids, seqs, prevs, hashes, strict=True):
                AccessEvent.objects.filter(pk=values[0]).update(
                    chain_seq=values[1], prev_hash=values[2], row_hash=values[3]
                )
        return len(rows)


def journal_seal_all(*, batch_size: int = 5000, max_batches: int | None = None) -> int:
    """Seal batch after batch until nothing is pending (or another sealer holds the lock)."""
    total = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        sealed = journal_seal(batch_size=batch_size)
        total += sealed
        batches += 1
        if sealed < batch_size:
            break
    return total


def journal_unsealed_count() -> int:
    return AccessEvent.objects.filter(chain_seq__isnull=True).count()


# --- Verification ------------------------------------------------------------------------------


@dataclass
class ChainReport:
    ok: bool
    checked: int = 0
    last_id: int | None = None
    last_seq: int | None = None
    last_hash: str = ""
    unsealed: int = 0
    # The first broken row; no id when rows are missing at the end (deleted, truncated).
    broken_id: int | None = None
    broken_seq: int | None = None
    reason: str = ""
    # The latest signed checkpoint the chain was compared with (whole walks only).
    checkpoint_seq: int | None = None

    def break_text(self) -> str:
        """Where and why the chain is broken, in French (empty when it is intact)."""
        if self.ok:
            return ""
        if self.broken_id is None:
            return self.reason
        return (
            f"rupture de la chaîne à la ligne n°{self.broken_id} (séquence {self.broken_seq}) : "
            f"{self.reason}"
        )


def _purge_marker_hash(last_purged_seq: int) -> str | None:
    """The hash recorded by the most recent purge that ended at `last_purged_seq`, if any."""
    detail = (
        AccessEvent.objects.filter(
            operation=AccessOperation.PURGE_MARKER,
            detail__last_purged_chain_seq=last_purged_seq,
        )
        .order_by("-id")
        .values_list("detail", flat=True)
        .first()
    )
    if not isinstance(detail, dict):
        return None
    value = detail.get("last_purged_row_hash")
    return str(value) if value else None


def journal_verify(
    *, from_seq: int | None = None, to_seq: int | None = None, chunk_size: int = 2000
) -> ChainReport:
    """Walk the sealed rows in `chain_seq` order, recompute every hash, stop at the first break;
    then, unless the walk stops at `to_seq`, compare the chain with the latest signed checkpoint.

    The walk starts at the first remaining row (after a purge: from the hash recorded in the
    purge marker) or at `from_seq`, whose predecessor must then still exist. The chain alone
    cannot show rows deleted from its end, nor a journal truncated (and sealed again from the
    genesis hash): the checkpoint can — its row must still exist with the hash it signed.
    """
    report = _walk(from_seq=from_seq, to_seq=to_seq, chunk_size=chunk_size)
    if to_seq is None and report.ok:
        checkpoint = latest_checkpoint()
        if checkpoint is not None:
            report.checkpoint_seq = checkpoint.chain_seq
            problem = checkpoint_problem(checkpoint)
            if problem is not None:
                report.ok = False
                report.broken_id, report.broken_seq, report.reason = problem
    return report


def latest_checkpoint() -> JournalCheckpoint | None:
    return JournalCheckpoint.objects.order_by("-chain_seq", "-id").first()


def _signed_position(checkpoint: JournalCheckpoint) -> tuple[int, str] | None:
    """The (chain_seq, row_hash) the checkpoint's signature covers, or None when the signature
    does not verify with the checkpoint's public key."""
    from cryptography.exceptions import InvalidSignature

    try:
        key = load_public_key_pem(checkpoint.public_key.encode("ascii"))
        key.verify(
            base64.b64decode(checkpoint.signature, validate=True),
            checkpoint.signed_payload.encode("utf-8"),
        )
        payload = json.loads(checkpoint.signed_payload)
        return int(payload["chain_seq"]), str(payload["row_hash"])
    except (InvalidSignature, KeyError, TypeError, ValueError, UnicodeError):
        return None


def checkpoint_problem(checkpoint: JournalCheckpoint) -> tuple[int | None, int | None, str] | None:
    """Does the journal still hold what `checkpoint` signed? None if so; otherwise the broken
    row's id (None when it is gone), its sequence and the reason, in French.

    The signature is checked with the checkpoint's own public key (what is stored with it); the
    copy kept outside the system is checked against the trusted key with `manage.py
    journal_checkpoint --verify FILE --public-key KEY`.
    """
    when = f"{timezone.localtime(checkpoint.created_at):%d/%m/%Y à %H:%M}"
    label = f"le point de contrôle signé du {when}"
    signed = _signed_position(checkpoint)
    if signed is None:
        return (
            None,
            checkpoint.chain_seq,
            f"la signature du dernier point de contrôle (séquence {checkpoint.chain_seq}, du "
            f"{when}) n'est pas valide : il a été altéré ou fabriqué",
        )
    seq, signed_hash = signed
    if (seq, signed_hash) != (checkpoint.chain_seq, checkpoint.row_hash):
        return (
            None,
            checkpoint.chain_seq,
            f"le dernier point de contrôle (du {when}) a été modifié après sa signature",
        )
    head = AccessEvent.objects.aggregate(head=Max("chain_seq"))["head"]
    if head is None:
        return (
            None,
            None,
            f"le journal ne contient plus aucune ligne scellée alors que {label} couvre la "
            f"chaîne jusqu'à la séquence {seq} : le journal a été vidé (TRUNCATE) ou toutes ses "
            "lignes ont été supprimées",
        )
    if head < seq:
        return (
            None,
            head + 1,
            f"la chaîne s'arrête à la séquence {head} alors que {label} la couvre jusqu'à la "
            f"séquence {seq} : les lignes les plus récentes (séquences {head + 1} à {seq}) ont "
            "été supprimées",
        )
    row = AccessEvent.objects.filter(chain_seq=seq).values_list("id", "row_hash").first()
    if row is None:
        if _purge_marker_hash(seq) == signed_hash:  # a purge ended exactly at the checkpoint
            return None
        return None, seq, f"la ligne de séquence {seq}, couverte par {label}, a disparu"
    if row[1] != signed_hash:
        return (
            row[0],
            seq,
            f"la ligne de séquence {seq} ne correspond plus à {label} : la chaîne a été "
            "réécrite (ou le journal vidé puis scellé à nouveau)",
        )
    return None


def _walk(*, from_seq: int | None, to_seq: int | None, chunk_size: int) -> ChainReport:
    sealed = AccessEvent.objects.filter(chain_seq__isnull=False)
    report = ChainReport(ok=True, unsealed=journal_unsealed_count())
    first = sealed.aggregate(first=Min("chain_seq"))["first"]
    if first is None:
        return report
    start = max(from_seq or first, first)
    expected_prev: str | None
    if start == first:
        expected_prev = GENESIS_HASH if first == 1 else _purge_marker_hash(first - 1)
        missing = f"les lignes de séquence 1 à {first - 1} ont disparu sans marqueur de purge"
    else:
        expected_prev = (
            sealed.filter(chain_seq=start - 1).values_list("row_hash", flat=True).first()
        )
        missing = f"la ligne de séquence {start - 1} a disparu"
    rows = sealed.filter(chain_seq__gte=start)
    if to_seq is not None:
        rows = rows.filter(chain_seq__lte=to_seq)
    expected_seq = start
    for row in (
        rows.order_by("chain_seq")
        .values(*CANONICAL_FIELDS, *SEALING_FIELDS)
        .iterator(chunk_size=chunk_size)
    ):
        reason = ""
        if expected_prev is None:
            reason = missing
        elif row["chain_seq"] != expected_seq:
            reason = (
                f"séquence {expected_seq} attendue, {row['chain_seq']} trouvée : "
                "des lignes ont été supprimées"
            )
        elif row["prev_hash"] != expected_prev:
            reason = "l'empreinte précédente ne correspond pas à la ligne qui la précède"
        elif row_hash(row["prev_hash"], row) != row["row_hash"]:
            reason = "le contenu ne correspond plus à son empreinte (ligne modifiée)"
        if reason:
            report.ok = False
            report.broken_id = row["id"]
            report.broken_seq = row["chain_seq"]
            report.reason = reason
            return report
        report.checked += 1
        report.last_id = row["id"]
        report.last_seq = row["chain_seq"]
        report.last_hash = row["row_hash"]
        expected_prev = row["row_hash"]
        expected_seq += 1
    return report


# --- Purge -------------------------------------------------------------------------------------


@transaction.atomic
def journal_purge(
    *,
    before: dt.datetime,
    actor: Actor | None,
    purpose: str = "Purge du journal (durée de conservation)",
) -> int:
    """Delete the sealed rows older than `before` through the database's purge function, the
    only deletion the journal's guard lets through.

    The rules are the database's (`parcours_journal_purge_plan`, docs/journal.md): a prefix of
    the chain only, never its head (the sealer continues from it), only rows older than `before`
    and than `JOURNAL_PURGE_MIN_AGE_DAYS`, never past the latest checkpoint, whose row must
    still match it (no checkpoint, no purge). Unsealed rows are never deleted. This service
    first verifies what SQL cannot: the hashes of the rows to be deleted and the checkpoint's
    signature (JournalBroken otherwise: tampering evidence is never destroyed by a purge).
    Side effect: the function writes a `purge_marker` row (by `actor`) recording the
    `chain_seq` and `row_hash` of the last purged row, from which `journal_verify` resumes.
    Returns the number of rows deleted. Outside PostgreSQL (the SQLite fallback of `make run`)
    nothing is purged.
    """
    if connection.vendor != "postgresql":
        logger.warning("journal_purge : la purge du journal exige PostgreSQL ; rien n'est purgé.")
        return 0
    with connection.cursor() as cursor:
        _try_seal_lock(cursor, wait=True)  # no sealer runs while the chain's start moves
        cursor.execute(
            f"SELECT first_seq, last_seq FROM {PLAN_FUNCTION}(%s)",  # noqa: S608 (a constant)
            [before],
        )
        first, boundary = cursor.fetchone()
    if first is None or boundary is None or boundary < first:
        return 0
    report = journal_verify(to_seq=boundary)
    if not report.ok or report.last_seq != boundary:
        raise JournalBroken(
            f"Purge refusée : le journal est rompu à la ligne n°{report.broken_id} "
            f"(séquence {report.broken_seq}) : {report.reason}"
        )
    checkpoint = latest_checkpoint()
    problem = checkpoint_problem(checkpoint) if checkpoint is not None else None
    if problem is not None:
        raise JournalBroken(f"Purge refusée : {problem[2]}.")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {PURGE_FUNCTION}(%s, %s, %s, %s, %s, %s)",
            [
                before,
                boundary,
                report.last_hash,
                actor.user_id if actor else None,
                actor.organisation.pk if actor else None,
                purpose,
            ],
        )
        return int(cursor.fetchone()[0])


# --- Checkpoints -------------------------------------------------------------------------------


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def public_key_fingerprint(public_key: Ed25519PublicKey) -> str:
    """SHA256:<base64> of the raw 32-byte key, as OpenSSH prints it."""
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")


def load_public_key_pem(data: bytes) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("La clé publique n'est pas une clé Ed25519.")
    return key


def checkpoint_document(checkpoint: JournalCheckpoint) -> dict[str, str]:
    """What to copy outside the system: the payload exactly as signed, signature, key."""
    key = load_public_key_pem(checkpoint.public_key.encode("ascii"))
    return {
        "payload": checkpoint.signed_payload,
        "signature": checkpoint.signature,
        "public_key": checkpoint.public_key,
        "fingerprint": public_key_fingerprint(key),
    }


def journal_signing_key_load(path: str) -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file `path` (PKCS#8, unencrypted); ValueError with a
    French message when it cannot be read or is not an Ed25519 key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(f"Clé de signature illisible ({path}) : {error}") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} n'est pas une clé privée Ed25519.")
    return key


def journal_checkpoint_create(*, private_key: Ed25519PrivateKey) -> JournalCheckpoint:
    """Seal what is pending, verify the chain since the last checkpoint and against it, sign
    the head.

    Raises JournalBroken when the chain (since the previous checkpoint) does not verify, no
    longer holds what the previous checkpoint signed (rows deleted from its end, truncated,
    rewritten), or the journal is empty.
    """
    journal_seal_all()
    previous = latest_checkpoint()
    report = journal_verify(from_seq=previous.chain_seq if previous else None)
    if not report.ok:
        raise JournalBroken(f"Point de contrôle refusé : {report.break_text()}")
    if report.last_seq is None:
        raise JournalBroken("Point de contrôle impossible : aucune ligne scellée.")
    payload = canonical_json(
        {
            "at": canonical_timestamp(timezone.now()),
            "chain_seq": report.last_seq,
            "row_hash": report.last_hash,
        }
    )
    signature = private_key.sign(payload.encode("utf-8"))
    return JournalCheckpoint.objects.create(
        chain_seq=report.last_seq,
        row_hash=report.last_hash,
        signed_payload=payload,
        signature=base64.b64encode(signature).decode("ascii"),
        public_key=public_key_pem(private_key.public_key()),
    )


def journal_checkpoint_if_moved(*, private_key: Ed25519PrivateKey) -> JournalCheckpoint | None:
    """The scheduled checkpoint: sign the head (`journal_checkpoint_create`) unless it is still
    the one the latest checkpoint signed, with the same hash (then None). Idempotent: running it
    twice in a row signs at most once. Nothing to sign in an empty journal with no checkpoint
    yet (a fresh installation): None too. Raises JournalBroken like `journal_checkpoint_create`
    (an empty journal after a checkpoint is a truncated one)."""
    journal_seal_all()
    previous = latest_checkpoint()
    head = (
        AccessEvent.objects.filter(chain_seq__isnull=False)
        .order_by("-chain_seq")
        .values_list("chain_seq", "row_hash")
        .first()
    )
    if previous is None and head is None:
        return None
    if (
        previous is not None
        and head == (previous.chain_seq, previous.row_hash)
        and checkpoint_problem(previous) is None
    ):
        return None
    return journal_checkpoint_create(private_key=private_key)


@dataclass
class CheckpointCheck:
    ok: bool
    message: str


def journal_checkpoint_verify(
    document: Mapping[str, str], *, trusted_public_key: Ed25519PublicKey | None = None
) -> CheckpointCheck:
    """Check a saved checkpoint: its signature, then that the current chain still leads to it.

    Without `trusted_public_key` the key embedded in the document is used: compare its
    fingerprint with the one recorded when the key was made, or the check proves nothing.
    """
    from cryptography.exceptions import InvalidSignature

    try:
        embedded = load_public_key_pem(str(document["public_key"]).encode("ascii"))
        key = trusted_public_key or embedded
        if public_key_fingerprint(key) != public_key_fingerprint(embedded):
            return CheckpointCheck(False, "Le point de contrôle a été signé par une autre clé.")
        key.verify(
            base64.b64decode(document["signature"], validate=True),
            str(document["payload"]).encode("utf-8"),
        )
        payload = json.loads(document["payload"])
        seq, expected = int(payload["chain_seq"]), str(payload["row_hash"])
    except InvalidSignature:
        return CheckpointCheck(False, "Signature invalide : le point de contrôle a été altéré.")
    except (KeyError, TypeError, ValueError) as error:
        return CheckpointCheck(False, f"Point de contrôle illisible : {error}")
    stored = AccessEvent.objects.filter(chain_seq=seq).values_list("row_hash", flat=True).first()
    if stored is None:
        if _purge_marker_hash(seq) == expected:
            return CheckpointCheck(
                True, f"Point de contrôle n°{seq} conforme (ligne purgée, marqueur de purge)."
            )
        return CheckpointCheck(
            False, f"La ligne de séquence {seq} n'existe plus : comparaison impossible."
        )
    report = journal_verify(to_seq=seq)
    if not report.ok:
        return CheckpointCheck(
            False,
            f"Rupture de la chaîne à la ligne n°{report.broken_id} "
            f"(séquence {report.broken_seq}) : {report.reason}",
        )
    if stored != expected:
        return CheckpointCheck(
            False,
            f"La ligne de séquence {seq} ne correspond plus au point de contrôle signé "
            "(chaîne réécrite).",
        )
    return CheckpointCheck(
        True, f"Point de contrôle conforme : séquence {seq}, empreinte {expected[:16]}…"
    )
