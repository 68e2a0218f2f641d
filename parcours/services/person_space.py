"""The person's own space (issue 19): signing in with a one-time code sent by e-mail, and
withdrawing a consent.

The person is not a staff `Actor`: they act as a `gate.person.PersonPrincipal`, on their own
records only (parcours/gate/person.py). A withdrawal is `consent_revoke`'s work — the consent
dated, the grants of every pathway of the person recomputed in the same transaction, so that the
partner's next page load reflects it — attributed to the person instead of a staff member.
"""

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from ..fields import blind_index
from ..gate import person as person_gate
from ..gate.journal import journal_record
from ..gate.person import PersonPrincipal
from ..models import AccessOperation, Consent, Person, PersonSignInCode
from ..models.person import identity_key
from ..models.person_space import (
    CODE_LENGTH,
    CODE_MAX_ATTEMPTS,
    CODE_VALID_MINUTES,
    CODE_WINDOW_MINUTES,
    CODES_PER_WINDOW,
)
from ..signals import person_code_issued
from .consent import consent_withdrawal_save

EMAIL_CODE = "email_code"
_KEY_SALT = "parcours.person_space.code"


def _hash(code: str, salt: str) -> str:
    return salted_hmac(_KEY_SALT, f"{salt}:{code}", algorithm="sha256").hexdigest()


def _folded(email: str) -> str:
    return email.strip().casefold()


def person_matching_email(*, email: str, birth_date: dt.date) -> Person | None:
    """The one person with this address and birth date, or None (none, or several). The
    address is encrypted: the persons born that day are few (a day's births of a
    département), their addresses are decrypted and compared here."""
    wanted = _folded(email)
    if not wanted:
        return None
    found = [
        person
        for person in Person.objects.filter(birth_date=birth_date).only("pk", "email")
        if person.email and _folded(person.email) == wanted
    ]
    return found[0] if len(found) == 1 else None


@transaction.atomic
def person_code_request(
    *, email: str, birth_date: dt.date, now: dt.datetime | None = None
) -> int | None:
    """Send a code to the person with this address and birth date: the code's id, or None when
    nobody (or several people) match — the caller answers the same either way (no one learns
    whether an address is known). A new code replaces the person's codes not used yet; past
    CODES_PER_WINDOW codes in CODE_WINDOW_MINUTES, none is sent (None, the same answer). The
    e-mail is an outbox row written in this transaction (`person_code_issued`), the relay woken
    once it commits."""
    now = now or timezone.now()
    person = person_matching_email(email=email, birth_date=birth_date)
    if person is None:
        return None
    # Locked: two requests at once count each other.
    Person.objects.select_for_update().filter(pk=person.pk).first()
    recent = PersonSignInCode.objects.filter(
        person=person, created_at__gt=now - dt.timedelta(minutes=CODE_WINDOW_MINUTES)
    ).count()
    if recent >= CODES_PER_WINDOW:
        return None
    for old in PersonSignInCode.objects.select_for_update().filter(
        person=person, used_at__isnull=True, locked_at__isnull=True
    ):
        old.locked_at = now
        old.mail_code = ""
        old.save(update_fields=["locked_at", "mail_code"])
    code = f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
    salt = secrets.token_hex(16)
    issued = PersonSignInCode.objects.create(
        person=person,
        code_hash=_hash(code, salt),
        salt=salt,
        mail_code=code,
        created_at=now,
        expires_at=now + dt.timedelta(minutes=CODE_VALID_MINUTES),
    )
    person_code_issued.send(sender=PersonSignInCode, code=issued)
    return issued.pk


def person_sign_in_codes_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the sign-in codes made more than PARCOURS_PERSON_CODE_KEEP_HOURS ago (hourly
    task): a code lives ten minutes, and the rate of three per quarter of an hour reads only the
    last quarter. The sign-in itself stays in the journal. How many were deleted."""
    cutoff = (now or timezone.now()) - dt.timedelta(hours=settings.PARCOURS_PERSON_CODE_KEEP_HOURS)
    deleted, _by_model = PersonSignInCode.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@dataclass(frozen=True)
class CodeCheck:
    """The answer to a code typed: the principal when it was right, otherwise a French
    message and how many tries are left (0: locked, ask for a new code)."""

    principal: PersonPrincipal | None
    message: str = ""
    tries_left: int = 0


def code_refusal(tries_left: int) -> CodeCheck:
    """The answer to a wrong code (the same whether or not a code was sent)."""
    if tries_left <= 0:
        return CodeCheck(
            None,
            _(
                "Ce code n'est plus valable : vous avez fait trop d'essais. "
                "Demandez un nouveau code."
            ),
        )
    return CodeCheck(
        None,
        _("Ce code n'est pas le bon. Il vous reste %(n)s essai(s).") % {"n": tries_left},
        tries_left,
    )


EXPIRED = "Ce code a expiré (il est valable %(minutes)s minutes). Demandez un nouveau code."


@transaction.atomic
def person_code_verify(
    *, code_id: int | None, code: str, now: dt.datetime | None = None
) -> CodeCheck:
    """Check a code typed by the person. Right: the code is spent and the person signed in
    (journaled). Wrong: one try less, locked after five. The wrong tries are committed (the
    answer is a value, not an exception that would roll them back)."""
    now = now or timezone.now()
    row = (
        PersonSignInCode.objects.select_for_update().filter(pk=code_id).first() if code_id else None
    )
    if row is None:
        return CodeCheck(None, _("Ce code n'est pas le bon."), CODE_MAX_ATTEMPTS)
    if row.used_at is not None or row.locked_at is not None:
        return code_refusal(0)
    if now >= row.expires_at:
        row.locked_at = now
        row.mail_code = ""
        row.save(update_fields=["locked_at", "mail_code"])
        return CodeCheck(None, _(EXPIRED) % {"minutes": CODE_VALID_MINUTES})
    typed = "".join(code.split())
    if hmac.compare_digest(_hash(typed, row.salt), row.code_hash):
        row.used_at = now
        row.mail_code = ""
        row.save(update_fields=["used_at", "mail_code"])
        principal = PersonPrincipal(person_id=row.person_id, method=EMAIL_CODE)
        person_gate.record_person_event(
            principal,
            AccessOperation.READ,
            action=person_gate.SIGN_IN,
            object_type="person",
            object_id=row.person_id,
            person_id=row.person_id,
        )
        return CodeCheck(principal)
    row.attempts += 1
    fields = ["attempts"]
    if row.attempts >= CODE_MAX_ATTEMPTS:
        row.locked_at = now
        row.mail_code = ""
        fields += ["locked_at", "mail_code"]
    row.save(update_fields=fields)
    return code_refusal(CODE_MAX_ATTEMPTS - row.attempts)


@transaction.atomic
def consent_withdraw_by_person(*, principal: PersonPrincipal, consent_id: object) -> Consent:
    """The person withdraws one of their consents in force, from their space: dated, attributed
    to the person (`revoked_by_person`), every grant it supported gone in this transaction —
    exactly as when a counsellor records the withdrawal (`consent_revoke`) — and journaled
    with the person as the actor. Another person's consent, or one already withdrawn: not
    found (404)."""
    consent = person_gate.locate_consent(principal, consent_id, lock=True)
    consent_withdrawal_save(consent, actor=None)
    person_gate.record_person_event(
        principal,
        AccessOperation.WRITE,
        action=person_gate.CONSENT_WITHDRAW,
        object_type="consent",
        object_id=consent.pk,
        person_id=consent.person_id,
    )
    return consent


# --- FranceConnect -----------------------------------------------------------------------------

FRANCECONNECT = "franceconnect"


@dataclass(frozen=True)
class PivotIdentity:
    """FranceConnect's pivot identity, as far as the record is matched on it: the first names
    (all of them, space-separated), the birth name, the usage name if any, the birth date."""

    given_name: str
    family_name: str
    birthdate: dt.date | None
    preferred_username: str = ""

    @classmethod
    def from_claims(cls, claims: dict) -> "PivotIdentity":
        try:
            birthdate = dt.date.fromisoformat(str(claims.get("birthdate") or ""))
        except ValueError:
            birthdate = None  # FranceConnect leaves unknown parts as 00: no exact date
        return cls(
            given_name=str(claims.get("given_name") or ""),
            family_name=str(claims.get("family_name") or ""),
            birthdate=birthdate,
            preferred_username=str(claims.get("preferred_username") or ""),
        )

    def identity_indexes(self) -> set[str]:
        """The record's duplicate keys this identity may have been typed under: all first names
        or the first one, the birth name or the usage name; names folded as the record folds
        them (accents, case, hyphens), the birth date exact."""
        if self.birthdate is None or not self.given_name.strip():
            return set()
        firsts = {self.given_name, self.given_name.split()[0]}
        lasts = {name for name in (self.family_name, self.preferred_username) if name.strip()}
        birth = self.birthdate.isoformat()
        return {
            blind_index("identity", f"{identity_key(first, last)}|{birth}")
            for first in firsts
            for last in lasts
        }


@dataclass(frozen=True)
class PivotMatch:
    principal: PersonPrincipal | None
    matches: int


@transaction.atomic
def person_franceconnect_sign_in(*, claims: dict) -> PivotMatch:
    """The person whose record matches FranceConnect's pivot identity: exactly one → signed in
    (journaled against the record); none or several → nobody, journaled without any name (the
    DPO sees that a FranceConnect sign-in found no record, or several)."""
    identity = PivotIdentity.from_claims(claims)
    keys = identity.identity_indexes()
    found = (
        sorted(set(Person.objects.filter(identity_index__in=keys).values_list("pk", flat=True)))
        if keys
        else []
    )
    if len(found) == 1:
        principal = PersonPrincipal(person_id=found[0], method=FRANCECONNECT)
        person_gate.record_person_event(
            principal,
            AccessOperation.READ,
            action=person_gate.SIGN_IN,
            object_type="person",
            object_id=found[0],
            person_id=found[0],
        )
        return PivotMatch(principal, 1)
    journal_record(
        actor=None,
        operation=AccessOperation.DENIED,
        object_type="person",
        purpose=person_gate.PURPOSE,
        detail={
            "action": person_gate.SIGN_IN_UNMATCHED,
            "principal": "person",
            "method": FRANCECONNECT,
            "matches": len(found),
        },
    )
    return PivotMatch(None, len(found))
