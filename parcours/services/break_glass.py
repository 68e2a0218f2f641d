"""Accès exceptionnel (break-glass): open one category for a short period, with a reason."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access, gate
from ..actor import Actor
from ..categories import ALL_CATEGORIES
from ..errors import Conflict, InvalidInput
from ..gate import Action, Subject
from ..gate.journal import record_event, record_refusal
from ..gate.relations import relations_to_pathway
from ..models import AccessOperation, BreakGlass, Pathway
from ..signals import break_glass_opened
from .access_grants import access_recompute
from .archive import raise_if_archived


@transaction.atomic
def break_glass_open(*, actor: Actor, pathway_id: int, category: str, reason: str) -> BreakGlass:
    """Open `category` of a pathway the actor's organisation works with but has no basis for.

    Preconditions: a counsellor or social worker; a relationship with the pathway (else 404, as
    if it did not exist); a reason. Side effects: a user grant until the end of the period, the
    opening journaled (operation `break_glass`, with the reason as purpose), and the
    organisation's DPOs told (`break_glass_opened`).
    """
    pathway = (
        Pathway.objects.select_for_update(of=("self",)).select_related("person").get(pk=pathway_id)
    )
    relations = relations_to_pathway(actor, pathway)
    archived_elsewhere = (
        pathway.archived_at is not None and pathway.owner_organisation_id != actor.organisation.pk
    )
    if not relations or not access.role_categories(actor) or archived_elsewhere:
        # No working relationship, a role that sees no record content (DPO, admin), or an
        # archived pathway (only its owner still sees it): the record is not theirs to know
        # (404, like a missing one), checked before the role.
        record_refusal(
            actor,
            Action.BREAK_GLASS_OPEN,
            object_type="pathway",
            object_id=pathway.pk,
            person_id=pathway.person_id,
            refusal="not_found",
        )
        raise Pathway.DoesNotExist
    gate.require(
        actor,
        Action.BREAK_GLASS_OPEN,
        relations=relations,
        subject=Subject("pathway", pathway.pk, pathway.person_id),
    )
    if category not in ALL_CATEGORIES:
        raise InvalidInput(_("Catégorie inconnue."), fields={"category": [_("Choix invalide.")]})
    if not reason.strip() or len(reason.strip()) < 10:
        raise InvalidInput(
            _("Un motif précis est obligatoire."),
            fields={"reason": [_("Expliquez en une phrase pourquoi cet accès est nécessaire.")]},
        )
    raise_if_archived(pathway)
    if category in access.categories_for(actor, [pathway.pk])[pathway.pk]:
        raise Conflict(
            _(
                "Votre organisation voit déjà cette catégorie : "
                "aucun accès exceptionnel n'est nécessaire."
            )
        )
    now = timezone.now()
    grant = BreakGlass.objects.create(
        pathway=pathway,
        user=actor.account,
        organisation=actor.organisation,
        category=category,
        reason=reason.strip(),
        starts_at=now,
        ends_at=now + dt.timedelta(hours=settings.PARCOURS_BREAK_GLASS_HOURS),
    )
    access_recompute(pathway_id=pathway.pk)
    record_event(
        actor,
        AccessOperation.BREAK_GLASS,
        action=Action.BREAK_GLASS_OPEN,
        object_type="pathway",
        object_id=pathway.pk,
        person_id=pathway.person_id,
        categories=[grant.category],
        purpose=grant.reason,
        basis=f"break_glass:{grant.pk}",
        detail={"until": grant.ends_at.isoformat()},
    )
    break_glass_opened.send(sender=BreakGlass, break_glass=grant)  # the DPOs are e-mailed
    return grant
