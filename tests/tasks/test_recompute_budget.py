"""The access recompute after an agreement changes is bounded in time (issue 16, finding 3): a
run stops at its budget, records how far it got, and the next run goes on from there; a mark
renewed meanwhile starts over; the task queues its own continuation behind the other work."""

import os

import pytest
from kombu import Connection

from parcours.models import Pathway, PathwayGroupObjectPermission, PendingRecompute
from parcours.services.access_grants import access_recompute_pending, access_recompute_request
from tests.bulk import clone_pathways
from tests.factories import PathwayFactory
from tests.processes import start_worker, stop, wait_until

pytestmark = pytest.mark.django_db


def _marked(organisation_id: int) -> PendingRecompute:
    return PendingRecompute.objects.get(organisation_id=organisation_id)


def test_a_run_stops_at_its_budget_and_the_next_goes_on(db):
    template = PathwayFactory()
    clone_pathways(template, 30)
    organisation = template.owner_organisation_id
    access_recompute_request(organisation_ids=[organisation])

    first = access_recompute_pending(budget_seconds=0)  # one pathway, then the budget is spent
    assert (first.count, first.finished) == (1, False)
    mark = _marked(organisation)
    first_pathway = Pathway.objects.filter(owner_organisation_id=organisation).order_by("pk")[0]
    assert mark.done_up_to == first_pathway.pk

    rest = access_recompute_pending(budget_seconds=60)
    assert (rest.count, rest.finished) == (30, True)  # the other 30, none twice
    assert not PendingRecompute.objects.exists()


def test_a_renewed_mark_starts_over(db):
    template = PathwayFactory()
    clone_pathways(template, 5)
    organisation = template.owner_organisation_id
    access_recompute_request(organisation_ids=[organisation])
    access_recompute_pending(budget_seconds=0)
    assert _marked(organisation).done_up_to > 0
    access_recompute_request(organisation_ids=[organisation])  # the agreement changed again
    assert _marked(organisation).done_up_to == 0
    assert access_recompute_pending(budget_seconds=60).count == 6


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_task_queues_its_continuation_until_every_pathway_is_done(private_broker, tmp_path):
    from parcours.tasks import access_recompute_owned_by

    template = PathwayFactory()
    clone_pathways(template, 150)
    organisation = template.owner_organisation_id
    # The grant rows wiped, so that only the recompute writes them back.
    PathwayGroupObjectPermission.objects.all().delete()
    log = tmp_path / "worker.log"
    worker = start_worker(
        name=f"budget-{os.getpid()}",
        broker_url=private_broker.url,
        log_path=log,
        queues="celery",
        PARCOURS_RECOMPUTE_BUDGET_SECONDS="0",
    )
    try:
        with Connection(private_broker.url) as connection:
            access_recompute_owned_by.apply_async(
                kwargs={"organisation_ids": [organisation]}, connection=connection
            )
        wait_until(
            lambda: PendingRecompute.objects.exists(), timeout=30, what="the first run's mark"
        )
        wait_until(lambda: not PendingRecompute.objects.exists(), timeout=120, what="every pathway")
    finally:
        stop(worker)
    runs = log.read_text().count("budget de temps atteint")
    assert runs >= 2, runs  # several runs, each queued by the one before
    recomputed = PathwayGroupObjectPermission.objects.values("content_object_id").distinct()
    assert recomputed.count() == 151  # every pathway has its grants again
