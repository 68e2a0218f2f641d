"""Writes on Person. Creating a person opens their pathway in the actor's organisation."""

import datetime as dt
import hashlib
import re

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access, gate
from ..actor import Actor
from ..bases import condition_fields
from ..categories import PERSON_FIELDS
from ..errors import DuplicatePerson
from ..fields import normalise_identifier
from ..gate import Action, Subject
from ..gate.journal import record_refusal, record_write
from ..gate.relations import relations_to_person
from ..models import Pathway, Person
from ..models.person import EARLIEST_BIRTH_DATE, age_on
from .access_grants import access_recompute
from .archive import raise_if_person_archived
from .history import save_with_history
from .last_contact import last_contact_stamp_person
from .pathway import pathway_open

PERSON_EDITABLE_FIELDS = (
    "first_name",
    "last_name",
    "birth_date",
    "email",
    "phone",
    "address",
    "postal_code",
    "city",
    "france_travail_id",
    "nir",
    "receives_rsa",
    "receives_ass",
    "rights_ending",
    "rights_end_date",
    "rqth",
    "court_supervision",
    "lives_in_qpv",
)


# The youngest person a pathway is opened for: apprenticeship and the Missions locales start at
# 15-16 (docs/domain.md, "Birth date"); a younger birth date is a typing error (the year).
MINIMUM_AGE = 15


def _birth_date_errors(birth_date: object) -> list[str]:
    """What is implausible about a birth date, in French (the 1900 floor is the model's field
    validator and CHECK; the present moves, so the rest is checked here, for every door)."""
    if not isinstance(birth_date, dt.date) or birth_date < EARLIEST_BIRTH_DATE:
        return []  # the model's own validation says so
    today = timezone.localdate()
    if birth_date > today:
        return [_("La date de naissance ne peut pas être dans le futur.")]
    if age_on(birth_date, today) < MINIMUM_AGE:
        return [
            _("La personne doit avoir au moins %(age)s ans : vérifiez l'année de naissance.")
            % {"age": MINIMUM_AGE}
        ]
    return []


# A telephone number as people type it: a French one (10 digits, 01 to 09) or an international
# one (+ and 8 to 15 digits), with spaces, dots, dashes or brackets between the digits.
PHONE_CHARACTERS = re.compile(r"^\+?[0-9 .()-]+$")


def _phone_errors(phone: object) -> list[str]:
    if not isinstance(phone, str) or not phone.strip():
        return []
    digits = re.sub(r"\D", "", phone)
    international = phone.strip().startswith("+")
    if not PHONE_CHARACTERS.match(phone.strip()) or not (
        8 <= len(digits) <= 15 if international else len(digits) == 10 and digits[0] == "0"
    ):
        return [
            _(
                "Numéro de téléphone invalide : 10 chiffres (par exemple 06 12 34 56 78), ou "
                "un numéro international commençant par +."
            )
        ]
    return []


# A benefit's end a counsellor may record: one that ended up to a year ago (recorded late) or ends
# within three years (the longest unemployment entitlement); beyond, the year is a typing error.
RIGHTS_END_DAYS_BEFORE = 366
RIGHTS_END_DAYS_AHEAD = 3 * 366


def _rights_end_errors(person: Person) -> list[str]:
    end = person.rights_end_date
    if not isinstance(end, dt.date):
        return []
    if not person.rights_ending:
        return [
            _(
                "Une date de fin de droits va avec la case « En fin de droits » : cochez-la, "
                "ou effacez la date."
            )
        ]
    today = timezone.localdate()
    earliest = today - dt.timedelta(days=RIGHTS_END_DAYS_BEFORE)
    latest = today + dt.timedelta(days=RIGHTS_END_DAYS_AHEAD)
    if not earliest <= end <= latest:
        return [
            _("La date de fin de droits doit être comprise entre le %(from)s et le %(to)s.")
            % {"from": earliest.strftime("%d/%m/%Y"), "to": latest.strftime("%d/%m/%Y")}
        ]
    return []


def _validate(person: Person) -> None:
    """Every field's validation at once (model validators, then the birth date's plausibility):
    one ValidationError naming each field that is wrong, so a form shows them all together."""
    errors: dict[str, list[str]] = {}
    try:
        person.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        errors = error.message_dict
    if "birth_date" not in errors and (birth := _birth_date_errors(person.birth_date)):
        errors["birth_date"] = birth
    if "phone" not in errors and (phone := _phone_errors(person.phone)):
        errors["phone"] = phone
    if "rights_end_date" not in errors and (end := _rights_end_errors(person)):
        errors["rights_end_date"] = end
    if errors:
        raise ValidationError(errors)


def _stored_form(field: str, value: object) -> object:
    """Identifiers are stored exactly as their blind index sees them (one normalisation)."""
    if field in ("nir", "france_travail_id") and isinstance(value, str):
        return normalise_identifier(value)
    return value


def _lock_identity(key: str) -> None:
    """Serialise concurrent creations of the same identity (names + birth date) on PostgreSQL."""
    if connection.vendor != "postgresql":
        return  # SQLite (local fallback) serialises writers anyway
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [digest])


def _raise_if_duplicate(*, actor: Actor, person: Person, exclude_id: int | None = None) -> None:
    """Never create a second record for the same person: same NIR, same France Travail id,
    or same names and birth date. A match the actor may see is named; one they may not see is
    only announced (its content is not theirs to read).

    The comparisons use the blind indexes (the identifiers themselves are encrypted)."""
    person.refresh_search_keys()
    candidates = Person.objects.exclude(pk=exclude_id) if exclude_id else Person.objects.all()
    checks = [
        ("nir_index", person.nir_index, _("Une personne avec ce NIR existe déjà")),
        (
            "france_travail_id_index",
            person.france_travail_id_index,
            _("Une personne avec cet identifiant France Travail existe déjà"),
        ),
    ]
    for field, value, message in checks:
        if value:
            existing = candidates.filter(**{field: value}).first()
            if existing:
                _raise_duplicate(actor, existing, message)
    existing = candidates.filter(
        identity_index=person.identity_index, birth_date=person.birth_date
    ).first()
    if existing:
        _raise_duplicate(
            actor,
            existing,
            _("Une personne avec les mêmes nom, prénom et date de naissance existe déjà"),
        )


def _raise_duplicate(actor: Actor, existing: Person, message: str) -> None:
    if access.persons_visible_to(actor).filter(pk=existing.pk).exists():
        raise DuplicatePerson(
            _("%(message)s : %(name)s, née le %(birth)s (fiche n°%(id)s).")
            % {
                "message": message,
                "name": f"{existing.first_name} {existing.last_name}",
                "birth": existing.birth_date.strftime("%d/%m/%Y"),
                "id": existing.pk,
            },
            existing_person_id=existing.pk,
        )
    # A record outside the actor's scope was matched: journaled, so the DPO sees such probes.
    record_refusal(
        actor,
        Action.PERSON_CREATE,
        object_type="person",
        object_id=existing.pk,
        person_id=existing.pk,
        refusal="duplicate_outside_scope",
    )
    raise DuplicatePerson(
        _(
            "%(message)s, suivie par une autre organisation : demandez-lui l'accès à son "
            "dossier, en indiquant le motif de votre demande."
        )
        % {"message": message},
        existing_person_id=None,
        matched_person_id=existing.pk,
    )


@transaction.atomic
def person_create(
    *,
    actor: Actor,
    first_name: str,
    last_name: str,
    birth_date: dt.date,
    **details: object,
) -> Person:
    """Create a person and open their pathway, owned by the actor's organisation, with the
    actor as référent.

    Raises DuplicatePerson (409) when the person already exists; InvalidInput/ValidationError on
    bad values. Side effects: history rows, a "pathway opened" timeline event.
    """
    # Counsellors and social workers only (parcours/rules.py): a manager sees no person record and
    # cannot be the référent that opening the pathway makes of the creator.
    gate.require(actor, Action.PERSON_CREATE)
    unknown = set(details) - set(PERSON_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown person fields: {sorted(unknown)}")
    person = Person(
        first_name=first_name.strip(), last_name=last_name.strip(), birth_date=birth_date
    )
    for field, value in details.items():
        setattr(person, field, _stored_form(field, value))
    person.refresh_search_keys()
    person.created_by = actor.user  # type: ignore[assignment]
    _validate(person)
    _lock_identity(f"{person.name_key}|{person.birth_date.isoformat()}")
    _raise_if_duplicate(actor=actor, person=person)
    save_with_history(person, actor=actor, reason=_("Création de la personne"))
    pathway = pathway_open(actor=actor, person=person)
    record_write(
        actor,
        Action.PERSON_CREATE,
        object_type="person",
        object_id=person.pk,
        person_id=person.pk,
        pathway_ids=[pathway.pk],
        categories=_categories_of(["first_name", "last_name", "birth_date", *details]),
    )
    return person


def _categories_of(fields) -> set[str]:
    return {PERSON_FIELDS[field] for field in fields}


def person_fields_editable_by(actor: Actor, person_id: int) -> tuple[str, ...]:
    """The fields the actor may rectify: those of the categories it sees of the person, in
    PERSON_EDITABLE_FIELDS' order. `person_update` refuses any other; a page offers only these."""
    visible = access.categories_of_person(actor, person_id)
    return tuple(f for f in PERSON_EDITABLE_FIELDS if PERSON_FIELDS[f] in visible)


@transaction.atomic
def person_update(*, actor: Actor, person_id: int, changes: dict[str, object]) -> Person:
    """Rectify a person's data (history kept). Same duplicate rules as creation. The
    organisations that hold the person's pathway (owner, référent) rectify; partners who only
    receive a referral or follow the person tell them (parcours/rules.py)."""
    person = gate.locate(
        actor,
        access.persons_visible_to(actor).select_for_update(of=("self",)),
        person_id,
        action=Action.PERSON_RECTIFY,
    )
    gate.require(
        actor,
        Action.PERSON_RECTIFY,
        relations=relations_to_person(actor, person.pk),
        subject=Subject("person", person.pk, person.pk),
    )
    raise_if_person_archived(person)
    unknown = set(changes) - set(PERSON_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown person fields: {sorted(unknown)}")
    editable = person_fields_editable_by(actor, person.pk)
    hidden = sorted(f for f in changes if f not in editable)
    if hidden:
        gate.refuse(
            actor,
            Action.PERSON_RECTIFY,
            subject=Subject("person", person.pk, person.pk),
            message=_("Ces données ne sont pas partagées avec votre organisation : %s.")
            % ", ".join(hidden),
        )
    for field, value in changes.items():
        setattr(person, field, _stored_form(field, value))
    person.refresh_search_keys()
    _validate(person)
    _lock_identity(f"{person.name_key}|{person.birth_date.isoformat()}")
    _raise_if_duplicate(actor=actor, person=person, exclude_id=person.pk)
    save_with_history(person, actor=actor, reason=_("Rectification des données de la personne"))
    if set(changes) & condition_fields():  # rSa, RQTH, age: a legal basis may open or close
        for pathway_id in person.pathways.values_list("pk", flat=True):
            access_recompute(pathway_id=pathway_id)
    last_contact_stamp_person(person_id=person.pk, at=timezone.now())
    record_write(
        actor,
        Action.PERSON_RECTIFY,
        object_type="person",
        object_id=person.pk,
        person_id=person.pk,
        pathway_ids=person.pathways.values_list("pk", flat=True),
        categories=_categories_of(changes),
    )
    return person


def open_pathway_of(person: Person) -> Pathway | None:
    return person.pathways.filter(status="open").first()
