"""The DPO's « Lancer une vérification » goes through a real Celery worker: the verification it
queues is stored and shown by the integrity report."""

import pytest

from parcours.gate.journal import journal_record
from parcours.models import JournalVerification, Role
from parcours.services.journal import journal_seal_all
from tests.processes import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_verify_button_runs_the_walk_on_the_worker(
    celery_worker_process, make_actor, client_for
):
    dpo = make_actor(role=Role.DPO)
    for n in range(3):
        journal_record(actor=dpo, operation="report", object_type="journal", purpose=f"essai {n}")
    journal_seal_all()

    response = client_for(dpo).post("/api/v1/dpo/journal-integrity/verify/")
    assert response.status_code == 202

    wait_until(lambda: JournalVerification.objects.exists())
    verification = JournalVerification.objects.get()
    assert verification.ok
    assert verification.triggered_by == f"demandée par {dpo.user.get_full_name()}"
    assert verification.checked >= 3
    body = client_for(dpo).get("/api/v1/dpo/journal-integrity/").json()
    assert body["verification"]["triggered_by"] == verification.triggered_by
