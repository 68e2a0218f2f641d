"""Writes on Pathway: opening, référent, modality (dated), barriers (dated), notes, closing.

A change of référent, of modality or a closing sends `signals.pathway_changed` inside its
transaction, once its timeline event is recorded (the partners' webhooks are written then)."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import gate
from ..actor import Actor
from ..categories import DataCategory, barrier_category
from ..errors import Conflict, InvalidInput
from ..gate import Action, Subject
from ..gate.journal import holding, record_write
from ..models import (
    OPEN_REFERRAL_STATUSES,
    Barrier,
    BarrierStatus,
    EventKind,
    Membership,
    ModalityPeriod,
    Pathway,
    PathwayEvent,
    PathwayOutcome,
    PathwayStatus,
    Person,
    SupportModality,
)
from ..rules import roles_for
from ..signals import pathway_changed
from .access_grants import access_recompute
from .archive import raise_if_archived
from .history import save_with_history
from .timeline import timeline_record


def lock_for(
    actor: Actor,
    pathway_id: int,
    action: Action,
    category: str = DataCategory.PATHWAY,
    subject: Subject | None = None,
) -> Pathway:
    """Lock a pathway the actor sees in `category` ("not found" otherwise), on which the gate's
    table lets the actor's role and relations do `action` (403 otherwise, journaled against
    `subject`, by default the pathway). An archived pathway is read-only (services/archive.py)."""
    pathway = gate.pathway_for(actor, pathway_id, action, category=category, subject=subject)
    raise_if_archived(pathway)
    return pathway


def _journal(actor: Actor, action: Action, pathway: Pathway, *categories: str, held=None) -> None:
    record_write(
        actor,
        action,
        object_type="pathway",
        object_id=pathway.pk,
        person_id=pathway.person_id,
        pathway_ids=[pathway.pk],
        categories=categories,
        held=held,
    )


def _changed(pathway: Pathway, event: PathwayEvent, *, now: dt.datetime | None = None) -> None:
    """Tell the other parts (the partners' webhooks) in this transaction: they commit or roll
    back with the change."""
    pathway_changed.send(
        sender=Pathway,
        pathway=pathway,
        kind=EventKind(event.kind),
        event=event,
        now=now or event.occurred_at,
    )


def pathway_open(*, actor: Actor, person: Person) -> Pathway:
    """Open a pathway for `person` in the actor's organisation, the actor as référent.
    Called inside person_create's transaction; the DB constraint forbids a second open one."""
    if person.pathways.filter(status=PathwayStatus.OPEN).exists():
        raise Conflict(_("Cette personne a déjà un parcours ouvert."))
    now = timezone.now()
    pathway = Pathway(
        person=person,
        owner_organisation=actor.organisation,
        referent=actor.user,
        referent_organisation=actor.organisation,
        opened_at=now,
        modality=SupportModality.SUIVI,
    )
    save_with_history(pathway, actor=actor, reason=_("Ouverture du parcours"))
    ModalityPeriod.objects.create(
        pathway=pathway, modality=pathway.modality, started_at=now, set_by=actor.user
    )
    timeline_record(pathway=pathway, kind=EventKind.PATHWAY_OPENED, actor=actor)
    access_recompute(pathway_id=pathway.pk)
    return pathway


@transaction.atomic
def pathway_set_referent(*, actor: Actor, pathway_id: int, referent_id: int) -> Pathway:
    """Name the référent unique: a case-work member of any organisation. Owner only."""
    pathway = lock_for(actor, pathway_id, Action.PATHWAY_SET_REFERENT)
    held = holding(actor, [pathway.pk])  # naming a référent elsewhere may move our grants
    membership = (
        Membership.objects.filter(
            user_id=referent_id, is_active=True, role__in=roles_for(Action.BE_REFERENT)
        )
        .order_by("id")
        .first()
    )
    if membership is None:
        raise InvalidInput(
            _("Le référent doit être un conseiller ou un travailleur social actif."),
            fields={"referent": [_("Utilisateur inconnu ou sans rôle d'accompagnement.")]},
        )
    pathway.referent = get_user_model().objects.get(pk=referent_id)
    pathway.referent_organisation = membership.organisation
    save_with_history(pathway, actor=actor, reason=_("Changement de référent"))
    access_recompute(pathway_id=pathway.pk)
    event = timeline_record(
        pathway=pathway,
        kind=EventKind.REFERENT_CHANGED,
        actor=actor,
        text=_("Nouveau référent : %(name)s (%(org)s)")
        % {
            "name": pathway.referent.get_full_name() or pathway.referent.get_username(),
            "org": membership.organisation.name,
        },
    )
    _changed(pathway, event)
    _journal(actor, Action.PATHWAY_SET_REFERENT, pathway, DataCategory.PATHWAY, held=held)
    return pathway


@transaction.atomic
def pathway_set_modality(*, actor: Actor, pathway_id: int, modality: str) -> Pathway:
    """Change the support modality; the previous period is closed, a new one opens."""
    if modality not in SupportModality.values:
        raise InvalidInput(_("Modalité inconnue."), fields={"modality": [_("Choix invalide.")]})
    pathway = lock_for(actor, pathway_id, Action.PATHWAY_SET_MODALITY)
    if pathway.status != PathwayStatus.OPEN:
        raise Conflict(_("Ce parcours est clôturé."))
    if pathway.modality == modality:
        return pathway
    now = timezone.now()
    ModalityPeriod.objects.filter(pathway=pathway, ended_at__isnull=True).update(ended_at=now)
    ModalityPeriod.objects.create(
        pathway=pathway, modality=modality, started_at=now, set_by=actor.user
    )
    pathway.modality = modality
    save_with_history(pathway, actor=actor, reason=_("Changement de modalité d'accompagnement"))
    event = timeline_record(
        pathway=pathway,
        kind=EventKind.MODALITY_CHANGED,
        actor=actor,
        text=str(SupportModality(modality).label),
    )
    _changed(pathway, event, now=now)
    _journal(actor, Action.PATHWAY_SET_MODALITY, pathway, DataCategory.PATHWAY)
    return pathway


@transaction.atomic
def barrier_record(
    *, actor: Actor, pathway_id: int, kind: str, status: str, detail: str = ""
) -> Barrier:
    """Record or update a peripheral barrier; its dated status changes are kept in history.
    Health-related barriers are health data (GDPR art. 9): they need the health category."""
    category = barrier_category(kind)
    pathway = lock_for(actor, pathway_id, Action.PATHWAY_RECORD_BARRIER, category)
    now = timezone.now()
    barrier = Barrier.objects.filter(pathway=pathway, kind=kind).first() or Barrier(
        pathway=pathway, kind=kind, identified_at=now
    )
    barrier.status = status
    barrier.detail = detail
    barrier.resolved_at = now if status == BarrierStatus.RESOLVED else None
    save_with_history(barrier, actor=actor, reason=_("Mise à jour d'un frein périphérique"))
    timeline_record(
        pathway=pathway,
        kind=EventKind.BARRIER_RECORDED,
        actor=actor,
        text=f"{barrier.get_kind_display()} : {barrier.get_status_display()}",
        category=category,
    )
    _journal(actor, Action.PATHWAY_RECORD_BARRIER, pathway, category)
    return barrier


@transaction.atomic
def pathway_add_note(*, actor: Actor, pathway_id: int, kind: str, text: str) -> PathwayEvent:
    """Add a note, an action or a diagnostic entry to the timeline."""
    if kind not in (EventKind.NOTE, EventKind.ACTION, EventKind.DIAGNOSTIC):
        raise InvalidInput(_("Type de note invalide."), fields={"kind": [_("Choix invalide.")]})
    if not text.strip():
        raise InvalidInput(
            _("Le texte est obligatoire."), fields={"text": [_("Ce champ est obligatoire.")]}
        )
    category = DataCategory.SOCIAL if kind == EventKind.DIAGNOSTIC else DataCategory.PATHWAY
    pathway = lock_for(actor, pathway_id, Action.PATHWAY_ADD_NOTE, category)
    event = timeline_record(
        pathway=pathway, kind=kind, actor=actor, text=text.strip(), category=category
    )
    _journal(actor, Action.PATHWAY_ADD_NOTE, pathway, category)
    return event


@transaction.atomic
def pathway_close(*, actor: Actor, pathway_id: int, outcome: str) -> Pathway:
    """Close a pathway with its outcome. Open referrals must be closed or withdrawn first, so
    no partner is left waiting for a person whose record is closed."""
    if outcome not in PathwayOutcome.values:
        raise InvalidInput(
            _("Le motif de sortie est obligatoire."),
            fields={"outcome": [_("Choisissez le motif de sortie du parcours.")]},
        )
    pathway = lock_for(actor, pathway_id, Action.PATHWAY_CLOSE)
    if pathway.status != PathwayStatus.OPEN:
        raise Conflict(_("Ce parcours est déjà clôturé."))
    if pathway.referrals.filter(status__in=OPEN_REFERRAL_STATUSES).exists():
        raise Conflict(_("Clôturez ou retirez d'abord les orientations en cours de ce parcours."))
    now = timezone.now()
    pathway.status = PathwayStatus.CLOSED
    pathway.outcome = outcome
    pathway.closed_at = now
    save_with_history(pathway, actor=actor, reason=_("Clôture du parcours"))
    ModalityPeriod.objects.filter(pathway=pathway, ended_at__isnull=True).update(ended_at=now)
    event = timeline_record(
        pathway=pathway,
        kind=EventKind.PATHWAY_CLOSED,
        actor=actor,
        text=pathway.get_outcome_display(),
    )
    _changed(pathway, event, now=now)
    _journal(actor, Action.PATHWAY_CLOSE, pathway, DataCategory.PATHWAY)
    return pathway
