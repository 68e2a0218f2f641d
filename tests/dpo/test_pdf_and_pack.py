"""The DPO's PDF exports open (text extracted) and say the right things; the subject-access
pack comes through the DPO's endpoint and page, within the DPO's reach only."""

import io
import json
import re
import zipfile

import pytest
from django.urls import reverse
from pypdf import PdfReader

from parcours.models import AccessEvent

pytestmark = pytest.mark.django_db


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def _get_pdf(client, url, params):
    response = client.get(url, {**params, "export": "pdf"})
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].endswith('.pdf"')
    return _pdf_text(response.content)


def test_person_report_pdf_internal_and_person_versions(history, client_for, period):
    client = client_for(history["owner_dpo"])
    url = f"/api/v1/dpo/persons/{history['person'].pk}/access-report/"
    internal = _get_pdf(client, url, period)
    assert "Rapport des accès aux données — version interne" in internal
    assert history["owner"].user.get_full_name() in internal
    assert "Accès d'urgence" in internal and "Les Jardins du Bassin" in internal
    for_person = _get_pdf(client, url, {**period, "version": "person"})
    assert "version destinée à la personne" in for_person
    assert history["owner"].user.get_full_name() not in for_person
    assert "C-579/21" in for_person


def test_user_anomalies_and_register_pdfs(history, client_for, period):
    client = client_for(history["siae_dpo"])
    user = history["siae"].user
    text = _get_pdf(client, f"/api/v1/dpo/users/{user.pk}/activity-report/", period)
    assert f"Activité de l'utilisateur : {user.get_full_name()}" in text
    assert "Accès d'urgence" in text and "3 action(s) sur 1 personne(s)" in text
    text = _get_pdf(client, "/api/v1/dpo/anomalies/", period)
    assert "Anomalies d'accès" in text and "Seuils appliqués" in text
    assert "Accès d'urgence — " in text  # the break-glass of the SIAE's counsellor
    text = _get_pdf(client, "/api/v1/dpo/processing-register/", {})
    assert "Extrait du registre des traitements" in text
    assert "Durées de conservation" in text and "CNIL" in text


def test_the_subject_access_pack_through_the_api(history, client_for):
    person = history["person"]
    response = client_for(history["owner_dpo"]).post(
        f"/api/v1/dpo/persons/{person.pk}/subject-access-pack/"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = sorted(archive.namelist())
        assert names[0] == "LISEZMOI.txt"
        assert names[1].startswith("acces-donnees-") and names[1].endswith(".pdf")
        assert names[2].startswith("donnees-") and names[2].endswith(".json")
        data = json.loads(archive.read(next(n for n in names if n.endswith(".json"))))
        pdf = _pdf_text(archive.read(next(n for n in names if n.endswith(".pdf"))))
    assert data["format"] == "parcours-subject-access/1"
    assert "Léa" in pdf and "Martin" in pdf
    for name in (history[k].user.get_full_name() for k in ("owner", "siae", "stranger")):
        assert name not in pdf
    export = AccessEvent.objects.filter(operation="export", person_id=person.pk).get()
    assert export.user_id == history["owner_dpo"].user.pk


def test_the_pack_is_out_of_reach_for_an_unrelated_dpo_and_forbidden_to_case_workers(
    history, client_for
):
    url = f"/api/v1/dpo/persons/{history['person'].pk}/subject-access-pack/"
    assert client_for(history["unrelated_dpo"]).post(url).status_code == 404
    assert client_for(history["owner"]).post(url).status_code == 403
    assert not AccessEvent.objects.filter(operation="export").exists()


def test_the_pack_from_the_page(history):
    from django.test import Client

    client = Client()
    client.force_login(history["owner_dpo"].user)
    url = reverse("web:dpo-subject-access-pack", args=[history["person"].pk])
    assert client.get(url).status_code == 405  # POST only: an export is an action
    response = client.post(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert zipfile.is_zipfile(io.BytesIO(response.content))
