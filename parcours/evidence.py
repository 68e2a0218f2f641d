"""Consent evidence files (pièces justificatives): the one rule for what is accepted, how a file
is kept and how it is read back (docs/security.md, "Consent evidence files (uploads)").

- **Accepted**: PDF, JPEG and PNG, recognised by their first bytes — never by the file's name nor
  the content type the client announces —, named with an extension that agrees with the content,
  at most `settings.PARCOURS_EVIDENCE_MAX_BYTES`. Both doors (the page's `ConsentForm`, the API's
  `ConsentCreateSerializer`) and the consent services ask `errors`/`check`: a refusal is a French
  message on the `evidence_file` field, before anything is written.
- **Kept encrypted**: the whole file as one Fernet token under the field keys
  (`settings.FIELD_ENCRYPTION_KEYS`, `parcours.fields.multifernet`), in the default storage under
  a random name (`evidence/<2 hex>/<32 hex>`) that tells neither the person nor the name the file
  had. `manage.py rotate_field_keys` re-encrypts the files with the fields
  (`rotate`), `manage.py encrypt_evidence_files` encrypts and renames files kept before
  (`encrypt_legacy`).
- **Read back through the gate only**: `evidence_read` finds the consent in the actor's scope
  (`access.consents_visible_to`, 404 like a missing one), asks the gate's table, decrypts,
  journals the read; `http_response` sends it as an attachment with the sniffed type. Nothing
  serves the storage's directory (no URL maps MEDIA_ROOT).

Never log or put in an exception message a file's content or its original name.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpResponse
from django.utils.translation import gettext as _

from . import access, gate
from .actor import Actor
from .categories import DataCategory
from .errors import InvalidInput
from .fields import EvidenceFileField, FieldIntegrityError, multifernet, newest_fernet
from .gate import Action, Subject
from .gate.journal import record_read_of
from .models import Consent

FIELD = "evidence_file"  # the field both doors and the services name in their errors
FOLDER = "evidence"
# Every Fernet token starts with its version byte and a timestamp whose high bytes are zero
# until 2106: "gAAAAA" in base64url. No PDF, JPEG or PNG (nor text) starts like this.
TOKEN_PREFIX = b"gAAAAA"
_HEAD = 16  # bytes read to recognise a type


@dataclass(frozen=True)
class EvidenceType:
    code: str
    label: str  # French, as the messages name it
    content_type: str
    extension: str  # of the downloaded file
    extensions: frozenset[str]  # a name may end with
    magic: bytes  # the content starts with


PDF = EvidenceType("pdf", "un PDF", "application/pdf", ".pdf", frozenset({".pdf"}), b"%PDF-")
JPEG = EvidenceType(
    "jpeg", "une image JPEG", "image/jpeg", ".jpg", frozenset({".jpg", ".jpeg"}), b"\xff\xd8\xff"
)
PNG = EvidenceType(
    "png", "une image PNG", "image/png", ".png", frozenset({".png"}), b"\x89PNG\r\n\x1a\n"
)
ACCEPTED: tuple[EvidenceType, ...] = (PDF, JPEG, PNG)
# A file kept before the rule existed whose content is none of the above: served, if ever, as
# bytes to save (never to display).
UNKNOWN = EvidenceType("other", "", "application/octet-stream", ".bin", frozenset(), b"")


def sniff(head: bytes) -> EvidenceType | None:
    """The accepted type the content starts like, or None."""
    for kind in ACCEPTED:
        if head.startswith(kind.magic):
            return kind
    return None


def max_bytes() -> int:
    return int(settings.PARCOURS_EVIDENCE_MAX_BYTES)


def size_label(size: int) -> str:
    """A size as French users read it: « 10 Mo », « 1,5 Mo », « 500 Ko » (1 Mo = 1024 Ko)."""
    for unit, scale in (("Mo", 1024 * 1024), ("Ko", 1024)):
        if size >= scale:
            number = f"{size / scale:.1f}".removesuffix(".0").replace(".", ",")
            return f"{number}\xa0{unit}"
    return f"{size}\xa0octets"


def _head(upload) -> bytes:
    upload.seek(0)
    head = upload.read(_HEAD)
    upload.seek(0)
    return head or b""


def _extension(name: str) -> str:
    return PurePosixPath(name or "").suffix.lower()


def errors(upload) -> list[str]:
    """Why the uploaded file is refused (French, for the `evidence_file` field), or nothing.
    Reads its size (known without reading the file) and its first 16 bytes only."""
    limit = max_bytes()
    if upload.size is None or upload.size > limit:
        return [
            _("Ce fichier est trop volumineux : %(limit)s au plus.") % {"limit": size_label(limit)}
        ]
    kind = sniff(_head(upload))
    if kind is None:
        return [
            _(
                "Ce fichier n'est ni un PDF, ni une image JPEG ou PNG : seuls ces formats sont "
                "acceptés (le contenu du fichier est vérifié, pas seulement son nom)."
            )
        ]
    extension = _extension(upload.name)
    if extension not in kind.extensions:
        expected = " ou ".join(sorted(kind.extensions))
        if not extension:
            return [
                _("Le nom du fichier n'a pas d'extension : son contenu est %(kind)s (%(ext)s).")
                % {"kind": kind.label, "ext": expected}
            ]
        return [
            _(
                "Le nom du fichier se termine par « %(ext)s » mais son contenu est %(kind)s : "
                "renommez-le en %(expected)s, ou joignez le bon fichier."
            )
            % {"ext": extension[:12], "kind": kind.label, "expected": expected}
        ]
    return []


def check(upload) -> EvidenceType:
    """The file's type, or InvalidInput with the refusal on the `evidence_file` field."""
    if found := errors(upload):
        raise InvalidInput(_("La pièce justificative est refusée."), fields={FIELD: found})
    kind = sniff(_head(upload))
    assert kind is not None  # errors() said it is one
    return kind


# --- Keeping a file ------------------------------------------------------------------------------


def _storage() -> Storage:
    field = Consent._meta.get_field(FIELD)
    assert isinstance(field, EvidenceFileField)
    return field.storage


def _read(upload) -> bytes:
    upload.seek(0)
    return b"".join(upload.chunks())


def keep(upload) -> str:
    """Check, encrypt and store an uploaded file; its name in the storage (random). The caller
    names it on the consent(s) it records, and `discard`s it if their transaction fails."""
    check(upload)
    token = multifernet().encrypt(_read(upload))
    return _store(token)


def _store(token: bytes) -> str:
    random = secrets.token_hex(16)
    return _storage().save(f"{FOLDER}/{random[:2]}/{random}", ContentFile(token))


def discard(name: str) -> None:
    """Delete a stored file no consent names (its recording failed)."""
    if name:
        _storage().delete(name)


def plaintext(name: str, *, consent_id: int | None = None) -> bytes:
    """The decrypted content of a stored file. A file that does not decrypt (altered, or kept
    in clear before encryption: `encrypt_evidence_files`) raises FieldIntegrityError."""
    with _storage().open(name, "rb") as stored:
        token = stored.read()
    try:
        return multifernet().decrypt(token)
    except InvalidToken:
        raise FieldIntegrityError("parcours.Consent", FIELD, consent_id) from None


# --- Reading a file back through the gate --------------------------------------------------------


@dataclass(frozen=True)
class Download:
    content: bytes
    kind: EvidenceType
    filename: str  # names the consent, never the person nor the original file


def evidence_read(*, actor: Actor, consent_id: object, person_id: int | None = None) -> Download:
    """The evidence file of a consent the actor may read (the consent's read rule: a consent
    that concerns the actor's organisation, of a person whose identity it sees), decrypted, the
    read journaled (the identity shown, under its bases). Out of scope, of another person than
    `person_id`, or without a file: Consent.DoesNotExist, as a missing consent (404)."""
    scope = access.consents_visible_to(actor)
    if person_id is not None:
        scope = scope.filter(person_id=person_id)
    consent = gate.locate(actor, scope, consent_id, action=Action.CONSENT_EVIDENCE_READ)
    gate.require(
        actor,
        Action.CONSENT_EVIDENCE_READ,
        subject=Subject("consent", consent.pk, consent.person_id),
    )
    if not consent.evidence_file.name:
        raise Consent.DoesNotExist
    try:
        content = plaintext(consent.evidence_file.name, consent_id=consent.pk)
    except FileNotFoundError:
        raise Consent.DoesNotExist from None
    kind = sniff(content[:_HEAD]) or UNKNOWN
    record_read_of(
        actor,
        Action.CONSENT_EVIDENCE_READ,
        object_type="consent",
        object_id=consent.pk,
        person_id=consent.person_id,
        pathway_ids=list(consent.person.pathways.values_list("pk", flat=True)),
        shown={DataCategory.IDENTITY},  # a signed form names the person
    )
    return Download(content, kind, f"accord-{consent.pk}-piece-justificative{kind.extension}")


def http_response(download: Download) -> HttpResponse:
    """The file as both doors send it: an attachment (never displayed in the application's
    origin), its type as sniffed, no sniffing by the browser, no cache."""
    response = HttpResponse(download.content, content_type=download.kind.content_type)
    response["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    response["Content-Length"] = str(len(download.content))
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


# --- Uploads cut at the limit --------------------------------------------------------------------


class BoundedUploadHandler(FileUploadHandler):
    """First of settings.FILE_UPLOAD_HANDLERS: hands a file's bytes on to Django's handlers (in
    memory up to FILE_UPLOAD_MAX_MEMORY_SIZE, else a temporary file) until they exceed
    PARCOURS_EVIDENCE_MAX_BYTES, then drops the rest as it arrives. The file the form or the
    serializer then sees is over the limit — refused by `errors` — but whatever was sent, no
    more than the limit and one chunk (64 KiB) was ever held, in memory or on disk."""

    def __init__(self, request=None) -> None:
        super().__init__(request)
        self.limit = max_bytes()
        self.passed = 0

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.passed = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if self.passed > self.limit:
            return None  # over already: the next handlers never see the rest
        self.passed += len(raw_data)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler builds the file


# --- Operations: rotation, files kept before encryption ------------------------------------------


def is_token(data: bytes) -> bool:
    return data.startswith(TOKEN_PREFIX)


def rotate(name: str, *, consent_id: int | None = None) -> str:
    """Re-encrypt one stored file under the newest key, in place (the name does not change).
    Returns "current" (already under it), "rotated", "plaintext" (kept before encryption:
    `encrypt_evidence_files` first) or "missing"; FieldIntegrityError when no key decrypts it."""
    storage = _storage()
    try:
        with storage.open(name, "rb") as stored:
            token = stored.read()
    except FileNotFoundError:
        return "missing"
    if not is_token(token):
        return "plaintext"
    try:
        newest_fernet().decrypt(token)
        return "current"
    except InvalidToken:
        pass
    try:
        rotated = multifernet().rotate(token)
    except InvalidToken:
        raise FieldIntegrityError("parcours.Consent", FIELD, consent_id) from None
    _replace(storage, name, rotated)
    return "rotated"


def encrypt_legacy(name: str, *, consent_id: int | None = None) -> tuple[str, str | None]:
    """A file kept before encryption: encrypted under a new random name (the old name may tell
    the person or the original file). Returns ("encrypted", new name), ("encrypted-other", new
    name) for a content none of PDF, JPEG, PNG (kept, served as bytes to save), ("current",
    None) for a file already encrypted, ("missing", None); FieldIntegrityError for a token no
    key decrypts. The caller renames the rows, then deletes the old file."""
    storage = _storage()
    try:
        with storage.open(name, "rb") as stored:
            data = stored.read()
    except FileNotFoundError:
        return "missing", None
    if is_token(data):
        try:
            multifernet().decrypt(data)
        except InvalidToken:
            raise FieldIntegrityError("parcours.Consent", FIELD, consent_id) from None
        return "current", None
    outcome = "encrypted" if sniff(data[:_HEAD]) else "encrypted-other"
    return outcome, _store(multifernet().encrypt(data))


def _replace(storage: Storage, name: str, data: bytes) -> None:
    """Overwrite a stored file atomically: a crash leaves the old token or the new, never half
    of one (a temporary file in the same directory, then a rename)."""
    try:
        path = storage.path(name)
    except NotImplementedError:  # a storage without local paths: delete, then write again
        path = ""
    if not path:
        storage.delete(name)
        if storage.save(name, ContentFile(data)) != name:
            raise RuntimeError("Le stockage a renommé une pièce justificative ré-chiffrée.")
        return
    descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".rotation-")
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, settings.FILE_UPLOAD_PERMISSIONS or 0o600)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
