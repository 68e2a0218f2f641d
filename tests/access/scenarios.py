"""Consent-scoped access scenarios, as data: relationship × basis × role → expected view.

Each `Case` names the acting organisation's relationship with one pathway, the basis it holds,
the acting user's role, and the **exact** categories the user must see, each with the basis codes
the journal must name (templates: `{consent}` and `{break_glass}` are replaced by the ids of the
rows the scenario creates). `build_world(case)` sets the scenario up through factories and the
real services, in a world that always holds one record of every kind the API serves (person,
pathway, referral, appointment, consent, objection, care-team member, break-glass, access
request, agreement, service), so every endpoint has something to answer about.
"""

import datetime as dt
import itertools
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from parcours.access import role_categories
from parcours.actor import Actor
from parcours.models import (
    AccessRequest,
    Agreement,
    Appointment,
    BreakGlass,
    CareTeamMember,
    Consent,
    Objection,
    Organisation,
    Pathway,
    Person,
    Referral,
    Role,
    Service,
)
from parcours.services.access_grants import access_recompute
from parcours.services.break_glass import break_glass_open
from parcours.services.care_team import care_team_end
from parcours.services.consent import consent_revoke, objection_record

from ..factories import (
    AgreementFactory,
    AppointmentFactory,
    CareTeamMemberFactory,
    ConsentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
    ReferralFactory,
    ServiceFactory,
    UserFactory,
    valid_nir,
)

IDN, CON, PTH, SOC, HLT, JUS = "identity", "contact", "pathway", "social", "health", "justice"
OWNER = "legal:owner"
CONSENT = "consent:{consent}"
BREAK_GLASS = "break_glass:{break_glass}"
# The two parties of the world's open referral keep identity and the pathway under the referral
# itself (ADR 0010): the owner (its sender, unless the case's acting organisation sends it) and
# the receiver.
REFERRAL = "referral:{referral}"

# Relationships under which the acting organisation works with the pathway *now*.
LIVE_RELATIONSHIPS = {"owner", "sender", "receiver", "care_team"}
GRACE_DAYS = settings.PARCOURS_RELATIONSHIP_GRACE_DAYS
_nir_numbers = itertools.count(100)


@dataclass(frozen=True)
class Case:
    name: str
    relationship: str  # none | owner | sender | receiver | receiver_past_grace | receiver_draft
    #                    | care_team | care_team_ended
    basis: str  # none | legal | consent | consent_revoked | consent_expired | consent_lapsed
    #             | objection | break_glass | break_glass_colleague | break_glass_ended
    role: str | None  # None: a user without any membership
    expected: dict[str, frozenset[str]]  # category → basis code templates
    org_kind: str = "siae"  # kind of the acting organisation (when it is not the owner)
    receives_rsa: bool = False
    shared: tuple[str, ...] = ()  # referral.shared_categories
    consent_categories: tuple[str, ...] = (IDN, PTH)  # the acting organisation's consent

    @property
    def id(self) -> str:
        return self.name


def _e(**categories: str | tuple[str, ...]) -> dict[str, frozenset[str]]:
    return {
        cat: frozenset((codes,) if isinstance(codes, str) else codes)
        for cat, codes in categories.items()
    }


OWNER_VIEW = _e(identity=(OWNER, REFERRAL), contact=OWNER, pathway=(OWNER, REFERRAL), social=OWNER)
SPE_RSA = ("legal:rsa", "legal:spe")
PARTY_BY_CONSENT = _e(identity=(CONSENT, REFERRAL), pathway=(CONSENT, REFERRAL))
REFERRAL_ONLY = _e(identity=REFERRAL, pathway=REFERRAL)

CASES: list[Case] = [
    # --- no relationship: nothing, whatever the basis -------------------------------------------
    Case(
        "none+consent_all",
        "none",
        "consent",
        Role.COUNSELLOR,
        {},
        consent_categories=(IDN, CON, PTH, SOC, HLT, JUS),
    ),
    Case("none+legal_spe", "none", "legal", Role.COUNSELLOR, {}, org_kind="france_travail"),
    Case("none+no_membership", "owner", "legal", None, {}),
    # --- owner: the holder of the file (legal:owner), never health without consent --------------
    Case("owner+legal/counsellor", "owner", "legal", Role.COUNSELLOR, OWNER_VIEW),
    Case("owner+legal/social_worker", "owner", "legal", Role.SOCIAL_WORKER, OWNER_VIEW),
    Case("owner+legal/manager", "owner", "legal", Role.MANAGER, _e(pathway=(OWNER, REFERRAL))),
    Case("owner+legal/dpo", "owner", "legal", Role.DPO, {}),
    # DPOs: reports on people related to their organisation (the national DPO: on everyone).
    Case("none/dpo", "none", "none", Role.DPO, {}),
    Case("none/national_dpo", "none", "none", Role.NATIONAL_DPO, {}),
    Case("owner+legal/admin", "owner", "legal", Role.ADMIN, {}),
    # A territorial coordinator of the holding organisation: aggregates only, never the record
    # (every person and pathway endpoint answers 404, as for a stranger).
    Case("owner+legal/coordinator", "owner", "legal", Role.COORDINATOR, {}),
    Case(
        "owner+consent_health",
        "owner",
        "consent",
        Role.COUNSELLOR,
        {
            **_e(identity=(OWNER, CONSENT, REFERRAL), pathway=(OWNER, CONSENT, REFERRAL)),
            **_e(contact=OWNER, social=OWNER, health=CONSENT),
        },
        consent_categories=(IDN, PTH, HLT),
    ),
    Case(
        "owner+objection",
        "owner",
        "objection",
        Role.COUNSELLOR,
        OWNER_VIEW,
        consent_categories=(IDN, PTH, HLT),
    ),
    # --- sender of a referral (not the owner): all its bases allow ---------------------
    Case(
        "sender+legal_rsa",
        "sender",
        "legal",
        Role.COUNSELLOR,
        _e(
            identity=("legal:rsa", REFERRAL),
            contact="legal:rsa",
            pathway=("legal:rsa", REFERRAL),
            social="legal:rsa",
        ),
        org_kind="departement",
        receives_rsa=True,
    ),
    Case("sender+none", "sender", "none", Role.COUNSELLOR, REFERRAL_ONLY, org_kind="association"),
    # --- receiver: capped by what the sender shared -------------------------------------
    Case(
        "receiver+consent_capped",
        "receiver",
        "consent",
        Role.COUNSELLOR,
        PARTY_BY_CONSENT,
        consent_categories=(IDN, PTH, SOC),
    ),
    Case(
        "receiver+consent_shared_social",
        "receiver",
        "consent",
        Role.COUNSELLOR,
        {**PARTY_BY_CONSENT, **_e(social=CONSENT)},
        shared=(SOC,),
        consent_categories=(IDN, PTH, SOC),
    ),
    Case(
        "receiver+consent_not_covering_contact",
        "receiver",
        "consent",
        Role.COUNSELLOR,
        {**PARTY_BY_CONSENT, **_e(social=CONSENT)},
        shared=(CON, SOC),
        consent_categories=(IDN, PTH, SOC),
    ),
    Case(
        "receiver+consent/manager",
        "receiver",
        "consent",
        Role.MANAGER,
        _e(pathway=(CONSENT, REFERRAL)),
        consent_categories=(IDN, PTH, SOC),
        shared=(SOC,),
    ),
    # Without (or after) any basis of its own, the receiver of an open referral keeps whom and why.
    Case("receiver+none", "receiver", "none", Role.COUNSELLOR, REFERRAL_ONLY),
    Case("receiver+consent_revoked", "receiver", "consent_revoked", Role.COUNSELLOR, REFERRAL_ONLY),
    Case("receiver+consent_expired", "receiver", "consent_expired", Role.COUNSELLOR, REFERRAL_ONLY),
    Case("receiver+consent_lapsed", "receiver", "consent_lapsed", Role.COUNSELLOR, REFERRAL_ONLY),
    Case(
        "receiver+legal_rsa_spe",
        "receiver",
        "legal",
        Role.COUNSELLOR,
        _e(identity=(*SPE_RSA, REFERRAL), contact=SPE_RSA, pathway=(*SPE_RSA, REFERRAL)),
        org_kind="france_travail",
        receives_rsa=True,
        shared=(CON, SOC),
    ),
    Case("receiver_draft+consent", "receiver_draft", "consent", Role.COUNSELLOR, {}),
    Case("receiver_past_grace+consent", "receiver_past_grace", "consent", Role.COUNSELLOR, {}),
    # --- care team ------------------------------------------------------------------------------
    Case(
        "care_team+consent",
        "care_team",
        "consent",
        Role.SOCIAL_WORKER,
        _e(identity=CONSENT, contact=CONSENT, health=CONSENT, justice=CONSENT),
        org_kind="ccas",
        consent_categories=(IDN, CON, HLT, JUS),
    ),
    Case(
        "care_team_ended+consent",
        "care_team_ended",
        "consent",
        Role.COUNSELLOR,
        {},
        org_kind="ccas",
        consent_categories=(IDN, CON, PTH, SOC, HLT),
    ),
    # --- break-glass: the user who opened it, not their colleague, until it ends ------------------
    Case(
        "receiver+break_glass",
        "receiver",
        "break_glass",
        Role.COUNSELLOR,
        {**PARTY_BY_CONSENT, **_e(health=BREAK_GLASS)},
    ),
    Case(
        "receiver+break_glass_colleague",
        "receiver",
        "break_glass_colleague",
        Role.COUNSELLOR,
        PARTY_BY_CONSENT,
    ),
    Case(
        "receiver+break_glass_ended",
        "receiver",
        "break_glass_ended",
        Role.COUNSELLOR,
        PARTY_BY_CONSENT,
    ),
]


@dataclass
class World:
    case: Case
    actor: Actor | None  # None: the user has no membership
    user: object
    acting_org: Organisation
    owner: Organisation
    owner_counsellor: Actor
    bystander: Organisation  # named in the bystander consent; no relationship
    newcomer: Organisation  # no relationship at all (care-team additions)
    ft_target: Organisation  # a France Travail office, target of new referrals
    person: Person
    pathway: Pathway
    referral: Referral
    appointment: Appointment
    member: CareTeamMember
    consent: Consent  # the bystander consent (consent endpoints act on it)
    objection: Objection  # withdrawn
    break_glass: BreakGlass
    access_request: AccessRequest
    agreement: Agreement
    service: Service
    ids: dict[str, int] = field(default_factory=dict)
    travel: dt.timedelta | None = None

    # --- the expectation, derived from the case's data only ---------------------------------------
    @property
    def role(self) -> str | None:
        return self.case.role

    @property
    def expected(self) -> dict[str, set[str]]:
        return {
            cat: {code.format(**self.ids) for code in codes}
            for cat, codes in self.case.expected.items()
        }

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(self.expected)

    @property
    def without_consent(self) -> frozenset[str]:
        """What remains once an objection kills every consent basis."""
        return frozenset(
            cat
            for cat, codes in self.expected.items()
            if any(not c.startswith("consent:") for c in codes)
        )

    def basis(self, categories) -> str:
        return " ".join(sorted({c for cat in categories for c in self.expected[cat]}))

    @property
    def relationship(self) -> bool:
        return self.case.relationship in LIVE_RELATIONSHIPS

    @property
    def party(self) -> str | None:
        if self.acting_org.pk == self.referral.sender_organisation_id:
            return "sender"
        if self.acting_org.pk == self.referral.receiver_organisation_id:
            return "receiver"
        return None

    @property
    def lead(self) -> bool:
        return self.acting_org.pk in (
            self.pathway.owner_organisation_id,
            self.pathway.referent_organisation_id,
        )

    @property
    def follower(self) -> bool:
        """Holds or follows the pathway: owner, référent's organisation, live care team."""
        return self.lead or self.case.relationship == "care_team"

    @property
    def casework(self) -> bool:
        return self.role in (Role.COUNSELLOR, Role.SOCIAL_WORKER, Role.MANAGER)

    @property
    def is_caseworker(self) -> bool:
        return self.role in (Role.COUNSELLOR, Role.SOCIAL_WORKER)

    @property
    def sees_nothing_by_role(self) -> bool:
        return not role_categories_of(self.role)


def role_categories_of(role: str | None) -> frozenset[str]:
    if role is None:
        return frozenset()
    return role_categories(Actor(user=None, organisation=None, role=role))  # type: ignore[arg-type]


def _member(organisation: Organisation, role: str) -> Actor:
    membership = MembershipFactory(organisation=organisation, role=role)
    return Actor(user=membership.user, organisation=organisation, role=role)


def build_world(case: Case) -> World:
    now = timezone.now()
    today = timezone.localdate()
    owner = OrganisationFactory(kind="association")
    owner_counsellor = _member(owner, Role.COUNSELLOR)
    bystander = OrganisationFactory(kind="plie")
    newcomer = OrganisationFactory(kind="ccas")
    ft_target = OrganisationFactory(kind="france_travail")
    if case.relationship == "owner":
        acting_org = owner
    else:
        acting_org = OrganisationFactory(
            kind=case.org_kind, siae_kind="ACI" if case.org_kind == "siae" else ""
        )
    person = PersonFactory(nir=valid_nir(next(_nir_numbers)), receives_rsa=case.receives_rsa)
    pathway = PathwayFactory(person=person, owner_organisation=owner)

    receiving = case.relationship.startswith("receiver")
    status = {"receiver_draft": {}, "receiver_past_grace": {"closed": True}}.get(
        case.relationship, {"appointment_set": True}
    )
    referral = ReferralFactory(
        pathway=pathway,
        sender_organisation=acting_org if case.relationship == "sender" else owner,
        receiver_organisation=acting_org if receiving else OrganisationFactory(siae=True),
        shared_categories=list(case.shared),
        with_consent=False,
        **status,
    )
    # Begun an hour ago: the receiver may record whether the person came (issue 13).
    appointment = AppointmentFactory(
        referral=referral, starts_at=timezone.now() - dt.timedelta(hours=1)
    )
    caring = case.relationship.startswith("care_team")
    member = CareTeamMemberFactory(
        pathway=pathway, organisation=acting_org if caring else OrganisationFactory(kind="ccas")
    )
    bystander_consent = ConsentFactory(
        person=person,
        organisations=[bystander],
        categories=[IDN, PTH],
        collected_by_organisation=owner,
    )
    objection = Objection.objects.create(
        person=person,
        recorded_at=now - dt.timedelta(days=3),
        recorded_by=owner_counsellor.user,
        withdrawn_at=now - dt.timedelta(days=2),
    )
    colleague = _member(owner, Role.COUNSELLOR)
    break_glass = BreakGlass.objects.create(
        pathway=pathway,
        user=colleague.user,
        organisation=owner,
        category=JUS,
        reason="Vérification d'une mesure de justice",
        starts_at=now,
        ends_at=now + dt.timedelta(hours=settings.PARCOURS_BREAK_GLASS_HOURS),
    )
    access_recompute(pathway_id=pathway.pk)
    access_request = AccessRequest.objects.create(
        pathway=pathway,
        requesting_organisation=OrganisationFactory(kind="cap_emploi"),
        requested_by=UserFactory(),
        reason="La personne nous a été adressée",
    )

    if case.role is None:
        user, actor = UserFactory(), None
    else:
        actor = _member(acting_org, case.role)
        user = actor.user
    world = World(
        case=case,
        actor=actor,
        user=user,
        acting_org=acting_org,
        owner=owner,
        owner_counsellor=owner_counsellor,
        bystander=bystander,
        newcomer=newcomer,
        ft_target=ft_target,
        person=person,
        pathway=pathway,
        referral=referral,
        appointment=appointment,
        member=member,
        consent=bystander_consent,
        objection=objection,
        break_glass=break_glass,
        access_request=access_request,
        agreement=AgreementFactory(parties=[acting_org, bystander]),
        service=ServiceFactory(organisation=bystander),
    )

    world.ids["referral"] = referral.pk

    # --- the basis ----------------------------------------------------------------------------
    consent_kwargs = {}
    if case.basis == "consent_expired":
        consent_kwargs = {
            "starts_on": today - dt.timedelta(days=10),
            "ends_on": today - dt.timedelta(days=1),
        }
    elif case.basis == "consent_lapsed":
        consent_kwargs = {"ends_on": today}
        world.travel = dt.timedelta(days=2)
    if case.basis not in ("none", "legal"):
        consent = ConsentFactory(
            person=person,
            organisations=[acting_org],
            categories=list(case.consent_categories),
            collected_by_organisation=owner,
            **consent_kwargs,
        )
        world.ids["consent"] = consent.pk
    if case.basis == "consent_revoked":
        consent_revoke(actor=owner_counsellor, consent_id=world.ids["consent"])
    if case.basis == "objection":
        objection_record(actor=owner_counsellor, person_id=person.pk, reason="Opposition")
    if case.basis.startswith("break_glass"):
        opener = _member(acting_org, Role.COUNSELLOR) if case.basis.endswith("colleague") else actor
        grant = break_glass_open(
            actor=opener, pathway_id=pathway.pk, category=HLT, reason="Urgence : vérifier la RQTH"
        )
        world.ids["break_glass"] = grant.pk
        if case.basis.endswith("ended"):
            world.travel = dt.timedelta(hours=settings.PARCOURS_BREAK_GLASS_HOURS + 1)

    # --- the relationship's end ------------------------------------------------------------
    if case.relationship == "care_team_ended":
        care_team_end(actor=owner_counsellor, member_id=member.pk, reason="Fin du suivi")
    if case.relationship == "receiver_past_grace":
        # closed two days ago (factory); the grace period runs out GRACE_DAYS after closing
        world.travel = dt.timedelta(days=GRACE_DAYS - 1)
    for model in (world.pathway, world.referral, world.member):
        model.refresh_from_db()
    return world
