"""Property tests (hypothesis) of consent-scoped access.

* Granting (recording a consent) never removes anyone's visibility, and never exposes a category
  that is not covered for that organisation: what an organisation sees is exactly
  (its legal bases ∪ the minimum of its open referrals ∪ the consents naming it) ∩ its
  relationship's cap — so health and justice only ever through consent.
* Revoking or narrowing a consent, or the person objecting, never widens anyone's visibility.

The expected view is computed here from the rules (docs/access-control.md), not from the code
under test. Each example runs in a savepoint rolled back at its end.
"""

from dataclasses import dataclass, field

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parcours.access import categories_for
from parcours.actor import Actor
from parcours.categories import ALL_CATEGORIES, SENSITIVE_CATEGORIES
from parcours.models import Organisation, Pathway, Role
from parcours.services.consent import (
    consent_narrow,
    consent_record,
    consent_revoke,
    objection_record,
)

from ..factories import (
    CareTeamMemberFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    ReferralFactory,
)

CATEGORIES = sorted(ALL_CATEGORIES)
ALL = frozenset(ALL_CATEGORIES)
# name → (kind, categories covered without consent for this person — legal bases, and the
# identity and pathway that an open referral leaves its parties (ADR 0010) —, relationship cap;
# None: no relationship)
ORGS: dict[str, tuple[str, frozenset[str], frozenset[str] | None]] = {
    "owner": ("association", frozenset({"identity", "contact", "pathway", "social"}), ALL),
    "receiver": (
        "siae",
        frozenset({"identity", "pathway"}),  # referral:<id> only
        frozenset({"identity", "pathway", "social"}),
    ),
    "france_travail": (
        "france_travail",
        frozenset({"identity", "contact", "pathway"}),  # legal:spe
        frozenset({"identity", "pathway", "contact"}),
    ),
    "care": ("ccas", frozenset(), ALL),
    "stranger": ("plie", frozenset(), None),
}
NAMES = sorted(ORGS)


@dataclass
class PropertyWorld:
    pathway: Pathway
    owner_counsellor: Actor
    orgs: dict[str, Organisation]
    actors: dict[str, Actor]


@dataclass
class ModelConsent:
    """The test's own bookkeeping of a consent (what the person said)."""

    pk: int
    orgs: set[str]
    kinds: set[str]
    categories: set[str]
    active: bool = True
    narrowed: list[str] = field(default_factory=list)


@pytest.fixture
def property_world(db) -> PropertyWorld:
    orgs = {
        name: OrganisationFactory(kind=kind, siae_kind="ACI" if kind == "siae" else "")
        for name, (kind, _legal, _cap) in ORGS.items()
    }
    pathway = PathwayFactory(owner_organisation=orgs["owner"])
    for name, shared in (("receiver", ["social"]), ("france_travail", ["contact"])):
        ReferralFactory(
            pathway=pathway,
            receiver_organisation=orgs[name],
            shared_categories=shared,
            with_consent=False,
            sent=True,
        )
    CareTeamMemberFactory(pathway=pathway, organisation=orgs["care"])
    actors = {}
    for name, organisation in orgs.items():
        membership = MembershipFactory(organisation=organisation, role=Role.COUNSELLOR)
        actors[name] = Actor(user=membership.user, organisation=organisation, role=Role.COUNSELLOR)
    return PropertyWorld(
        pathway=pathway, owner_counsellor=actors["owner"], orgs=orgs, actors=actors
    )


def _visible(w: PropertyWorld) -> dict[str, frozenset[str]]:
    return {
        name: categories_for(actor, [w.pathway.pk])[w.pathway.pk]
        for name, actor in w.actors.items()
    }


def _consented(name: str, consents: list[ModelConsent], objection: bool) -> set[str]:
    if objection:
        return set()
    kind = ORGS[name][0]
    return {
        category
        for consent in consents
        if consent.active and (name in consent.orgs or kind in consent.kinds)
        for category in consent.categories
    }


def _allowed(name: str, consents: list[ModelConsent], objection: bool) -> frozenset[str]:
    _kind, legal, cap = ORGS[name]
    if cap is None:
        return frozenset()
    return frozenset((legal | _consented(name, consents, objection)) & cap)


def _check_covered(w, consents, objection, visible) -> None:
    for name, seen in visible.items():
        assert seen <= _allowed(name, consents, objection), (name, seen)
        assert seen & SENSITIVE_CATEGORIES <= _consented(name, consents, objection), name
        assert seen == _allowed(name, consents, objection), (name, seen)


def _never_wider(before, after, what: str) -> None:
    for name in NAMES:
        assert after[name] <= before[name], f"{what} widened {name}: {before[name]} → {after[name]}"


categories_st = st.sets(st.sampled_from(CATEGORIES), min_size=1)
consent_st = st.tuples(
    st.sets(st.sampled_from(NAMES), min_size=1),  # named organisations
    st.sets(st.sampled_from(["siae", "ccas"]), max_size=1),  # kinds covered as a whole
    categories_st,
)
change_st = st.tuples(
    st.sampled_from(["keep", "revoke", "narrow"]), st.randoms(use_true_random=False)
)


class _Rollback(Exception):
    pass


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    granted=st.lists(consent_st, min_size=1, max_size=3),
    changes=st.lists(change_st, min_size=3, max_size=3),
    objects=st.booleans(),
)
def test_consent_changes_never_widen_and_grants_stay_covered(
    property_world, granted, changes, objects
):
    w = property_world
    try:
        with transaction.atomic():
            _run_example(w, granted, changes, objects)
            raise _Rollback
    except _Rollback:
        pass


def _run_example(w: PropertyWorld, granted, changes, objects) -> None:
    consents: list[ModelConsent] = []
    visible = _visible(w)
    _check_covered(w, consents, False, visible)

    # Granting: never removes anything, never exposes an uncovered category.
    for names, kinds, categories in granted:
        consent = consent_record(
            actor=w.owner_counsellor,
            person_id=w.pathway.person_id,
            organisation_ids=[w.orgs[n].pk for n in names],
            organisation_kinds=sorted(kinds),
            categories=sorted(categories),
            purpose="Coordination de l'accompagnement",
            evidence_kind="oral",
        )
        consents.append(ModelConsent(consent.pk, set(names), set(kinds), set(categories)))
        after = _visible(w)
        for name in NAMES:
            assert visible[name] <= after[name], f"granting removed from {name}"
        _check_covered(w, consents, False, after)
        visible = after

    # Revoking or narrowing: never widens.
    for consent, (change, rnd) in zip(consents, changes, strict=False):
        if change == "revoke":
            consent_revoke(actor=w.owner_counsellor, consent_id=consent.pk)
            consent.active = False
        elif change == "narrow":
            categories = set(
                rnd.sample(sorted(consent.categories), rnd.randint(1, len(consent.categories)))
            )
            orgs = set(rnd.sample(sorted(consent.orgs), rnd.randint(1, len(consent.orgs))))
            kinds = set(rnd.sample(sorted(consent.kinds), rnd.randint(0, len(consent.kinds))))
            consent_narrow(
                actor=w.owner_counsellor,
                consent_id=consent.pk,
                categories=sorted(categories),
                organisation_ids=[w.orgs[n].pk for n in orgs],
                organisation_kinds=sorted(kinds),
            )
            consent.categories, consent.orgs, consent.kinds = categories, orgs, kinds
        else:
            continue
        after = _visible(w)
        _never_wider(visible, after, change)
        _check_covered(w, consents, False, after)
        visible = after

    # The person objects: every consent basis goes, nothing widens.
    if objects:
        objection_record(actor=w.owner_counsellor, person_id=w.pathway.person_id)
        after = _visible(w)
        _never_wider(visible, after, "objection")
        _check_covered(w, consents, True, after)
