"""The one place that decides who sees what.

Every read path (API viewsets, serializers' redaction, admin, pages, tasks acting for a user)
starts here; a record outside these querysets answers 404 exactly like a missing one.

Rights are materialised per pathway and data category as django-guardian direct foreign-key
object permissions granted to each organisation's Group (and, for break-glass, to a user) by
`parcours.services.access_grants.access_recompute`. Reads filter with an EXISTS on those tables,
the group id and permission ids passed as literal values (docs/performance.md), and honour each
row's `valid_until` so that expiry is effective at the next request. The actor's role narrows
further: managers see only the pathway category; DPOs and administrators see no record content.
"""

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .actor import Actor
from .categories import ALL_CATEGORIES, DataCategory, permission_codename
from .errors import NotAllowed
from .models import (
    DPO_ROLES,
    AccessEvent,
    AccessRequest,
    Agreement,
    AgreementAction,
    AgreementParty,
    Appointment,
    BreakGlass,
    CareTeamMember,
    Consent,
    Membership,
    Objection,
    Organisation,
    Pathway,
    PathwayEvent,
    PathwayGroupObjectPermission,
    PathwayUserObjectPermission,
    Person,
    Referral,
    ReferralStatus,
    RightsRequest,
    Role,
)
from .models.grant import permission_ids
from .selectors.relationships import relationships_of

ROLE_CATEGORIES: dict[str, frozenset[str]] = {
    Role.COUNSELLOR: ALL_CATEGORIES,
    Role.SOCIAL_WORKER: ALL_CATEGORIES,
    Role.MANAGER: frozenset({DataCategory.PATHWAY}),
    Role.DPO: frozenset(),
    Role.NATIONAL_DPO: frozenset(),
    Role.ADMIN: frozenset(),
}


def role_categories(actor: Actor) -> frozenset[str]:
    return ROLE_CATEGORIES.get(actor.role, frozenset())


def _permission_ids_for(categories: Iterable[str]) -> list[int]:
    ids = permission_ids()
    return sorted(ids[permission_codename(c)] for c in categories)


def _still_valid() -> Q:
    return Q(valid_until__isnull=True) | Q(valid_until__gt=timezone.now())


def _granted(actor: Actor, categories: Iterable[str], pathway_ref: str = "pk") -> Q:
    """EXISTS a valid grant of one of `categories` to the actor's organisation or to the actor."""
    perm_ids = _permission_ids_for(categories)
    if not perm_ids:
        return Q(pk__in=[])
    group_grant = PathwayGroupObjectPermission.objects.filter(
        _still_valid(),
        group_id=actor.organisation.group_id,
        permission_id__in=perm_ids,
        content_object_id=OuterRef(pathway_ref),
    )
    # Personal grants (break-glass) are rare and few: fetch their pathway ids first and keep the
    # organisation's grant a lone EXISTS. `EXISTS(group) OR EXISTS(user)` cannot become a
    # semi-join: PostgreSQL then hashes every grant of the group (200 k rows for a large
    # organisation) or filters the whole recent-first index for a small one (docs/performance.md).
    personal = list(
        PathwayUserObjectPermission.objects.filter(
            _still_valid(), user_id=actor.user.pk, permission_id__in=perm_ids
        ).values_list("content_object_id", flat=True)
    )
    if not personal:
        return Q(Exists(group_grant))
    return Q(Exists(group_grant)) | Q(**{f"{pathway_ref}__in": personal})


def pathways_visible_to(actor: Actor, category: str | None = None) -> QuerySet[Pathway]:
    """Pathways of which the actor may see `category` (or, without one, any category)."""
    allowed = role_categories(actor)
    wanted = allowed if category is None else allowed & {category}
    if not wanted:
        return Pathway.objects.none()
    return Pathway.objects.filter(_granted(actor, wanted))


def categories_for(actor: Actor, pathway_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    """Pathway id → the categories the actor may see now (two queries for a whole page)."""
    allowed = role_categories(actor)
    ids = list(pathway_ids)
    result: dict[int, set[str]] = {pid: set() for pid in ids}
    if not allowed or not ids:
        return {pid: frozenset() for pid in ids}
    by_id = {v: k for k, v in permission_ids().items()}
    perm_ids = _permission_ids_for(allowed)
    rows = list(
        PathwayGroupObjectPermission.objects.filter(
            _still_valid(),
            group_id=actor.organisation.group_id,
            permission_id__in=perm_ids,
            content_object_id__in=ids,
        ).values_list("content_object_id", "permission_id")
    ) + list(
        PathwayUserObjectPermission.objects.filter(
            _still_valid(),
            user_id=actor.user.pk,
            permission_id__in=perm_ids,
            content_object_id__in=ids,
        ).values_list("content_object_id", "permission_id")
    )
    for pathway_id, permission_id in rows:
        result[pathway_id].add(by_id[permission_id].removeprefix("view_pathway_"))
    return {pid: frozenset(categories) for pid, categories in result.items()}


def categories_of_person(actor: Actor, person_id: int) -> frozenset[str]:
    """The categories the actor may see of a person: the union over the person's pathways."""
    pathway_ids = Pathway.objects.filter(person_id=person_id).values_list("pk", flat=True)
    return frozenset().union(*categories_for(actor, pathway_ids).values())


def basis_for(actor: Actor, pathway_id: int, categories: Iterable[str]) -> str:
    """The bases behind the actor's view of these categories, e.g. "consent:3 legal:spe"."""
    ids = permission_ids()
    perm_ids = [ids[permission_codename(c)] for c in categories]
    codes: set[str] = set()
    for basis in PathwayGroupObjectPermission.objects.filter(
        _still_valid(),
        group_id=actor.organisation.group_id,
        permission_id__in=perm_ids,
        content_object_id=pathway_id,
    ).values_list("basis", flat=True):
        codes.update(basis.split())
    for basis in PathwayUserObjectPermission.objects.filter(
        _still_valid(),
        user_id=actor.user.pk,
        permission_id__in=perm_ids,
        content_object_id=pathway_id,
    ).values_list("basis", flat=True):
        codes.update(basis.split())
    return " ".join(sorted(codes))


def has_relationship(actor: Actor, pathway: Pathway) -> bool:
    """Whether the actor's organisation works with this pathway now (with or without a basis)."""
    return actor.organisation.pk in relationships_of(pathway, now=timezone.now())


def persons_visible_to(actor: Actor) -> QuerySet[Person]:
    """People of whom the actor may at least see the identity on one of their pathways."""
    if DataCategory.IDENTITY not in role_categories(actor):
        return Person.objects.none()
    visible = Pathway.objects.filter(
        _granted(actor, [DataCategory.IDENTITY]), person_id=OuterRef("pk")
    )
    return Person.objects.filter(Exists(visible))


def referrals_visible_to(actor: Actor) -> QuerySet[Referral]:
    """Referrals of pathways whose pathway category the actor sees; drafts only to their sender."""
    if DataCategory.PATHWAY not in role_categories(actor):
        return Referral.objects.none()
    return Referral.objects.filter(
        _granted(actor, [DataCategory.PATHWAY], pathway_ref="pathway_id")
    ).filter(~Q(status=ReferralStatus.DRAFT) | Q(sender_organisation_id=actor.organisation.pk))


def referrals_concerning(actor: Actor) -> QuerySet[Referral]:
    """Visible referrals the actor's organisation sent or received: the alerts about a referral
    (notifications) are shown to its two parties only, never to a care-team bystander."""
    return referrals_visible_to(actor).filter(
        Q(sender_organisation_id=actor.organisation.pk)
        | Q(receiver_organisation_id=actor.organisation.pk)
    )


def appointments_visible_to(actor: Actor) -> QuerySet[Appointment]:
    return Appointment.objects.filter(referral__in=referrals_visible_to(actor))


def events_visible_to(
    actor: Actor, pathway_id: int, categories: Iterable[str] | None = None
) -> QuerySet[PathwayEvent]:
    """The timeline entries of one pathway in the categories the actor may see (pass them if
    already known from `categories_for` for this actor and request)."""
    if categories is None:
        categories = categories_for(actor, [pathway_id])[pathway_id]
    return PathwayEvent.objects.filter(pathway_id=pathway_id, category__in=categories)


def agreements_visible_to(actor: Actor) -> QuerySet[Agreement]:
    """Members of a party see the agreement (whatever their role), pending parties included:
    they must read it to answer."""
    # EXISTS rather than a join + DISTINCT: services lock these rows, and PostgreSQL refuses
    # SELECT … FOR UPDATE with DISTINCT.
    signed = AgreementParty.objects.filter(
        agreement_id=OuterRef("pk"), organisation_id=actor.organisation.pk
    )
    return Agreement.objects.filter(Exists(signed))


def organisations_visible_to(actor: Actor) -> QuerySet[Organisation]:
    """The partner directory is shared: every member sees every organisation and its services."""
    return Organisation.objects.all()


def memberships_of(actor: Actor) -> QuerySet[Membership]:
    return Membership.objects.filter(user=actor.user, is_active=True).select_related("organisation")


# Who may do what with a partnership agreement, by role in the acting organisation: the services,
# the API's available actions and the tests read this table. Whatever the role, a party answers
# for its own organisation only (docs/domain.md#partnership-agreements).
AGREEMENT_ROLES: dict[str, frozenset[str]] = {
    AgreementAction.PROPOSE: frozenset({Role.MANAGER, Role.ADMIN}),
    AgreementAction.UPDATE: frozenset({Role.MANAGER, Role.ADMIN}),
    AgreementAction.ACCEPT: frozenset({Role.MANAGER, Role.ADMIN}),
    AgreementAction.DECLINE: frozenset({Role.MANAGER, Role.ADMIN}),
}


def can_propose_agreement(actor: Actor) -> bool:
    return actor.role in AGREEMENT_ROLES[AgreementAction.PROPOSE]


def can_update_agreement(actor: Actor) -> bool:
    return actor.role in AGREEMENT_ROLES[AgreementAction.UPDATE]


def can_accept_agreement(actor: Actor) -> bool:
    return actor.role in AGREEMENT_ROLES[AgreementAction.ACCEPT]


def can_decline_agreement(actor: Actor) -> bool:
    return actor.role in AGREEMENT_ROLES[AgreementAction.DECLINE]


def consents_visible_to(actor: Actor) -> QuerySet[Consent]:
    """Consents of people whose identity the actor sees (case-work roles other than manager)."""
    if actor.role == Role.MANAGER:
        return Consent.objects.none()
    return Consent.objects.filter(person__in=persons_visible_to(actor))


def objections_visible_to(actor: Actor) -> QuerySet[Objection]:
    if actor.role == Role.MANAGER:
        return Objection.objects.none()
    return Objection.objects.filter(person__in=persons_visible_to(actor))


def care_team_visible_to(actor: Actor) -> QuerySet[CareTeamMember]:
    return CareTeamMember.objects.filter(
        pathway__in=pathways_visible_to(actor, DataCategory.PATHWAY)
    )


def break_glasses_visible_to(actor: Actor) -> QuerySet[BreakGlass]:
    """A user sees their organisation's exceptional accesses (the DPO's report comes later)."""
    if not actor.does_casework:
        return BreakGlass.objects.none()
    return BreakGlass.objects.filter(organisation=actor.organisation)


def access_requests_visible_to(actor: Actor) -> QuerySet[AccessRequest]:
    """Requests the actor's organisation made, or received as the owner of the record."""
    if not actor.does_casework:
        return AccessRequest.objects.none()
    return AccessRequest.objects.filter(
        Q(requesting_organisation=actor.organisation)
        | Q(pathway__owner_organisation=actor.organisation)
    )


def organisations_administered_by(user) -> QuerySet[Organisation]:
    """Organisations a user administers in the Django admin: all for a superuser; otherwise
    those where they hold an active administrator membership (the admin's scoping)."""
    if user.is_superuser:
        return Organisation.objects.all()
    return Organisation.objects.filter(
        memberships__user=user, memberships__role=Role.ADMIN, memberships__is_active=True
    )


def admin_actor_for(user, organisation: Organisation) -> Actor:
    """The actor of a Django admin user acting for an organisation they administer, as its
    administrator: a superuser (the territorial administrator) for any organisation, an
    organisation's administrator for theirs only. Raises NotAllowed otherwise."""
    if not organisations_administered_by(user).filter(pk=organisation.pk).exists():
        raise NotAllowed(
            _("Vous n'administrez pas l'organisation « %(name)s ».") % {"name": organisation.name}
        )
    return Actor(user=user, organisation=organisation, role=Role.ADMIN)


# --- DPO reports --------------------------------------------------------------------------------
# A DPO reads who did what (the journal), never record content. An organisation's DPO reports on
# the people and users related to their organisation; a national DPO on everyone. Out of scope
# answers 404 like missing, as everywhere else.


def can_read_dpo_reports(actor: Actor) -> bool:
    return actor.role in DPO_ROLES


def reports_cover_every_organisation(actor: Actor) -> bool:
    return actor.role == Role.NATIONAL_DPO


def organisations_reportable_by(actor: Actor) -> QuerySet[Organisation]:
    """Organisations whose staff's actions the DPO reports on."""
    if reports_cover_every_organisation(actor):
        return Organisation.objects.all()
    if actor.role == Role.DPO:
        return Organisation.objects.filter(pk=actor.organisation.pk)
    return Organisation.objects.none()


def staff_named_for(actor: Actor) -> frozenset[int] | None:
    """Organisations whose staff the DPO's internal reports name (None: every organisation).
    An organisation's DPO investigates their own staff; other partners' staff appear as "a member
    of <organisation>" — each partner's DPO answers for its own people."""
    if reports_cover_every_organisation(actor):
        return None
    return frozenset({actor.organisation.pk})


def persons_reportable_by(actor: Actor) -> QuerySet[Person]:
    """People a DPO may report on: everyone for a national DPO; for an organisation's DPO, the
    people their organisation works or worked with (pathway owner or référent, care team, party
    to a referral, named in a consent, asked for access, received a rights request) or whose data
    its staff touched (the journal)."""
    if reports_cover_every_organisation(actor):
        return Person.objects.all()
    if actor.role != Role.DPO:
        return Person.objects.none()
    organisation = actor.organisation
    person = OuterRef("pk")
    related = [
        Pathway.objects.filter(person_id=person).filter(
            Q(owner_organisation_id=organisation.pk) | Q(referent_organisation_id=organisation.pk)
        ),
        CareTeamMember.objects.filter(pathway__person_id=person, organisation_id=organisation.pk),
        Referral.objects.filter(pathway__person_id=person).filter(
            Q(sender_organisation_id=organisation.pk) | Q(receiver_organisation_id=organisation.pk)
        ),
        Consent.objects.filter(person_id=person).filter(
            Q(organisations=organisation.pk)
            | Q(organisation_kinds__contains=[organisation.kind])
            | Q(collected_by_organisation_id=organisation.pk)
        ),
        AccessRequest.objects.filter(
            pathway__person_id=person, requesting_organisation_id=organisation.pk
        ),
        RightsRequest.objects.filter(person_id=person, organisation_id=organisation.pk),
        AccessEvent.objects.filter(person_id=person, organisation_id=organisation.pk),
    ]
    condition = Q(Exists(related[0]))
    for subquery in related[1:]:
        condition |= Q(Exists(subquery))
    return Person.objects.filter(condition)


def users_reportable_by(actor: Actor) -> QuerySet[User]:
    """Users whose activity a DPO may report on: members (now or before) of the organisations
    they report on."""
    if reports_cover_every_organisation(actor):
        return User.objects.filter(Exists(Membership.objects.filter(user_id=OuterRef("pk"))))
    if actor.role != Role.DPO:
        return User.objects.none()
    return User.objects.filter(
        Exists(
            Membership.objects.filter(user_id=OuterRef("pk"), organisation_id=actor.organisation.pk)
        )
    )


def rights_requests_visible_to(actor: Actor) -> QuerySet[RightsRequest]:
    """Rights requests: those the DPO's organisation received (every one for a national DPO)."""
    if reports_cover_every_organisation(actor):
        return RightsRequest.objects.all()
    if actor.role != Role.DPO:
        return RightsRequest.objects.none()
    return RightsRequest.objects.filter(organisation_id=actor.organisation.pk)
