"""Archived records are read-only (docs/retention.md): the guards every write service calls, and
the one way back, reactivation by the owner organisation when the person returns.

An archived pathway is visible to its owner organisation only (`access_recompute`); DPOs never
see content anyway. The guards run on the row the service has just locked, so a pathway archived
by the retention job while a user was about to write is refused, not written.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from .. import gate
from ..actor import Actor
from ..categories import DataCategory
from ..errors import Archived, Conflict, InvalidInput
from ..gate import Action
from ..gate.journal import holding, record_write
from ..models import EventKind, Pathway, PathwayStatus, Person
from .access_grants import access_recompute
from .history import save_with_history
from .timeline import timeline_record


def raise_if_archived(pathway: Pathway) -> None:
    """Refuse any change to an archived (or anonymised) pathway."""
    if pathway.archived_at is not None:
        raise Archived()


def pathway_takes_writes(pathway: Pathway | None) -> bool:
    """An open pathway, not archived: the record whose diagnostic, plan and pathway writes
    change. The services refuse the others (`raise_unless_open`); the pages read this to offer
    the buttons, so both say the same."""
    return (
        pathway is not None and pathway.status == PathwayStatus.OPEN and pathway.archived_at is None
    )


def raise_unless_open(pathway: Pathway, closed_message: str) -> None:
    """Refuse a change to an archived pathway (409 `archived`) or a closed one (409, the
    caller's French sentence)."""
    raise_if_archived(pathway)
    if pathway.status != PathwayStatus.OPEN:
        raise Conflict(closed_message)


def raise_if_person_archived(person: Person) -> None:
    """Refuse a change to a person none of whose pathways is still active (or anonymised).

    A person with one active pathway stays editable: that pathway's organisation works with
    them now. Restrictions of processing (revoking or narrowing a consent, objecting) are not
    guarded: the person may always restrict what is done with their data.
    """
    if (
        person.anonymised_at is not None
        or not person.pathways.filter(archived_at__isnull=True).exists()
    ):
        raise Archived(
            _(
                "Le dossier de cette personne est archivé (aucun contact pendant la durée de "
                "conservation active) : il est en lecture seule. L'organisation propriétaire "
                "peut réactiver son parcours si la personne revient."
            )
        )


@transaction.atomic
def pathway_reactivate(*, actor: Actor, pathway_id: int, reason: str) -> Pathway:
    """Bring an archived pathway back to active use: the person came back.

    Preconditions: a counsellor or social worker of the owner organisation (the only one that
    still sees an archived pathway; anyone else gets "not found"); archived, not anonymised
    (anonymised data cannot come back); a reason. Side effects: a history row, a
    "reactivated" timeline event — a contact, so the retention delays start again — and the
    grants recomputed (partners with a relationship and a basis see it again).
    """
    pathway = gate.pathway_for(actor, pathway_id, Action.PATHWAY_REACTIVATE)
    held = holding(actor, [pathway.pk])
    if pathway.anonymised_at is not None:
        raise Conflict(_("Ce parcours est anonymisé : ses données ne peuvent pas revenir."))
    if pathway.archived_at is None:
        raise Conflict(_("Ce parcours n'est pas archivé."))
    if not reason.strip():
        raise InvalidInput(
            _("Le motif est obligatoire."), fields={"reason": [_("Précisez le motif.")]}
        )
    pathway.archived_at = None
    save_with_history(pathway, actor=actor, reason=_("Réactivation du dossier archivé"))
    timeline_record(pathway=pathway, kind=EventKind.REACTIVATED, actor=actor, text=reason.strip())
    access_recompute(pathway_id=pathway.pk)
    record_write(
        actor,
        Action.PATHWAY_REACTIVATE,
        object_type="pathway",
        object_id=pathway.pk,
        person_id=pathway.person_id,
        pathway_ids=[pathway.pk],
        categories={DataCategory.PATHWAY},
        held=held,
    )
    return pathway
