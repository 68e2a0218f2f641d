"""Bad input answers 400 with per-field French messages; nothing a client sends is a 500."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from parcours.models import Person, Referral, ReferralStatus

from ..factories import (
    AgreementFactory,
    PathwayFactory,
    PersonFactory,
    ReferralFactory,
    valid_nir,
)
from .test_endpoint_matrix import ENDPOINTS

pytestmark = pytest.mark.django_db

REQUIRED = "Ce champ est obligatoire."


def _person_payload(**overrides):
    return {"first_name": "Léa", "last_name": "Martin", "birth_date": "2001-03-04", **overrides}


@pytest.fixture
def me_client(world, client_for):
    return client_for(world.me)


@pytest.fixture
def own_pathway(world):
    return PathwayFactory(owner_organisation=world.home)


@pytest.fixture
def incoming(world):
    """A referral sent to `home` by an unrelated organisation: `home` is the receiver."""

    def build(**traits):
        return ReferralFactory(
            pathway=PathwayFactory(owner_organisation=world.elsewhere),
            receiver_organisation=world.home,
            **traits,
        )

    return build


# --- persons --------------------------------------------------------------------------------------


def test_person_with_invalid_nir(me_client):
    response = me_client.post("/api/v1/persons/", _person_payload(nir="190056211912345"))
    assert response.status_code == 400
    assert list(response.json()) == ["nir"]
    assert "NIR invalide" in response.json()["nir"][0]
    assert not Person.objects.exists()


def test_person_without_last_name(me_client):
    payload = _person_payload()
    del payload["last_name"]
    response = me_client.post("/api/v1/persons/", payload)
    assert response.status_code == 400
    assert response.json() == {"last_name": [REQUIRED]}


def test_person_with_blank_names(me_client):
    response = me_client.post("/api/v1/persons/", _person_payload(first_name="", last_name=""))
    assert response.status_code == 400
    assert response.json() == {
        "first_name": ["Ce champ ne peut être vide."],
        "last_name": ["Ce champ ne peut être vide."],
    }


@pytest.mark.parametrize("birth_date", ["31/02/2000", "2000-02-31", "hier", ""])
def test_person_with_impossible_birth_date(me_client, birth_date):
    response = me_client.post("/api/v1/persons/", _person_payload(birth_date=birth_date))
    assert response.status_code == 400
    assert list(response.json()) == ["birth_date"]
    assert "date" in response.json()["birth_date"][0].lower()


def test_person_born_before_1900_is_bad_input_not_a_conflict(me_client):
    """The model's plausibility CHECK must answer as a field error, not as a 409/500."""
    response = me_client.post("/api/v1/persons/", _person_payload(birth_date="1850-01-01"))
    assert response.status_code == 400, response.content
    assert response.json()["birth_date"] == ["La date de naissance doit être postérieure à 1900."]
    assert not Person.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("postal_code", "620A0", "Code postal : 5 chiffres."),
        ("france_travail_id", "12", "Identifiant France Travail invalide"),
        ("email", "pas-un-email", "Saisissez une adresse e-mail valide."),
        ("receives_rsa", "peut-être", "Doit être un booléen valide."),
    ],
)
def test_person_field_validation_is_french(me_client, field, value, message):
    response = me_client.post("/api/v1/persons/", _person_payload(**{field: value}))
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert response.json()[field][0].startswith(message)


def test_person_patch_with_invalid_values(me_client, own_pathway):
    url = f"/api/v1/persons/{own_pathway.person_id}/"
    response = me_client.patch(url, {"nir": "123", "last_name": ""})
    assert response.status_code == 400
    assert set(response.json()) == {"nir", "last_name"}
    assert "NIR invalide" in response.json()["nir"][0]
    person = Person.objects.get(pk=own_pathway.person_id)
    assert person.nir == ""
    assert person.last_name != ""


def test_person_patch_birth_date_before_1900(me_client, own_pathway):
    url = f"/api/v1/persons/{own_pathway.person_id}/"
    response = me_client.patch(url, {"birth_date": "1899-12-31"})
    assert response.status_code == 400, response.content
    assert response.json() == {"birth_date": ["La date de naissance doit être postérieure à 1900."]}
    assert Person.objects.get(pk=own_pathway.person_id).birth_date == dt.date(1990, 5, 17)


def test_person_patch_to_a_nir_already_used_is_a_conflict(me_client, own_pathway):
    other = PathwayFactory(owner_organisation=own_pathway.owner_organisation)
    other.person.nir = valid_nir(7)
    other.person.save()
    url = f"/api/v1/persons/{own_pathway.person_id}/"
    response = me_client.patch(url, {"nir": valid_nir(7)})
    assert response.status_code == 409, response.content
    assert response.json()["existing_person"] == other.person_id


# --- referrals ------------------------------------------------------------------------------------


def _referral_payload(pathway, receiver_id, **overrides):
    return {
        "pathway": pathway.pk,
        "receiver_organisation": receiver_id,
        "kind": "substitution",
        "reason": "Accès à un chantier d'insertion",
        **overrides,
    }


def test_referral_to_unknown_receiver(me_client, own_pathway):
    response = me_client.post("/api/v1/referrals/", _referral_payload(own_pathway, 999999))
    assert response.status_code == 400
    body = response.json()
    assert body["receiver_organisation"] == ["Organisme inconnu."]
    assert body["detail"] == "Organisme destinataire inconnu."
    assert not Referral.objects.exists()


def test_referral_to_own_organisation(me_client, own_pathway, world):
    response = me_client.post("/api/v1/referrals/", _referral_payload(own_pathway, world.home.pk))
    assert response.status_code == 400
    assert "receiver_organisation" in response.json()


def test_referral_to_a_service_of_another_organisation(me_client, own_pathway, world):
    from ..factories import ServiceFactory

    foreign_service = ServiceFactory(organisation=world.elsewhere)
    payload = _referral_payload(own_pathway, world.siae.pk, receiver_service=foreign_service.pk)
    response = me_client.post("/api/v1/referrals/", payload)
    assert response.status_code == 400
    assert "receiver_service" in response.json()


def test_referral_missing_fields(me_client):
    response = me_client.post("/api/v1/referrals/", {})
    assert response.status_code == 400
    assert response.json() == {
        "pathway": [REQUIRED],
        "receiver_organisation": [REQUIRED],
        "kind": [REQUIRED],
        "reason": [REQUIRED],
    }


def test_referral_with_unknown_kind(me_client, own_pathway, world):
    payload = _referral_payload(own_pathway, world.siae.pk, kind="teleportation")
    response = me_client.post("/api/v1/referrals/", payload)
    assert response.status_code == 400
    assert list(response.json()) == ["kind"]
    assert "teleportation" in response.json()["kind"][0]
    assert "n'est pas un choix valide" in response.json()["kind"][0]


def test_refuse_without_reason(me_client, incoming):
    referral = incoming(sent=True)
    response = me_client.post(f"/api/v1/referrals/{referral.pk}/refuse/", {})
    assert response.status_code == 400
    assert response.json() == {"refusal_reason": [REQUIRED]}
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.SENT


def test_refuse_for_other_reason_needs_a_comment(me_client, incoming):
    referral = incoming(sent=True)
    response = me_client.post(
        f"/api/v1/referrals/{referral.pk}/refuse/", {"refusal_reason": "other"}
    )
    assert response.status_code == 400
    assert response.json()["comment"] == ["Un commentaire est obligatoire pour le motif « Autre »."]
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.SENT


@pytest.mark.parametrize("starts_at", ["demain", "", "2025-13-45T10:00", None])
def test_set_appointment_with_unreadable_date(me_client, incoming, starts_at):
    referral = incoming(accepted=True)
    response = me_client.post(
        f"/api/v1/referrals/{referral.pk}/set-appointment/", {"starts_at": starts_at}
    )
    assert response.status_code == 400
    assert list(response.json()) == ["starts_at"]
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.ACCEPTED
    assert not referral.appointments.exists()


def test_set_appointment_with_unknown_channel(me_client, incoming):
    referral = incoming(accepted=True)
    starts_at = (timezone.now() + dt.timedelta(days=1)).isoformat()
    response = me_client.post(
        f"/api/v1/referrals/{referral.pk}/set-appointment/",
        {"starts_at": starts_at, "channel": "pigeon"},
    )
    assert response.status_code == 400
    assert list(response.json()) == ["channel"]


def test_close_referral_without_outcome(me_client, incoming):
    referral = incoming(attended=True)
    response = me_client.post(f"/api/v1/referrals/{referral.pk}/close/", {})
    assert response.status_code == 400
    assert response.json() == {"outcome": [REQUIRED]}


# --- pathways -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "payload", "field"),
    [
        ("notes", {"text": ""}, "text"),
        ("notes", {"kind": "poème", "text": "x"}, "kind"),
        ("modality", {"modality": "intensif"}, "modality"),
        ("referent", {"referent": "moi"}, "referent"),
        ("referent", {"referent": 999999}, "referent"),
        ("barriers", {"kind": "argent"}, "kind"),
        ("close", {"outcome": "disparu"}, "outcome"),
        ("diagnostic", {"domain": "argent", "text": "x"}, "domain"),
        ("diagnostic", {"domain": "housing", "text": "   "}, "text"),
        ("diagnostic", {"domain": "housing", "text": "x" * 2001}, "text"),
        ("diagnostic", {"domain": "housing", "text": "x", "level": "grave"}, "level"),
        ("diagnostic", {"text": "x"}, "domain"),
    ],
)
def test_pathway_actions_with_bad_input(me_client, own_pathway, suffix, payload, field):
    response = me_client.post(f"/api/v1/pathways/{own_pathway.pk}/{suffix}/", payload)
    assert response.status_code == 400, response.content
    assert field in response.json()
    own_pathway.refresh_from_db()
    assert own_pathway.status == "open"


# --- agreements -----------------------------------------------------------------------------------


def _agreement_payload(world, **overrides):
    return {
        "name": "Convention locale",
        "level": "local",
        "parties": [world.home.pk, world.siae.pk],
        "starts_on": "2025-01-01",
        **overrides,
    }


@pytest.fixture
def manager_client(world, client_for):
    return client_for(world.manager)


def test_agreement_ending_before_it_starts(manager_client, world):
    payload = _agreement_payload(world, starts_on="2025-06-01", ends_on="2025-01-01")
    response = manager_client.post("/api/v1/agreements/", payload)
    assert response.status_code == 400
    assert response.json() == {"ends_on": ["La fin de la convention ne peut précéder son début."]}


def test_agreement_patch_ending_before_its_existing_start(manager_client, world):
    agreement = AgreementFactory(parties=[world.home, world.siae], starts_on=dt.date(2025, 6, 1))
    response = manager_client.patch(
        f"/api/v1/agreements/{agreement.pk}/", {"ends_on": "2025-01-01"}
    )
    assert response.status_code == 400
    assert list(response.json()) == ["ends_on"]
    agreement.refresh_from_db()
    assert agreement.ends_on is None


def test_consent_without_any_recipient_says_so_in_the_words_of_the_page(me_client, own_pathway):
    response = me_client.post(
        "/api/v1/consents/",
        {
            "person": own_pathway.person_id,
            "organisations": [],
            "categories": ["contact"],
            "purpose": "Coordination",
            "evidence_kind": "oral",
        },
    )
    assert response.status_code == 400
    assert response.json()["organisations"] == [
        "Choisissez au moins une organisation ou un type d'organisation."
    ]
    assert not own_pathway.person.consents.exists()


EVIDENCE_JUNK = [
    ("accord.html", b"<html><script>alert(1)</script></html>", "n'est ni un PDF"),
    (
        "accord.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        "n'est ni un PDF",
    ),
    ("accord.pdf", b"MZ\x90\x00\x03" + b"\x00" * 64, "n'est ni un PDF"),  # a program, renamed
    ("accord.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "son contenu est une image PNG"),
    ("accord.pdf", b"", "Le fichier soumis est vide."),
]


def test_consent_evidence_files_are_refused_on_their_field(me_client, own_pathway, settings):
    """What the audit uploaded (issue 15), by content whatever the name or the type the client
    says; and over the size limit. 400 on `evidence_file`, in French, nothing written."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.PARCOURS_EVIDENCE_MAX_BYTES = 100
    payload = {
        "person": own_pathway.person_id,
        "organisations": [],
        "organisation_kinds": ["siae"],
        "categories": ["contact"],
        "purpose": "Coordination",
        "evidence_kind": "signed_form",
    }
    big = ("accord.pdf", b"%PDF-1.4\n" + b"0" * 200, "Ce fichier est trop volumineux")
    for name, content, says in [*EVIDENCE_JUNK, big]:
        file = SimpleUploadedFile(name, content, "application/pdf")
        response = me_client.post(
            "/api/v1/consents/", {**payload, "evidence_file": file}, format="multipart"
        )
        assert response.status_code == 400, (name, response.content)
        assert list(response.json()) == ["evidence_file"], (name, response.json())
        assert says in response.json()["evidence_file"][0], (name, response.json())
    # Not a file at all (JSON): a French message too, never a 500.
    for junk in ("accord.pdf", 12, ["x"], {"name": "accord.pdf"}):
        response = me_client.post(
            "/api/v1/consents/", {**payload, "evidence_file": junk}, format="json"
        )
        assert response.status_code == 400, (junk, response.content)
        said = " ".join(response.json()["evidence_file"])
        assert said and not ENGLISH_DEFAULTS.search(said), said
    assert not own_pathway.person.consents.exists()


def test_agreement_with_a_single_party(manager_client, world):
    response = manager_client.post(
        "/api/v1/agreements/", _agreement_payload(world, parties=[world.home.pk])
    )
    assert response.status_code == 400
    assert response.json()["parties"] == ["Choisissez au moins deux organisations."]


def test_agreement_with_unknown_party(manager_client, world):
    response = manager_client.post(
        "/api/v1/agreements/", _agreement_payload(world, parties=[world.home.pk, 999999])
    )
    assert response.status_code == 400
    assert list(response.json()) == ["parties"]
    assert "999999" in response.json()["parties"][0]


def test_agreement_without_own_organisation(manager_client, world):
    response = manager_client.post(
        "/api/v1/agreements/",
        _agreement_payload(world, parties=[world.elsewhere.pk, world.siae.pk]),
    )
    assert response.status_code == 400
    assert response.json()["parties"] == ["Ajoutez votre organisation aux signataires."]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("acknowledge_within_working_days", 0),
        ("first_appointment_within_days", 1000),
        ("no_show_grace_hours", -1),
        ("level", "galactique"),
        ("starts_on", "01/01/2025"),
    ],
)
def test_agreement_field_bounds(manager_client, world, field, value):
    response = manager_client.post(
        "/api/v1/agreements/", _agreement_payload(world, **{field: value})
    )
    assert response.status_code == 400
    assert list(response.json()) == [field]


# --- acting organisation --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc", None, [1]])
def test_acting_organisation_with_garbage(me_client, value):
    response = me_client.post("/api/v1/me/acting-organisation/", {"organisation": value})
    assert response.status_code == 400
    assert list(response.json()) == ["organisation"]


def test_acting_organisation_header_with_garbage(world, client_for):
    client = client_for(world.me)
    client.credentials(HTTP_X_PARCOURS_ORGANISATION="not-a-number")
    response = client.get("/api/v1/me/")
    assert response.status_code == 403


# --- list filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/referrals/?status=bogus", "status"),
        ("/api/v1/referrals/?receiver=abc", "receiver"),
        ("/api/v1/referrals/?receiver=999999", "receiver"),
        ("/api/v1/referrals/?sender=abc", "sender"),
        ("/api/v1/referrals/?sent_after=notadate", "sent_after"),
        ("/api/v1/referrals/?sent_before=2025-99-99", "sent_before"),
        ("/api/v1/referrals/?kind=bogus", "kind"),
        ("/api/v1/referrals/?area=abc", "area"),
        ("/api/v1/referrals/?pathway=abc", "pathway"),
        ("/api/v1/referrals/?sent_by=bogus", "sent_by"),
        ("/api/v1/referrals/?needs_attention=maybe", "needs_attention"),
        ("/api/v1/referrals/?sent_since=12", "sent_since"),
        ("/api/v1/pathways/?status=bogus", "status"),
        ("/api/v1/pathways/?person=abc", "person"),
        ("/api/v1/pathways/?referent=abc", "referent"),
        ("/api/v1/pathways/?opened_after=yesterday", "opened_after"),
        ("/api/v1/pathways/?modality=bogus", "modality"),
        ("/api/v1/persons/?birth_date=31/02/2000", "birth_date"),
        ("/api/v1/appointments/?starts_after=soon", "starts_after"),
        ("/api/v1/appointments/?referral=abc", "referral"),
        ("/api/v1/appointments/?outcome=bogus", "outcome"),
        ("/api/v1/agreements/?party=abc", "party"),
        ("/api/v1/agreements/?level=bogus", "level"),
        ("/api/v1/organisations/?area=abc", "area"),
        ("/api/v1/organisations/?kind=bogus", "kind"),
        ("/api/v1/services/?organisation=abc", "organisation"),
        ("/api/v1/persons/?last_name=%00", "last_name"),
    ],
)
def test_list_filter_with_garbage(me_client, url, field):
    response = me_client.get(url)
    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/persons/?ordering=bogus",
        "/api/v1/referrals/?ordering=-nope",
        "/api/v1/persons/?page_size=abc",
        "/api/v1/pathways/?page_size=-5",
        "/api/v1/persons/?nir=" + "9" * 5000,
    ],
)
def test_harmless_garbage_in_query_is_ignored(me_client, url):
    response = me_client.get(url)
    assert response.status_code == 200, response.content
    assert "results" in response.json()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/pathways/?cursor=garbage",
        "/api/v1/referrals/?cursor=bz1hYmM%3D",  # base64 of "o=abc": a non-numeric offset
        "/api/v1/referrals/?cursor=%C3%A9",
        "/api/v1/persons/?cursor=abc",
        "/api/v1/persons/?cursor=bz1hYmM%3D",  # the persons' keyset pages too (issue 17)
    ],
)
def test_invalid_cursor_or_page_is_not_found(me_client, url):
    response = me_client.get(url)
    assert response.status_code == 404
    assert "detail" in response.json()


def test_invalid_timeline_cursor_is_not_found(me_client, own_pathway):
    response = me_client.get(f"/api/v1/pathways/{own_pathway.pk}/timeline/?cursor=bz1hYmM%3D")
    assert response.status_code == 404
    assert response.json()["detail"] == "Curseur non valide"


@pytest.mark.parametrize(
    "url", ["/api/v1/persons/1.5/", "/api/v1/referrals/.exe/accept/", "/api/v1/nowhere/"]
)
def test_an_api_url_that_no_route_matches_is_the_json_404(me_client, url):
    """The routers' ids exclude dots: `/persons/1.5/` matched no route and answered Django's
    HTML page where the API answers JSON (schemathesis, issue 15)."""
    response = me_client.get(url)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Non trouvé."}


def test_a_page_that_does_not_exist_is_still_the_french_page(client):
    response = client.get("/nulle-part/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- malformed bodies -----------------------------------------------------------------------------


def test_malformed_json(me_client):
    response = me_client.post(
        "/api/v1/persons/", data='{"first_name": "Léa",', content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_unsupported_media_type(me_client):
    response = me_client.post("/api/v1/persons/", data="<person/>", content_type="application/xml")
    assert response.status_code == 415
    assert "detail" in response.json()


POST_OR_PATCH = [key for key in ENDPOINTS if key[1] in {"POST", "PATCH"}]

# Raw JSON documents that are not objects (or an object with a nameless key).
JUNK_BODIES = ["[]", '[{"a": 1}]', "null", '"chaîne"', "12345", "true", '{"": null}']
JUNK_VALUES = [
    None,
    [],
    {},
    ["x"],
    {"nested": {"deeper": [1, 2]}},
    "x" * 100_000,
    "\x00",
    -1,
    2**70,
    1.5,
    True,
    "🙂" * 50,
    "'; DROP TABLE parcours_person; --",
]


def _key_id(key):
    return f"{key[1]} {key[0]}"


@pytest.mark.parametrize("key", POST_OR_PATCH, ids=_key_id)
def test_junk_never_causes_a_server_error(key, world, client_for):
    row = ENDPOINTS[key]
    path, method = key
    actor, pk, valid_payload = row.own(world)
    client = client_for(actor)
    url = path.format(pk=pk) if pk is not None else path
    send = getattr(client, method.lower())
    statuses = []

    for body in JUNK_BODIES:
        response = send(url, body, content_type="application/json")
        statuses.append(response.status_code)
        assert response.status_code < 500, (body, response.content)
        if valid_payload is not None and body != '{"": null}':
            assert response.status_code == 400, (body, response.content)

    for field in valid_payload or {}:
        for value in JUNK_VALUES:
            response = send(url, {**valid_payload, field: value}, format="json")
            statuses.append(response.status_code)
            assert response.status_code < 500, (field, repr(value)[:60], response.content)
            assert response["Content-Type"] == "application/json", response.content
    assert statuses


@pytest.mark.parametrize("raw", [b"\xff\xfe\x00", b"[" * 5000, b'{"a": 1e999999}', b"\x00"])
def test_undecodable_bodies_are_bad_requests(me_client, raw):
    response = me_client.generic("POST", "/api/v1/persons/", raw, "application/json")
    assert response.status_code == 400, response.content


def test_a_list_of_persons_is_not_a_bulk_create(me_client):
    PersonFactory()
    response = me_client.post("/api/v1/persons/", [_person_payload()], format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]
    assert Person.objects.count() == 1


# --- dates checked against what they mean (issue 13): 400 with a French field message ----------

ENGLISH = ("This field", "Enter a valid", "valid choice", "Ensure this value", "Server Error")


def _french_field_error(response, field: str) -> str:
    assert response.status_code == 400, response.content
    message = response.json()[field][0]
    assert not any(english in message for english in ENGLISH), message
    return message


def _rows():
    from ..rows import snapshot

    return snapshot()


@pytest.mark.parametrize(
    ("birth_date", "says"),
    [
        ("2031-12-31", "ne peut pas être dans le futur"),
        ("9999-12-31", "ne peut pas être dans le futur"),
        ("0001-01-01", "postérieure à 1900"),
        ((dt.date.today() - dt.timedelta(days=365 * 10)).isoformat(), "au moins 15 ans"),
    ],
)
def test_person_with_an_implausible_birth_date(me_client, birth_date, says):
    before = _rows()
    response = me_client.post("/api/v1/persons/", _person_payload(birth_date=birth_date))
    assert says in _french_field_error(response, "birth_date")
    assert _rows() == before


def test_person_patch_to_a_future_birth_date(me_client, own_pathway):
    before = _rows()
    response = me_client.patch(
        f"/api/v1/persons/{own_pathway.person_id}/", {"birth_date": "2031-12-31"}
    )
    assert "futur" in _french_field_error(response, "birth_date")
    assert _rows() == before


@pytest.mark.parametrize(
    ("starts_at", "says"),
    [
        ("2020-01-01T10:00:00+01:00", "cette date est passée"),
        ("0001-01-01T00:00:00Z", "cette date est passée"),
        ("9999-12-30T10:00:00+01:00", "au plus un an à l'avance"),
        # Beyond the local calendar: DRF's own French message (the service would overflow).
        ("9999-12-31T23:59:00Z", "hors de l'intervalle"),
        # Computed when the test runs, not at collection: pytest-xdist's workers must collect
        # the same test ids.
        ("IN_800_DAYS", "au plus un an à l'avance"),
    ],
)
def test_set_appointment_in_the_past_or_years_ahead(me_client, incoming, starts_at, says):
    if starts_at == "IN_800_DAYS":
        starts_at = (timezone.now() + dt.timedelta(days=800)).isoformat()
    referral = incoming(accepted=True)
    before = _rows()
    response = me_client.post(
        f"/api/v1/referrals/{referral.pk}/set-appointment/", {"starts_at": starts_at}
    )
    assert says in _french_field_error(response, "starts_at")
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.ACCEPTED
    assert _rows() == before


@pytest.mark.parametrize("move", ["record-no-show", "record-attendance"])
def test_outcome_of_an_appointment_that_has_not_happened(me_client, incoming, move):
    from ..factories import AppointmentFactory

    referral = incoming(appointment_set=True)
    AppointmentFactory(referral=referral, starts_at=timezone.now() + dt.timedelta(days=1))
    before = _rows()
    response = me_client.post(f"/api/v1/referrals/{referral.pk}/{move}/", {})
    assert response.status_code == 400, response.content
    assert "n'a pas encore eu lieu" in response.json()["detail"]
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.APPOINTMENT_SET
    assert _rows() == before


DPO_PERIOD_ENDPOINTS = [
    lambda w: (
        f"/api/v1/dpo/persons/{PathwayFactory(owner_organisation=w.home).person_id}/access-report/"
    ),
    lambda w: f"/api/v1/dpo/users/{w.me.user.pk}/activity-report/",
    lambda w: "/api/v1/dpo/anomalies/",
    lambda w: "/api/v1/dpo/journal-integrity/",
]


@pytest.mark.parametrize(
    "endpoint", DPO_PERIOD_ENDPOINTS, ids=["person", "user", "anomalies", "integrity"]
)
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "0001-01-01"}, "from"),
        ({"to": "0001-01-01"}, "to"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "9999-12-31", "to": "9999-12-31"}, "from"),
        ({"from": "0001-01-01", "export": "csv"}, "from"),
        ({"to": "9999-12-31", "export": "pdf"}, "to"),
        ({"from": "2023-02-30"}, "from"),
    ],
)
def test_dpo_report_periods_out_of_bounds(world, client_for, endpoint, query, field):
    """0001-01-01 and 9999-12-31 crashed every DPO report (the calendar overflowed)."""
    response = client_for(world.dpo).get(endpoint(world), query)
    _french_field_error(response, field)


def test_an_unknown_export_of_the_processing_register_is_a_400_in_french(world, client_for):
    """`?export=AAA` answered the JSON register as if nothing were asked (schemathesis,
    issue 15): the register is downloaded as PDF or read as JSON, nothing else."""
    response = client_for(world.dpo).get("/api/v1/dpo/processing-register/", {"export": "AAA"})
    assert "n'est pas un choix valide" in _french_field_error(response, "export")
    empty = client_for(world.dpo).get("/api/v1/dpo/processing-register/", {"export": ""})
    assert empty.status_code == 200  # an empty parameter is no parameter (allowEmptyValue)
    assert empty["Content-Type"] == "application/json"


def test_rights_request_received_on_an_absurd_day(world, client_for):
    person = PathwayFactory(owner_organisation=world.home).person
    before = _rows()
    response = client_for(world.dpo).post(
        "/api/v1/dpo/rights-requests/",
        {"person": person.pk, "kind": "access", "channel": "desk", "received_on": "0001-01-01"},
    )
    assert "postérieure au 01/01/2000" in _french_field_error(response, "received_on")
    assert _rows() == before


# --- the page forms' junk on their endpoints: 400, a French message per field, nothing written ---

LONG = "x" * 10_001
NUL = "Léa\x00Martin"
IMPOSSIBLE_DATES = ["2023-02-30", "0001-01-01", "9999-12-31", "31/12/2031", "demain", NUL]
UNKNOWN_IDS = [999999, "abc", -1, "99999999999999999999999"]


def _api_forms(w, own_pathway, incoming):
    """(url, valid payload, {field: junk values}) for the endpoints behind the page forms."""
    person = {"first_name": "Inès", "last_name": "Durand", "birth_date": "1991-02-03"}
    return [
        (
            "/api/v1/persons/",
            person,
            {
                "first_name": ["", "   ", LONG, NUL],
                "last_name": ["", LONG, NUL],
                "birth_date": ["", *IMPOSSIBLE_DATES, "1899-12-31"],
                "nir": ["123", "190056211912345", "2" * 15, LONG, NUL],
                "france_travail_id": ["12", "ABCDEFGHIJK", "1234567-89", LONG],
                "email": ["pas-un-email", LONG],
                "phone": [LONG, NUL, "12", "abc", "06 12 34"],
                "postal_code": ["6230", "ABCDE", "62 300", LONG],
                "city": [LONG, NUL],
            },
        ),
        (
            f"/api/v1/persons/{own_pathway.person_id}/",
            {},
            {"birth_date": IMPOSSIBLE_DATES, "nir": ["123", NUL], "last_name": ["", NUL]},
        ),
        (
            "/api/v1/referrals/",
            _referral_payload(own_pathway, w.siae.pk),
            {
                "receiver_organisation": ["", *UNKNOWN_IDS, w.home.pk],
                "kind": ["", "martien"],
                "reason": ["", "   ", LONG, NUL],
                "context_note": [LONG, NUL],
                "shared_categories": [["martien"], ["health"]],
            },
        ),
        (
            "/api/v1/consents/",
            {
                "person": own_pathway.person_id,
                "organisations": [w.siae.pk],
                "categories": ["contact"],
                "purpose": "Coordination",
                "evidence_kind": "oral",
            },
            {
                "organisations": [[], *([i] for i in UNKNOWN_IDS)],
                "categories": [[], ["martien"]],
                "purpose": ["", LONG, NUL],
                "evidence_kind": ["", "martien"],
            },
        ),
        (
            "/api/v1/consents/choices/",
            {
                "person": own_pathway.person_id,
                "choices": [
                    {"category": "identity", "organisations": [w.siae.pk]},
                    {"category": "social", "organisation_kinds": ["departement"]},
                ],
                "purpose": "Coordination",
                "evidence_kind": "oral",
            },
            {
                "choices": [
                    [],
                    [{"category": "martien", "organisations": [w.siae.pk]}],
                    [{"category": "identity", "organisations": ["abc"]}],
                    [{"category": "identity", "organisation_kinds": ["martien"]}],
                    # Nothing shared, an unknown organisation, a category twice.
                    [{"category": "identity"}],
                    *([{"category": "identity", "organisations": [i]}] for i in UNKNOWN_IDS),
                    [
                        {"category": "identity", "organisations": [w.siae.pk]},
                        {"category": "identity", "organisation_kinds": ["ccas"]},
                    ],
                    NUL,
                ],
                "purpose": ["", LONG, NUL],
                "evidence_kind": ["", "martien"],
                "ends_on": ["2000-01-01"],
            },
        ),
        (
            f"/api/v1/referrals/{incoming(sent=True).pk}/refuse/",
            {"refusal_reason": "no_capacity"},
            {"refusal_reason": ["", "martien"], "comment": [LONG, NUL]},
        ),
        (
            f"/api/v1/referrals/{incoming(accepted=True).pk}/set-appointment/",
            {"starts_at": (timezone.now() + dt.timedelta(days=3)).isoformat()},
            {
                "starts_at": ["", *IMPOSSIBLE_DATES, "2020-01-01T10:00"],
                "channel": ["martien"],
                "place": [LONG, NUL],
            },
        ),
        (
            f"/api/v1/referrals/{incoming(attended=True).pk}/close/",
            {"outcome": "job"},
            {"outcome": ["", "martien"], "comment": [LONG, NUL]},
        ),
    ]


ENGLISH_DEFAULTS = re.compile(
    r"This field|Enter a valid|valid choice|Ensure this|Null characters|not a valid|"
    r"Invalid pk|Incorrect type|Expected a"
)


def test_the_page_forms_junk_on_the_api(world, me_client, own_pathway, incoming):
    """What tests/web/test_form_fuzz.py posts to the pages, sent to the endpoints behind them
    (PATCH for the person's record): each value refused with a French message on its field,
    nothing written."""
    forms = _api_forms(world, own_pathway, incoming)
    before = _rows()
    for url, valid, junk in forms:
        send = me_client.patch if url.count("/") == 5 and "persons" in url else me_client.post
        for field, values in junk.items():
            for value in values:
                response = send(url, {**valid, field: value}, format="json")
                case = (url, field, repr(value)[:40])
                assert response.status_code == 400, (case, response.content[:300])
                body = response.json()
                assert field in body or "detail" in body, (case, body)
                said = " ".join(str(m) for m in body.get(field, [body.get("detail", "")]))
                assert said and not ENGLISH_DEFAULTS.search(said), (case, said)
                assert _rows() == before, (case, "something was written")


# --- the action plan: the pages' junk on its endpoints, and the rules the service checks ------


def test_the_action_plan_junk_on_the_api(world, me_client, own_pathway):
    from ..factories import ObjectiveFactory, PlanActionFactory

    objective = ObjectiveFactory(pathway=own_pathway)
    plan_action = PlanActionFactory(objective=objective)
    soon = (timezone.localdate() + dt.timedelta(days=7)).isoformat()
    forms = [
        (
            "/api/v1/objectives/",
            {"pathway": own_pathway.pk, "title": "Trouver un logement"},
            {"pathway": ["", "abc"], "title": ["", "   ", "y" * 201, NUL]},
        ),
        (
            "/api/v1/plan-actions/",
            {
                "objective": objective.pk,
                "label": "Atelier CV",
                "owner_organisation": world.home.pk,
                "due_on": soon,
            },
            {
                "objective": ["", "abc"],
                "label": ["", "   ", LONG, NUL],
                # Not working on the pathway (the SIAE, here), or not an organisation at all.
                "owner_organisation": ["", *UNKNOWN_IDS[:3], world.siae.pk],
                "due_on": ["", *IMPOSSIBLE_DATES, "2001-01-01"],
            },
        ),
        (
            f"/api/v1/objectives/{objective.pk}/status/",
            {"status": "achieved"},
            {"status": ["", "x"]},
        ),
        (f"/api/v1/plan-actions/{plan_action.pk}/status/", {"status": "done"}, {"status": ["x"]}),
    ]
    before = _rows()
    for url, valid, junk in forms:
        for field, values in junk.items():
            for value in values:
                response = me_client.post(url, {**valid, field: value}, format="json")
                case = (url, field, repr(value)[:40])
                assert response.status_code == 400, (case, response.content[:300])
                said = " ".join(str(m) for m in response.json().get(field, []))
                assert said and not ENGLISH_DEFAULTS.search(said), (case, response.json())
                assert _rows() == before, (case, "something was written")


def test_a_plan_move_the_state_refuses_is_a_conflict(world, me_client, own_pathway):
    from ..factories import PlanActionFactory

    plan_action = PlanActionFactory(objective__pathway=own_pathway, done=True)
    response = me_client.post(
        f"/api/v1/plan-actions/{plan_action.pk}/status/", {"status": "abandoned"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "L'action ne peut pas passer de l'état « Faite » à « Abandonnée »."
    )


def test_a_body_beyond_the_limit_is_a_json_413(make_actor, client_for):
    """Issue 16, finding 7: a 3 MB body got Django's HTML 400 page."""
    response = client_for(make_actor()).post(
        "/api/v1/persons/", data="x" * 3_000_000, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json() == {
        "detail": "Requête trop volumineuse : 2,6 Mo au plus (hors pièces jointes).",
        "code": "request_too_large",
    }
