"""Accès exceptionnel (break-glass): open one category for a short period, with a reason."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access
from ..actor import Actor
from ..categories import ALL_CATEGORIES
from ..errors import Conflict, InvalidInput, NotAllowed
from ..models import BreakGlass, Pathway
from ..signals import break_glass_opened
from .access_grants import access_recompute
from .archive import raise_if_archived


@transaction.atomic
def break_glass_open(*, actor: Actor, pathway_id: int, category: str, reason: str) -> BreakGlass:
    """Open `category` of a pathway the actor's organisation works with but has no basis for.

    Preconditions: a counsellor or social worker; a relationship with the pathway (else 404, as
    if it did not exist); a reason. Side effects: a user grant until the end of the period, and
    (after commit) an e-mail to the organisation's DPOs. The caller journals the opening.
    """
    pathway = (
        Pathway.objects.select_for_update(of=("self",)).select_related("person").get(pk=pathway_id)
    )
    if not access.has_relationship(actor, pathway) or not access.role_categories(actor):
        # No working relationship, or a role that sees no record content (DPO, admin): the
        # record is not theirs to know (404, like a missing one), checked before the role.
        raise Pathway.DoesNotExist
    if pathway.archived_at is not None and pathway.owner_organisation_id != actor.organisation.pk:
        # Archived: only the owner organisation still sees it; for anyone else it is not there.
        raise Pathway.DoesNotExist
    if actor.role not in ("counsellor", "social_worker"):
        raise NotAllowed(
            _("Seuls les conseillers et travailleurs sociaux peuvent ouvrir un accès exceptionnel.")
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
        user=actor.user,
        organisation=actor.organisation,
        category=category,
        reason=reason.strip(),
        starts_at=now,
        ends_at=now + dt.timedelta(hours=settings.PARCOURS_BREAK_GLASS_HOURS),
    )
    access_recompute(pathway_id=pathway.pk)
    break_glass_opened.send(sender=BreakGlass, break_glass=grant)  # the DPOs are e-mailed
    return grant
