"""A partnership agreement is a basis for the categories it lists, between its parties — only once
every party accepted its current version (issue 12, finding 2 of "One gate for every door")."""

import datetime as dt
from types import SimpleNamespace

import psycopg
import pytest

from parcours import access
from parcours.errors import Conflict, InvalidInput, NotAllowed
from parcours.models import (
    AGREEMENT_PARTY_MOVES,
    Agreement,
    AgreementAction,
    AgreementParty,
    AgreementPartyStatus,
    PendingRecompute,
    Role,
)
from parcours.services.access_grants import RECOMPUTE_LOCK_KEY, access_recompute_pending
from parcours.services.agreement import (
    agreement_accept,
    agreement_decline,
    agreement_propose,
    agreement_update,
)
from parcours.services.delays import delays_for
from parcours.tasks import access_recompute_owned_by
from tests.factories import (
    AgreementFactory,
    CareTeamMemberFactory,
    OrganisationFactory,
    PathwayFactory,
)
from tests.processes import database_url

pytestmark = pytest.mark.django_db

SHARED = ["identity", "pathway", "social"]


def _propose(actor, parties, **fields):
    return agreement_propose(
        actor=actor,
        party_ids=[o.pk for o in parties],
        name=fields.pop("name", "Convention de coopération"),
        level="local",
        starts_on=fields.pop("starts_on", dt.date(2025, 1, 1)),
        shared_categories=fields.pop("shared_categories", SHARED),
        **fields,
    )


def _status(agreement, organisation) -> str:
    return AgreementParty.objects.get(agreement=agreement, organisation=organisation).status


def _sees(actor, pathway) -> frozenset[str]:
    return access.categories_for(actor, [pathway.pk])[pathway.pk]


@pytest.fixture
def area(make_actor):
    """An SIAE, a Mission locale and a CCAS, each with a manager; the CCAS owns a pathway the
    Mission locale works on (care team) without any basis of its own (the person is over 26)."""
    area = SimpleNamespace(
        siae=make_actor(siae=True, role=Role.MANAGER),
        ml=make_actor(mission_locale=True, role=Role.MANAGER),
        ccas=make_actor(kind="ccas", role=Role.MANAGER),
    )
    area.ml_counsellor = make_actor(organisation=area.ml.organisation)
    area.ccas_pathway = PathwayFactory(owner_organisation=area.ccas.organisation)
    CareTeamMemberFactory(pathway=area.ccas_pathway, organisation=area.ml.organisation)
    area.organisations = [area.siae.organisation, area.ml.organisation, area.ccas.organisation]
    area.recompute = lambda: access_recompute_owned_by([o.pk for o in area.organisations])
    area.recompute()
    assert _sees(area.ml_counsellor, area.ccas_pathway) == frozenset()
    return area


# --- finding 2: a manager can no longer bind other organisations -------------------------------


def test_a_manager_cannot_propose_an_agreement_between_two_other_organisations(area):
    with pytest.raises(InvalidInput) as refused:
        _propose(area.siae, [area.ml.organisation, area.ccas.organisation])
    assert refused.value.message == "Votre organisation doit être signataire de la convention."
    assert not Agreement.objects.exists()


def test_a_proposal_binds_no_one_until_every_party_accepted(
    area, django_capture_on_commit_callbacks
):
    """The SIAE proposes an agreement with the Mission locale and the CCAS: on main, the Mission
    locale saw the CCAS pathway at once. Now only once both accepted."""
    with django_capture_on_commit_callbacks() as callbacks:
        agreement = _propose(area.siae, area.organisations)
    assert callbacks == []  # nobody is bound: nothing to recompute
    assert _status(agreement, area.siae.organisation) == AgreementPartyStatus.ACCEPTED
    assert _status(agreement, area.ml.organisation) == AgreementPartyStatus.PENDING
    assert _status(agreement, area.ccas.organisation) == AgreementPartyStatus.PENDING
    area.recompute()
    assert _sees(area.ml_counsellor, area.ccas_pathway) == frozenset()

    with django_capture_on_commit_callbacks() as callbacks:
        agreement_accept(actor=area.ml, agreement_id=agreement.pk)
    assert callbacks == []  # the CCAS still has to answer
    area.recompute()
    assert _sees(area.ml_counsellor, area.ccas_pathway) == frozenset()

    with django_capture_on_commit_callbacks() as callbacks:
        agreement_accept(actor=area.ccas, agreement_id=agreement.pk)
    assert len(callbacks) == 1  # now it binds: the parties' pathways are recomputed
    area.recompute()
    assert _sees(area.ml_counsellor, area.ccas_pathway) == set(SHARED)
    basis = access.basis_for(area.ml_counsellor, area.ccas_pathway.pk, ["social"])
    assert basis == f"agreement:{agreement.pk}"


def test_widening_an_agreement_to_other_organisations_binds_them_only_once_they_accept(
    area, make_actor, django_capture_on_commit_callbacks
):
    """On main, a party widened an agreement to eight organisations at once."""
    agreement = AgreementFactory(
        parties=[area.siae.organisation, area.ccas.organisation], shared_categories=SHARED
    )
    others = [make_actor(kind="plie", role=Role.MANAGER) for _ in range(5)]
    area.organisations += [o.organisation for o in others]
    area.recompute()

    with django_capture_on_commit_callbacks() as callbacks:
        agreement_update(
            actor=area.siae,
            agreement_id=agreement.pk,
            party_ids=[o.pk for o in area.organisations],
        )
    assert len(callbacks) == 1  # it bound the SIAE and the CCAS before: their access changes
    assert agreement.parties.count() == 8
    answers = dict(agreement.signatures.values_list("organisation_id", "status"))
    # A new version: the proposer accepts it, every other party (old and new) answers again.
    assert answers.pop(area.siae.organisation.pk) == AgreementPartyStatus.ACCEPTED
    assert set(answers.values()) == {AgreementPartyStatus.PENDING}

    for answering in [area.ml, area.ccas, *others[:-1]]:
        agreement_accept(actor=answering, agreement_id=agreement.pk)
        area.recompute()
        assert _sees(area.ml_counsellor, area.ccas_pathway) == frozenset()
    agreement_accept(actor=others[-1], agreement_id=agreement.pk)
    area.recompute()
    assert _sees(area.ml_counsellor, area.ccas_pathway) == set(SHARED)


def test_a_party_accepts_for_its_own_organisation_only(area, make_actor):
    agreement = _propose(area.siae, area.organisations)
    ccas_counsellor = make_actor(organisation=area.ccas.organisation)
    with pytest.raises(NotAllowed):  # a party's member whose role may not answer
        agreement_accept(actor=ccas_counsellor, agreement_id=agreement.pk)
    stranger = make_actor(role=Role.MANAGER)
    with pytest.raises(Agreement.DoesNotExist):  # not a party: not found, like missing
        agreement_accept(actor=stranger, agreement_id=agreement.pk)

    agreement_accept(actor=area.ml, agreement_id=agreement.pk)
    # The Mission locale's acceptance is its own: the CCAS is still pending.
    assert _status(agreement, area.ml.organisation) == AgreementPartyStatus.ACCEPTED
    assert _status(agreement, area.ccas.organisation) == AgreementPartyStatus.PENDING


def test_an_organisation_administrator_answers_for_its_organisation(area, make_actor):
    agreement = _propose(area.siae, area.organisations)
    administrator = make_actor(organisation=area.ccas.organisation, role=Role.ADMIN)
    agreement_accept(actor=administrator, agreement_id=agreement.pk)
    assert _status(agreement, area.ccas.organisation) == AgreementPartyStatus.ACCEPTED
    assert _status(agreement, area.ml.organisation) == AgreementPartyStatus.PENDING


# --- declining, withdrawing, narrowing, widening --------------------------------------------


def test_a_party_that_declines_ends_the_agreement_at_once(area, django_capture_on_commit_callbacks):
    agreement = AgreementFactory(parties=area.organisations, shared_categories=SHARED)
    area.recompute()
    assert _sees(area.ml_counsellor, area.ccas_pathway) == set(SHARED)

    with django_capture_on_commit_callbacks() as callbacks:
        agreement_decline(actor=area.siae, agreement_id=agreement.pk, reason="  Fin du projet ")
    assert len(callbacks) == 1
    signature = AgreementParty.objects.get(agreement=agreement, organisation=area.siae.organisation)
    assert (signature.status, signature.decline_reason) == ("declined", "Fin du projet")
    assert signature.decided_by == area.siae.user
    area.recompute()
    assert _sees(area.ml_counsellor, area.ccas_pathway) == frozenset()

    with pytest.raises(Conflict):
        agreement_decline(actor=area.siae, agreement_id=agreement.pk)

    # The others remove the declining party: a narrowing, in force again at once among them.
    with django_capture_on_commit_callbacks() as callbacks:
        agreement_update(
            actor=area.ml,
            agreement_id=agreement.pk,
            party_ids=[area.ml.organisation.pk, area.ccas.organisation.pk],
        )
    assert len(callbacks) == 1
    area.recompute()
    assert _sees(area.ml_counsellor, area.ccas_pathway) == set(SHARED)
    assert AgreementParty.objects.filter(organisation=area.siae.organisation).count() == 0
    removal = AgreementParty.history.filter(organisation=area.siae.organisation).first()
    assert (removal.history_type, removal.history_user) == ("-", area.ml.user)


@pytest.mark.parametrize(
    "changes",
    [
        {"shared_categories": ["identity", "pathway"]},
        {"starts_on": dt.date(2025, 2, 1)},
        {"ends_on": dt.date(2030, 1, 1)},
        {"name": "Convention renommée", "level": "departemental"},
        {"review_on": dt.date(2026, 6, 1)},
    ],
    ids=["fewer categories", "later start", "an end", "labels", "review date"],
)
def test_narrowing_takes_effect_at_once_and_keeps_the_answers(area, changes):
    agreement = AgreementFactory(parties=area.organisations, shared_categories=SHARED)
    agreement_update(actor=area.ccas, agreement_id=agreement.pk, **changes)
    agreement.refresh_from_db()
    for field, value in changes.items():
        assert getattr(agreement, field) == value
    assert Agreement.objects.accepted_by_every_party().filter(pk=agreement.pk).exists()
    if "shared_categories" in changes:
        area.recompute()
        assert _sees(area.ml_counsellor, area.ccas_pathway) == {"identity", "pathway"}


@pytest.mark.parametrize(
    "changes",
    [
        {"shared_categories": [*SHARED, "contact"]},
        {"starts_on": dt.date(2023, 1, 1)},
        {"ends_on": None},
        {"first_appointment_within_days": 30},
        {"acknowledge_within_working_days": 2},
    ],
    ids=["another category", "earlier start", "no end", "longer delay", "shorter delay"],
)
def test_widening_is_a_new_version_every_other_party_accepts_again(
    area, changes, django_capture_on_commit_callbacks
):
    agreement = AgreementFactory(
        parties=area.organisations, shared_categories=SHARED, ends_on=dt.date(2030, 1, 1)
    )
    area.recompute()
    with django_capture_on_commit_callbacks() as callbacks:
        agreement_update(actor=area.ml, agreement_id=agreement.pk, **changes)
    assert len(callbacks) == 1
    agreement.refresh_from_db()
    assert agreement.proposed_by == area.ml.organisation
    assert _status(agreement, area.ml.organisation) == AgreementPartyStatus.ACCEPTED
    assert _status(agreement, area.siae.organisation) == AgreementPartyStatus.PENDING
    assert _status(agreement, area.ccas.organisation) == AgreementPartyStatus.PENDING
    area.recompute()
    assert _sees(area.ml_counsellor, area.ccas_pathway) == frozenset()


def test_a_party_stays_a_party_of_what_it_changes(area):
    agreement = AgreementFactory(parties=area.organisations)
    with pytest.raises(InvalidInput):
        agreement_update(
            actor=area.siae,
            agreement_id=agreement.pk,
            party_ids=[area.ml.organisation.pk, area.ccas.organisation.pk],
        )
    assert agreement.parties.count() == 3


def test_a_pending_agreement_sets_no_delays(area):
    agreement = AgreementFactory(
        parties=[area.siae.organisation, area.ccas.organisation],
        parties__pending=[area.ccas.organisation],
        first_appointment_within_days=3,
    )
    on = dt.date(2025, 3, 3)
    delays = delays_for(sender=area.siae.organisation, receiver=area.ccas.organisation, on=on)
    assert delays.agreement_id is None
    agreement_accept(actor=area.ccas, agreement_id=agreement.pk)
    delays = delays_for(sender=area.siae.organisation, receiver=area.ccas.organisation, on=on)
    assert (delays.agreement_id, delays.first_appointment_days) == (agreement.pk, 3)


# --- the tables, enumerated ----------------------------------------------------------------


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize("action", list(access.AGREEMENT_ROLES))
def test_agreement_roles_table(area, make_actor, role, action):
    """Every role × action: what AGREEMENT_ROLES allows works, the rest is refused (403)."""
    actor = make_actor(organisation=area.ml.organisation, role=role)
    agreement = AgreementFactory(
        parties=area.organisations, parties__pending=[area.ml.organisation]
    )
    calls = {
        AgreementAction.PROPOSE: lambda: _propose(actor, area.organisations),
        AgreementAction.UPDATE: lambda: agreement_update(
            actor=actor, agreement_id=agreement.pk, name="Convention renommée"
        ),
        AgreementAction.ACCEPT: lambda: agreement_accept(actor=actor, agreement_id=agreement.pk),
        AgreementAction.DECLINE: lambda: agreement_decline(actor=actor, agreement_id=agreement.pk),
    }
    if role in access.AGREEMENT_ROLES[action]:
        assert isinstance(calls[action](), Agreement)
    else:
        with pytest.raises(NotAllowed):
            calls[action]()


@pytest.mark.parametrize("source", AgreementPartyStatus.values)
@pytest.mark.parametrize("action", list(AGREEMENT_PARTY_MOVES))
def test_agreement_party_moves_table(area, source, action):
    """Every answer × current answer: the moves table allows it, or it is a conflict (409)."""
    agreement = AgreementFactory(
        parties=area.organisations,
        parties__pending=[area.ml.organisation] if source == "pending" else [],
        parties__declined=[area.ml.organisation] if source == "declined" else [],
    )
    answer = agreement_accept if action == AgreementAction.ACCEPT else agreement_decline
    sources, target = AGREEMENT_PARTY_MOVES[action]
    if source in sources:
        answer(actor=area.ml, agreement_id=agreement.pk)
        assert _status(agreement, area.ml.organisation) == target
    else:
        with pytest.raises(Conflict):
            answer(actor=area.ml, agreement_id=agreement.pk)
        assert _status(agreement, area.ml.organisation) == source


@pytest.mark.parametrize("category", ["health", "justice"])
def test_an_agreement_never_covers_health_or_justice(make_actor, category):
    owner = make_actor(role=Role.MANAGER)
    with pytest.raises(InvalidInput) as refused:
        _propose(
            owner,
            [owner.organisation, OrganisationFactory()],
            shared_categories=["identity", category],
        )
    assert "santé ni la justice" in refused.value.message


def test_the_marks_stay_until_a_recompute_runs_and_one_runner_at_a_time(make_actor):
    """The recompute marks (PendingRecompute) are the durable side of the queued task: a run
    that finds another at work leaves them for it, a run that completes clears them."""
    owner = make_actor(role=Role.MANAGER)
    plie = make_actor(kind="plie", role=Role.MANAGER)
    PathwayFactory(owner_organisation=owner.organisation)
    agreement = _propose(owner, [owner.organisation, plie.organisation], shared_categories=[])
    agreement_accept(actor=plie, agreement_id=agreement.pk)  # now it binds: marks are written
    marks = PendingRecompute.objects.all()
    assert set(marks.values_list("organisation_id", flat=True)) == {
        owner.organisation.pk,
        plie.organisation.pk,
    }

    with psycopg.connect(database_url(), autocommit=True) as other_runner:
        other_runner.execute("SELECT pg_advisory_lock(%s)", [RECOMPUTE_LOCK_KEY])
        assert access_recompute_pending().count == 0  # another runner is at work
        assert marks.count() == 2
        # Released explicitly: the server frees a closed session's locks a moment later.
        other_runner.execute("SELECT pg_advisory_unlock(%s)", [RECOMPUTE_LOCK_KEY])
    assert access_recompute_pending().count == 1
    assert not marks.exists()
    assert access_recompute_pending().count == 0  # nothing left: idempotent
