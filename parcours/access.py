"""The one place that decides who sees what.

Every read path (API viewsets, admin, pages, tasks acting for a user) starts from these
querysets; a record outside them answers 404 exactly like a missing one.

Foundation rule (the consent-scoped access issue refines it per data category): an organisation
sees a pathway when it owns it, employs its référent, or sent or received one of its referrals
(a receiver does not see drafts). Only case-work roles (counsellor, social worker, manager) see
records; DPOs and administrators see none.
"""

from django.db.models import Exists, OuterRef, Q, QuerySet

from .actor import Actor
from .models import (
    Agreement,
    Appointment,
    Membership,
    Organisation,
    Pathway,
    PathwayEvent,
    Person,
    Referral,
    ReferralStatus,
)


def _referral_party_q(organisation_id: int, prefix: str = "") -> Q:
    return Q(**{f"{prefix}sender_organisation_id": organisation_id}) | (
        Q(**{f"{prefix}receiver_organisation_id": organisation_id})
        & ~Q(**{f"{prefix}status": ReferralStatus.DRAFT})
    )


def referrals_visible_to(actor: Actor) -> QuerySet[Referral]:
    if not actor.does_casework:
        return Referral.objects.none()
    return Referral.objects.filter(_referral_party_q(actor.organisation.pk))


def pathways_visible_to(actor: Actor) -> QuerySet[Pathway]:
    if not actor.does_casework:
        return Pathway.objects.none()
    org_id = actor.organisation.pk
    related_by_referral = Referral.objects.filter(
        _referral_party_q(org_id), pathway_id=OuterRef("pk")
    )
    return Pathway.objects.filter(
        Q(owner_organisation_id=org_id)
        | Q(referent_organisation_id=org_id)
        | Exists(related_by_referral)
    )


def persons_visible_to(actor: Actor) -> QuerySet[Person]:
    visible_pathways = pathways_visible_to(actor).filter(person_id=OuterRef("pk"))
    return Person.objects.filter(Exists(visible_pathways))


def appointments_visible_to(actor: Actor) -> QuerySet[Appointment]:
    return Appointment.objects.filter(referral__in=referrals_visible_to(actor))


def events_visible_to(actor: Actor) -> QuerySet[PathwayEvent]:
    return PathwayEvent.objects.filter(pathway__in=pathways_visible_to(actor))


def agreements_visible_to(actor: Actor) -> QuerySet[Agreement]:
    """Members of a signatory organisation see the agreement (whatever their role)."""
    # EXISTS rather than a join + DISTINCT: services lock these rows, and PostgreSQL refuses
    # SELECT … FOR UPDATE with DISTINCT.
    signed = Agreement.parties.through.objects.filter(
        agreement_id=OuterRef("pk"), organisation_id=actor.organisation.pk
    )
    return Agreement.objects.filter(Exists(signed))


def organisations_visible_to(actor: Actor) -> QuerySet[Organisation]:
    """The partner directory is shared: every member sees every organisation and its services."""
    return Organisation.objects.all()


def memberships_of(actor: Actor) -> QuerySet[Membership]:
    return Membership.objects.filter(user=actor.user, is_active=True).select_related("organisation")


def can_manage_agreements(actor: Actor) -> bool:
    return actor.role in {"manager", "admin"}
