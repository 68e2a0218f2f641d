"""The permission matrix of the pages (issue 12): every URL of the `web` namespace, enumerated
from the resolver (a page without its rows fails `test_every_page_has_an_allow_and_a_deny`), has

* **allow** visits — an actor whose role and relation the gate's table allows, with the answer
  the page gives (200, or 302 after a write), the change a write makes, and the exact journal
  rows the visit leaves (operation, object, categories, basis, purpose, gate action), every one
  of them through the page door;
* **deny** visits — the gate's table refusing by role or relation on a record the actor sees (the
  French 403 page, the refusal journaled), a record out of the actor's scope (404 "Page
  introuvable", like a missing one, the probe journaled), a user without membership (the French
  403 page, every member page), a wrong password; a page that writes leaves the data unchanged.

test_pages.py and test_dpo_pages.py already sweep every page for the anonymous visitor (the
login page), a member's GET, another organisation's record (404) and the DPO pages' role (403):
those sweeps are not repeated here.
"""

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from notifications.models import Alert, AnswerNotice, NotificationPreference
from parcours.access import basis_for
from parcours.actor import Actor
from parcours.gate.journal import SECURITY_PURPOSE, TOKEN_PURPOSE
from parcours.models import (
    AccessEvent,
    AccessRequest,
    AgreementIndicator,
    ApiToken,
    BreakGlass,
    CareTeamMember,
    Committee,
    CommitteeProposal,
    Consent,
    DiagnosticEntry,
    Membership,
    Objection,
    Objective,
    Pathway,
    PathwayEvent,
    Person,
    PlanAction,
    ReceiverLink,
    Referral,
    ReferralMessage,
    RightsRequest,
    Role,
)
from parcours.rules import PURPOSES, Relation
from parcours.services import referral as referral_services
from parcours.services.account_security import totp_pending
from parcours.services.receiver_link import link_actor
from tests.factories import (
    AgreementFactory,
    ConsentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PlanActionFactory,
    ReferralFactory,
    ReferralMessageFactory,
    UserFactory,
    WebhookDeliveryFactory,
    WebhookSubscriptionFactory,
    api_token_for,
)
from tests.second_factor import enrol, next_code, totp_code
from tests.worlds import built_once
from web.forms import PersonForm

from .test_dpo_pages import DpoWorld
from .test_pages import INFORMATION, PUBLIC, evidence_of

pytestmark = pytest.mark.django_db

PASSWORD = "secret-pass-123"  # tests.factories.UserFactory
OWNER = PURPOSES[Relation.OWNER]
RECEIVER = PURPOSES[Relation.RECEIVER]
NO_MEMBERSHIP = "aucune organisation"
NOT_FOUND = "Page introuvable"
# Pages of the account itself: any logged-in user, member of an organisation or not —
# and the footer's public pages (nothing to deny: anyone reads them, member or not).
ACCOUNT_PAGES = {
    "login",
    "logout",
    "password-change",
    "second-factor",
    "second-factor-setup",
    "second-factor-recovery-codes",
    "second-factor-disable",
    *INFORMATION,
    # A receiver's link (issue 19): no account at all, the link is the actor.
    "receiver-link",
    "receiver-link-move",
}
# Users whose session has passed the password only (every other one is signed in completely,
# second factor included, by the tests' force_login: tests/second_factor.py).
UNVERIFIED = {"pending_dpo", "new_dpo"}


class World(DpoWorld):
    """test_pages' world (France Travail holds Léa Martin's pathway, has sent a referral to the
    SIAE and received one from it) with the SIAE's counsellor (the receiver, to whom Léa
    consented to show her identity and pathway), France Travail's manager, a user without
    membership, and a France Travail office to orient people to."""

    def __init__(self):
        super().__init__()
        self.receiver = MembershipFactory(organisation=self.siae, role=Role.COUNSELLOR).user
        self.manager = MembershipFactory(organisation=self.home, role=Role.MANAGER).user
        # A territorial coordinator (issue 18) covering France Travail's and the SIAE's areas.
        coordination = MembershipFactory(organisation=self.home, role=Role.COORDINATOR)
        coordination.employment_areas.set([self.home.employment_area, self.siae.employment_area])
        self.coordinator = coordination.user
        self.nobody = UserFactory()
        self.anonymous = None
        self.target = OrganisationFactory(name="France Travail Arras")
        self.incoming_consent = Consent.objects.get(person=self.incoming.pathway.person)
        # Two DPOs between their password and their second factor: one with an authenticator
        # app (it types its code), one without (it must set one up).
        self.pending_dpo = MembershipFactory(organisation=self.home, role=Role.DPO).user
        self.pending_device = enrol(self.pending_dpo)
        self.new_dpo = MembershipFactory(organisation=self.home, role=Role.DPO).user
        enrol(self.dpo)  # the world's DPO has its app before any visit's snapshot
        # France Travail's administrator (issue 15: the partner systems' tokens).
        self.admin = MembershipFactory(organisation=self.home, role=Role.ADMIN).user
        enrol(self.admin)
        self.siae_consents = sorted(self.person.consents.values_list("pk", flat=True))

    # The bases each organisation holds the records under (tests/access/scenarios.py explains
    # them: legal:owner for the holder, legal:spe for France Travail, the referral for its two
    # parties, the consents Léa gave the SIAE).
    @property
    def home_on_person(self) -> str:
        return f"legal:owner legal:spe referral:{self.outgoing.pk}"

    @property
    def home_on_contact(self) -> str:
        return "legal:owner legal:spe"

    @property
    def home_on_incoming(self) -> str:
        return f"consent:{self.incoming_consent.pk} legal:spe referral:{self.incoming.pk}"

    def absence(self) -> Referral:
        """An absence `me` recorded an hour ago on a referral the SIAE sent to France Travail
        (made when a visit needs it): `me` may still correct it."""
        if not hasattr(self, "_absence"):
            self._absence = ReferralFactory(
                pathway=PathwayFactory(owner_organisation=self.siae),
                receiver_organisation=self.home,
                no_show=True,
                attendance_recorded_by=self.me,
                attendance_correctable_until=timezone.now() + dt.timedelta(days=2),
            )
        return self._absence

    def thread(self) -> Referral:
        """The referral the SIAE sent to France Travail, with a message of the SIAE on its
        thread (made when a visit needs it)."""
        if not hasattr(self, "_thread"):
            ReferralMessageFactory(referral=self.incoming, text="La personne a-t-elle le permis ?")
            self._thread = self.incoming
        return self._thread

    def agreement(self):
        """An agreement between France Travail and the SIAE annexing one indicator (made when a
        visit needs it)."""
        if not hasattr(self, "_agreement"):
            self._agreement = AgreementFactory(parties=[self.home, self.siae])
            AgreementIndicator.objects.create(
                agreement=self._agreement, code="placed", target=10, period="quarterly"
            )
        return self._agreement

    def foreign_agreement(self):
        """An agreement France Travail is no party to."""
        if not hasattr(self, "_foreign_agreement"):
            self._foreign_agreement = AgreementFactory(
                parties=[self.siae, OrganisationFactory(name="Mission locale d'Arras")]
            )
        return self._foreign_agreement

    @property
    def home_on_absence(self) -> str:
        consent = Consent.objects.get(person=self.absence().pathway.person)
        return f"consent:{consent.pk} legal:spe referral:{self.absence().pk}"

    def home_token(self) -> ApiToken:
        """A token of France Travail's system, acting as `me` (made when a visit needs it)."""
        if not hasattr(self, "_home_token"):
            self._home_token = api_token_for(Membership.objects.get(user=self.me))[0]
        return self._home_token

    def foreign_token(self) -> ApiToken:
        """Another organisation's token."""
        if not hasattr(self, "_foreign_token"):
            self._foreign_token = api_token_for(MembershipFactory())[0]
        return self._foreign_token

    def ccas_link(self) -> ReceiverLink:
        """France Travail's referral of Léa to a CCAS without accounts, and its link (issue 19;
        made when a visit needs it)."""
        if not hasattr(self, "_ccas_link"):
            ccas = OrganisationFactory(name="CCAS de Liévin", contact_email="ccas@lievin.fr")
            ConsentFactory(person=self.person, organisations=[ccas], categories=["pathway"])
            referral = referral_services.referral_create(
                actor=Actor(user=self.me, organisation=self.home, role=Role.COUNSELLOR),
                pathway_id=self.pathway.pk,
                receiver_organisation_id=ccas.pk,
                kind="upstream",
                reason="Logement",
            )
            self._ccas_link = ReceiverLink.objects.get(referral=referral)
        return self._ccas_link

    def link_kwargs(self, referral_pk: int | None = None, token: str | None = None) -> dict:
        link = self.ccas_link()
        return {
            "referral_pk": referral_pk or link.referral_id,
            "token": token or ReceiverLink.objects.get(pk=link.pk).mail_token,
        }

    def on_ccas_referral(self, actor: Actor, categories=("pathway",)) -> str:
        """The bases `actor` holds the CCAS referral's pathway under."""
        return basis_for(actor, self.pathway.pk, categories)

    @property
    def link_bases(self) -> str:
        return self.on_ccas_referral(link_actor(self.ccas_link()), ("identity", "pathway"))

    @property
    def home_on_ccas_referral(self) -> str:
        return self.on_ccas_referral(
            Actor(user=self.me, organisation=self.home, role=Role.COUNSELLOR)
        )

    @property
    def siae_on_person(self) -> str:
        consents = " ".join(f"consent:{pk}" for pk in self.siae_consents)
        return f"{consents} referral:{self.outgoing.pk}"


@pytest.fixture(scope="module")
def world_template(django_db_setup, django_db_blocker):
    """Built once for the module, each test on a copy (tests/worlds.py)."""
    with built_once(django_db_blocker):
        yield World()


@pytest.fixture
def world(world_template, db):
    return copy.deepcopy(world_template)


# --- what a visit expects -------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One journal row: `object_id` of None means a record the visit created (the newest)."""

    operation: str
    object_type: str
    object_id: Callable[["World"], int | None] | None
    categories: tuple[str, ...]
    basis: Callable[["World"], str]
    purpose: str | None  # None: any non-empty purpose; "": none (a probe out of scope)
    action: str | None
    refusal: str | None = None
    list_of: Callable[["World"], list[int]] | None = None


def read(object_type, object_id, categories, basis, purpose, action) -> Row:
    return Row("read", object_type, object_id, categories, basis, purpose, action)


def write(object_type, object_id, categories, basis, purpose, action) -> Row:
    return Row("write", object_type, object_id, categories, basis, purpose, action)


def listed(object_type, ids, categories, basis, purpose, action) -> Row:
    return Row("list", object_type, None, categories, basis, purpose, action, list_of=ids)


def refused(object_type, object_id, action, *, purpose: str = "") -> Row:
    """A refusal on an existing record: "not_allowed" by the table (with the purpose of the
    relation the organisation has), "not_found" out of scope (no relation, no purpose)."""
    return Row(
        "denied",
        object_type,
        object_id,
        (),
        lambda w: "",
        purpose,
        action,
        refusal="not_allowed" if purpose else "not_found",
    )


@dataclass(frozen=True)
class Visit:
    who: str  # an attribute of the world: a user, or "anonymous"
    method: str
    kwargs: Callable[["World"], dict] = lambda w: {}
    data: Callable[["World"], dict] | None = None
    status: int = 200
    says: str | None = None  # in the page (a French message), or the start of the redirect
    journal: tuple[Row, ...] = ()
    done: Callable[["World"], bool] | None = None  # after an allowed write: it was made
    name: str = ""

    def __str__(self) -> str:
        return self.name or f"{self.who}-{self.method}"


def _person_form(w: World, **changes) -> dict[str, Any]:
    # As a browser posts it: an unticked box is not sent, an empty date is sent empty.
    data = {
        name: "" if value is None else value
        for name in PersonForm.base_fields
        if (value := getattr(w.person, name)) is not False
    }
    return {**data, "birth_date": w.person.birth_date.isoformat(), **changes}


def _soon() -> str:
    return (timezone.localtime() + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")


PERSON = lambda w: {"pk": w.person.pk}  # noqa: E731
CONSENT = lambda w: {"pk": w.person.pk, "consent_pk": w.consent.pk}  # noqa: E731

# A consent with its signed form (kept, encrypted, when a visit needs it).
EVIDENCE = lambda w: evidence_of(w, w.consent)  # noqa: E731
FOREIGN_EVIDENCE = lambda w: evidence_of(w, w.foreign_consent)  # noqa: E731
PATHWAY = lambda w: {"pathway_pk": w.pathway.pk}  # noqa: E731
HOUSING = lambda w: {"pathway_pk": w.pathway.pk, "domain": "logement"}  # noqa: E731
PROJECT = lambda w: {"pathway_pk": w.pathway.pk, "domain": "projet-professionnel"}  # noqa: E731
INCOMING = lambda w: {"pk": w.incoming.pk}  # noqa: E731
FOREIGN_PERSON = lambda w: {"pk": w.foreign_pathway.person_id}  # noqa: E731
MEMBER = lambda w: {"pk": w.care_team_member().pk}  # noqa: E731
NEW_CONSENT = {
    "categories": ["contact"],
    "purpose": "Coordination de l'accompagnement",
    "evidence_kind": "oral",
}
BREAK_GLASS = {"category": "health", "reason": "Urgence : vérifier la RQTH avant la prise de poste"}


def _referral_form(w: World) -> dict:
    return {
        "receiver_organisation": w.target.pk,
        "kind": "substitution",
        "reason": "Inscription comme demandeur d'emploi",
    }


def _report(object_type: str, object_id=lambda w: None, operation: str = "report") -> Row:
    # The DPO's reports say what was reported on, never a category of the record.
    return Row(operation, object_type, object_id, (), lambda w: "", None, None)


def token_event(operation: str, token: Callable[[World], int] | None = None) -> Row:
    """A partner system's token made, renewed or revoked (issue 15): no category, no basis."""
    return Row(operation, "api_token", token, (), lambda w: "", TOKEN_PURPOSE, None)


def security(operation: str, account: Callable[[World], int]) -> Row:
    """A security event of an account (issue 15): no category, no basis, the account's own."""
    return Row(operation, "account", account, (), lambda w: "", SECURITY_PURPOSE, None)


def _with_app(user_of: Callable[[World], Any]) -> Callable[[World], dict]:
    """URL kwargs (none) that first give the user an authenticator app: made before the
    visit's client signs in, so that the session passes its second factor."""
    return lambda w: (enrol(user_of(w)), {})[1]


def _pending_code(w: World) -> dict:
    """The code the app being set up shows (the page made the app when it showed its QR
    code; the visit makes it here)."""
    return {"code": totp_code(totp_pending(w.new_dpo).bin_key)}


def _pending_wrong_code(w: World) -> dict:
    totp_pending(w.new_dpo)
    return {"code": "000000" if totp_code(totp_pending(w.new_dpo).bin_key) != "000000" else "1"}


# name → the allowed visits
ALLOW: dict[str, list[Visit]] = {
    "home": [
        Visit(
            "me",
            "GET",
            journal=(
                listed(
                    "referral",
                    lambda w: [w.incoming.pk],
                    ("identity", "pathway"),
                    lambda w: w.home_on_incoming,
                    RECEIVER,
                    "referral.list",
                ),
                listed(
                    "pathway",
                    lambda w: [w.pathway.pk],
                    ("identity", "pathway"),
                    lambda w: w.home_on_person,
                    OWNER,
                    "pathway.list",
                ),
            ),
        )
    ],
    "login": [
        Visit("anonymous", "GET"),
        Visit(
            "anonymous",
            "POST",
            data=lambda w: {"username": w.me.username, "password": PASSWORD},
            status=302,
            says="/",
        ),
    ],
    "logout": [Visit("me", "POST", status=302, says="/connexion/")],
    # The second factor (issue 15). A DPO with an app types its code after the password.
    "second-factor": [
        Visit("pending_dpo", "GET", says="Vérification en deux étapes"),
        Visit(
            "pending_dpo",
            "POST",
            data=lambda w: {"code": next_code(w.pending_device)},
            status=302,
            says="/",
            done=lambda w: TOTPDevice.objects.get(pk=w.pending_device.pk).last_t > -1,
            name="good-code",
        ),
    ],
    # Anyone may set an app up; a DPO without one must, and confirms it with its code.
    "second-factor-setup": [
        Visit("me", "GET", says="Activer la double authentification"),
        Visit(
            "new_dpo",
            "POST",
            data=_pending_code,
            status=302,
            says="/compte/double-authentification/codes-de-secours/",
            journal=(security("otp_enrolled", lambda w: w.new_dpo.pk),),
            done=lambda w: (
                TOTPDevice.objects.filter(user=w.new_dpo, confirmed=True).exists()
                and StaticToken.objects.filter(device__user=w.new_dpo).count() == 10
            ),
            name="confirmed",
        ),
        Visit("dpo", "GET", says="est <strong>activée</strong>", name="dpo-status"),
    ],
    "second-factor-recovery-codes": [
        Visit(
            "dpo",
            "POST",
            status=302,
            says="/compte/double-authentification/codes-de-secours/",
            journal=(security("otp_codes", lambda w: w.dpo.pk),),
            done=lambda w: StaticToken.objects.filter(device__user=w.dpo).count() == 10,
        ),
    ],
    # Someone for whom it is not mandatory removes their own app.
    "second-factor-disable": [
        Visit(
            "me",
            "POST",
            _with_app(lambda w: w.me),
            data=lambda w: {"confirm": "1"},
            status=302,
            says="/compte/double-authentification/",
            journal=(security("otp_removed", lambda w: w.me.pk),),
            done=lambda w: not TOTPDevice.objects.filter(user=w.me).exists(),
        ),
    ],
    "accessibility": [
        Visit("anonymous", "GET", says="Accessibilité : non conforme"),
        Visit("nobody", "GET", says="Aucun audit de conformité"),
    ],
    "legal-notice": [Visit("anonymous", "GET", says="Instance de démonstration")],
    "personal-data": [
        Visit("anonymous", "GET", says="Durées de conservation en vigueur"),
        Visit("me", "GET", says="Données personnelles"),
    ],
    "password-change": [
        Visit(
            "me",
            "POST",
            data=lambda w: {
                "old_password": PASSWORD,
                "new_password1": "Un-nouveau-mot-de-passe-42",
                "new_password2": "Un-nouveau-mot-de-passe-42",
            },
            status=302,
            says="/",
            done=lambda w: check_password(
                "Un-nouveau-mot-de-passe-42", type(w.me).objects.get(pk=w.me.pk).password
            ),
        )
    ],
    "acting-organisation": [
        Visit("me", "POST", data=lambda w: {"organisation": w.home.pk}, status=302, says="/")
    ],
    "person-search": [
        Visit(
            "me",
            "POST",
            data=lambda w: {"last_name": "Mart"},
            says="Martin",
            journal=(
                listed(
                    "person",
                    lambda w: [w.person.pk],
                    ("identity",),
                    lambda w: w.home_on_person,
                    OWNER,
                    "person.list",
                ),
            ),
        )
    ],
    "person-create": [
        Visit(
            "me",
            "POST",
            data=lambda w: {
                "first_name": "Inès",
                "last_name": "Durand",
                "birth_date": "1991-02-03",
            },
            status=302,
            says="/personnes/",
            journal=(
                write(
                    "person",
                    None,
                    ("identity",),
                    lambda w: "legal:owner legal:spe",
                    OWNER,
                    "person.create",
                ),
            ),
            done=lambda w: Person.objects.filter(last_name="Durand").exists(),
        )
    ],
    "person-detail": [
        Visit(
            "me",
            "GET",
            PERSON,
            says="Martin",
            journal=(
                read(
                    "person",
                    lambda w: w.person.pk,
                    ("contact", "identity", "pathway", "social"),
                    lambda w: w.home_on_person,
                    OWNER,
                    "person.read",
                ),
            ),
        ),
        Visit(
            "receiver",
            "GET",
            PERSON,
            says="Martin",
            journal=(
                read(
                    "person",
                    lambda w: w.person.pk,
                    ("identity", "pathway"),
                    lambda w: w.siae_on_person,
                    RECEIVER,
                    "person.read",
                ),
            ),
        ),
    ],
    "person-edit": [
        Visit(
            "me",
            "GET",
            PERSON,
            journal=(
                read(
                    "person",
                    lambda w: w.person.pk,
                    ("contact", "identity", "pathway", "social"),  # the fields of the form
                    lambda w: w.home_on_person,
                    OWNER,
                    "person.read",
                ),
            ),
        ),
        Visit(
            "me",
            "POST",
            PERSON,
            data=lambda w: _person_form(w, city="Arras"),
            status=302,
            says="/personnes/",
            journal=(
                write(
                    "person",
                    lambda w: w.person.pk,
                    ("contact",),
                    lambda w: w.home_on_contact,
                    OWNER,
                    "person.rectify",
                ),
            ),
            done=lambda w: Person.objects.get(pk=w.person.pk).city == "Arras",
        ),
        Visit(  # the address and the flags of the categories it sees (issue 13)
            "me",
            "POST",
            PERSON,
            data=lambda w: _person_form(
                w, postal_code="62300", rights_ending="on", lives_in_qpv="on"
            ),
            status=302,
            says="/personnes/",
            journal=(
                write(
                    "person",
                    lambda w: w.person.pk,
                    ("contact", "pathway", "social"),
                    lambda w: w.home_on_person,
                    OWNER,
                    "person.rectify",
                ),
            ),
            done=lambda w: (
                (p := Person.objects.get(pk=w.person.pk)).postal_code == "62300"
                and p.rights_ending
                and p.lives_in_qpv
            ),
            name="me-POST-flags",
        ),
    ],
    "consent-create": [
        Visit(  # without JavaScript, the form on its own page: the name and the partners shown
            "me",
            "GET",
            PERSON,
            says="Enregistrer un accord de",
            journal=(
                read(
                    "person",
                    lambda w: w.person.pk,
                    ("identity", "pathway"),
                    lambda w: w.home_on_person,
                    OWNER,
                    "person.read",
                ),
            ),
            name="me-GET",
        ),
        Visit(
            "me",
            "POST",
            PERSON,
            data=lambda w: {**NEW_CONSENT, "organisations": [w.siae.pk]},
            status=302,
            journal=(
                write("consent", None, (), lambda w: w.home_on_person, OWNER, "consent.record"),
            ),
            done=lambda w: w.person.consents.filter(categories=["contact"]).exists(),
        ),
        # A referral's receiver records the person's consent too (any relation).
        Visit(
            "receiver",
            "POST",
            PERSON,
            data=lambda w: {**NEW_CONSENT, "organisations": [w.siae.pk]},
            status=302,
            journal=(
                write("consent", None, (), lambda w: w.siae_on_person, RECEIVER, "consent.record"),
            ),
            done=lambda w: w.person.consents.filter(categories=["contact"]).exists(),
        ),
        # Per category (issue 13): contact with every organisation picked, social data with
        # one of them only — two consents, two journal rows.
        Visit(
            "me",
            "POST",
            PERSON,
            data=lambda w: {
                **NEW_CONSENT,
                "organisations": [w.siae.pk, w.target.pk],
                f"partage_{w.target.pk}": ["social"],
            },
            status=302,
            journal=(
                write("consent", None, (), lambda w: w.home_on_person, OWNER, "consent.record"),
                write("consent", None, (), lambda w: w.home_on_person, OWNER, "consent.record"),
            ),
            done=lambda w: (
                sorted(
                    (c.categories, sorted(o.pk for o in c.organisations.all()))
                    for c in w.person.consents.filter(created_at__isnull=False).exclude(
                        pk__in=w.siae_consents
                    )
                )
                == sorted(
                    [(["contact"], sorted([w.siae.pk, w.target.pk])), (["social"], [w.target.pk])]
                )
            ),
            name="me-POST-per-category",
        ),
    ],
    "objection-record": [
        Visit(
            "me",
            "POST",
            lambda w: {"pk": w.person.pk},
            data=lambda w: {"reason": "Ne souhaite plus de partage"},
            status=302,
            journal=(
                write("objection", None, (), lambda w: w.home_on_person, OWNER, "objection.record"),
            ),
            done=lambda w: Objection.objects.filter(person=w.person).exists(),
        )
    ],
    "objection-withdraw": [
        Visit(
            "me",
            "POST",
            lambda w: {"pk": w.person.pk, "objection_pk": w.objection().pk},
            status=302,
            journal=(
                write(
                    "objection",
                    lambda w: w.objection().pk,
                    (),
                    lambda w: w.home_on_person,
                    OWNER,
                    "objection.withdraw",
                ),
            ),
            done=lambda w: Objection.objects.get(person=w.person).withdrawn_at is not None,
        )
    ],
    "access-requests": [
        Visit(
            "me",
            "GET",
            says="Accompagnement vers l&#x27;apprentissage",
            journal=(
                listed(
                    "pathway",
                    lambda w: [w.pathway.pk],
                    ("identity",),
                    lambda w: w.home_on_person,
                    OWNER,
                    "pathway.list",
                ),
            ),
        )
    ],
    "access-request-create": [Visit("me", "GET", says="Demander l'accès à un dossier")],
    "access-request-decide": [
        Visit(
            "me",
            "POST",
            lambda w: {"pk": w.access_request.pk, "decision": "refuser"},
            data=lambda w: {"comment": "Déjà suivie par la Mission locale de Lens"},
            status=302,
            journal=(
                Row(
                    "access_request",
                    "pathway",
                    lambda w: w.pathway.pk,
                    (),
                    lambda w: "",
                    "Réponse à une demande d'accès",
                    "access_request.decide",
                ),
            ),
            done=lambda w: AccessRequest.objects.get(pk=w.access_request.pk).status == "refused",
        )
    ],
    "pathway-write": [
        Visit(
            "me",
            "GET",
            lambda w: {"pathway_pk": w.pathway.pk, "write": "note"},
            says="Ajouter une note",
            journal=(
                read(
                    "pathway",
                    lambda w: w.pathway.pk,
                    ("identity",),
                    lambda w: w.home_on_person,
                    OWNER,
                    "pathway.read",
                ),
            ),
            name="note-form",
        ),
        Visit(
            "me",
            "POST",
            lambda w: {"pathway_pk": w.pathway.pk, "write": "note"},
            data=lambda w: {"kind": "note", "text": "Point d'étape fait au téléphone."},
            status=302,
            journal=(
                write(
                    "pathway",
                    lambda w: w.pathway.pk,
                    ("pathway",),
                    lambda w: w.home_on_person,
                    OWNER,
                    "pathway.add_note",
                ),
            ),
            done=lambda w: any(  # the text is encrypted: compared in Python
                e.text == "Point d'étape fait au téléphone."
                for e in w.pathway.events.filter(kind="note")
            ),
            name="note",
        ),
        Visit(
            "me",
            "POST",
            lambda w: {"pathway_pk": w.pathway.pk, "write": "modalite"},
            data=lambda w: {"modality": "renforce"},
            status=302,
            journal=(
                write(
                    "pathway",
                    lambda w: w.pathway.pk,
                    ("pathway",),
                    lambda w: w.home_on_person,
                    OWNER,
                    "pathway.set_modality",
                ),
            ),
            done=lambda w: Pathway.objects.get(pk=w.pathway.pk).modality == "renforce",
            name="modality",
        ),
    ],
    "diagnostic-write": [
        Visit(
            "me",
            "GET",
            HOUSING,
            says="Diagnostic partagé : Logement",
            journal=(
                read(
                    "pathway",
                    lambda w: w.pathway.pk,
                    ("identity",),
                    lambda w: w.home_on_person,
                    OWNER,
                    "pathway.read",
                ),
                read(
                    "pathway",
                    lambda w: w.pathway.pk,
                    ("social",),
                    lambda w: "legal:owner",
                    OWNER,
                    "diagnostic.read",
                ),
            ),
            name="housing-form",
        ),
        Visit(
            "me",
            "POST",
            HOUSING,
            data=lambda w: {"text": "Hébergée chez sa sœur, cherche un T2.", "level": "blocking"},
            status=302,
            says="/personnes/",
            journal=(
                write(
                    "pathway",
                    lambda w: w.pathway.pk,
                    ("social",),
                    lambda w: "legal:owner",
                    OWNER,
                    "diagnostic.write",
                ),
            ),
            done=lambda w: any(  # the text is encrypted: compared in Python
                e.text == "Hébergée chez sa sœur, cherche un T2." and e.level == "blocking"
                for e in DiagnosticEntry.objects.filter(pathway=w.pathway, domain="housing")
            ),
            name="housing",
        ),
        Visit(  # the receiver writes the domains of the categories Léa shared with it
            "receiver",
            "POST",
            PROJECT,
            data=lambda w: {"text": "Motivée par les espaces verts."},
            status=302,
            says="/personnes/",
            journal=(
                write(
                    "pathway",
                    lambda w: w.pathway.pk,
                    ("pathway",),
                    lambda w: w.siae_on_person,
                    RECEIVER,
                    "diagnostic.write",
                ),
            ),
            done=lambda w: DiagnosticEntry.objects.filter(
                pathway=w.pathway, domain="professional_project", author=w.receiver
            ).exists(),
            name="receiver-project",
        ),
    ],
    # The care team (issue 13): the form names the person (journaled), the writes are the
    # services' (no category of the record written; the pathway's bases justify them).
    "care-team-add": [
        Visit(
            "me",
            "GET",
            PATHWAY,
            says="Ajouter une organisation à l'équipe de suivi",
            journal=(
                read(
                    "pathway",
                    lambda w: w.pathway.pk,
                    ("identity",),
                    lambda w: w.home_on_person,
                    OWNER,
                    "pathway.read",
                ),
            ),
        ),
        Visit(
            "me",
            "POST",
            PATHWAY,
            data=lambda w: {"organisation": w.target.pk},
            status=302,
            says="/personnes/",
            journal=(
                write(
                    "care_team_member",
                    None,
                    (),
                    lambda w: w.home_on_person,
                    OWNER,
                    "care_team.add",
                ),
            ),
            done=lambda w: CareTeamMember.objects.filter(
                pathway=w.pathway, organisation=w.target, ended_at__isnull=True
            ).exists(),
        ),
    ],
    "care-team-end": [
        Visit(
            "me",
            "GET",
            MEMBER,
            says="Confirmez-vous le retrait ?",
            journal=(
                read(
                    "pathway",
                    lambda w: w.pathway.pk,
                    ("identity",),
                    lambda w: w.home_on_person,
                    OWNER,
                    "pathway.read",
                ),
            ),
        ),
        Visit(
            "me",
            "POST",
            MEMBER,
            data=lambda w: {"reason": "Accompagnement terminé"},
            status=302,
            says="/personnes/",
            journal=(
                write(
                    "care_team_member",
                    lambda w: w.care_team_member().pk,
                    (),
                    lambda w: w.home_on_person,
                    OWNER,
                    "care_team.end",
                ),
            ),
            done=lambda w: (
                CareTeamMember.objects.get(pk=w.care_team_member().pk).end_reason
                == "Accompagnement terminé"
            ),
        ),
    ],
    "consent-revoke": [
        Visit(
            "me",
            "POST",
            CONSENT,
            status=302,
            journal=(
                write(
                    "consent",
                    lambda w: w.consent.pk,
                    (),
                    lambda w: w.home_on_person,
                    OWNER,
                    "consent.revoke",
                ),
            ),
            done=lambda w: Consent.objects.get(pk=w.consent.pk).revoked_at is not None,
        )
    ],
    # The consent's signed form: whoever reads the consent downloads it, journaled as a read
    # of the identity it shows (France Travail collected it; the SIAE is a recipient of it).
    "consent-evidence": [
        Visit(
            "me",
            "GET",
            EVIDENCE,
            journal=(
                read(
                    "consent",
                    lambda w: w.consent.pk,
                    ("identity",),
                    lambda w: w.home_on_person,
                    OWNER,
                    "consent.evidence_read",
                ),
            ),
        ),
        Visit(
            "receiver",
            "GET",
            EVIDENCE,
            journal=(
                read(
                    "consent",
                    lambda w: w.consent.pk,
                    ("identity",),
                    lambda w: w.siae_on_person,
                    RECEIVER,
                    "consent.evidence_read",
                ),
            ),
            name="receiver",
        ),
    ],
    "consent-narrow": [
        Visit(
            "me",
            "POST",
            CONSENT,
            data=lambda w: {"categories": ["identity"]},
            status=302,
            journal=(
                write(
                    "consent",
                    lambda w: w.consent.pk,
                    (),
                    lambda w: w.home_on_person,
                    OWNER,
                    "consent.narrow",
                ),
            ),
            done=lambda w: Consent.objects.get(pk=w.consent.pk).categories == ["identity"],
        )
    ],
    "break-glass": [
        Visit(
            "receiver",
            "POST",
            PERSON,
            data=lambda w: BREAK_GLASS,
            status=302,
            journal=(
                Row(
                    "break_glass",
                    "pathway",
                    lambda w: w.pathway.pk,
                    ("health",),
                    lambda w: f"break_glass:{BreakGlass.objects.latest('pk').pk}",
                    BREAK_GLASS["reason"],
                    "break_glass.open",
                ),
            ),
            done=lambda w: BreakGlass.objects.filter(user=w.receiver).exists(),
        )
    ],
    "referral-create": [
        Visit(
            "me",
            "GET",
            PATHWAY,
            says="Orienter Léa Martin",
            journal=(  # the title names the person
                read(
                    "pathway",
                    lambda w: w.pathway.pk,
                    ("identity",),
                    lambda w: w.home_on_person,
                    OWNER,
                    "pathway.read",
                ),
            ),
        ),
        Visit(
            "me",
            "POST",
            PATHWAY,
            data=_referral_form,
            status=302,
            says="/orientations/",
            journal=(
                write(
                    "referral",
                    None,
                    ("pathway",),
                    lambda w: w.home_on_person,
                    OWNER,
                    "referral.create",
                ),
            ),
            done=lambda w: w.pathway.referrals.filter(receiver_organisation=w.target).exists(),
        ),
    ],
    "inbox": [
        Visit(
            "me",
            "GET",
            journal=(
                listed(
                    "referral",
                    lambda w: [w.incoming.pk],
                    ("identity", "pathway"),
                    lambda w: w.home_on_incoming,
                    RECEIVER,
                    "referral.list",
                ),
            ),
        )
    ],
    "referral-detail": [
        Visit(
            "me",
            "GET",
            INCOMING,
            journal=(
                read(
                    "referral",
                    lambda w: w.incoming.pk,
                    ("identity", "pathway"),
                    lambda w: w.home_on_incoming,
                    RECEIVER,
                    "referral.read",
                ),
            ),
        ),
        Visit(  # a party's case worker also reads the thread: a second row, its own action
            "me",
            "GET",
            lambda w: {"pk": w.thread().pk},
            says="La personne a-t-elle le permis ?",
            journal=(
                read(
                    "referral",
                    lambda w: w.incoming.pk,
                    ("identity", "pathway"),
                    lambda w: w.home_on_incoming,
                    RECEIVER,
                    "referral.read",
                ),
                read(
                    "referral",
                    lambda w: w.incoming.pk,
                    ("pathway",),
                    lambda w: w.home_on_incoming,
                    RECEIVER,
                    "referral_message.read",
                ),
            ),
            name="with-a-thread",
        ),
    ],
    "referral-message-post": [
        Visit(
            "me",
            "POST",
            INCOMING,
            data=lambda w: {"text": "Bonjour, nous recevons Léa jeudi."},
            status=302,
            says="/orientations/",
            journal=(
                write(
                    "referral",
                    lambda w: w.incoming.pk,
                    ("pathway",),
                    lambda w: w.home_on_incoming,
                    RECEIVER,
                    "referral_message.post",
                ),
            ),
            done=lambda w: ReferralMessage.objects.filter(
                referral=w.incoming, author=w.me
            ).exists(),
        )
    ],
    "referral-move": [
        Visit(
            "me",
            "POST",
            lambda w: {"pk": w.incoming.pk, "action": "accept"},
            status=302,
            journal=(
                write(
                    "referral",
                    lambda w: w.incoming.pk,
                    ("pathway",),
                    lambda w: w.home_on_incoming,
                    RECEIVER,
                    "referral.accept",
                ),
            ),
            done=lambda w: Referral.objects.get(pk=w.incoming.pk).status == "accepted",
        ),
        Visit(
            "receiver",
            "POST",
            lambda w: {"pk": w.outgoing.pk, "action": "refuse"},
            data=lambda w: {"refusal_reason": "no_capacity", "confirm": "1"},
            status=302,
            journal=(
                write(
                    "referral",
                    lambda w: w.outgoing.pk,
                    ("pathway",),
                    lambda w: w.siae_on_person,
                    RECEIVER,
                    "referral.refuse",
                ),
            ),
            done=lambda w: Referral.objects.get(pk=w.outgoing.pk).status == "refused",
        ),
        Visit(
            "me",
            "POST",
            lambda w: {"pk": w.absence().pk, "action": "correct_attendance"},
            data=lambda w: {"reason": "La personne est venue, saisie inversée", "confirm": "1"},
            status=302,
            journal=(
                write(
                    "referral",
                    lambda w: w.absence().pk,
                    ("pathway",),
                    lambda w: w.home_on_absence,
                    RECEIVER,
                    "referral.correct_attendance",
                ),
            ),
            done=lambda w: Referral.objects.get(pk=w.absence().pk).status == "attended",
            name="author-corrects-an-absence",
        ),
    ],
    # The receiving team: France Travail's manager hands the referral it received to `me`, and
    # `me` takes one on itself (both receivers' case-work roles; a journal row each).
    "referral-assign": [
        Visit(
            "manager",
            "POST",
            INCOMING,
            data=lambda w: {"user": w.me.pk},
            status=302,
            says="/orientations/",
            journal=(
                write(
                    "referral",
                    lambda w: w.incoming.pk,
                    ("pathway",),
                    lambda w: w.home_on_incoming,
                    RECEIVER,
                    "referral.assign",
                ),
            ),
            done=lambda w: Referral.objects.get(pk=w.incoming.pk).assigned_user_id == w.me.pk,
            name="manager-dispatches",
        ),
        Visit(
            "me",
            "POST",
            INCOMING,
            data=lambda w: {"user": w.me.pk},
            status=302,
            journal=(
                write(
                    "referral",
                    lambda w: w.incoming.pk,
                    ("pathway",),
                    lambda w: w.home_on_incoming,
                    RECEIVER,
                    "referral.assign",
                ),
            ),
            done=lambda w: Referral.objects.get(pk=w.incoming.pk).assigned_user_id == w.me.pk,
            name="counsellor-takes-it",
        ),
    ],
    # The alerts name the person where the reader sees the identity (issue 14), journaled as the
    # referrals listed; a manager sees the pathway only: the alert, unnamed.
    "alerts": [
        Visit(
            "me",
            "GET",
            says="Léa Martin",
            journal=(
                listed(
                    "referral",
                    lambda w: [w.outgoing.pk],
                    ("identity", "pathway"),
                    lambda w: w.home_on_person,
                    OWNER,
                    "referral.list",
                ),
            ),
        ),
        Visit(
            "manager",
            "GET",
            says="Personne (identité non partagée)",
            journal=(
                listed(
                    "referral",
                    lambda w: [w.outgoing.pk],
                    ("pathway",),
                    lambda w: w.home_on_person,
                    OWNER,
                    "referral.list",
                ),
            ),
            name="manager-unnamed",
        ),
    ],
    "alert-ack": [
        Visit(
            "me",
            "POST",
            lambda w: {"pk": w.alert.pk},
            status=302,
            done=lambda w: Alert.objects.get(pk=w.alert.pk).acknowledged_by_id == w.me.pk,
        )
    ],
    "preferences": [
        Visit(
            "me",
            "POST",
            data=lambda w: {"mode": "digest", "answers_mode": "digest"},
            status=302,
            done=lambda w: NotificationPreference.objects.filter(
                user=w.me, mode="digest", answers_mode="digest"
            ).exists(),
        )
    ],
    # An answer told to `me` about a referral it sent (issue 14): nothing about a person is
    # read or written by marking it seen (the home's list journals what it shows).
    "answer-seen": [
        Visit(
            "me",
            "POST",
            lambda w: {"pk": w.answer().pk},
            status=302,
            says="/#reponses",
            done=lambda w: AnswerNotice.objects.get(pk=w.answer().pk).seen_at is not None,
        )
    ],
    # The partner directory holds no personal data: nothing journaled.
    "directory-organisations": [Visit("me", "GET", says="Annuaire des partenaires")],
    "directory-organisation": [
        Visit("me", "GET", lambda w: {"pk": w.siae.pk}, says="Chantier Les Jardins")
    ],
    # The DPO's pages: each report is journaled as such (never a category of a record).
    "dpo-home": [Visit("dpo", "GET")],
    "dpo-person-report": [
        Visit("dpo", "GET", PERSON, journal=(_report("person", lambda w: w.person.pk),))
    ],
    "dpo-subject-access-pack": [
        Visit(
            "dpo",
            "POST",
            PERSON,
            journal=(
                Row(
                    "export",
                    "person",
                    lambda w: w.person.pk,
                    ("contact", "health", "identity", "justice", "pathway", "social"),
                    lambda w: "",
                    None,
                    None,
                ),
            ),
        )
    ],
    "dpo-rights-request-create": [
        Visit(
            "dpo",
            "POST",
            PERSON,
            data=lambda w: {
                "kind": "objection",
                "channel": "desk",
                "received_on": timezone.localdate().isoformat(),
            },
            status=302,
            says="/protection-des-donnees/demandes/",
            journal=(_report("rights_request", None, operation="write"),),  # the new request
            done=lambda w: RightsRequest.objects.filter(kind="objection").exists(),
        )
    ],
    "dpo-users": [Visit("dpo", "GET")],
    "dpo-user-report": [
        Visit(
            "dpo", "GET", lambda w: {"pk": w.me.pk}, journal=(_report("user", lambda w: w.me.pk),)
        )
    ],
    "dpo-anomalies": [Visit("dpo", "GET", journal=(_report("anomalies"),))],
    "dpo-integrity": [Visit("dpo", "GET", journal=(_report("journal"),))],
    "dpo-integrity-verify": [
        Visit(
            "dpo",
            "POST",
            status=302,
            says="/protection-des-donnees/journal/",
            journal=(_report("journal"),),
        )
    ],
    "dpo-register": [Visit("dpo", "GET", journal=(_report("register"),))],
    "dpo-rights-requests": [Visit("dpo", "GET")],
    "dpo-rights-request": [
        Visit(
            "dpo",
            "POST",
            lambda w: {"pk": w.request.pk},
            data=lambda w: {
                "action": "decider",
                "decision-status": "refused",
                "decision-decision": "Obligation légale de conservation",
            },
            status=302,
            journal=(_report("rights_request", lambda w: w.request.pk, operation="write"),),
            done=lambda w: RightsRequest.objects.get(pk=w.request.pk).status == "refused",
        )
    ],
}

ROLE = "Votre rôle ne permet pas"
ONLY_HOLDERS = "Seule l&#x27;organisation qui porte le parcours"
ONLY_COLLECTOR = "Seule l&#x27;organisation qui a recueilli cet accord"
ONLY_FOLLOWERS = "Seules les organisations qui suivent le parcours"
ONLY_RECEIVER = "Seul l&#x27;organisme destinataire"
ONLY_SENDER = "Seul l&#x27;organisme prescripteur"

# name → the refused visits (beyond the sweeps of test_pages.py and test_dpo_pages.py, and the
# user without membership below)
DENY: dict[str, list[Visit]] = {
    # A wrong code: refused in French, journaled, counted towards the lockout.
    "second-factor": [
        Visit(
            "pending_dpo",
            "POST",
            data=lambda w: {"code": "12345678"},
            status=200,
            says="pas le bon",
            journal=(security("otp_failed", lambda w: w.pending_dpo.pk),),
        ),
    ],
    "second-factor-setup": [
        # A wrong confirmation code: the app is not set up.
        Visit(
            "new_dpo",
            "POST",
            data=_pending_wrong_code,
            status=200,
            says="pas le bon",
            journal=(security("otp_failed", lambda w: w.new_dpo.pk),),
        ),
        # The password alone does not open the page of an account that has an app.
        Visit("pending_dpo", "GET", status=302, says="/connexion/verification/", name="pending"),
    ],
    "second-factor-recovery-codes": [
        # No app: no recovery codes to make.
        Visit("me", "POST", status=302, says="/compte/double-authentification/"),
    ],
    # A DPO may not remove the second factor its role requires.
    "second-factor-disable": [
        Visit(
            "dpo",
            "POST",
            data=lambda w: {"confirm": "1"},
            status=403,
            says="obligatoire pour votre rôle",
        ),
    ],
    "login": [
        Visit(
            "anonymous",
            "POST",
            data=lambda w: {"username": w.me.username, "password": "pas le bon"},
            status=200,
            says="mot de passe valides",
            journal=(security("login_failed", lambda w: w.me.pk),),
        )
    ],
    "password-change": [
        Visit(
            "me",
            "POST",
            data=lambda w: {
                "old_password": "pas le bon",
                "new_password1": "Un-nouveau-mot-de-passe-42",
                "new_password2": "Un-nouveau-mot-de-passe-42",
            },
            status=200,
            says="ancien mot de passe est incorrect",
        )
    ],
    "person-detail": [
        Visit(
            "me",
            "GET",
            FOREIGN_PERSON,
            status=404,
            says=NOT_FOUND,
            journal=(refused("person", lambda w: w.foreign_pathway.person_id, "person.read"),),
            name="out-of-scope",
        ),
        Visit(  # a manager steers activity: no person's file (identity) to read
            "manager",
            "GET",
            PERSON,
            status=404,
            says=NOT_FOUND,
            journal=(refused("person", lambda w: w.person.pk, "person.read"),),
            name="manager",
        ),
    ],
    "person-edit": [
        Visit(
            "receiver",
            method,
            PERSON,
            data=(lambda w: _person_form(w, city="Arras")) if method == "POST" else None,
            status=403,
            says=ONLY_HOLDERS,
            journal=(refused("person", lambda w: w.person.pk, "person.rectify", purpose=RECEIVER),),
            name=f"receiver-{method}",
        )
        for method in ("GET", "POST")
    ]
    + [
        Visit(
            "me",
            "POST",
            FOREIGN_PERSON,
            data=lambda w: _person_form(w, city="Arras"),
            status=404,
            says=NOT_FOUND,
            journal=(refused("person", lambda w: w.foreign_pathway.person_id, "person.rectify"),),
            name="out-of-scope",
        )
    ]
    + [
        Visit(  # health and justice are not shared with it: a forged field is the service's 403
            "me",
            "POST",
            PERSON,
            data=lambda w, field=field: _person_form(w, city="Arras", **{field: "on"}),
            status=403,
            says="Ces données ne sont pas partagées avec votre organisation",
            journal=(
                Row(
                    "denied",
                    "person",
                    lambda w: w.person.pk,
                    (),
                    lambda w: "",
                    "",
                    "person.rectify",
                    refusal="not_allowed",
                ),
            ),
            name=f"hidden-category-{field}",
        )
        for field in ("rqth", "court_supervision")
    ],
    "person-create": [
        Visit(
            "manager",
            method,
            data=(
                lambda w: {"first_name": "Inès", "last_name": "Durand", "birth_date": "1991-02-03"}
            )
            if method == "POST"
            else None,
            status=403,
            says=ROLE,
            name=f"manager-{method}",  # a creation names no record: no refusal row
        )
        for method in ("GET", "POST")
    ],
    "consent-create": [
        Visit(  # a manager does not see the person (identity): not found, as in the API
            "manager",
            "POST",
            PERSON,
            data=lambda w: {**NEW_CONSENT, "organisations": [w.siae.pk]},
            status=404,
            says=NOT_FOUND,
            journal=(refused("person", lambda w: w.person.pk, "consent.record"),),
            name="manager",
        ),
        Visit(  # nor the form
            "manager",
            "GET",
            PERSON,
            status=404,
            says=NOT_FOUND,
            journal=(refused("person", lambda w: w.person.pk, "consent.record"),),
            name="manager-GET",
        ),
        Visit(
            "me",
            "GET",
            FOREIGN_PERSON,
            status=404,
            says=NOT_FOUND,
            journal=(refused("person", lambda w: w.foreign_pathway.person_id, "consent.record"),),
            name="out-of-scope-GET",
        ),
        Visit(
            "me",
            "POST",
            FOREIGN_PERSON,
            data=lambda w: {**NEW_CONSENT, "organisations": [w.siae.pk]},
            status=404,
            says=NOT_FOUND,
            journal=(refused("person", lambda w: w.foreign_pathway.person_id, "consent.record"),),
            name="out-of-scope",
        ),
    ],
    "objection-record": [
        Visit(  # a manager does not see the person's identity: not found, like a stranger
            "manager",
            "POST",
            lambda w: {"pk": w.person.pk},
            status=404,
            says=NOT_FOUND,
            journal=(refused("person", lambda w: w.person.pk, "objection.record"),),
            name="a-manager",
        ),
        Visit(
            "me",
            "POST",
            lambda w: {"pk": w.foreign_pathway.person_id},
            status=404,
            says=NOT_FOUND,
            journal=(refused("person", lambda w: w.foreign_pathway.person_id, "objection.record"),),
            name="out-of-scope",
        ),
    ],
    "objection-withdraw": [
        Visit(
            "receiver",
            "POST",
            lambda w: {"pk": w.person.pk, "objection_pk": w.objection().pk},
            status=403,
            says="Seule l&#x27;organisation qui porte le parcours",
            journal=(
                refused(
                    "objection", lambda w: w.objection().pk, "objection.withdraw", purpose=RECEIVER
                ),
            ),
            name="not-its-lead",
        ),
        Visit(
            "me",
            "POST",
            lambda w: {"pk": w.foreign_pathway.person_id, "objection_pk": w.foreign_objection().pk},
            status=404,
            says=NOT_FOUND,
            journal=(
                refused("objection", lambda w: w.foreign_objection().pk, "objection.withdraw"),
            ),
            name="out-of-scope",
        ),
    ],
    "access-request-decide": [
        Visit(
            "stranger",
            "POST",
            lambda w: {"pk": w.access_request.pk, "decision": "accepter"},
            status=403,
            says="Votre rôle ne permet pas de répondre à une demande d&#x27;accès.",
            # It sees its own request (404 is for others') but the table refuses: no relation
            # to the record, hence no purpose.
            journal=(
                Row(
                    "denied",
                    "access_request",
                    lambda w: w.access_request.pk,
                    (),
                    lambda w: "",
                    "",
                    "access_request.decide",
                    refusal="not_allowed",
                ),
            ),
            name="its-own-request",
        ),
    ],
    "pathway-write": [
        Visit(
            "receiver",
            "POST",
            lambda w: {"pathway_pk": w.pathway.pk, "write": "cloture"},
            data=lambda w: {"outcome": "job", "confirm": "on"},
            status=403,
            says="Seule l&#x27;organisation propriétaire peut clôturer le parcours.",
            journal=(
                refused("pathway", lambda w: w.pathway.pk, "pathway.close", purpose=RECEIVER),
            ),
            name="close-not-its-owner",
        ),
        Visit(
            "me",
            "GET",
            lambda w: {"pathway_pk": w.foreign_pathway.pk, "write": "note"},
            status=404,
            says=NOT_FOUND,
            journal=(refused("pathway", lambda w: w.foreign_pathway.pk, "pathway.add_note"),),
            name="out-of-scope",
        ),
        Visit(
            "me",
            "POST",
            lambda w: {"pathway_pk": w.pathway.pk, "write": "cloture"},
            data=lambda w: {"outcome": "job"},
            status=400,
            says="Ce champ est obligatoire.",
            name="close-unconfirmed",
        ),
    ],
    "diagnostic-write": [
        Visit(  # Léa shared no social data with the SIAE: its housing is not found
            "receiver",
            "GET",
            HOUSING,
            status=404,
            says=NOT_FOUND,
            journal=(refused("pathway", lambda w: w.pathway.pk, "diagnostic.write"),),
            name="receiver-without-the-category",
        ),
        Visit(
            "manager",
            "POST",
            PROJECT,
            data=lambda w: {"text": "Vise la logistique."},
            status=403,
            says="Seuls les conseillers et travailleurs sociaux rédigent le diagnostic partagé.",
            journal=(
                refused("pathway", lambda w: w.pathway.pk, "diagnostic.write", purpose=OWNER),
            ),
            name="manager",
        ),
        Visit(
            "me",
            "GET",
            lambda w: {"pathway_pk": w.foreign_pathway.pk, "domain": "logement"},
            status=404,
            says=NOT_FOUND,
            journal=(refused("pathway", lambda w: w.foreign_pathway.pk, "diagnostic.write"),),
            name="out-of-scope",
        ),
        Visit(
            "me",
            "GET",
            lambda w: {"pathway_pk": w.pathway.pk, "domain": "argent"},
            status=404,
            says=NOT_FOUND,
            name="unknown-domain",
        ),
        Visit(
            "me",
            "POST",
            HOUSING,
            data=lambda w: {"text": "   ", "level": "grave"},
            status=400,
            says="Ce champ est obligatoire.",
            name="blank-text",
        ),
    ],
    "care-team-add": [
        Visit(  # a referral's receiver does not manage the team: no button, the 403 page
            "receiver",
            method,
            PATHWAY,
            data=(lambda w: {"organisation": w.target.pk}) if method == "POST" else None,
            status=403,
            says=ONLY_HOLDERS,
            journal=(
                refused("pathway", lambda w: w.pathway.pk, "care_team.add", purpose=RECEIVER),
            ),
            name=f"receiver-{method}",
        )
        for method in ("GET", "POST")
    ]
    + [
        Visit(
            "me",
            "POST",
            lambda w: {"pathway_pk": w.foreign_pathway.pk},
            data=lambda w: {"organisation": w.target.pk},
            status=404,
            says=NOT_FOUND,
            journal=(refused("pathway", lambda w: w.foreign_pathway.pk, "care_team.add"),),
            name="out-of-scope",
        ),
    ],
    "care-team-end": [
        Visit(
            "receiver",
            method,
            MEMBER,
            data=(lambda w: {"reason": "Plus de suivi"}) if method == "POST" else None,
            status=403,
            says=ONLY_HOLDERS,
            journal=(
                refused(
                    "care_team_member",
                    lambda w: w.care_team_member().pk,
                    "care_team.end",
                    purpose=RECEIVER,
                ),
            ),
            name=f"receiver-{method}",
        )
        for method in ("GET", "POST")
    ]
    + [
        Visit(
            "me",
            "POST",
            lambda w: {"pk": w.foreign_care_team_member().pk},
            data=lambda w: {"reason": "Plus de suivi"},
            status=404,
            says=NOT_FOUND,
            journal=(
                refused(
                    "care_team_member",
                    lambda w: w.foreign_care_team_member().pk,
                    "care_team.end",
                ),
            ),
            name="out-of-scope",
        ),
        Visit(
            "me",
            "POST",
            MEMBER,
            data=lambda w: {"reason": "   "},
            status=400,
            says="Ce champ est obligatoire.",
            name="without-reason",
        ),
    ],
    "consent-revoke": [
        Visit(
            "receiver",
            "POST",
            CONSENT,
            status=403,
            says=ONLY_COLLECTOR,
            journal=(
                refused("consent", lambda w: w.consent.pk, "consent.revoke", purpose=RECEIVER),
            ),
            name="not-its-collector",
        ),
        Visit(
            "me",
            "POST",
            lambda w: {"pk": w.foreign_pathway.person_id, "consent_pk": w.foreign_consent.pk},
            status=404,
            says=NOT_FOUND,
            journal=(refused("consent", lambda w: w.foreign_consent.pk, "consent.revoke"),),
            name="out-of-scope",
        ),
    ],
    "consent-evidence": [
        Visit(  # a manager does not see the person's identity: not found, like a stranger
            "manager",
            "GET",
            EVIDENCE,
            status=404,
            says=NOT_FOUND,
            journal=(refused("consent", lambda w: w.consent.pk, "consent.evidence_read"),),
            name="manager",
        ),
        Visit(
            "stranger",
            "GET",
            EVIDENCE,
            status=404,
            says=NOT_FOUND,
            journal=(refused("consent", lambda w: w.consent.pk, "consent.evidence_read"),),
            name="stranger",
        ),
        Visit(
            "me",
            "GET",
            FOREIGN_EVIDENCE,
            status=404,
            says=NOT_FOUND,
            journal=(refused("consent", lambda w: w.foreign_consent.pk, "consent.evidence_read"),),
            name="out-of-scope",
        ),
        Visit("me", "GET", CONSENT, status=404, says=NOT_FOUND, name="without-file"),
    ],
    "consent-narrow": [
        Visit(
            "receiver",
            "POST",
            CONSENT,
            data=lambda w: {"categories": ["identity"]},
            status=403,
            says=ONLY_COLLECTOR,
            journal=(
                refused("consent", lambda w: w.consent.pk, "consent.narrow", purpose=RECEIVER),
            ),
            name="not-its-collector",
        ),
        Visit(
            "me",
            "POST",
            lambda w: {"pk": w.foreign_pathway.person_id, "consent_pk": w.foreign_consent.pk},
            data=lambda w: {"categories": ["identity"]},
            status=404,
            says=NOT_FOUND,
            journal=(refused("consent", lambda w: w.foreign_consent.pk, "consent.narrow"),),
            name="out-of-scope",
        ),
    ],
    "break-glass": [
        Visit(
            "manager",
            "POST",
            PERSON,
            data=lambda w: BREAK_GLASS,
            status=404,
            says=NOT_FOUND,
            journal=(refused("person", lambda w: w.person.pk, "break_glass.open"),),
            name="manager",
        ),
        Visit(
            "me",
            "POST",
            FOREIGN_PERSON,
            data=lambda w: BREAK_GLASS,
            status=404,
            says=NOT_FOUND,
            journal=(refused("person", lambda w: w.foreign_pathway.person_id, "break_glass.open"),),
            name="out-of-scope",
        ),
    ],
    "referral-create": [
        Visit(  # a receiver sending the person on would show more than was shared with it
            "receiver",
            method,
            PATHWAY,
            data=_referral_form if method == "POST" else None,
            status=403,
            says=ONLY_FOLLOWERS,
            journal=(
                refused("pathway", lambda w: w.pathway.pk, "referral.create", purpose=RECEIVER),
            ),
            name=f"receiver-{method}",
        )
        for method in ("GET", "POST")
    ]
    + [
        Visit(
            "me",
            "POST",
            lambda w: {"pathway_pk": w.foreign_pathway.pk},
            data=_referral_form,
            status=404,
            says=NOT_FOUND,
            journal=(refused("pathway", lambda w: w.foreign_pathway.pk, "referral.create"),),
            name="out-of-scope",
        )
    ],
    "referral-detail": [
        Visit(
            "me",
            "GET",
            lambda w: {"pk": w.foreign_referral.pk},
            status=404,
            says=NOT_FOUND,
            journal=(refused("referral", lambda w: w.foreign_referral.pk, "referral.read"),),
            name="out-of-scope",
        )
    ],
    "referral-message-post": [
        Visit(  # a manager of a party steers, it does not write about the person
            "manager",
            "POST",
            INCOMING,
            data=lambda w: {"text": "Un message"},
            status=403,
            says="Seuls les conseillers et travailleurs sociaux lisent et écrivent",
            journal=(
                refused(
                    "referral", lambda w: w.incoming.pk, "referral_message.post", purpose=RECEIVER
                ),
            ),
            name="manager",
        ),
        Visit(
            "me",
            "POST",
            lambda w: {"pk": w.foreign_referral.pk},
            data=lambda w: {"text": "Un message"},
            status=404,
            says=NOT_FOUND,
            journal=(
                refused("referral", lambda w: w.foreign_referral.pk, "referral_message.post"),
            ),
            name="out-of-scope",
        ),
    ],
    "referral-move": [
        Visit(  # the sender may not accept its own referral
            "me",
            "POST",
            lambda w: {"pk": w.outgoing.pk, "action": "accept"},
            status=403,
            says=ONLY_RECEIVER,
            journal=(
                refused(
                    "referral",
                    lambda w: w.outgoing.pk,
                    "referral.accept",
                    purpose=PURPOSES[Relation.SENDER],
                ),
            ),
            name="sender-accepts",
        ),
        Visit(  # nor the receiver withdraw it
            "receiver",
            "POST",
            lambda w: {"pk": w.outgoing.pk, "action": "withdraw"},
            data=lambda w: {"comment": ""},
            status=403,
            says=ONLY_SENDER,
            journal=(
                refused("referral", lambda w: w.outgoing.pk, "referral.withdraw", purpose=RECEIVER),
            ),
            name="receiver-withdraws",
        ),
        Visit(  # nor refuse a referral it sent (a move with a form)
            "me",
            "POST",
            lambda w: {"pk": w.outgoing.pk, "action": "refuse"},
            data=lambda w: {"refusal_reason": "no_capacity"},
            status=403,
            says=ONLY_RECEIVER,
            journal=(
                refused(
                    "referral",
                    lambda w: w.outgoing.pk,
                    "referral.refuse",
                    purpose=PURPOSES[Relation.SENDER],
                ),
            ),
            name="sender-refuses",
        ),
        Visit(
            "me",
            "POST",
            lambda w: {"pk": w.foreign_referral.pk, "action": "accept"},
            status=404,
            says=NOT_FOUND,
            journal=(refused("referral", lambda w: w.foreign_referral.pk, "referral.accept"),),
            name="out-of-scope",
        ),
        Visit(  # a colleague of the absence's author may not correct it (confirmed or not)
            "manager",
            "POST",
            lambda w: {"pk": w.absence().pk, "action": "correct_attendance"},
            data=lambda w: {"reason": "Saisie inversée", "confirm": "1"},
            status=403,
            says="Seule la personne qui a saisi la venue ou l&#x27;absence peut la corriger",
            journal=(
                Row(
                    "denied",
                    "referral",
                    lambda w: w.absence().pk,
                    (),
                    lambda w: "",
                    "",
                    "referral.correct_attendance",
                    refusal="not_allowed",
                ),
            ),
            name="not-the-author-corrects",
        ),
    ],
    "referral-assign": [
        Visit(  # the sender does not decide who handles the person at the receiver
            "receiver",
            "POST",
            INCOMING,
            data=lambda w: {"user": w.me.pk},
            status=403,
            says="Seul l&#x27;organisme destinataire confie cette orientation",
            journal=(
                refused(
                    "referral",
                    lambda w: w.incoming.pk,
                    "referral.assign",
                    purpose=PURPOSES[Relation.SENDER],
                ),
            ),
            name="sender-assigns",
        ),
        Visit(
            "me",
            "POST",
            lambda w: {"pk": w.foreign_referral.pk},
            data=lambda w: {"user": w.me.pk},
            status=404,
            says=NOT_FOUND,
            journal=(refused("referral", lambda w: w.foreign_referral.pk, "referral.assign"),),
            name="out-of-scope",
        ),
        Visit(  # a manager is no case worker: the form refuses them, nothing is written
            "me",
            "POST",
            INCOMING,
            data=lambda w: {"user": w.manager.pk},
            status=400,
            says="Choisissez un conseiller ou un travailleur social actif de votre organisation.",
            name="to-a-manager",
        ),
    ],
}

# --- the action plan: Léa's plan (France Travail follows her pathway), an action the SIAE holds;
# the same on another organisation's person ---------------------------------------------------


def _plan(w: World) -> PlanAction:
    if not hasattr(w, "_plan_action"):
        w._plan_action = PlanActionFactory(
            objective__pathway=w.pathway, owner_organisation=w.siae, label="Visite du chantier"
        )
    return w._plan_action


def _foreign_plan(w: World) -> PlanAction:
    if not hasattr(w, "_foreign_plan_action"):
        w._foreign_plan_action = PlanActionFactory(objective__pathway=w.foreign_pathway)
    return w._foreign_plan_action


OBJECTIVE = lambda w: {"pk": _plan(w).objective_id}  # noqa: E731
PLAN_ACTION = lambda w: {"pk": _plan(w).pk}  # noqa: E731
FOREIGN_OBJECTIVE = lambda w: {"pk": _foreign_plan(w).objective_id}  # noqa: E731
FOREIGN_PLAN_ACTION = lambda w: {"pk": _foreign_plan(w).pk}  # noqa: E731
PLAN_ROLE = "tiennent le plan d&#x27;action"


def _plan_form(w: World, **changes) -> dict:
    due = (timezone.localdate() + dt.timedelta(days=14)).isoformat()
    return {"label": "Atelier CV", "owner_organisation": w.siae.pk, "due_on": due, **changes}


READ_PATHWAY = read(
    "pathway",
    lambda w: w.pathway.pk,
    ("identity",),
    lambda w: w.home_on_person,
    OWNER,
    "pathway.read",
)


ALLOW |= {
    "plan-objective-add": [
        Visit("me", "GET", PATHWAY, says="Ajouter un objectif", journal=(READ_PATHWAY,)),
        Visit(
            "me",
            "POST",
            PATHWAY,
            data=lambda w: {"title": "Trouver un logement"},
            status=302,
            says="/personnes/",
            journal=(
                write(
                    "objective",
                    None,
                    ("pathway",),
                    lambda w: w.home_on_person,
                    OWNER,
                    "plan.objective_add",
                ),
            ),
            done=lambda w: [o.title for o in w.pathway.objectives.all()] == ["Trouver un logement"],
            name="add",
        ),
    ],
    "plan-action-add": [
        Visit("me", "GET", OBJECTIVE, says="Chantier Les Jardins", journal=(READ_PATHWAY,)),
        Visit(
            "me",
            "POST",
            OBJECTIVE,
            data=_plan_form,
            status=302,
            journal=(
                write(
                    "plan_action",
                    None,
                    ("pathway",),
                    lambda w: w.home_on_person,
                    OWNER,
                    "plan.action_add",
                ),
            ),
            done=lambda w: w.pathway.plan_actions.count() == 2,
            name="add",
        ),
    ],
    "plan-objective-status": [
        Visit(
            "me",
            "POST",
            OBJECTIVE,
            data=lambda w: {"status": "achieved"},
            status=302,
            journal=(
                write(
                    "objective",
                    lambda w: _plan(w).objective_id,
                    ("pathway",),
                    lambda w: w.home_on_person,
                    OWNER,
                    "plan.objective_set_status",
                ),
            ),
            done=lambda w: Objective.objects.get(pk=_plan(w).objective_id).status == "achieved",
        )
    ],
    "plan-action-status": [
        Visit(  # the SIAE holds the action: it reports on it
            "receiver",
            "POST",
            PLAN_ACTION,
            data=lambda w: {"status": "done"},
            status=302,
            journal=(
                write(
                    "plan_action",
                    lambda w: _plan(w).pk,
                    ("pathway",),
                    lambda w: w.siae_on_person,
                    RECEIVER,
                    "plan.action_set_status",
                ),
            ),
            done=lambda w: PlanAction.objects.get(pk=_plan(w).pk).status == "done",
            name="holder",
        )
    ],
}
DENY |= {
    # Only the recipient, acting for the organisation that sent the referral: anyone else's
    # answer is a missing one (404), left unseen.
    "answer-seen": [
        Visit(
            "receiver",
            "POST",
            lambda w: {"pk": w.answer().pk},
            status=404,
            says=NOT_FOUND,
            name="the-receiving-side",
        ),
        Visit(
            "manager",
            "POST",
            lambda w: {"pk": w.answer().pk},
            status=404,
            says=NOT_FOUND,
            name="a-colleague-of-the-recipient",
        ),
        Visit(
            "me",
            "POST",
            lambda w: {"pk": w.foreign_answer().pk},
            status=404,
            says=NOT_FOUND,
            name="out-of-scope",
        ),
    ],
    # A DPO reads who did what, never the records: no alert of its organisation's referrals, and
    # nothing journaled as shown (issue 14: the alerts now name people).
    "alerts": [Visit("dpo", "GET", says="Aucune alerte.", name="dpo-sees-none")],
    "plan-objective-add": [
        Visit(
            "receiver",
            "GET",
            PATHWAY,
            status=403,
            says=ONLY_FOLLOWERS,
            journal=(
                refused("pathway", lambda w: w.pathway.pk, "plan.objective_add", purpose=RECEIVER),
            ),
            name="receiver",
        ),
        Visit(
            "manager",
            "POST",
            PATHWAY,
            data=lambda w: {"title": "Trouver un logement"},
            status=403,
            says=PLAN_ROLE,
            journal=(
                refused("pathway", lambda w: w.pathway.pk, "plan.objective_add", purpose=OWNER),
            ),
            name="manager",
        ),
        Visit(
            "me",
            "GET",
            lambda w: {"pathway_pk": w.foreign_pathway.pk},
            status=404,
            says=NOT_FOUND,
            journal=(refused("pathway", lambda w: w.foreign_pathway.pk, "plan.objective_add"),),
            name="out-of-scope",
        ),
        Visit(
            "me",
            "POST",
            PATHWAY,
            data=lambda w: {"title": ""},
            status=400,
            says="Ce champ est obligatoire.",
            name="empty",
        ),
    ],
    "plan-action-add": [
        Visit(
            "receiver",
            "GET",
            OBJECTIVE,
            status=403,
            says=ONLY_FOLLOWERS,
            journal=(
                refused(
                    "objective",
                    lambda w: _plan(w).objective_id,
                    "plan.action_add",
                    purpose=RECEIVER,
                ),
            ),
            name="receiver",
        ),
        Visit(
            "me",
            "GET",
            FOREIGN_OBJECTIVE,
            status=404,
            says=NOT_FOUND,
            journal=(
                refused("objective", lambda w: _foreign_plan(w).objective_id, "plan.action_add"),
            ),
            name="out-of-scope",
        ),
        Visit(
            "me",
            "POST",
            OBJECTIVE,
            data=lambda w: _plan_form(w, due_on="2001-01-01"),
            status=400,
            says="L&#x27;échéance ne peut pas être passée",
            name="past-due-date",
        ),
    ],
    "plan-objective-status": [
        Visit(
            "receiver",
            "POST",
            OBJECTIVE,
            data=lambda w: {"status": "achieved"},
            status=403,
            says=ONLY_FOLLOWERS,
            journal=(
                refused(
                    "objective",
                    lambda w: _plan(w).objective_id,
                    "plan.objective_set_status",
                    purpose=RECEIVER,
                ),
            ),
            name="receiver",
        ),
        Visit(
            "me",
            "POST",
            FOREIGN_OBJECTIVE,
            data=lambda w: {"status": "achieved"},
            status=404,
            says=NOT_FOUND,
            journal=(
                refused(
                    "objective",
                    lambda w: _foreign_plan(w).objective_id,
                    "plan.objective_set_status",
                ),
            ),
            name="out-of-scope",
        ),
    ],
    "plan-action-status": [
        Visit(
            "manager",
            "POST",
            PLAN_ACTION,
            data=lambda w: {"status": "done"},
            status=403,
            says=PLAN_ROLE,
            journal=(
                refused(
                    "plan_action", lambda w: _plan(w).pk, "plan.action_set_status", purpose=OWNER
                ),
            ),
            name="manager",
        ),
        Visit(
            "me",
            "POST",
            FOREIGN_PLAN_ACTION,
            data=lambda w: {"status": "done"},
            status=404,
            says=NOT_FOUND,
            journal=(
                refused("plan_action", lambda w: _foreign_plan(w).pk, "plan.action_set_status"),
            ),
            name="out-of-scope",
        ),
    ],
}


# --- réorientation: the receiver proposes another partner on its own page; the sender confirms or
# declines with the referral page's buttons ------------------------------------------------------


def _proposed(w: World) -> Referral:
    """A referral France Travail (`me`) sent the SIAE about another person, which the SIAE
    proposes to pass on to France Travail Arras (the person consented to it receiving what a
    referral carries); made when a visit needs it."""
    if not hasattr(w, "_proposed"):
        w._proposed = ReferralFactory(
            pathway=PathwayFactory(owner_organisation=w.home),
            sender_user=w.me,
            receiver_organisation=w.siae,
            transfer_proposed=True,
            transfer_organisation=w.target,
        )
        ConsentFactory(person=w._proposed.pathway.person, organisations=[w.target])
    return w._proposed


def _home_on_proposed(w: World) -> str:
    return f"legal:owner legal:spe referral:{_proposed(w).pk}"


PROPOSED = lambda w: {"pk": _proposed(w).pk, "action": "confirm_transfer"}  # noqa: E731
TRANSFER_REASON = "Un conseiller dédié aux demandeurs d'emploi de son secteur"


def _transfer_form(w: World) -> dict:
    return {"receiver_organisation": w.target.pk, "reason": TRANSFER_REASON}


ALLOW |= {
    "referral-transfer": [
        Visit(
            "me",
            "GET",
            INCOMING,
            says="Proposer une réorientation",
            journal=(  # the page names the person
                read(
                    "pathway",
                    lambda w: w.incoming.pathway_id,
                    ("identity",),
                    lambda w: w.home_on_incoming,
                    RECEIVER,
                    "pathway.read",
                ),
            ),
        ),
        Visit(
            "me",
            "POST",
            INCOMING,
            data=_transfer_form,
            status=302,
            says="/orientations/",
            journal=(
                write(
                    "referral",
                    lambda w: w.incoming.pk,
                    ("pathway",),
                    lambda w: w.home_on_incoming,
                    RECEIVER,
                    "referral.propose_transfer",
                ),
            ),
            done=lambda w: Referral.objects.filter(
                pk=w.incoming.pk, status="transfer_proposed", transfer_organisation=w.target
            ).exists(),
            name="propose",
        ),
    ],
    "referral-move": ALLOW["referral-move"]
    + [
        Visit(
            "me",
            "POST",
            PROPOSED,
            data=lambda w: {"confirm": "1"},
            status=302,
            journal=(
                write(
                    "referral",
                    lambda w: _proposed(w).pk,
                    ("pathway",),
                    _home_on_proposed,
                    OWNER,
                    "referral.confirm_transfer",
                ),
                write(
                    "referral",
                    None,
                    ("pathway",),
                    _home_on_proposed,
                    OWNER,
                    "referral.confirm_transfer",
                ),
            ),
            done=lambda w: (
                Referral.objects.get(pk=_proposed(w).pk).transferred_to.receiver_organisation
                == w.target
            ),
            name="sender-confirms-transfer",
        ),
    ],
}
DENY |= {
    "referral-transfer": [
        Visit(  # the sender may not propose to pass on the referral it sent
            "me",
            method,
            lambda w: {"pk": w.outgoing.pk},
            data=_transfer_form if method == "POST" else None,
            status=403,
            says=ONLY_RECEIVER,
            journal=(
                refused(
                    "referral",
                    lambda w: w.outgoing.pk,
                    "referral.propose_transfer",
                    purpose=PURPOSES[Relation.SENDER],
                ),
            ),
            name=f"sender-{method}",
        )
        for method in ("GET", "POST")
    ]
    + [
        Visit(
            "me",
            "GET",
            lambda w: {"pk": w.foreign_referral.pk},
            status=404,
            says=NOT_FOUND,
            journal=(
                refused("referral", lambda w: w.foreign_referral.pk, "referral.propose_transfer"),
            ),
            name="out-of-scope",
        ),
        Visit(
            "me",
            "POST",
            INCOMING,
            data=lambda w: {"receiver_organisation": w.siae.pk, "reason": TRANSFER_REASON},
            says="Chantier Les Jardins est l&#x27;organisme prescripteur",
            name="its-own-sender",
        ),
        Visit(
            "me",
            "POST",
            INCOMING,
            data=lambda w: {"receiver_organisation": w.home.pk, "reason": TRANSFER_REASON},
            says="Proposez un autre partenaire que l&#x27;organisme destinataire",
            name="itself",
        ),
        Visit(
            "me",
            "POST",
            INCOMING,
            data=lambda w: {"receiver_organisation": w.target.pk, "reason": ""},
            says="Ce champ est obligatoire.",
            name="no-reason",
        ),
    ],
    "referral-move": DENY["referral-move"]
    + [
        Visit(  # the receiver may not confirm its own proposal
            "receiver",
            "POST",
            PROPOSED,
            data=lambda w: {"confirm": "1"},
            status=403,
            says=ONLY_SENDER,
            journal=(
                refused(
                    "referral",
                    lambda w: _proposed(w).pk,
                    "referral.confirm_transfer",
                    purpose=RECEIVER,
                ),
            ),
            name="receiver-confirms-transfer",
        ),
        Visit(  # nor a manager of the sender, who sees no identity
            "manager",
            "POST",
            PROPOSED,
            data=lambda w: {"confirm": "1"},
            status=403,
            says="Seuls les conseillers et travailleurs sociaux orientent",
            journal=(
                refused(
                    "referral",
                    lambda w: _proposed(w).pk,
                    "referral.confirm_transfer",
                    purpose=PURPOSES[Relation.SENDER],
                ),
            ),
            name="manager-confirms-transfer",
        ),
    ],
}


# « Orientations envoyées » and the full lists behind « À traiter »'s « voir tout » (issue 14).
def _overdue(w: World) -> PlanAction:
    """An action of Léa's plan France Travail holds, three days overdue (made on demand)."""
    if not hasattr(w, "_overdue_action"):
        w._overdue_action = PlanActionFactory(
            objective__pathway=w.pathway,
            owner_organisation=w.home,
            label="Relancer l'employeur",
            overdue=True,
        )
    return w._overdue_action


WITH_OVERDUE = lambda w: (_overdue(w), {})[1]  # noqa: E731  (no URL kwargs: the row exists)
NO_SENT = "Aucune orientation envoyée par vous ne correspond à ces filtres."

ALLOW |= {
    "sent-referrals": [
        Visit(  # by me, the default: the referral France Travail's counsellor sent to the SIAE
            "me",
            "GET",
            says="Chantier Les Jardins",
            journal=(
                listed(
                    "referral",
                    lambda w: [w.outgoing.pk],
                    ("identity", "pathway"),
                    lambda w: w.home_on_person,
                    OWNER,
                    "referral.list",
                ),
            ),
        ),
        # A manager sends none: the list is empty (« par mon organisation » below, in
        # tests/web/test_sent_referrals.py, shows the organisation's without names).
        Visit("manager", "GET", says=NO_SENT, name="manager"),
    ],
    "caseload": [
        Visit(
            "me",
            "GET",
            says="Léa Martin",
            journal=(
                listed(
                    "pathway",
                    lambda w: [w.pathway.pk],
                    ("identity", "pathway"),
                    lambda w: w.home_on_person,
                    OWNER,
                    "pathway.list",
                ),
            ),
        )
    ],
    "overdue-actions": [
        Visit(
            "me",
            "GET",
            WITH_OVERDUE,
            says="Relancer l&#x27;employeur",
            journal=(
                listed(
                    "plan_action",
                    lambda w: [_overdue(w).pk],
                    ("identity", "pathway"),
                    lambda w: w.home_on_person,
                    OWNER,
                    "plan_action.list",
                ),
            ),
        )
    ],
}
DENY |= {
    # Lists: another organisation's records are never listed (nor journaled).
    "sent-referrals": [
        Visit("receiver", "GET", says=NO_SENT, name="receiver"),  # received it, did not send
        Visit("stranger", "GET", says=NO_SENT, name="stranger"),
    ],
    "caseload": [Visit("receiver", "GET", says="Vous n'êtes référent d'aucun parcours ouvert.")],
    "overdue-actions": [
        Visit("receiver", "GET", WITH_OVERDUE, says="Aucune action en retard.", name="receiver")
    ],
}


# --- partner systems' tokens (issue 15) ---------------------------------------------------------

HOME_TOKEN = lambda w: {"pk": w.home_token().pk}  # noqa: E731
FOREIGN_TOKEN = lambda w: {"pk": w.foreign_token().pk}  # noqa: E731
NEW_TOKEN = {
    "system_name": "Logiciel rSa",
    "member": "",
    "role": "counsellor",
    "scopes": ["referrals:read", "pathways:read"],
    "valid_days": "30",
    "requests_per_minute": "120",
}
ADMINISTRATORS_ONLY = "Seuls les administrateurs de l&#x27;organisation l&#x27;administrent."

ALLOW |= {
    "api-tokens": [
        Visit("admin", "GET", says="Accès API des systèmes"),
        Visit(
            "admin",
            "POST",
            data=lambda w: NEW_TOKEN,
            says="Copiez-le maintenant",
            journal=(token_event("token_created"),),
            done=lambda w: ApiToken.objects.filter(
                system_name="Logiciel rSa", organisation=w.home
            ).exists(),
            name="create",
        ),
    ],
    "api-token-renew": [
        Visit(
            "admin",
            "POST",
            HOME_TOKEN,
            says="Copiez-le maintenant",
            journal=(token_event("token_renewed"),),
            done=lambda w: ApiToken.objects.filter(replaces=w.home_token()).exists(),
        )
    ],
    "api-token-revoke": [
        # Without the DSFR's JavaScript: the confirmation first, nothing revoked.
        Visit("admin", "POST", HOME_TOKEN, says="Révoquer ce jeton", name="unconfirmed"),
        Visit(
            "admin",
            "POST",
            HOME_TOKEN,
            data=lambda w: {"confirm": "1"},
            status=302,
            says="/organisation/acces-api/",
            journal=(token_event("token_revoked", lambda w: w.home_token().pk),),
            done=lambda w: ApiToken.objects.get(pk=w.home_token().pk).revoked_at is not None,
        ),
    ],
}
DENY |= {
    "api-tokens": [
        Visit("me", "GET", status=403, says=ADMINISTRATORS_ONLY),
        Visit("me", "POST", data=lambda w: NEW_TOKEN, status=403, says=ADMINISTRATORS_ONLY),
    ],
    "api-token-renew": [
        Visit("me", "POST", HOME_TOKEN, status=403, says=ADMINISTRATORS_ONLY),
        Visit("admin", "POST", FOREIGN_TOKEN, status=404, says=NOT_FOUND, name="foreign"),
    ],
    "api-token-revoke": [
        Visit(
            "me",
            "POST",
            HOME_TOKEN,
            data=lambda w: {"confirm": "1"},
            status=403,
            says=ADMINISTRATORS_ONLY,
        ),
        Visit(
            "admin",
            "POST",
            FOREIGN_TOKEN,
            data=lambda w: {"confirm": "1"},
            status=404,
            says=NOT_FOUND,
            name="foreign",
        ),
    ],
}

# Partner systems' webhooks (issue 19): France Travail's administrator manages its
# subscriptions and reads their log; a counsellor is refused by the gate's table
# (webhook.manage, webhook.replay); another organisation's records are 404 like missing.
WEBHOOKS_ADMINISTRATORS_ONLY = (
    "Seuls les administrateurs de l&#x27;organisation gèrent ses abonnements webhook."
)
REPLAY_ADMINISTRATORS_ONLY = (
    "Seuls les administrateurs de l&#x27;organisation renvoient un message webhook."
)
NEW_WEBHOOK = {
    "description": "Logiciel rSa",
    "url": "https://partenaire.example.org/webhooks",
    "events": ["referral.sent", "referral.closed"],
}


def _subscription(organisation):
    return WebhookSubscriptionFactory(organisation=organisation)


def _delivery(organisation):
    return WebhookDeliveryFactory(subscription__organisation=organisation)


def _webhook_of(w, foreign: bool = False):
    attribute = "_foreign_webhook" if foreign else "_home_webhook"
    if not hasattr(w, attribute):
        setattr(w, attribute, _subscription(w.siae if foreign else w.home))
    return getattr(w, attribute)


def _delivery_of(w, foreign: bool = False):
    attribute = "_foreign_delivery" if foreign else "_home_delivery"
    if not hasattr(w, attribute):
        setattr(w, attribute, _delivery(w.siae if foreign else w.home))
    return getattr(w, attribute)


HOME_WEBHOOK = lambda w: {"pk": _webhook_of(w).pk}  # noqa: E731
FOREIGN_WEBHOOK = lambda w: {"pk": _webhook_of(w, foreign=True).pk}  # noqa: E731
HOME_DELIVERY = lambda w: {"pk": _delivery_of(w).pk}  # noqa: E731
FOREIGN_DELIVERY = lambda w: {"pk": _delivery_of(w, foreign=True).pk}  # noqa: E731


def _webhook_row(w):
    from parcours.models import WebhookSubscription

    return WebhookSubscription.objects.get(pk=_webhook_of(w).pk)


ALLOW |= {
    "webhooks": [
        Visit("admin", "GET", says="Webhooks des systèmes"),
        Visit(
            "admin",
            "POST",
            data=lambda w: NEW_WEBHOOK,
            says="Copiez-le maintenant",
            done=lambda w: w.home.webhook_subscriptions.filter(description="Logiciel rSa").exists(),
            name="create",
        ),
    ],
    "webhook-change": [
        Visit("admin", "GET", HOME_WEBHOOK, says="Modifier l'abonnement"),
        Visit(
            "admin",
            "POST",
            HOME_WEBHOOK,
            data=lambda w: {**NEW_WEBHOOK, "description": "Logiciel rSa v2"},
            status=302,
            says="/organisation/webhooks/",
            done=lambda w: _webhook_row(w).description == "Logiciel rSa v2",
            name="change",
        ),
    ],
    "webhook-rotate": [
        Visit(
            "admin",
            "POST",
            HOME_WEBHOOK,
            says="L'ancien secret signe encore les messages",
            done=lambda w: _webhook_row(w).previous_secret_until is not None,
        )
    ],
    "webhook-disable": [
        # Without the DSFR's JavaScript: the confirmation first, nothing disabled.
        Visit("admin", "POST", HOME_WEBHOOK, says="Désactiver cet abonnement", name="unconfirmed"),
        Visit(
            "admin",
            "POST",
            HOME_WEBHOOK,
            data=lambda w: {"confirm": "1"},
            status=302,
            says="/organisation/webhooks/",
            done=lambda w: _webhook_row(w).disabled_at is not None,
        ),
    ],
    "webhook-deliveries": [
        Visit(
            "admin",
            "GET",
            lambda w: {"pk": _delivery_of(w).subscription_id},
            says="Journal des envois",
        )
    ],
    "webhook-replay": [
        Visit(
            "admin",
            "POST",
            HOME_DELIVERY,
            status=302,
            says="/organisation/webhooks/",
            done=lambda w: (
                _delivery_of(w).__class__.objects.get(pk=_delivery_of(w).pk).status == "pending"
            ),
        )
    ],
}
DENY |= {
    "webhooks": [
        Visit("me", "GET", status=403, says=WEBHOOKS_ADMINISTRATORS_ONLY),
        Visit(
            "me", "POST", data=lambda w: NEW_WEBHOOK, status=403, says=WEBHOOKS_ADMINISTRATORS_ONLY
        ),
    ],
    "webhook-change": [
        Visit("me", "GET", HOME_WEBHOOK, status=403, says=WEBHOOKS_ADMINISTRATORS_ONLY),
        Visit(
            "me",
            "POST",
            HOME_WEBHOOK,
            data=lambda w: NEW_WEBHOOK,
            status=403,
            says=WEBHOOKS_ADMINISTRATORS_ONLY,
        ),
        Visit("admin", "GET", FOREIGN_WEBHOOK, status=404, says=NOT_FOUND, name="foreign"),
        Visit(
            "admin",
            "POST",
            FOREIGN_WEBHOOK,
            data=lambda w: NEW_WEBHOOK,
            status=404,
            says=NOT_FOUND,
            name="foreign-post",
        ),
    ],
    "webhook-rotate": [
        Visit("me", "POST", HOME_WEBHOOK, status=403, says=WEBHOOKS_ADMINISTRATORS_ONLY),
        Visit("admin", "POST", FOREIGN_WEBHOOK, status=404, says=NOT_FOUND, name="foreign"),
    ],
    "webhook-disable": [
        Visit(
            "me",
            "POST",
            HOME_WEBHOOK,
            data=lambda w: {"confirm": "1"},
            status=403,
            says=WEBHOOKS_ADMINISTRATORS_ONLY,
        ),
        Visit(
            "admin",
            "POST",
            FOREIGN_WEBHOOK,
            data=lambda w: {"confirm": "1"},
            status=404,
            says=NOT_FOUND,
            name="foreign",
        ),
    ],
    "webhook-deliveries": [
        Visit("me", "GET", HOME_WEBHOOK, status=403, says=WEBHOOKS_ADMINISTRATORS_ONLY),
        Visit("admin", "GET", FOREIGN_WEBHOOK, status=404, says=NOT_FOUND, name="foreign"),
    ],
    "webhook-replay": [
        Visit("me", "POST", HOME_DELIVERY, status=403, says=REPLAY_ADMINISTRATORS_ONLY),
        Visit("admin", "POST", FOREIGN_DELIVERY, status=404, says=NOT_FOUND, name="foreign"),
    ],
}

# The managers' dashboard (issue 18): figures without people, nothing journaled (no record is
# read); a case worker is refused by the gate's table (statistics.read).
MANAGERS_ONLY = (
    "Le tableau de bord est réservé aux responsables de structure et aux coordinateurs "
    "territoriaux."
)
ALLOW |= {
    "statistics": [
        Visit("manager", "GET", says="<h1>Tableau de bord</h1>"),
        Visit("coordinator", "GET", says="votre territoire", name="coordinator"),
    ],
    # The coordinator's overdue referrals: organisations and delays, journaled, no person.
    "territory-overdue": [
        Visit(
            "coordinator",
            "GET",
            says="<h1>Orientations en retard</h1>",
            # The referrals listed, for the DPO: a report of the territory, its gate action.
            journal=(
                Row(
                    "report", "territory", lambda w: None, (), lambda w: "", None, "territory.read"
                ),
            ),
        ),
    ],
}
COORDINATORS_ONLY = "Le suivi du territoire est réservé aux coordinateurs territoriaux."
DENY |= {
    "statistics": [
        Visit("me", "GET", status=403, says=MANAGERS_ONLY),
        Visit("dpo", "GET", status=403, says=MANAGERS_ONLY, name="dpo"),
    ],
    "territory-overdue": [
        Visit("manager", "GET", status=403, says=COORDINATORS_ONLY),
        Visit("me", "GET", status=403, says=COORDINATORS_ONLY, name="counsellor"),
    ],
}


# The agreement indicators (issue 18): aggregates, nothing journaled; a case worker is refused by
# the gate's table, a non-party's manager finds nothing (404).
INDICATORS_READERS = "réservés aux responsables et administrateurs des signataires"
INDICATORS_SIGNATORIES = "Seuls les responsables et administrateurs des signataires"
AGREEMENT = lambda w: {"pk": w.agreement().pk}  # noqa: E731
FOREIGN_AGREEMENT = lambda w: {"pk": w.foreign_agreement().pk}  # noqa: E731
ANNEXED = {"annexe_show_rate": "on", "cible_show_rate": "70", "periode_show_rate": "yearly"}
ALLOW |= {
    "agreement-indicators": [
        Visit("manager", "GET", AGREEMENT, says="<h1>Indicateurs de la convention</h1>"),
        Visit("admin", "GET", AGREEMENT, says="Personnes en emploi ou en formation", name="admin"),
    ],
    "agreement-indicators-edit": [
        Visit("manager", "GET", AGREEMENT, says="Choisir les indicateurs de la convention"),
        Visit(
            "manager",
            "POST",
            AGREEMENT,
            data=lambda w: ANNEXED,
            status=302,
            says="/conventions/",
            done=lambda w: (
                list(w.agreement().indicators.values_list("code", flat=True)) == ["show_rate"]
            ),
        ),
    ],
}
DENY |= {
    "agreement-indicators": [
        Visit("me", "GET", AGREEMENT, status=403, says=INDICATORS_READERS),
        Visit("dpo", "GET", AGREEMENT, status=403, says=INDICATORS_READERS, name="dpo"),
        Visit("manager", "GET", FOREIGN_AGREEMENT, status=404, says=NOT_FOUND, name="foreign"),
    ],
    "agreement-indicators-edit": [
        Visit("me", "GET", AGREEMENT, status=403, says=INDICATORS_SIGNATORIES),
        Visit(
            "me",
            "POST",
            AGREEMENT,
            data=lambda w: ANNEXED,
            status=403,
            says=INDICATORS_SIGNATORIES,
            name="counsellor-post",
        ),
        Visit(
            "manager",
            "POST",
            FOREIGN_AGREEMENT,
            data=lambda w: ANNEXED,
            status=404,
            says=NOT_FOUND,
            name="foreign",
        ),
    ],
}


# --- the case committee (CLCVP): the coordinator of France Travail's employment area runs a
# session; `me` proposed Léa's pathway (France Travail's `legal:spe` is the basis); the SIAE is
# invited. Made when a visit needs it (the world's other pages are untouched).


def _committee_world(w: World, *, scheduled: bool = False) -> dict:
    """The coordinator (`w.coordinator`), `me`'s proposal (`w.proposal`), the planned session
    (`w.session`), the proposal on its agenda when `scheduled`; idempotent (a refused visit
    calls its kwargs twice)."""
    from parcours.actor import Actor
    from parcours.services import committee as committee_services

    if not hasattr(w, "session"):
        council = OrganisationFactory(
            departement_council=True, employment_area=w.home.employment_area
        )
        membership = MembershipFactory(organisation=council, role=Role.COORDINATOR)
        membership.employment_areas.set([w.home.employment_area])
        w.coordinator = membership.user
        w.coordinator_actor = Actor(
            user=membership.user, organisation=council, role=Role.COORDINATOR
        )
        me = Actor(user=w.me, organisation=w.home, role=Role.COUNSELLOR)
        w.proposal = committee_services.committee_propose(
            actor=me,
            pathway_id=w.pathway.pk,
            reason="Parcours à l'arrêt",
            question="Qui peut proposer une immersion ?",
            summary="Sans véhicule.",
            basis_kind="legal",
            legal_basis="legal:spe",
        )
        w.session = committee_services.committee_create(
            actor=w.coordinator_actor,
            employment_area_id=w.home.employment_area_id,
            meets_at=timezone.now() + dt.timedelta(days=5),
            place="Maison de l'emploi",
            attendee_ids=[w.siae.pk],
        )
    if scheduled and w.proposal.committee_id is None:
        committee_services.committee_schedule(
            actor=w.coordinator_actor, proposal_id=w.proposal.pk, committee_id=w.session.pk
        )
        w.proposal.refresh_from_db()
    return {}


SESSION = lambda w: (_committee_world(w), {"pk": w.session.pk})[1]  # noqa: E731
PROPOSAL = lambda w: (_committee_world(w), {"pk": w.proposal.pk})[1]  # noqa: E731
ON_AGENDA = lambda w: (_committee_world(w, scheduled=True), {"pk": w.proposal.pk})[1]  # noqa: E731
COMMITTEE = "Examen en comité de parcours"
COORDINATORS_ONLY = "Seuls les coordinateurs territoriaux"


def _committee_row(action: str, operation=write) -> Row:
    return operation(
        "committee_proposal",
        lambda w: w.proposal.pk,
        ("pathway",),
        lambda w: "legal:spe",
        COMMITTEE,
        action,
    )


def _committee_refused(object_type: str, object_id, action: str, purpose: str = "") -> Row:
    return refused(object_type, object_id, action, purpose=purpose)


ALLOW |= {
    "committees": [
        Visit("coordinator", "GET", lambda w: _committee_world(w), says="Prévoir un comité"),
        Visit("me", "GET", lambda w: _committee_world(w), says="CLCVP-", name="proposer"),
    ],
    "committee-create": [
        Visit("coordinator", "GET", lambda w: _committee_world(w), says="Prévoir le comité"),
        Visit(
            "coordinator",
            "POST",
            lambda w: _committee_world(w),
            data=lambda w: {
                "employment_area": w.home.employment_area_id,
                "meets_at": _soon(),
                "place": "Visio",
            },
            status=302,
            says="/comites/",
            done=lambda w: w.home.employment_area.committees.count() == 2,
            name="create",
        ),
    ],
    "committee-detail": [
        Visit("coordinator", "GET", SESSION, says="Inscrire à l'ordre du jour"),
        Visit("receiver", "GET", SESSION, says="Ordre du jour", name="attendee"),
        Visit(
            "coordinator",
            "POST",
            SESSION,
            data=lambda w: {"proposal": w.proposal.pk},
            status=302,
            says="/comites/",
            journal=(_committee_row("committee.schedule"),),
            done=lambda w: w.session.agenda.filter(pk=w.proposal.pk).exists(),
            name="schedule",
        ),
    ],
    "committee-cancel": [
        Visit(
            "coordinator",
            "POST",
            SESSION,
            status=302,
            says="/comites/",
            done=lambda w: w.home.employment_area.committees.get().status == "cancelled",
        )
    ],
    "committee-proposal": [
        Visit(
            "me",
            "GET",
            PROPOSAL,
            says="Qui peut proposer une immersion ?",
            journal=(_committee_row("committee.read_item", read),),
        ),
        Visit(
            "coordinator",
            "GET",
            PROPOSAL,
            says="Base légale : Mission de service public de l",
            journal=(_committee_row("committee.read_item", read),),
            name="coordinator",
        ),
    ],
    "committee-proposal-move": [
        Visit("coordinator", "POST", ON_AGENDA, data=lambda w: {"offset": "1"}, status=302)
    ],
    "committee-proposal-decline": [
        Visit("coordinator", "GET", PROPOSAL, says="Ne pas retenir"),
        Visit(
            "coordinator",
            "POST",
            PROPOSAL,
            data=lambda w: {"reason": "Relève de l'équipe pluridisciplinaire rSa."},
            status=302,
            says="/comites/",
            journal=(_committee_row("committee.schedule"),),
            done=lambda w: type(w.proposal).objects.get(pk=w.proposal.pk).status == "declined",
            name="decline",
        ),
    ],
    "committee-proposal-decide": [
        Visit("coordinator", "GET", ON_AGENDA, says="Enregistrer la décision"),
        Visit(
            "coordinator",
            "POST",
            ON_AGENDA,
            data=lambda w: {"decision": "Le parcours continue.", "outcome": "no_follow_up"},
            status=302,
            says="/comites/",
            journal=(_committee_row("committee.decide"),),
            done=lambda w: type(w.proposal).objects.get(pk=w.proposal.pk).status == "decided",
            name="decide",
        ),
    ],
    "committee-propose": [
        Visit("me", "GET", PATHWAY, says="Proposer au comité", journal=(READ_PATHWAY,)),
        Visit(
            "me",
            "POST",
            PATHWAY,
            data=lambda w: {
                "reason": "Parcours à l'arrêt",
                "question": "Qui peut aider ?",
                "summary": "Résumé pour le comité.",
                "basis": "legal:spe",
            },
            status=302,
            says="/personnes/",
            journal=(
                write(
                    "committee_proposal",
                    None,
                    ("pathway",),
                    lambda w: "legal:spe",
                    COMMITTEE,
                    "committee.propose",
                ),
            ),
            done=lambda w: w.pathway.committee_proposals.count() == 1,
            name="propose",
        ),
    ],
}
DENY |= {
    "committees": [
        Visit("dpo", "GET", status=403, says="Les comités de parcours réunissent"),
    ],
    "committee-create": [
        Visit("me", "GET", status=403, says=COORDINATORS_ONLY),
        Visit(
            "me",
            "POST",
            data=lambda w: {"employment_area": w.home.employment_area_id, "place": "x"},
            status=403,
            says=COORDINATORS_ONLY,
            name="post",
        ),
    ],
    "committee-detail": [
        Visit(
            "stranger",
            "GET",
            SESSION,
            status=404,
            says=NOT_FOUND,
            journal=(_committee_refused("committee", lambda w: w.session.pk, "committee.list"),),
        ),
        Visit(
            "receiver",
            "POST",
            SESSION,
            data=lambda w: {"proposal": w.proposal.pk},
            status=403,
            says=COORDINATORS_ONLY,
            name="attendee-post",
        ),
    ],
    "committee-cancel": [
        Visit(
            "receiver",
            "POST",
            SESSION,
            status=403,
            says=COORDINATORS_ONLY,
            journal=(
                _committee_refused(
                    "committee", lambda w: w.session.pk, "committee.schedule", COMMITTEE
                ),
            ),
        ),
        Visit(
            "stranger",
            "POST",
            SESSION,
            status=404,
            says=NOT_FOUND,
            journal=(
                _committee_refused("committee", lambda w: w.session.pk, "committee.schedule"),
            ),
            name="stranger",
        ),
    ],
    "committee-proposal": [
        Visit(
            "stranger",
            "GET",
            PROPOSAL,
            status=404,
            says=NOT_FOUND,
            journal=(
                _committee_refused(
                    "committee_proposal", lambda w: w.proposal.pk, "committee.read_item"
                ),
            ),
        ),
    ],
    "committee-proposal-move": [
        Visit(
            "me",
            "POST",
            ON_AGENDA,
            data=lambda w: {"offset": "1"},
            status=403,
            says=COORDINATORS_ONLY,
            journal=(
                _committee_refused(
                    "committee_proposal", lambda w: w.proposal.pk, "committee.schedule", COMMITTEE
                ),
            ),
        ),
        Visit(
            "stranger",
            "POST",
            ON_AGENDA,
            data=lambda w: {"offset": "1"},
            status=404,
            says=NOT_FOUND,
            journal=(
                _committee_refused(
                    "committee_proposal", lambda w: w.proposal.pk, "committee.schedule"
                ),
            ),
            name="stranger",
        ),
    ],
    "committee-proposal-decline": [
        Visit(
            "me",
            "GET",
            PROPOSAL,
            status=403,
            says=COORDINATORS_ONLY,
            journal=(
                _committee_refused(
                    "committee_proposal", lambda w: w.proposal.pk, "committee.schedule", COMMITTEE
                ),
            ),
        ),
        Visit(
            "stranger",
            "POST",
            PROPOSAL,
            data=lambda w: {"reason": "Non."},
            status=404,
            says=NOT_FOUND,
            journal=(
                _committee_refused(
                    "committee_proposal", lambda w: w.proposal.pk, "committee.schedule"
                ),
            ),
            name="stranger",
        ),
    ],
    "committee-proposal-decide": [
        Visit(
            "me",
            "GET",
            ON_AGENDA,
            status=403,
            says=COORDINATORS_ONLY,
            journal=(
                _committee_refused(
                    "committee_proposal", lambda w: w.proposal.pk, "committee.decide", COMMITTEE
                ),
            ),
        ),
        Visit(
            "receiver",
            "POST",
            ON_AGENDA,
            data=lambda w: {"decision": "Sans suite.", "outcome": "no_follow_up"},
            status=403,
            says=COORDINATORS_ONLY,
            journal=(
                _committee_refused(
                    "committee_proposal", lambda w: w.proposal.pk, "committee.decide", COMMITTEE
                ),
            ),
            name="attendee",
        ),
        Visit(
            "stranger",
            "GET",
            ON_AGENDA,
            status=404,
            says=NOT_FOUND,
            journal=(
                _committee_refused(
                    "committee_proposal", lambda w: w.proposal.pk, "committee.decide"
                ),
            ),
            name="stranger",
        ),
    ],
    "committee-propose": [
        Visit(
            "manager",
            "GET",
            PATHWAY,
            status=403,
            says="Seuls les conseillers et travailleurs sociaux proposent",
            journal=(
                refused("pathway", lambda w: w.pathway.pk, "committee.propose", purpose=OWNER),
            ),
        ),
        Visit(
            "stranger",
            "POST",
            PATHWAY,
            data=lambda w: {"reason": "r", "question": "q", "summary": "s", "basis": "legal:spe"},
            status=404,
            says=NOT_FOUND,
            journal=(refused("pathway", lambda w: w.pathway.pk, "committee.propose"),),
            name="stranger",
        ),
    ],
}


# --- the link of a receiver without an account (issue 19): the CCAS answers through it, without
# signing in; France Travail, its sender, revokes it or sends a new one ----------------------------
LINK = lambda w: w.link_kwargs()  # noqa: E731
LINK_ACCEPT = lambda w: {**w.link_kwargs(), "action": "accept"}  # noqa: E731
CCAS_REFERRAL = lambda w: {"pk": w.ccas_link().referral_id, "what": "revoquer"}  # noqa: E731


def _link_refused(reason: str, referral) -> Row:
    return Row("denied", "referral", referral, (), lambda w: "", "", "referral.read", reason)


ALLOW |= {
    "receiver-link": [
        Visit(
            "anonymous",
            "GET",
            LINK,
            says="demandez-en un",
            journal=(
                read(
                    "referral",
                    lambda w: w.ccas_link().referral_id,
                    ("identity", "pathway"),
                    lambda w: w.link_bases,
                    RECEIVER,
                    "referral.read",
                ),
            ),
        ),
        Visit(  # a signed-in user opening the link acts as the link, not as themselves
            "me",
            "GET",
            LINK,
            says="Page réservée à CCAS de Liévin",
            journal=(
                read(
                    "referral",
                    lambda w: w.ccas_link().referral_id,
                    ("identity", "pathway"),
                    lambda w: w.link_bases,
                    RECEIVER,
                    "referral.read",
                ),
            ),
            name="signed-in",
        ),
    ],
    "receiver-link-move": [
        Visit(
            "anonymous",
            "POST",
            LINK_ACCEPT,
            status=302,
            says="/lien/",
            journal=(
                write(
                    "referral",
                    lambda w: w.ccas_link().referral_id,
                    ("pathway",),
                    lambda w: w.on_ccas_referral(link_actor(w.ccas_link())),
                    RECEIVER,
                    "referral.accept",
                ),
            ),
            done=lambda w: Referral.objects.get(pk=w.ccas_link().referral_id).status == "accepted",
        ),
    ],
    "referral-receiver-link": [
        Visit(
            "me",
            "POST",
            CCAS_REFERRAL,
            status=302,
            says="/orientations/",
            journal=(
                write(
                    "referral",
                    lambda w: w.ccas_link().referral_id,
                    ("pathway",),
                    lambda w: w.home_on_ccas_referral,
                    OWNER,
                    "receiver_link.revoke",
                ),
            ),
            done=lambda w: ReceiverLink.objects.get(pk=w.ccas_link().pk).revoked_at is not None,
        ),
    ],
}
DENY |= {
    "receiver-link": [
        Visit(
            "anonymous",
            "GET",
            lambda w: w.link_kwargs(token=w.link_kwargs()["token"][:-2] + "zz"),
            status=404,
            says="Ce lien n&#x27;est pas valide",
            name="forged",
        ),
        Visit(  # the link on another referral's URL: refused, journaled with the link
            "anonymous",
            "GET",
            lambda w: w.link_kwargs(referral_pk=w.outgoing.pk),
            status=404,
            says="Ce lien ne sert que pour l&#x27;orientation",
            journal=(_link_refused("receiver_link_other_referral", lambda w: w.outgoing.pk),),
            name="other-referral",
        ),
    ],
    "receiver-link-move": [
        Visit(  # a move the link may not make: the gate's table, journaled
            "anonymous",
            "POST",
            lambda w: {**w.link_kwargs(), "action": "withdraw"},
            status=403,
            says="Action impossible",
            journal=(
                Row(
                    "denied",
                    "referral",
                    lambda w: w.ccas_link().referral_id,
                    (),
                    lambda w: "",
                    RECEIVER,  # the receiver of this referral, refused the sender's move
                    "referral.withdraw",
                    "not_allowed",
                ),
            ),
            name="withdraw",
        ),
        Visit(
            "anonymous",
            "POST",
            lambda w: {**w.link_kwargs(referral_pk=w.outgoing.pk), "action": "accept"},
            status=404,
            journal=(_link_refused("receiver_link_other_referral", lambda w: w.outgoing.pk),),
            name="other-referral",
        ),
    ],
    "referral-receiver-link": [
        Visit(  # the SIAE sees Léa's pathway (its own referral): not the sender of this one
            "receiver",
            "POST",
            CCAS_REFERRAL,
            status=403,
            says="Seul l&#x27;organisme prescripteur révoque",
            journal=(  # no relation to this referral: the refusal has no purpose
                Row(
                    "denied",
                    "referral",
                    lambda w: w.ccas_link().referral_id,
                    (),
                    lambda w: "",
                    "",
                    "receiver_link.revoke",
                    "not_allowed",
                ),
            ),
            name="receiver",
        ),
        Visit(
            "stranger",
            "POST",
            CCAS_REFERRAL,
            status=404,
            says=NOT_FOUND,
            journal=(
                refused("referral", lambda w: w.ccas_link().referral_id, "receiver_link.revoke"),
            ),
            name="out-of-scope",
        ),
        Visit("anonymous", "POST", CCAS_REFERRAL, status=302, says="/connexion/"),
    ],
}


# --- running a visit -------------------------------------------------------------------------


def _web_names() -> set[str]:
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace == "web":
            return {p.name for p in entry.url_patterns if isinstance(p, URLPattern)}
    raise AssertionError("no `web` namespace in the resolver")


def _client(world: World, who: str) -> Client:
    client = Client()
    user = getattr(world, who)
    if user is not None:
        client.force_login(user, second_factor=who not in UNVERIFIED)
    return client


def state(world: World) -> dict:
    """What a page may change: compared before and after a refused visit."""
    return {
        "persons": list(Person.objects.order_by("pk").values()),
        "consents": list(
            Consent.objects.order_by("pk").values("pk", "categories", "revoked_at", "ends_on")
        ),
        "consent organisations": list(
            Consent.organisations.through.objects.order_by("pk").values_list(
                "consent_id", "organisation_id"
            )
        ),
        "referrals": list(Referral.objects.order_by("pk").values("pk", "status", "updated_at")),
        "pathways": list(
            Pathway.objects.order_by("pk").values("pk", "status", "modality", "referent_id")
        ),
        "pathway events": list(PathwayEvent.objects.values_list("pk", flat=True)),
        "break-glasses": list(BreakGlass.objects.values_list("pk", flat=True)),
        "alerts": list(Alert.objects.order_by("pk").values("pk", "acknowledged_by", "state")),
        "answers": list(AnswerNotice.objects.order_by("pk").values("pk", "seen_at")),
        "rights requests": list(RightsRequest.objects.order_by("pk").values("pk", "status")),
        "access requests": list(AccessRequest.objects.order_by("pk").values("pk", "status")),
        "objections": list(Objection.objects.order_by("pk").values("pk", "withdrawn_at")),
        "care team": list(CareTeamMember.objects.order_by("pk").values("pk", "ended_at")),
        "diagnostic versions": list(DiagnosticEntry.objects.values_list("pk", flat=True)),
        "referral messages": list(ReferralMessage.objects.values_list("pk", flat=True)),
        "committees": list(Committee.objects.order_by("pk").values("pk", "status")),
        "committee proposals": list(
            CommitteeProposal.objects.order_by("pk").values("pk", "status", "position")
        ),
        "objectives": list(Objective.objects.order_by("pk").values("pk", "status")),
        "plan actions": list(PlanAction.objects.order_by("pk").values("pk", "status", "due_on")),
        "passwords": list(type(world.me).objects.order_by("pk").values_list("pk", "password")),
        "second factors": list(
            TOTPDevice.objects.filter(confirmed=True).order_by("pk").values_list("pk", "user_id")
        ),
        "recovery codes": list(StaticToken.objects.order_by("pk").values_list("pk", flat=True)),
        "api tokens": list(
            ApiToken.objects.order_by("pk").values("pk", "revoked_at", "expires_at")
        ),
    }


def _visit(world: World, name: str, visit: Visit):
    url = reverse(f"web:{name}", kwargs=visit.kwargs(world))
    client = _client(world, visit.who)
    data = visit.data(world) if visit.data else {}
    before = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = client.post(url, data) if visit.method == "POST" else client.get(url)
    rows = list(AccessEvent.objects.filter(id__gt=before).order_by("id"))
    return response, rows


def _check(world: World, visit: Visit, response, rows) -> list[str]:
    failures = []
    if response.status_code != visit.status:
        failures.append(f"status {response.status_code}, expected {visit.status}")
    if visit.says is not None:
        if response.status_code == 302:
            if not response.url.startswith(visit.says):
                failures.append(f"redirected to {response.url}, expected {visit.says}…")
        elif visit.says not in response.content.decode():
            failures.append(f"{visit.says!r} not in the page")
    html = "html" in response.get("Content-Type", "")
    if response.status_code != 302 and html and b'lang="fr"' not in response.content:
        failures.append("not a French page")
    if [r.operation for r in rows] != [e.operation for e in visit.journal]:
        failures.append(
            f"journal {[(r.operation, r.object_type, r.object_id) for r in rows]}, "
            f"expected {[(e.operation, e.object_type) for e in visit.journal]}"
        )
        return failures
    for row, expected in zip(rows, visit.journal, strict=True):
        failures += [f"{expected.operation} row: {f}" for f in _check_row(world, row, expected)]
    return failures


def _check_row(world: World, row: AccessEvent, expected: Row) -> list[str]:
    failures = []
    if row.detail.get("door") != "page":
        failures.append(f"door {row.detail.get('door')!r}")
    if row.object_type != expected.object_type:
        failures.append(f"object type {row.object_type}")
    if expected.list_of is not None:
        if row.object_ids != expected.list_of(world) or row.object_id is not None:
            failures.append(f"listed {row.object_ids}, expected {expected.list_of(world)}")
    elif expected.object_id is not None:
        if row.object_id != expected.object_id(world):
            failures.append(f"object {row.object_id}, expected {expected.object_id(world)}")
    elif row.object_id is None:  # a record the visit created
        failures.append("no object")
    if row.categories != sorted(expected.categories):
        failures.append(f"categories {row.categories}, expected {sorted(expected.categories)}")
    if row.basis != expected.basis(world):
        failures.append(f"basis {row.basis!r}, expected {expected.basis(world)!r}")
    if expected.purpose is None:
        if not row.purpose:
            failures.append("no purpose")
    elif row.purpose != expected.purpose:
        failures.append(f"purpose {row.purpose!r}, expected {expected.purpose!r}")
    if row.detail.get("action") != expected.action:
        failures.append(f"action {row.detail.get('action')!r}, expected {expected.action!r}")
    if row.detail.get("refusal") != expected.refusal:
        failures.append(f"refusal {row.detail.get('refusal')!r}, expected {expected.refusal!r}")
    # A receiver's link acts without a user (issue 19): the row names the link instead.
    if (
        expected.operation not in ("report", "export")
        and row.user_id is None
        and not row.detail.get("receiver_link")
    ):
        failures.append("no user")
    return failures


def _cases(table: dict[str, list[Visit]]):
    return [
        pytest.param(name, visit, id=f"{name}:{visit}") for name, v in table.items() for visit in v
    ]


# --- the tests ---------------------------------------------------------------------------------


def test_every_page_has_an_allow_and_a_deny():
    """A new page without its rows fails here; so does a row for a page that is gone."""
    from ..person_space.test_franceconnect import FRANCECONNECT_PAGES
    from ..person_space.test_pages import PERSON_SPACE_PAGES
    from .test_dpo_pages import DPO_PAGES
    from .test_pages import PAGES
    from .test_proconnect import PROCONNECT_PAGES

    # ProConnect's pages have their allow and deny rows against a real provider, in
    # tests/web/test_proconnect.py (this world has none): a known agent's sign-in, a refused one,
    # a replayed or forged callback, a logout return with a state not ours. The person's own
    # space has its rows in tests/person_space/test_pages.py (this world has no signed-in person).
    names = _web_names() - PROCONNECT_PAGES - PERSON_SPACE_PAGES - FRANCECONNECT_PAGES
    assert set(ALLOW) == names
    assert set(DENY) <= names
    swept_anonymous = (set(PAGES) - PUBLIC) | set(DPO_PAGES)
    swept_without_membership = names - ACCOUNT_PAGES
    # The footer's public pages have nothing to deny (anyone reads them).
    without_deny = names - set(DENY) - swept_anonymous - swept_without_membership - INFORMATION
    assert without_deny == set()
    # Every record in a URL has its out-of-scope case (404), here or in test_pages' sweep.
    with_record = {n for n in names if any(c in str(_pattern(n)) for c in ("<int:", "<str:"))}
    out_of_scope = {n for n, (_m, _o, foreign, _d) in {**PAGES, **DPO_PAGES}.items() if foreign}
    out_of_scope |= {n for n, visits in DENY.items() if any(v.status == 404 for v in visits)}
    assert with_record - out_of_scope == set()


def _pattern(name: str):
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace == "web":
            for p in entry.url_patterns:
                if isinstance(p, URLPattern) and p.name == name:
                    return p.pattern
    raise KeyError(name)


@pytest.mark.parametrize(("name", "visit"), _cases(ALLOW))
def test_allowed(name, visit, world):
    response, rows = _visit(world, name, visit)
    failures = _check(world, visit, response, rows)
    if visit.done is not None and not visit.done(world):
        failures.append("the write was not made")
    assert not failures, f"{name} ({visit}):\n" + "\n".join(failures)


@pytest.mark.parametrize(("name", "visit"), _cases(DENY))
def test_refused(name, visit, world):
    visit.kwargs(world)  # records a visit names on demand (an objection) exist before the snapshot
    before = state(world)
    response, rows = _visit(world, name, visit)
    failures = _check(world, visit, response, rows)
    if state(world) != before:
        failures.append("the refused visit changed the data")
    assert not failures, f"{name} ({visit}):\n" + "\n".join(failures)


@pytest.mark.parametrize("name", sorted(set(ALLOW) - ACCOUNT_PAGES))
def test_a_user_without_membership_gets_the_403_page(name, world):
    """Every member page, with the allowed visit's URL and data (writes change nothing)."""
    visit = ALLOW[name][-1]
    visit.kwargs(world)  # as in test_refused
    before = state(world)
    response, rows = _visit(
        world, name, Visit("nobody", visit.method, visit.kwargs, visit.data, 403, NO_MEMBERSHIP)
    )
    assert response.status_code == 403
    assert NO_MEMBERSHIP in response.content.decode()
    assert rows == []
    assert state(world) == before


def test_the_break_glass_opens_on_the_pathway_the_organisation_works_with(world):
    """The person's newest pathway may be another organisation's: the exceptional access is
    opened on the pathway the acting organisation holds, not refused as out of scope."""
    now = timezone.now()
    person = PathwayFactory(
        owner_organisation=world.home,
        opened_at=now - dt.timedelta(days=400),
        status="closed",
        closed_at=now - dt.timedelta(days=30),
        outcome="job",
    ).person
    PathwayFactory(person=person, owner_organisation=world.elsewhere, opened_at=now)
    client = _client(world, "me")
    assert client.get(reverse("web:person-detail", args=[person.pk])).status_code == 200
    response = client.post(reverse("web:break-glass", args=[person.pk]), BREAK_GLASS)
    assert response.status_code == 302
    grant = BreakGlass.objects.get(user=world.me)
    assert grant.pathway.owner_organisation == world.home


def test_visiting_the_break_glass_address_opens_nothing_and_says_nothing(world):
    client = _client(world, "receiver")
    response = client.get(reverse("web:break-glass", args=[world.person.pk]))
    assert response.status_code == 302
    assert response.url == reverse("web:person-detail", args=[world.person.pk])
    page = client.get(response.url).content.decode()
    assert "Accès exceptionnel refusé" not in page
    assert not BreakGlass.objects.exists()


def test_a_manager_may_not_orient_and_does_not_read_the_persons_name(world):
    """A referral names the person: only case workers, who see identity, orient (the gate's
    table); a manager gets the 403 page — without the person's name — and the refusal is
    journaled."""
    before = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = _client(world, "manager").get(
        reverse("web:referral-create", args=[world.pathway.pk])
    )
    page = response.content.decode()
    assert response.status_code == 403
    assert "Martin" not in page and "Léa" not in page
    (refusal,) = AccessEvent.objects.filter(id__gt=before)
    assert (refusal.operation, refusal.object_id) == ("denied", world.pathway.pk)
