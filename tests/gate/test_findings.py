"""Regression tests of the nine findings of issue 12 ("one gate for every door"), each through
the doors a user or an attacker would use (API, pages), so that each one fails on the code that
had the finding. Some findings have further tests next to their subject:

1. DPO reach grew from the DPO's own refusals — here; also tests/dpo/.
2. A manager could bind other organisations — here; tests/test_agreement_basis.py,
   tests/api/test_agreements.py, tests/web/test_admin_agreements.py.
3. Break-glass answered 500 and was not journaled — tests/notifications/test_break_glass_doors.py
   (real broker and worker), tests/tasks/test_every_task.py.
4. A referral's receiver could change another organisation's record — here.
5. Journaling depended on the door — here; tests/gate/test_door_parity.py.
6. A consent or agreement starting later never opened access — here.
7. Every partner read every consent — here.
8. Revoking a consent stranded an open referral; alerts about invisible referrals — here.
9. The journal's guard trusted session settings — tests/journal/test_guard_regression.py,
   tests/journal/test_app_role.py.
"""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from notifications.models import Alert
from notifications.services.alerts import alerts_scan
from parcours.models import AccessEvent, Consent, Pathway, Person, Role
from parcours.services.access_grants import access_recompute

from ..factories import (
    CareTeamMemberFactory,
    ConsentFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
    ReferralFactory,
)

pytestmark = pytest.mark.django_db


def _page_client(actor) -> Client:
    client = Client()
    client.force_login(actor.user)
    session = client.session
    session["acting_organisation_id"] = actor.organisation.pk
    session.save()
    return client


def _rows_after(last_id: int):
    return AccessEvent.objects.filter(id__gt=last_id).order_by("id")


def _last_id() -> int:
    return AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


# --- 1. A DPO's reach never grows from refusals -------------------------------------------------


def test_1_a_dpo_probing_sequential_ids_never_reaches_a_person(make_actor, client_for):
    """The DPO of an unrelated organisation asks for people by id (refused, journaled under its
    organisation), its counsellor too; the person stays out of the DPO's reach: no report, no
    subject-access pack (every category, NIR, notes) of someone else's file."""
    holder = make_actor(name="France Travail Lens")
    person = PersonFactory()
    PathwayFactory(person=person, owner_organisation=holder.organisation)
    prober = make_actor(kind="ccas", name="CCAS de Béthune")
    dpo = make_actor(organisation=prober.organisation, role=Role.DPO)

    assert client_for(prober).get(f"/api/v1/persons/{person.pk}/").status_code == 404
    assert client_for(dpo).get(f"/api/v1/persons/{person.pk}/").status_code in (403, 404)
    assert AccessEvent.objects.filter(
        organisation=prober.organisation, person_id=person.pk, operation="denied"
    ).exists()

    report = client_for(dpo).get(f"/api/v1/dpo/persons/{person.pk}/access-report/")
    pack = client_for(dpo).post(f"/api/v1/dpo/persons/{person.pk}/subject-access-pack/")
    assert (report.status_code, pack.status_code) == (404, 404)
    assert not AccessEvent.objects.filter(operation="export", person_id=person.pk).exists()


# --- 2. Agreements bind only organisations that accepted them ----------------------------------


def test_2_a_manager_cannot_bind_two_other_organisations(make_actor, client_for):
    """An SIAE manager proposes an agreement between itself, the Mission locale and the CCAS:
    nothing binds the two others until each accepted — the Mission locale does not see the
    CCAS's pathways."""
    siae = make_actor(siae=True, role=Role.MANAGER)
    mission = make_actor(mission_locale=True)
    ccas = OrganisationFactory(kind="ccas")
    pathway = PathwayFactory(owner_organisation=ccas)  # over 26: no legal basis for the ML
    CareTeamMemberFactory(pathway=pathway, organisation=mission.organisation)

    response = client_for(siae).post(
        "/api/v1/agreements/",
        {
            "name": "Convention imposée",
            "level": "local",
            "parties": [siae.organisation.pk, mission.organisation.pk, ccas.pk],
            "starts_on": "2025-01-01",
            "shared_categories": ["identity", "pathway", "social"],
        },
        format="json",
    )
    assert response.status_code == 201
    access_recompute(pathway_id=pathway.pk)  # whatever the proposal queued, done now
    assert client_for(mission).get(f"/api/v1/pathways/{pathway.pk}/").status_code == 404
    # Nor can a party name others alone: the proposer must be one of them.
    imposed = client_for(siae).post(
        "/api/v1/agreements/",
        {
            "name": "Convention imposée",
            "level": "local",
            "parties": [mission.organisation.pk, ccas.pk],
            "starts_on": "2025-01-01",
        },
        format="json",
    )
    assert imposed.status_code == 400


# --- 4. A receiver does not change the record of the organisation that holds it -----------------


@pytest.fixture
def received(make_actor):
    """France Travail holds the person's pathway and sent her to an SIAE, which sees identity,
    pathway and social under the person's consent — collected by France Travail."""
    holder = make_actor(name="France Travail Lens")
    receiver = make_actor(siae=True, name="Les Jardins du Bassin")
    person = PersonFactory(first_name="Léa", last_name="Martin", birth_date=dt.date(1990, 5, 17))
    pathway = PathwayFactory(person=person, owner_organisation=holder.organisation)
    referral = ReferralFactory(
        pathway=pathway,
        receiver_organisation=receiver.organisation,
        shared_categories=["social"],
        with_consent=False,
        sent=True,
    )
    consent = ConsentFactory(
        person=person,
        organisations=[receiver.organisation],
        categories=["identity", "pathway", "social"],
        collected_by_organisation=holder.organisation,
    )
    return {
        "holder": holder,
        "receiver": receiver,
        "person": person,
        "pathway": pathway,
        "referral": referral,
        "consent": consent,
    }


def test_4_a_receiver_cannot_rename_the_person_change_her_birth_date_or_modality(
    received, client_for
):
    client = client_for(received["receiver"])
    person, pathway = received["person"], received["pathway"]
    assert client.get(f"/api/v1/persons/{person.pk}/").status_code == 200  # it does see her

    renamed = client.patch(f"/api/v1/persons/{person.pk}/", {"last_name": "Dupont"})
    redated = client.patch(f"/api/v1/persons/{person.pk}/", {"birth_date": "1991-01-01"})
    modality = client.post(f"/api/v1/pathways/{pathway.pk}/modality/", {"modality": "renforce"})
    revoked = client.post(f"/api/v1/consents/{received['consent'].pk}/revoke/")
    assert [r.status_code for r in (renamed, redated, modality, revoked)] == [403] * 4
    assert "porte le parcours" in renamed.json()["detail"]

    person.refresh_from_db()
    pathway.refresh_from_db()
    assert (person.last_name, person.birth_date) == ("Martin", dt.date(1990, 5, 17))
    assert pathway.modality != "renforce"
    assert Consent.objects.get(pk=received["consent"].pk).revoked_at is None
    # Each refusal is journaled against the record it concerned.
    denied = AccessEvent.objects.filter(
        user=received["receiver"].user, operation="denied"
    ).values_list("object_type", flat=True)
    assert sorted(denied) == ["consent", "pathway", "person", "person"]


def test_4_the_holder_still_rectifies(received, client_for):
    client = client_for(received["holder"])
    person = received["person"]
    assert client.patch(f"/api/v1/persons/{person.pk}/", {"last_name": "Dupont"}).status_code == 200
    assert Person.objects.get(pk=person.pk).last_name == "Dupont"


def test_4_the_receivers_page_has_no_edit_form(received):
    client = _page_client(received["receiver"])
    person = received["person"]
    page = client.get(reverse("web:person-detail", args=[person.pk]))
    assert page.status_code == 200
    assert reverse("web:person-edit", args=[person.pk]) not in page.content.decode()
    edit = client.get(reverse("web:person-edit", args=[person.pk]))
    assert edit.status_code == 403
    assert "porte le parcours" in edit.content.decode()


# --- 5. The same journal whichever the door --------------------------------------------------


def test_5_a_refused_page_view_and_a_page_write_are_journaled(received, make_actor):
    stranger = make_actor(mission_locale=True)
    person = received["person"]
    last = _last_id()
    refused = _page_client(stranger).get(reverse("web:person-detail", args=[person.pk]))
    assert refused.status_code == 404
    (denied,) = _rows_after(last)
    assert (denied.operation, denied.object_type, denied.object_id) == (
        "denied",
        "person",
        person.pk,
    )
    assert denied.detail["door"] == "page"

    last = _last_id()
    written = _page_client(received["holder"]).post(
        reverse("web:consent-create", args=[person.pk]),
        {
            "organisations": [stranger.organisation.pk],
            "categories": ["identity"],
            "purpose": "Suivi de la garantie jeunes",
            "evidence_kind": "oral",
        },
    )
    assert written.status_code == 302
    (write,) = _rows_after(last)
    assert (write.operation, write.object_type, write.detail["door"]) == (
        "write",
        "consent",
        "page",
    )
    assert write.person_id == person.pk and write.purpose and write.basis


def test_5_an_ordinary_read_says_why(received, client_for):
    last = _last_id()
    client_for(received["receiver"]).get(f"/api/v1/persons/{received['person'].pk}/")
    (read,) = _rows_after(last)
    assert read.operation == "read"
    assert read.purpose == "Traitement d'une orientation reçue"
    assert "consent:" in read.basis


def test_5_a_list_row_says_what_was_shown_of_each_record(make_actor, client_for):
    """Two people on one page: health shown for one only. The person without it must not be
    reported as having had health data listed."""
    holder = make_actor(name="France Travail Lens")
    with_health, without = PersonFactory(last_name="Aubert"), PersonFactory(last_name="Bernard")
    for person in (with_health, without):
        PathwayFactory(person=person, owner_organisation=holder.organisation)
    ConsentFactory(
        person=with_health,
        organisations=[holder.organisation],
        categories=["health"],
        collected_by_organisation=holder.organisation,
    )
    last = _last_id()
    assert client_for(holder).get("/api/v1/persons/").status_code == 200
    listed = {pk: row for row in _rows_after(last) for pk in row.object_ids}
    assert "health" in listed[with_health.pk].categories
    assert "health" not in listed[without.pk].categories


# --- 6. A basis that starts later opens on its first day, without any job -----------------------


def test_6_a_consent_starting_tomorrow_opens_tomorrow(make_actor, client_for):
    holder = make_actor(name="France Travail Lens")
    plie = make_actor(kind="plie")
    pathway = PathwayFactory(owner_organisation=holder.organisation)
    CareTeamMemberFactory(pathway=pathway, organisation=plie.organisation)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    response = client_for(holder).post(
        "/api/v1/consents/",
        {
            "person": pathway.person_id,
            "organisations": [plie.organisation.pk],
            "categories": ["identity", "pathway"],
            "purpose": "Accompagnement PLIE",
            "evidence_kind": "oral",
            "starts_on": tomorrow.isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201
    url = f"/api/v1/pathways/{pathway.pk}/"
    assert client_for(plie).get(url).status_code == 404
    midnight = timezone.make_aware(dt.datetime.combine(tomorrow, dt.time(0, 1)))
    with time_machine.travel(midnight, tick=False):  # no task, no recompute: the row's interval
        assert client_for(plie).get(url).status_code == 200


def test_6_an_agreement_starting_next_week_opens_next_week(make_actor, client_for):
    holder = make_actor(name="CCAS de Lens", kind="ccas", role=Role.MANAGER)
    plie = make_actor(kind="plie", role=Role.MANAGER)
    plie_counsellor = make_actor(organisation=plie.organisation)
    pathway = PathwayFactory(owner_organisation=holder.organisation)
    CareTeamMemberFactory(pathway=pathway, organisation=plie.organisation)
    starts = timezone.localdate() + dt.timedelta(days=7)
    proposed = client_for(holder).post(
        "/api/v1/agreements/",
        {
            "name": "Convention PLIE",
            "level": "local",
            "parties": [holder.organisation.pk, plie.organisation.pk],
            "starts_on": starts.isoformat(),
            "shared_categories": ["identity", "pathway"],
        },
        format="json",
    )
    assert proposed.status_code == 201
    accepted = client_for(plie).post(f"/api/v1/agreements/{proposed.json()['id']}/accept/")
    assert accepted.status_code == 200
    access_recompute(pathway_id=pathway.pk)  # what the accepted agreement's recompute does
    url = f"/api/v1/pathways/{pathway.pk}/"
    assert client_for(plie_counsellor).get(url).status_code == 404
    first_day = timezone.make_aware(dt.datetime.combine(starts, dt.time(8, 0)))
    with time_machine.travel(first_day, tick=False):
        assert client_for(plie_counsellor).get(url).status_code == 200


# --- 7. A partner reads the consents that concern it ------------------------------------------


def test_7_a_plie_does_not_read_the_health_consent_given_to_france_travail(make_actor, client_for):
    holder = make_actor(name="France Travail Lens")
    plie = make_actor(kind="plie")
    person = PersonFactory()
    pathway = PathwayFactory(person=person, owner_organisation=holder.organisation)
    CareTeamMemberFactory(pathway=pathway, organisation=plie.organisation)
    ConsentFactory(
        person=person,
        organisations=[plie.organisation],
        categories=["identity", "pathway"],
        purpose="Accompagnement PLIE",
        collected_by_organisation=holder.organisation,
    )
    ConsentFactory(
        person=person,
        organisations=[holder.organisation],
        categories=["health"],
        purpose="Suivi RQTH par France Travail",
        collected_by_organisation=holder.organisation,
    )
    listed = client_for(plie).get("/api/v1/consents/", {"person": person.pk}).json()["results"]
    assert [c["purpose"] for c in listed] == ["Accompagnement PLIE"]
    page = _page_client(plie).get(reverse("web:person-detail", args=[person.pk])).content.decode()
    assert "Suivi RQTH" not in page and "Accompagnement PLIE" in page
    assert "Un autre accord de la personne concerne d'autres organisations" in page


# --- 8. Revoking a consent does not strand an open referral --------------------------------------


def test_8_the_receiver_still_answers_after_the_consent_is_revoked(received, client_for):
    receiver, referral = received["receiver"], received["referral"]
    revoked = client_for(received["holder"]).post(
        f"/api/v1/consents/{received['consent'].pk}/revoke/"
    )
    assert revoked.status_code == 200
    seen = client_for(receiver).get(f"/api/v1/referrals/{referral.pk}/")
    assert seen.status_code == 200
    assert seen.json()["categories"] == ["identity", "pathway"]  # social went with the consent
    accepted = client_for(receiver).post(f"/api/v1/referrals/{referral.pk}/accept/")
    assert accepted.status_code == 200
    assert client_for(receiver).get(f"/api/v1/persons/{received['person'].pk}/").json()[
        "categories"
    ] == ["identity", "pathway"]


def test_8_no_alert_about_a_referral_its_recipients_cannot_see(make_actor):
    holder = make_actor(name="France Travail Lens")
    pathway = PathwayFactory(owner_organisation=holder.organisation)
    referral = ReferralFactory(pathway=pathway, sent=True)  # unanswered, overdue
    Pathway.objects.filter(pk=pathway.pk).update(
        archived_at=timezone.now(),  # archived: seen by its owner alone, never by the receiver
        last_contact_at=timezone.now() - dt.timedelta(days=800),
    )
    access_recompute(pathway_id=pathway.pk)
    alerts_scan(now=timezone.now())
    assert not Alert.objects.filter(referral=referral).exists()


def test_5_one_list_row_keeps_each_records_own_bases(make_actor, client_for):
    """Two people listed with the same categories under their own consents: one row (not one per
    person), each person's bases kept, and each person's access report names only theirs."""
    from parcours.selectors.access_reports import person_access_report

    holder = make_actor(name="France Travail Lens")
    plie = make_actor(kind="plie")
    people = [PersonFactory(last_name=name) for name in ("Aubert", "Bernard")]
    consents = {}
    for person in people:
        pathway = PathwayFactory(person=person, owner_organisation=holder.organisation)
        CareTeamMemberFactory(pathway=pathway, organisation=plie.organisation)
        consents[person.pk] = ConsentFactory(
            person=person,
            organisations=[plie.organisation],
            categories=["identity", "pathway"],
            collected_by_organisation=holder.organisation,
        )
    last = _last_id()
    assert client_for(plie).get("/api/v1/persons/").status_code == 200
    (row,) = _rows_after(last)
    assert sorted(row.object_ids) == sorted(p.pk for p in people)
    for person in people:
        own = f"consent:{consents[person.pk].pk}"
        assert row.detail["bases"][str(person.pk)] == own
        report = person_access_report(
            person_id=person.pk,
            start=timezone.now() - dt.timedelta(hours=1),
            end=timezone.now() + dt.timedelta(hours=1),
        )
        (listed,) = [r for r in report.rows if r.operation == "Liste"]
        # Only this person's own consent, named in words (parcours/labels.py).
        assert listed.basis == f"accord de la personne n°{consents[person.pk].pk}"


def test_4_a_receiver_cannot_send_the_person_on(received, client_for):
    """Orienting the person further belongs to those who follow her pathway: a receiver that did
    would become a sender, whose view is not capped to what was shared with it."""
    pathway = received["pathway"]
    response = client_for(received["receiver"]).post(
        "/api/v1/referrals/",
        {
            "pathway": pathway.pk,
            "receiver_organisation": OrganisationFactory(kind="france_travail").pk,
            "kind": "substitution",
            "reason": "Inscription",
        },
        format="json",
    )
    assert response.status_code == 403
    page = _page_client(received["receiver"]).get(reverse("web:referral-create", args=[pathway.pk]))
    assert page.status_code == 403
    assert "suivent le parcours" in page.content.decode()
