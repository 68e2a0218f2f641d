"""Journal integrity report (last verification, checkpoint, whether the period is intact) and
the processing register extract generated from the live configuration."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from parcours.journal_tasks import journal_verify_daily
from parcours.models import AccessEvent, JournalVerification
from parcours.services.journal import journal_checkpoint_create, journal_seal_all
from parcours.services.journal_integrity import journal_verification_run
from tests.journal.test_journal import tamper

pytestmark = pytest.mark.django_db
TABLE = AccessEvent._meta.db_table


def _integrity(client, **params):
    return client.get("/api/v1/dpo/journal-integrity/", params)


def test_never_verified_then_intact_then_broken(history, client_for, period):
    client = client_for(history["owner_dpo"])
    body = _integrity(client, **period).json()
    assert body["state"] == "unverified" and body["verification"] is None

    journal_seal_all()
    journal_checkpoint_create(private_key=Ed25519PrivateKey.generate())
    verification = journal_verification_run(triggered_by="test")
    assert (
        verification.ok
        and verification.checked == AccessEvent.objects.filter(chain_seq__isnull=False).count()
    )
    body = _integrity(client, **{"from": period["from"], "to": period["from"]}).json()
    assert body["state"] == "intact"
    assert body["statement"].startswith("Période intègre")
    assert body["checkpoint"]["chain_seq"] is not None

    # Today's rows after the verification are not covered yet: partial.
    assert _integrity(client, **period).json()["state"] == "partial"

    victim = AccessEvent.objects.filter(chain_seq__isnull=False).order_by("chain_seq")[2]
    tamper(f"UPDATE {TABLE} SET purpose = %s WHERE id = %s", ["falsifié", victim.pk])  # noqa: S608
    journal_verify_daily(triggered_by="test")  # the task body, run in-process
    latest = JournalVerification.objects.first()
    assert latest is not None and not latest.ok and latest.broken_id == victim.pk
    body = _integrity(client, **period).json()
    assert body["state"] == "broken"
    assert f"ligne n°{victim.pk}" in body["statement"]
    assert "ALTÉRATION DÉTECTÉE" in body["statement"]
    assert AccessEvent.objects.filter(operation="report", object_type="journal").count() >= 3


def test_the_verify_button_queues_the_walk(history, client_for):
    response = client_for(history["owner_dpo"]).post("/api/v1/dpo/journal-integrity/verify/")
    assert response.status_code == 202
    assert "Vérification lancée" in response.json()["detail"]
    assert AccessEvent.objects.filter(purpose="Vérification du journal demandée").count() == 1


def test_the_register_names_categories_recipients_bases_and_retention(history, client_for):
    body = client_for(history["owner_dpo"]).get("/api/v1/dpo/processing-register/").json()
    assert body["scope"] == history["owner"].organisation.name
    categories = {c["code"]: c for c in body["categories"]}
    assert set(categories) == {"identity", "contact", "pathway", "social", "health", "justice"}
    assert categories["health"]["sensitive"] and not categories["identity"]["sensitive"]
    assert categories["identity"]["pathways"] == 1
    recipients = {r["organisation"]: r["categories"] for r in body["recipients"]}
    owner, siae = history["owner"].organisation.name, history["siae"].organisation.name
    assert set(recipients) == {owner, siae}
    # The SIAE holds what the referral shares; the break-glass is a personal grant (a user's,
    # not an organisation's): it does not appear here.
    assert recipients[siae] == {"Identité": 1, "Parcours, orientations et rendez-vous": 1}
    assert recipients[owner] == {
        "Identité": 1,
        "Coordonnées": 1,
        "Parcours, orientations et rendez-vous": 1,
        "Diagnostic social et freins périphériques": 1,
    }
    bases = {b["label"]: b["grants"] for b in body["bases"]}
    assert bases["Mission de la structure qui détient le dossier"] == 4
    retention = {r["category"]: r for r in body["retention"]}
    assert retention["journal"]["active_months"] == 12
    assert retention["identity"]["active_months"] == 24
    assert body["security_measures"]
    event = AccessEvent.objects.filter(operation="report", object_type="register").get()
    assert event.detail == {"door": "api", "scope": owner}


def test_the_national_register_covers_every_organisation(history, client_for):
    body = client_for(history["national_dpo"]).get("/api/v1/dpo/processing-register/").json()
    assert body["scope"] == "Toutes les organisations"
    assert {r["organisation"] for r in body["recipients"]} >= {
        history["owner"].organisation.name,
        history["siae"].organisation.name,
    }


def test_case_workers_get_403_on_every_dpo_report(history, client_for):
    client = client_for(history["owner"])
    for url in (
        "/api/v1/dpo/journal-integrity/",
        "/api/v1/dpo/processing-register/",
        "/api/v1/dpo/anomalies/",
        "/api/v1/dpo/users/",
        "/api/v1/dpo/rights-requests/",
    ):
        assert client.get(url).status_code == 403, url


def test_the_verify_command_keeps_its_result_for_the_report(history):
    import io

    from django.core.management import call_command

    journal_seal_all()
    call_command("journal_verify", stdout=io.StringIO())
    verification = JournalVerification.objects.get()
    assert verification.ok and verification.triggered_by == "commande journal_verify"
    assert verification.checked == AccessEvent.objects.filter(chain_seq__isnull=False).count()
