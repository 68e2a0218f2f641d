"""Care team (équipe de suivi): organisations explicitly added to a pathway."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access, gate
from ..actor import Actor
from ..categories import DataCategory
from ..errors import Conflict, InvalidInput
from ..gate import Action, Subject
from ..gate.journal import holding, record_write
from ..models import CareTeamMember, Organisation, Pathway
from .access_grants import access_recompute
from .archive import raise_if_archived
from .history import save_with_history
from .pathway import lock_for


def _journal(actor: Actor, action: Action, member: CareTeamMember, pathway: Pathway, held) -> None:
    record_write(
        actor,
        action,
        object_type="care_team_member",
        object_id=member.pk,
        person_id=pathway.person_id,
        pathway_ids=[pathway.pk],
        categories=(),
        because={DataCategory.PATHWAY},
        held=held,
    )


def care_team_join(
    *,
    actor: Actor | None,
    pathway: Pathway,
    organisation: Organisation,
    reason: str | None = None,
) -> CareTeamMember:
    """Add `organisation` to the care team (caller holds the pathway lock and checked rights);
    `reason`: why, in the member's history (an owner's addition by default)."""
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
    save_with_history(member, actor=actor, reason=reason or _("Ajout à l'équipe de suivi"))
    access_recompute(pathway_id=pathway.pk)
    return member


@transaction.atomic
def care_team_add(*, actor: Actor, pathway_id: int, organisation_id: int) -> CareTeamMember:
    pathway = lock_for(actor, pathway_id, Action.CARE_TEAM_ADD)
    held = holding(actor, [pathway.pk])
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is None:
        raise InvalidInput(
            _("Organisation inconnue."), fields={"organisation": [_("Organisation inconnue.")]}
        )
    member = care_team_join(actor=actor, pathway=pathway, organisation=organisation)
    _journal(actor, Action.CARE_TEAM_ADD, member, pathway, held)
    return member


@transaction.atomic
def care_team_end(*, actor: Actor, member_id: int, reason: str) -> CareTeamMember:
    """End a care-team membership (with a reason); its visibility ends in this transaction."""
    if not reason.strip():
        raise InvalidInput(
            _("Le motif de fin est obligatoire."), fields={"reason": [_("Précisez le motif.")]}
        )
    member = gate.locate(
        actor,
        CareTeamMember.objects.select_for_update().filter(
            ended_at__isnull=True,
            pathway__in=access.pathways_visible_to(actor, DataCategory.PATHWAY),
        ),
        member_id,
        action=Action.CARE_TEAM_END,
    )
    pathway = lock_for(
        actor,
        member.pathway_id,
        Action.CARE_TEAM_END,
        subject=Subject("care_team_member", member.pk, member.pathway.person_id),
    )
    held = holding(actor, [pathway.pk])
    member.ended_at = timezone.now()
    member.end_reason = reason.strip()
    save_with_history(member, actor=actor, reason=_("Sortie de l'équipe de suivi"))
    access_recompute(pathway_id=member.pathway_id)
    _journal(actor, Action.CARE_TEAM_END, member, pathway, held)
    return member
