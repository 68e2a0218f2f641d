"""The person's choices: consent (accord) given, narrowed, revoked; objection recorded.

Each change recomputes the access rights of the person's pathways in the same transaction, so
it is effective at the next request (docs/access-control.md).
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import access, evidence, gate
from ..actor import Actor
from ..categories import ALL_CATEGORIES, DataCategory
from ..errors import Conflict, InvalidInput
from ..gate import Action, Subject
from ..gate.journal import holding, record_write
from ..gate.relations import relations_to_consent, relations_to_person
from ..models import Consent, Objection, Organisation, OrganisationKind, Person
from .access_grants import access_recompute
from .archive import raise_if_person_archived
from .history import save_with_history
from .last_contact import last_contact_stamp_person


def consent_dates_errors(starts_on: dt.date | None, ends_on: dt.date | None) -> dict:
    """The one rule on a consent's dates (the database's constraint says it too, as an
    IntegrityError): an end before the start. Read by the services and the API's serializer,
    so that both doors answer the same field error."""
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        return {"ends_on": [_("La fin de l'accord ne peut précéder son début.")]}
    return {}


def _person_for(actor: Actor, person_id: int, action: Action) -> Person:
    # Scope first: a person the actor may not see is "not found" (404), whatever their role;
    # then the gate's table for the role and the organisation's relations to the person.
    person = gate.locate(actor, access.persons_visible_to(actor), person_id, action=action)
    gate.require(
        actor,
        action,
        relations=relations_to_person(actor, person.pk),
        subject=Subject("person", person.pk, person.pk),
    )
    return person


def _consent_for(actor: Actor, consent_id: int, action: Action) -> Consent:
    """A consent of a person the actor sees, locked, that the actor's organisation may change:
    the one that collected it, or the one that holds the person's pathway (parcours/rules.py)."""
    consent = gate.locate(
        actor,
        Consent.objects.select_for_update().filter(person__in=access.persons_visible_to(actor)),
        consent_id,
        action=action,
    )
    gate.require(
        actor,
        action,
        relations=relations_to_consent(actor, consent),
        subject=Subject("consent", consent.pk, consent.person_id),
    )
    return consent


def _held(actor: Actor, person: Person):
    """The actor's grants before the change (a consent or an objection may move them)."""
    return holding(actor, _pathway_ids(person))


def _pathway_ids(person: Person) -> list[int]:
    return list(person.pathways.values_list("pk", flat=True))


def _journal(actor: Actor, action: Action, object_type: str, record, person: Person, held) -> None:
    """A consent or an objection changes who sees the record, not the record: no category is
    written; the bases journaled are those the organisation saw the person's identity under
    when it acted."""
    record_write(
        actor,
        action,
        object_type=object_type,
        object_id=record.pk,
        person_id=person.pk,
        pathway_ids=_pathway_ids(person),
        categories=(),
        because={DataCategory.IDENTITY},
        held=held,
    )


def _recompute_person(person: Person) -> None:
    for pathway_id in person.pathways.values_list("pk", flat=True):
        access_recompute(pathway_id=pathway_id)


# A consent names who receives the data: the form says it before posting, the service for
# every door; one message for both.
RECIPIENT_REQUIRED = gettext_lazy("Choisissez au moins une organisation ou un type d'organisation.")


def _validated_scope(
    organisation_ids: list[int], organisation_kinds: list[str], categories: list[str]
) -> tuple[list[Organisation], list[str], list[str]]:
    errors: dict[str, list[str]] = {}
    organisations = list(Organisation.objects.filter(pk__in=set(organisation_ids)))
    if len(organisations) != len(set(organisation_ids)):
        errors["organisations"] = [_("Organisation inconnue.")]
    if set(organisation_kinds) - set(OrganisationKind.values):
        errors["organisation_kinds"] = [_("Type d'organisation inconnu.")]
    if not organisations and not organisation_kinds and "organisations" not in errors:
        errors["organisations"] = [str(RECIPIENT_REQUIRED)]
    if not categories or set(categories) - ALL_CATEGORIES:
        errors["categories"] = [_("Choisissez des catégories de données parmi la liste.")]
    if errors:
        raise InvalidInput(_("L'accord est incomplet."), fields=errors)
    return organisations, sorted(set(organisation_kinds)), sorted(set(categories))


@transaction.atomic
def consent_record(
    *,
    actor: Actor,
    person_id: int,
    categories: list[str],
    purpose: str,
    evidence_kind: str,
    organisation_ids: list[int] | None = None,
    organisation_kinds: list[str] | None = None,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    evidence_file=None,
) -> Consent:
    """Record the person's consent, collected by the actor, for named organisations or kinds.
    `evidence_file`: an uploaded file, checked and kept encrypted (parcours/evidence.py)."""
    person = _person_for(actor, person_id, Action.CONSENT_RECORD)
    held = _held(actor, person)
    raise_if_person_archived(person)
    with _kept(evidence_file) as evidence_name:
        return _consent_save(
            actor,
            person,
            held,
            ConsentChoice(categories, organisation_ids or [], organisation_kinds or []),
            purpose=purpose,
            starts_on=starts_on,
            ends_on=ends_on,
            evidence_kind=evidence_kind,
            evidence_name=evidence_name,
        )


@contextmanager
def _kept(evidence_file) -> Iterator[str]:
    """The uploaded evidence file checked (InvalidInput on `evidence_file` before anything is
    written), encrypted and stored under a random name, "" without one; the file is deleted
    again if the consents naming it are not recorded (the storage is not transactional)."""
    name = evidence.keep(evidence_file) if evidence_file is not None else ""
    try:
        yield name
    except BaseException:
        evidence.discard(name)
        raise


@dataclass(frozen=True)
class ConsentChoice:
    """What the person agrees to share of some categories, and with whom: organisations named,
    and/or every organisation of some kinds. No recipient: the person does not agree."""

    categories: list[str]
    organisation_ids: list[int] = field(default_factory=list)
    organisation_kinds: list[str] = field(default_factory=list)


def consent_groups(choices: list[ConsentChoice]) -> list[ConsentChoice]:
    """The choices as consents to record: the categories that go to the same recipients
    together, one consent each (in the categories' order); a category without recipient is
    left out. Raises InvalidInput when a category is chosen twice or nothing is shared."""
    recipients: dict[str, tuple[frozenset[int], frozenset[str]]] = {}
    for choice in choices:
        for category in choice.categories:
            if category in recipients:
                raise InvalidInput(
                    _("Une catégorie ne peut être choisie qu'une fois."),
                    fields={"choices": [_("Une catégorie ne peut être choisie qu'une fois.")]},
                )
            recipients[category] = (
                frozenset(choice.organisation_ids),
                frozenset(choice.organisation_kinds),
            )
    groups: dict[tuple[frozenset[int], frozenset[str]], list[str]] = {}
    order = {c: i for i, c in enumerate(DataCategory.values)}
    for category in sorted(recipients, key=lambda c: order.get(c, len(order))):
        orgs, kinds = recipients[category]
        if orgs or kinds:
            groups.setdefault((orgs, kinds), []).append(category)
    if not groups:
        message = _("Choisissez au moins une catégorie et un destinataire.")
        raise InvalidInput(message, fields={"choices": [message]})
    return [
        ConsentChoice(cats, sorted(orgs), sorted(kinds)) for (orgs, kinds), cats in groups.items()
    ]


@transaction.atomic
def consent_record_choices(
    *,
    actor: Actor,
    person_id: int,
    choices: list[ConsentChoice],
    purpose: str,
    evidence_kind: str,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    evidence_file=None,
) -> list[Consent]:
    """Record, in one go, what the person agrees to share per category and with whom: one
    consent per group of categories going to the same recipients (`consent_groups`), each as
    `consent_record` records it, with the same purpose, dates and evidence. All or nothing: a
    group refused (an unknown organisation…) leaves no consent of the others."""
    person = _person_for(actor, person_id, Action.CONSENT_RECORD)
    held = _held(actor, person)  # the journal says what the organisation held before them all
    raise_if_person_archived(person)
    groups = consent_groups(choices)
    # One encrypted file for the signed form, named by every consent it records.
    with _kept(evidence_file) as evidence_name:
        return [
            _consent_save(
                actor,
                person,
                held,
                group,
                purpose=purpose,
                starts_on=starts_on,
                ends_on=ends_on,
                evidence_kind=evidence_kind,
                evidence_name=evidence_name,
            )
            for group in groups
        ]


def _consent_save(
    actor: Actor,
    person: Person,
    held,
    choice: ConsentChoice,
    *,
    purpose: str,
    starts_on: dt.date | None,
    ends_on: dt.date | None,
    evidence_kind: str,
    evidence_name: str,
) -> Consent:
    """Validate and save one consent (the caller found the person and checked the rules, and
    kept the evidence file: `evidence_name`, "" without one)."""
    organisations, kinds, categories = _validated_scope(
        choice.organisation_ids, choice.organisation_kinds, choice.categories
    )
    if not purpose.strip():
        raise InvalidInput(
            _("La finalité est obligatoire."), fields={"purpose": [_("Précisez la finalité.")]}
        )
    starts_on = starts_on or timezone.localdate()
    if errors := consent_dates_errors(starts_on, ends_on):
        raise InvalidInput(_("Date de fin invalide."), fields=errors)
    consent = Consent(
        person=person,
        organisation_kinds=kinds,
        categories=categories,
        purpose=purpose.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        collected_by=actor.user,
        collected_by_organisation=actor.organisation,
        evidence_kind=evidence_kind,
        evidence_file=evidence_name,
    )
    save_with_history(consent, actor=actor, reason=_("Recueil de l'accord de la personne"))
    consent.organisations.set(organisations)
    # Collecting consent is an interview with the person: a contact.
    last_contact_stamp_person(person_id=person.pk, at=timezone.now())
    _recompute_person(person)
    _journal(actor, Action.CONSENT_RECORD, "consent", consent, person, held)
    return consent


@transaction.atomic
def consent_narrow(
    *,
    actor: Actor,
    consent_id: int,
    categories: list[str] | None = None,
    organisation_ids: list[int] | None = None,
    organisation_kinds: list[str] | None = None,
    ends_on: dt.date | None = None,
) -> Consent:
    """Narrow a consent: fewer categories, organisations or kinds, or an earlier end. Never
    widens (a wider consent is a new consent, with its own evidence)."""
    consent = _consent_for(actor, consent_id, Action.CONSENT_NARROW)
    held = _held(actor, consent.person)
    if consent.revoked_at is not None:
        raise Conflict(_("Cet accord est retiré : il ne peut plus être restreint."))
    current_orgs = set(consent.organisations.values_list("pk", flat=True))
    new_categories = set(categories) if categories is not None else set(consent.categories)
    new_orgs = set(organisation_ids) if organisation_ids is not None else current_orgs
    new_kinds = (
        set(organisation_kinds)
        if organisation_kinds is not None
        else set(consent.organisation_kinds)
    )
    widened = (
        not new_categories <= set(consent.categories)
        or not new_orgs <= current_orgs
        or not new_kinds <= set(consent.organisation_kinds)
        or (ends_on is not None and consent.ends_on is not None and ends_on > consent.ends_on)
    )
    if widened:
        raise InvalidInput(
            _("Restreindre un accord ne peut pas l'élargir : recueillez un nouvel accord."),
            fields={"categories": [_("Élargissement refusé.")]},
        )
    if not new_categories or (not new_orgs and not new_kinds):
        raise InvalidInput(
            _("Un accord restreint à rien est un retrait : utilisez « retirer »."),
            fields={"categories": [_("Au moins une catégorie et un destinataire.")]},
        )
    consent.categories = sorted(new_categories)
    consent.organisation_kinds = sorted(new_kinds)
    if ends_on is not None:
        if errors := consent_dates_errors(consent.starts_on, ends_on):
            raise InvalidInput(_("Date de fin invalide."), fields=errors)
        consent.ends_on = ends_on
    save_with_history(consent, actor=actor, reason=_("Restriction de l'accord"))
    consent.organisations.set(sorted(new_orgs))
    _recompute_person(consent.person)
    _journal(actor, Action.CONSENT_NARROW, "consent", consent, consent.person, held)
    return consent


@transaction.atomic
def consent_revoke(*, actor: Actor, consent_id: int) -> Consent:
    """Withdraw a consent at once: every grant it supported disappears in this transaction."""
    consent = _consent_for(actor, consent_id, Action.CONSENT_REVOKE)
    held = _held(actor, consent.person)
    consent_withdrawal_save(consent, actor=actor)
    _journal(actor, Action.CONSENT_REVOKE, "consent", consent, consent.person, held)
    return consent


def consent_withdrawal_save(consent: Consent, *, actor: Actor | None) -> None:
    """The withdrawal itself, whoever records it (callers located the consent, locked, and
    checked who may act): dated, attributed — to the case worker who recorded it, or to the
    person from their space (`actor=None`) —, in the history, every grant it supported gone in
    this transaction."""
    if consent.revoked_at is not None:
        raise Conflict(_("Cet accord est déjà retiré."))
    consent.revoked_at = timezone.now()
    consent.revoked_by = actor.user if actor is not None else None
    consent.revoked_by_person = actor is None
    save_with_history(consent, actor=actor, reason=_("Retrait de l'accord par la personne"))
    _recompute_person(consent.person)


@transaction.atomic
def objection_record(*, actor: Actor, person_id: int, reason: str = "") -> Objection:
    """Right to object: from now on no consent-based visibility remains for this person."""
    person = _person_for(actor, person_id, Action.OBJECTION_RECORD)
    held = _held(actor, person)
    objection = objection_save(person=person, actor=actor, reason=reason)
    _journal(actor, Action.OBJECTION_RECORD, "objection", objection, person, held)
    return objection


def objection_save(*, person: Person, actor: Actor, reason: str) -> Objection:
    """Record the objection and withdraw consent-based visibility (callers check the actor may
    act: a case worker who sees the person, or the DPO granting a rights request)."""
    if Objection.objects.filter(person=person, withdrawn_at__isnull=True).exists():
        raise Conflict(_("Une opposition est déjà enregistrée pour cette personne."))
    objection = Objection(
        person=person, recorded_at=timezone.now(), recorded_by=actor.user, reason=reason.strip()
    )
    save_with_history(objection, actor=actor, reason=_("Opposition de la personne"))
    _recompute_person(person)
    return objection


@transaction.atomic
def objection_withdraw(*, actor: Actor, objection_id: int) -> Objection:
    objection = gate.locate(
        actor,
        Objection.objects.select_for_update().filter(
            person__in=access.persons_visible_to(actor), withdrawn_at__isnull=True
        ),
        objection_id,
        action=Action.OBJECTION_WITHDRAW,
    )
    person = objection.person
    gate.require(
        actor,
        Action.OBJECTION_WITHDRAW,
        relations=relations_to_person(actor, person.pk),
        subject=Subject("objection", objection.pk, person.pk),
    )
    held = _held(actor, person)
    objection.withdrawn_at = timezone.now()
    save_with_history(objection, actor=actor, reason=_("Levée de l'opposition"))
    _recompute_person(person)
    _journal(actor, Action.OBJECTION_WITHDRAW, "objection", objection, person, held)
    return objection
