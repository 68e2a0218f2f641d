"""The receiving team: a received referral is handled by one counsellor of the receiving
organisation (« conseiller en charge »), who then follows the person.

- `referral_assign` hands a received referral to one of the receiver's case workers (the gate's
  `referral.assign`: the receiver's counsellors, social workers and managers);
- `referral_accept` (services/referral.py) assigns the accepting case worker when nobody is in
  charge yet (`assignee_on_accept`), and calls `take_on` once the move is made.

Taking a referral on (accepted, or later, with someone in charge) makes the receiving
organisation a member of the pathway's care team (équipe de suivi), as the owner's « Ajouter une
organisation » would — without the owner's rule (`care_team.add` is the holders'): the person was
oriented there by an organisation that follows the pathway (only followers orient), and the
receiver that accepted now accompanies her. The counsellor's caseload (`access.caseload_of`) then
holds the pathway while the referral is open.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from .. import access, gate
from ..actor import Actor
from ..categories import DataCategory
from ..errors import Conflict, InvalidInput
from ..gate import Action, Subject
from ..gate.journal import holding, record_write
from ..gate.relations import relations_to_referral
from ..models import (
    ASSIGNABLE_STATUSES,
    CareTeamMember,
    EventKind,
    Membership,
    Pathway,
    Referral,
    ReferralStatus,
)
from .archive import raise_if_archived
from .care_team import care_team_join
from .history import save_with_history
from .timeline import timeline_record

# The referral is taken on: the receiver has accepted it and works with the person.
TAKEN_ON_STATUSES = frozenset(ASSIGNABLE_STATUSES) - {ReferralStatus.SENT}


def display_name(user) -> str:
    return user.get_full_name() or user.get_username()


def _assignee(referral: Referral, user_id: object) -> Membership:
    """The active membership in the receiving organisation, with a case-work role, of the user
    the referral is handed to (InvalidInput on the field `user` otherwise)."""
    try:
        key = int(user_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        key = None
    if key is None or not get_user_model().objects.filter(pk=key, is_active=True).exists():
        message = _("Utilisateur inconnu.")
        raise InvalidInput(message, fields={"user": [message]})
    membership = (
        Membership.objects.filter(
            user_id=key, organisation_id=referral.receiver_organisation_id, is_active=True
        )
        .select_related("user")
        .first()
    )
    if membership is None:
        message = _("Cette personne n'est pas membre actif de %(organisation)s.") % {
            "organisation": referral.receiver_organisation.name
        }
        raise InvalidInput(message, fields={"user": [message]})
    rule = gate.RULES[Action.BE_REFERRAL_ASSIGNEE]
    if not rule.allows_role(membership.role):  # the table's answer, as for the acting user
        message = str(rule.refusal)
        raise InvalidInput(message, fields={"user": [message]})
    return membership


def may_be_assigned(actor: Actor) -> bool:
    """Whether the acting user may be the one in charge of a referral their organisation
    received (the accepting user becomes it when nobody is yet)."""
    return gate.may(actor, Action.BE_REFERRAL_ASSIGNEE)


def assignee_on_accept(actor: Actor, referral: Referral) -> None:
    """Called while accepting (before the referral is saved): nobody in charge yet and a case
    worker accepts — they are. A manager who accepts leaves it to be dispatched."""
    if referral.assigned_user_id is None and may_be_assigned(actor):
        referral.assigned_user = actor.user


def take_on(actor: Actor, referral: Referral) -> CareTeamMember | None:
    """The receiving organisation joins the pathway's care team once the referral is taken on
    (accepted or later) and someone is in charge of it — unless it already follows the pathway
    (holder, référent's organisation, care team). The caller holds the pathway's lock; the
    grants are recomputed here (care_team_join), as `care_team_add` does."""
    if referral.status not in TAKEN_ON_STATUSES or referral.assigned_user_id is None:
        return None
    pathway = referral.pathway
    receiver_id = referral.receiver_organisation_id
    if receiver_id in (pathway.owner_organisation_id, pathway.referent_organisation_id):
        return None
    if CareTeamMember.objects.filter(
        pathway=pathway, organisation_id=receiver_id, ended_at__isnull=True
    ).exists():
        return None
    return care_team_join(
        actor=actor,
        pathway=pathway,
        organisation=referral.receiver_organisation,
        reason=_("Ajout à l'équipe de suivi : orientation %(reference)s prise en charge")
        % {"reference": referral.reference},
    )


@transaction.atomic
def referral_assign(*, actor: Actor, referral_id: int, user_id: object) -> Referral:
    """Hand a received referral to one of the receiving organisation's case workers.

    Preconditions, in this order: the referral within the actor's scope (404 otherwise, the
    probe journaled); the pathway not archived (409 `archived`); the gate's `referral.assign`
    (the receiver's counsellors, social workers and managers — 403 with the table's French
    refusal, journaled); the referral still handled by its receiver (`ASSIGNABLE_STATUSES`, 409
    otherwise); the user an active case worker of the receiving organisation (400 on the field
    `user`).

    Side effects, in this transaction: the referral's history (who assigned, why), a timeline
    event naming the counsellor, the receiver's joining the care team when the referral is
    already taken on (`take_on`: grants recomputed), one journal row (`referral.assign`).
    Assigning the counsellor already in charge changes nothing and writes nothing."""
    located = gate.locate(
        actor,
        access.referrals_visible_to(actor).only("pk", "pathway_id"),
        referral_id,
        action=Action.REFERRAL_ASSIGN,
    )
    # The pathway first, then the referral: the order of the referral moves (services/referral.py).
    pathway = Pathway.objects.select_for_update().only("archived_at").get(pk=located.pathway_id)
    raise_if_archived(pathway)
    referral = (
        access.referrals_visible_to(actor)
        .select_for_update(of=("self",))
        .select_related("pathway", "receiver_organisation")
        .get(pk=located.pk)
    )
    gate.require(
        actor,
        Action.REFERRAL_ASSIGN,
        relations=relations_to_referral(actor, referral),
        subject=Subject("referral", referral.pk, referral.pathway.person_id),
    )
    if referral.status not in ASSIGNABLE_STATUSES:
        raise Conflict(
            _(
                "Cette orientation est à l'état « %(status)s » : elle ne se confie plus à un "
                "conseiller."
            )
            % {"status": ReferralStatus(referral.status).label}
        )
    membership = _assignee(referral, user_id)
    if referral.assigned_user_id == membership.user_id:
        return referral
    held = holding(actor, [referral.pathway_id])  # joining the care team moves our grants
    referral.assigned_user = membership.user
    save_with_history(referral, actor=actor, reason=_("Orientation confiée à un conseiller"))
    timeline_record(
        pathway=referral.pathway,
        kind=EventKind.REFERRAL_ASSIGNED,
        actor=actor,
        referral=referral,
        # The event names the receiving organisation already (the actor's): the counsellor.
        text=_("Conseiller en charge : %(name)s") % {"name": display_name(membership.user)},
    )
    take_on(actor, referral)
    record_write(
        actor,
        Action.REFERRAL_ASSIGN,
        object_type="referral",
        object_id=referral.pk,
        person_id=referral.pathway.person_id,
        pathway_ids=[referral.pathway_id],
        categories={DataCategory.PATHWAY},
        held=held,
    )
    return referral
