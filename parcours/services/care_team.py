"""Care team (équipe de suivi): organisations explicitly added to a pathway."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access
from ..actor import Actor
from ..categories import DataCategory
from ..errors import Conflict, InvalidInput, NotAllowed
from ..models import CareTeamMember, Organisation, Pathway
from .access_grants import access_recompute
from .archive import raise_if_archived
from .history import save_with_history


def _lock_as_lead(actor: Actor, pathway_id: int) -> Pathway:
    pathway = (
        access.pathways_visible_to(actor, DataCategory.PATHWAY)
        .select_for_update(of=("self",))
        .get(pk=pathway_id)
    )
    raise_if_archived(pathway)
    if actor.organisation.pk not in (
        pathway.owner_organisation_id,
        pathway.referent_organisation_id,
    ):
        raise NotAllowed(
            _(
                "Seule l'organisation qui porte le parcours (ou celle du référent) "
                "gère l'équipe de suivi."
            )
        )
    return pathway


def care_team_join(
    *, actor: Actor | None, pathway: Pathway, organisation: Organisation
) -> CareTeamMember:
    """Add `organisation` to the care team (caller holds the pathway lock and checked rights)."""
    raise_if_archived(pathway)
    if CareTeamMember.objects.filter(
        pathway=pathway, organisation=organisation, ended_at__isnull=True
    ).exists():
        raise Conflict(_("Cette organisation fait déjà partie de l'équipe de suivi."))
    member = CareTeamMember(
        pathway=pathway,
        organisation=organisation,
        started_at=timezone.now(),
        added_by=actor.user if actor else None,
    )
    save_with_history(member, actor=actor, reason=_("Ajout à l'équipe de suivi"))
    access_recompute(pathway_id=pathway.pk)
    return member


@transaction.atomic
def care_team_add(*, actor: Actor, pathway_id: int, organisation_id: int) -> CareTeamMember:
    pathway = _lock_as_lead(actor, pathway_id)
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is None:
        raise InvalidInput(
            _("Organisation inconnue."), fields={"organisation": [_("Organisation inconnue.")]}
        )
    return care_team_join(actor=actor, pathway=pathway, organisation=organisation)


@transaction.atomic
def care_team_end(*, actor: Actor, member_id: int, reason: str) -> CareTeamMember:
    """End a care-team membership (with a reason); its visibility ends in this transaction."""
    if not reason.strip():
        raise InvalidInput(
            _("Le motif de fin est obligatoire."), fields={"reason": [_("Précisez le motif.")]}
        )
    member = CareTeamMember.objects.select_for_update().get(
        pk=member_id,
        ended_at__isnull=True,
        pathway__in=access.pathways_visible_to(actor, DataCategory.PATHWAY),
    )
    _lock_as_lead(actor, member.pathway_id)
    member.ended_at = timezone.now()
    member.end_reason = reason.strip()
    save_with_history(member, actor=actor, reason=_("Sortie de l'équipe de suivi"))
    access_recompute(pathway_id=member.pathway_id)
    return member
