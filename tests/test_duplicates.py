"""Duplicate detection: one record per person, one open referral per receiver (and service).

A duplicate the actor may see is named (so they can open it); one outside their scope is only
announced, without any of its content, with the way to ask its owner for access (access request).
Seeing it means holding a grant on its identity: a working relationship and a basis (for an SIAE
or a mission locale with an adult, the person's consent).
"""

import datetime as dt
import re

import pytest

from parcours.errors import DuplicatePerson, DuplicateReferral
from parcours.models import Person, Referral, ReferralStatus
from parcours.services.consent import consent_record
from parcours.services.person import person_create, person_update
from parcours.services.referral import (
    referral_accept,
    referral_close,
    referral_create,
    referral_refuse,
    referral_withdraw,
)

from .factories import ServiceFactory, valid_nir

BIRTH = dt.date(1998, 2, 11)


def _create(actor, **overrides: object) -> Person:
    fields: dict[str, object] = {
        "first_name": "Éloïse",
        "last_name": "Dupont-Martin",
        "birth_date": BIRTH,
    }
    fields.update(overrides)
    return person_create(actor=actor, **fields)


def _consent(actor, person: Person, receiver) -> None:
    """The person's consent for `receiver` to see what every referral carries: an SIAE, or a
    mission locale for someone over 25, has no legal basis of its own."""
    consent_record(
        actor=actor,
        person_id=person.pk,
        organisation_ids=[receiver.organisation.pk],
        categories=["identity", "pathway"],
        purpose="Orientation vers un partenaire",
        evidence_kind="oral",
    )


# Second identity that collides with the first `_create()`, and how.
COLLISIONS = {
    "same-nir": dict(first_name="Jeanne", last_name="Durand", nir=valid_nir(11)),
    "same-france-travail-id": dict(
        first_name="Jeanne", last_name="Durand", france_travail_id="7654321B"
    ),
    "same-names-and-birth-date": dict(first_name="eloise", last_name="dupont martin"),
    "accents-case-and-spaces": dict(first_name=" ÉLOÏSE ", last_name="DUPONT  MARTIN"),
    "partial-accents-lower-case": dict(first_name="Eloïse", last_name="dupont-martin"),
}
FIRST_IDENTIFIERS = {"nir": valid_nir(11), "france_travail_id": "7654321B"}


@pytest.mark.django_db
@pytest.mark.parametrize("collision", COLLISIONS.values(), ids=COLLISIONS.keys())
def test_duplicate_visible_to_the_actor_is_named(collision, counsellor):
    existing = _create(counsellor, **FIRST_IDENTIFIERS)

    with pytest.raises(DuplicatePerson) as excinfo:
        _create(counsellor, **collision)

    error = excinfo.value
    assert error.existing_person_id == existing.pk
    assert error.access_request_possible is False  # named: nothing to ask for
    assert f"n°{existing.pk}" in error.message
    assert "Éloïse Dupont-Martin" in error.message
    assert "access-requests" not in error.message
    assert error.status_code == 409
    assert Person.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("collision", COLLISIONS.values(), ids=COLLISIONS.keys())
def test_duplicate_out_of_scope_is_announced_without_content(collision, counsellor, make_actor):
    existing = _create(counsellor, **FIRST_IDENTIFIERS)
    stranger = make_actor(mission_locale=True)  # no relationship with the existing record

    with pytest.raises(DuplicatePerson) as excinfo:
        _create(stranger, **collision)

    error = excinfo.value
    assert error.existing_person_id is None
    for secret in ("Éloïse", "Dupont", "Martin", "1998", "11/02", f"n°{existing.pk}"):
        assert secret not in error.message
    assert "suivie par une autre organisation : demandez-lui l'accès" in error.message
    # The way in: an access request to the owner, with the same identifier and a reason — said
    # in words: the API's answer carries the endpoint (`access_request`), a page never a URL.
    assert error.access_request_possible is True
    assert "en indiquant le motif de votre demande" in error.message
    assert "/api/" not in error.message
    assert Person.objects.count() == 1


@pytest.mark.django_db
def test_receiver_of_a_referral_sees_the_duplicate_named(counsellor, make_actor):
    existing = _create(counsellor)
    receiver = make_actor(siae=True)
    _consent(counsellor, existing, receiver)
    referral_create(
        actor=counsellor,
        pathway_id=existing.pathways.get().pk,
        receiver_organisation_id=receiver.organisation.pk,
        kind="substitution",
        reason="Chantier d'insertion",
    )

    with pytest.raises(DuplicatePerson) as excinfo:
        _create(receiver, first_name="ELOISE", last_name="Dupont Martin")

    assert excinfo.value.existing_person_id == existing.pk
    assert excinfo.value.access_request_possible is False


@pytest.mark.django_db
def test_consent_alone_without_a_relationship_does_not_name_the_duplicate(counsellor, make_actor):
    """A basis without a working relationship grants nothing: the SIAE the person consented to
    but which received no referral is told only that another organisation follows the person."""
    existing = _create(counsellor)
    siae = make_actor(siae=True)
    _consent(counsellor, existing, siae)

    with pytest.raises(DuplicatePerson) as excinfo:
        _create(siae, first_name="ELOISE", last_name="Dupont Martin")

    assert excinfo.value.existing_person_id is None
    assert excinfo.value.access_request_possible is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    "different",
    [
        dict(birth_date=dt.date(1998, 2, 12)),
        dict(first_name="Élise"),
        dict(last_name="Dupont"),
    ],
    ids=["other-birth-date", "other-first-name", "other-last-name"],
)
def test_near_identities_are_not_duplicates(different, counsellor):
    _create(counsellor)
    person = _create(counsellor, **different)
    assert Person.objects.count() == 2
    assert person.pathways.get().owner_organisation == counsellor.organisation


@pytest.mark.django_db
def test_identifiers_are_normalised_before_comparison(counsellor):
    existing = _create(counsellor, france_travail_id="7654321B")
    with pytest.raises(DuplicatePerson) as excinfo:
        _create(counsellor, first_name="Autre", last_name="Nom", france_travail_id=" 7654321b ")
    assert excinfo.value.existing_person_id == existing.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("nir", valid_nir(21)), ("france_travail_id", "1111111AA")],
    ids=["nir", "france-travail-id"],
)
def test_update_to_a_colliding_identifier_is_refused(field, value, counsellor):
    existing = _create(counsellor, **{field: value})
    other = _create(counsellor, first_name="Jeanne", last_name="Durand")

    with pytest.raises(DuplicatePerson) as excinfo:
        person_update(actor=counsellor, person_id=other.pk, changes={field: value})

    assert excinfo.value.existing_person_id == existing.pk
    other.refresh_from_db()
    assert getattr(other, field) == ""


@pytest.mark.django_db
def test_update_to_a_colliding_identity_is_refused(counsellor):
    existing = _create(counsellor)
    other = _create(counsellor, first_name="Jeanne", last_name="Durand")

    with pytest.raises(DuplicatePerson) as excinfo:
        person_update(
            actor=counsellor,
            person_id=other.pk,
            changes={"first_name": "Eloise", "last_name": "Dupont Martin"},
        )

    assert excinfo.value.existing_person_id == existing.pk
    other.refresh_from_db()
    assert (other.first_name, other.last_name) == ("Jeanne", "Durand")


@pytest.mark.django_db
def test_update_keeping_own_identifiers_is_not_a_duplicate(counsellor):
    person = _create(counsellor, nir=valid_nir(31))
    updated = person_update(
        actor=counsellor, person_id=person.pk, changes={"nir": valid_nir(31), "city": "Arras"}
    )
    assert updated.city == "Arras"


# --- Referrals ----------------------------------------------------------------------------------


@pytest.fixture
def receiver(make_actor):
    return make_actor(mission_locale=True)


@pytest.fixture
def pathway(counsellor, receiver):
    """The person (born 1998, over 25: no legal basis for a mission locale) consented to the
    receiver seeing their identity and pathway, as a referral requires."""
    person = _create(counsellor)
    _consent(counsellor, person, receiver)
    return person.pathways.get()


def _refer(actor, pathway, receiver, **extra: object) -> Referral:
    return referral_create(
        actor=actor,
        pathway_id=pathway.pk,
        receiver_organisation_id=receiver.organisation.pk,
        kind="simultaneous",
        reason="Accompagnement jeune",
        **extra,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("send", [True, False], ids=["sent", "draft"])
def test_second_open_referral_to_the_same_receiver_is_refused(send, counsellor, pathway, receiver):
    first = _refer(counsellor, pathway, receiver, send=send)

    with pytest.raises(DuplicateReferral) as excinfo:
        _refer(counsellor, pathway, receiver)

    error = excinfo.value
    assert re.fullmatch(r"OR-\d{7}", first.reference)
    assert first.reference in error.message
    assert receiver.organisation.name in error.message
    assert error.existing_referral_id == first.pk
    assert error.status_code == 409
    assert pathway.referrals.count() == 1


@pytest.mark.django_db
def test_same_receiver_different_service_is_allowed(counsellor, pathway, receiver):
    garantie_jeunes = ServiceFactory(organisation=receiver.organisation, name="Garantie jeunes")
    logement = ServiceFactory(organisation=receiver.organisation, name="Accès au logement")

    first = _refer(counsellor, pathway, receiver, receiver_service_id=garantie_jeunes.pk)
    second = _refer(counsellor, pathway, receiver, receiver_service_id=logement.pk)
    # A referral to the organisation itself (no service) does not collide with either.
    third = _refer(counsellor, pathway, receiver)

    assert {first.status, second.status, third.status} == {ReferralStatus.SENT}
    with pytest.raises(DuplicateReferral) as excinfo:
        _refer(counsellor, pathway, receiver, receiver_service_id=logement.pk)
    assert excinfo.value.existing_referral_id == second.pk
    assert second.reference in excinfo.value.message


@pytest.mark.django_db
def test_new_referral_allowed_after_refusal(counsellor, pathway, receiver):
    first = _refer(counsellor, pathway, receiver)
    referral_refuse(actor=receiver, referral_id=first.pk, refusal_reason="no_capacity")

    second = _refer(counsellor, pathway, receiver)

    assert second.pk != first.pk
    assert second.status == ReferralStatus.SENT


@pytest.mark.django_db
def test_new_referral_allowed_after_closure(counsellor, pathway, receiver):
    first = _refer(counsellor, pathway, receiver)
    referral_accept(actor=receiver, referral_id=first.pk)
    # Still open once accepted: a second one is a duplicate.
    with pytest.raises(DuplicateReferral):
        _refer(counsellor, pathway, receiver)
    referral_close(actor=receiver, referral_id=first.pk, outcome="support_completed")

    second = _refer(counsellor, pathway, receiver)

    assert second.status == ReferralStatus.SENT
    assert pathway.referrals.count() == 2


@pytest.mark.django_db
def test_new_referral_allowed_after_withdrawal(counsellor, pathway, receiver):
    first = _refer(counsellor, pathway, receiver, send=False)
    referral_withdraw(actor=counsellor, referral_id=first.pk)

    second = _refer(counsellor, pathway, receiver)

    assert second.status == ReferralStatus.SENT
