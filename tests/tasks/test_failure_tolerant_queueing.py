"""A side effect never fails a request that already wrote (issue 12): with the broker down or
Celery refusing, the write stands, the failure is logged, and something durable catches up.

The broker is a real Redis of the test's own (`private_broker`), stopped while the request
runs; the catch-up is done by a real worker and a real beat once it is back.
"""

import datetime as dt
import os

import pytest
from django.db import transaction
from django.test import Client
from kombu.exceptions import OperationalError

from backend.celery import app
from parcours import access
from parcours.models import AccessEvent, PendingRecompute, Role
from parcours.queueing import enqueue
from parcours.services.agreement import agreement_accept, agreement_propose
from tests.factories import CareTeamMemberFactory, OrganisationFactory, PathwayFactory
from tests.processes import start_beat, start_worker, stop, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def queueing_failures(caplog) -> list:
    return [r for r in caplog.records if r.name == "parcours.queueing"]


@pytest.mark.worker
def test_agreement_with_the_broker_down_is_recomputed_by_the_periodic_run(
    make_actor, client_for, private_broker, tmp_path, caplog
):
    owner = make_actor(role=Role.MANAGER)
    plie = OrganisationFactory(kind="plie")  # no legal basis of its own
    pathway = PathwayFactory(owner_organisation=owner.organisation)
    CareTeamMemberFactory(pathway=pathway, organisation=plie)
    plie_counsellor = make_actor(organisation=plie)
    plie_manager = make_actor(organisation=plie, role=Role.MANAGER)
    private_broker.stop()

    client = client_for(owner)
    client.raise_request_exception = False
    response = client.post(
        "/api/v1/agreements/",
        {
            "name": "Convention PLIE",
            "level": "local",
            "parties": [owner.organisation.pk, plie.pk],
            "starts_on": "2025-01-01",
            "shared_categories": ["identity", "pathway", "social"],
        },
        format="json",
    )
    assert response.status_code == 201
    assert queueing_failures(caplog) == []  # proposed: it binds nobody yet, nothing to queue
    # The PLIE accepts: now the agreement binds both, their pathways must be recomputed.
    answering = client_for(plie_manager)
    answering.raise_request_exception = False
    accepted = answering.post(f"/api/v1/agreements/{response.json()['id']}/accept/")

    assert accepted.status_code == 200
    (failure,) = queueing_failures(caplog)
    assert "parcours.tasks.access_recompute_pathways" in failure.getMessage()
    assert isinstance(failure.exc_info[1], OperationalError)
    # The recompute was lost with the broker, but its marks were written with the agreement.
    assert set(PendingRecompute.objects.values_list("organisation_id", flat=True)) == {
        owner.organisation.pk,
        plie.pk,
    }
    assert access.categories_for(plie_counsellor, [pathway.pk])[pathway.pk] == frozenset()

    private_broker.start()
    worker = start_worker(
        name=f"recompute-{os.getpid()}", broker_url=private_broker.url, log_path=tmp_path / "w.log"
    )
    beat = start_beat(
        broker_url=private_broker.url,
        log_path=tmp_path / "beat.log",
        schedule=tmp_path / "beat-schedule",
        ACCESS_RECOMPUTE_SECONDS="1",
    )
    try:
        wait_until(lambda: not PendingRecompute.objects.exists(), what="the periodic recompute")
    finally:
        stop(beat)
        stop(worker)
    seen = access.categories_for(plie_counsellor, [pathway.pk])[pathway.pk]
    assert seen == {"identity", "pathway", "social"}


@pytest.mark.parametrize("door", ["api", "page"])
def test_journal_verification_request_with_the_broker_down(
    door, make_actor, client_for, private_broker, caplog
):
    """The request is journaled and answered; the daily walk gives the next result."""
    dpo = make_actor(role=Role.DPO)
    private_broker.stop()
    if door == "api":
        client = client_for(dpo)
        client.raise_request_exception = False
        status = client.post("/api/v1/dpo/journal-integrity/verify/").status_code
    else:
        client = Client(raise_request_exception=False)
        client.force_login(dpo.user)
        status = client.post("/protection-des-donnees/journal/verifier/").status_code
    assert status == {"api": 202, "page": 302}[door]
    assert AccessEvent.objects.filter(purpose="Vérification du journal demandée").count() == 1
    (failure,) = queueing_failures(caplog)
    assert failure.getMessage() == (
        "queueing parcours.journal_verify_daily failed; "
        "the journal-verify-daily beat entry walks the chain tonight"
    )


def test_a_refusal_by_celery_is_logged_never_raised(caplog):
    """The very refusal of finding 3: a hard limit below the global soft limit."""

    @app.task(name="tests.limits_below_the_soft_limit", time_limit=60, shared=False)
    def refused() -> None:  # pragma: no cover - never runs: Celery refuses to queue it
        return None

    try:
        queued = enqueue("tests.limits_below_the_soft_limit", catch_up="nothing to catch up")
    finally:
        app.tasks.unregister("tests.limits_below_the_soft_limit")
    assert queued is False
    (failure,) = queueing_failures(caplog)
    assert isinstance(failure.exc_info[1], ValueError)
    assert enqueue("tests.never_registered", catch_up="nothing to catch up") is False


def test_queued_only_when_the_transaction_commits(make_actor, django_capture_on_commit_callbacks):
    """A rolled-back agreement queues nothing and leaves no mark."""
    owner = make_actor(role=Role.MANAGER)
    partner = make_actor(role=Role.MANAGER)
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        agreement = agreement_propose(
            actor=owner,
            party_ids=[owner.organisation.pk, partner.organisation.pk],
            name="Convention",
            level="local",
            starts_on=dt.date(2025, 1, 1),
            shared_categories=["identity"],
        )
        agreement_accept(actor=partner, agreement_id=agreement.pk)  # it binds: a recompute
        raise RuntimeError("the caller's transaction fails")
    assert callbacks == []
    assert not PendingRecompute.objects.exists()
