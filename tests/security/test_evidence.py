"""Consent evidence files (issue 15; docs/security.md, « Pièces justificatives »).

Accepted only as PDF, JPEG or PNG recognised by their content, with an extension that agrees,
under the size limit — through the API and the pages alike, a refusal a French message on the
field and nothing written; kept encrypted under the field keys and a random name; downloaded
only through the gate (the consent's read rule, journaled, an attachment with the sniffed type);
re-encrypted by the key rotation; files kept in clear before are encrypted by a command.
"""

import io
import os
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http.multipartparser import MultiPartParser
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.views.static import serve

from parcours import evidence
from parcours.actor import Actor
from parcours.errors import InvalidInput
from parcours.models import AccessEvent, Consent, Person, Role
from parcours.services.consent import consent_record
from tests.rows import snapshot

from ..factories import (
    ConsentFactory,
    PathwayFactory,
    PersonFactory,
    ReferralFactory,
    real_image,
    real_pdf,
    with_evidence,
)

pytestmark = pytest.mark.django_db

KEY_A = os.environ["FIELD_ENCRYPTION_KEYS"].split(",")[0]
KEY_B = Fernet.generate_key().decode()
PDF = real_pdf("Formulaire de consentement signé par Éloïse Dupont")
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
NOT_ACCEPTED = "n'est ni un PDF, ni une image JPEG ou PNG"
PURPOSE = "Orientation vers le chantier d'insertion"

# What the audit posted, and what an extension that lies about the content looks like.
REFUSED = [
    pytest.param("accord.html", b"<html><script>alert(document.cookie)</script></html>",
                 NOT_ACCEPTED, id="html"),
    pytest.param("accord.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
                 NOT_ACCEPTED, id="svg"),
    pytest.param("accord.exe", EXE, NOT_ACCEPTED, id="exe"),
    pytest.param("accord.pdf", EXE, NOT_ACCEPTED, id="exe-renamed-pdf"),
    pytest.param("accord.pdf", real_image("PNG"),
                 "se termine par « .pdf » mais son contenu est une image PNG", id="png-named-pdf"),
    pytest.param("scan.jpg", PDF, "se termine par « .jpg » mais son contenu est un PDF",
                 id="pdf-named-jpg"),
    pytest.param("accord", PDF, "n'a pas d'extension", id="no-extension"),
    pytest.param("accord.pdf", b"", "Le fichier soumis est vide.", id="empty"),
]  # fmt: skip


@dataclass
class Scene:
    owner: Actor  # France Travail holds Éloïse's pathway
    partner: Actor  # the SIAE her consents concern
    stranger: Actor  # a Mission locale with no relation to her
    manager: Actor  # France Travail's manager (no identity: does not read consents)
    person: Person

    @property
    def person_id(self) -> int:
        return self.person.pk

    def payload(self, **changes) -> dict:
        return {
            "person": self.person_id,
            "organisations": [self.partner.organisation.pk],
            "categories": ["identity", "pathway"],
            "purpose": PURPOSE,
            "evidence_kind": "signed_form",
            **changes,
        }

    def form(self, **changes) -> dict:
        return {
            "organisations": [self.partner.organisation.pk],
            "categories": ["identity", "pathway"],
            "purpose": PURPOSE,
            "evidence_kind": "signed_form",
            **changes,
        }


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def stored(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


@pytest.fixture
def scene(make_actor, media) -> Scene:
    owner = make_actor(name="France Travail Lens")
    partner = make_actor(siae=True, name="Chantier Les Jardins")
    stranger = make_actor(mission_locale=True, name="Mission locale Arras")
    manager = make_actor(organisation=owner.organisation, role=Role.MANAGER)
    person = PersonFactory(first_name="Éloïse", last_name="Dupont")
    PathwayFactory(person=person, owner_organisation=owner.organisation, referent=owner.user)
    return Scene(owner, partner, stranger, manager, person)


def page_client(actor: Actor) -> Client:
    client = Client()
    client.force_login(actor.user)
    return client


def upload(name: str, content: bytes, content_type: str = "application/pdf"):
    # The client's content type says PDF every time: it is never believed.
    return SimpleUploadedFile(name, content, content_type)


def _consent_url(consent: Consent) -> str:
    return f"/api/v1/consents/{consent.pk}/evidence/"


def _page_url(consent: Consent) -> str:
    return reverse("web:consent-evidence", args=[consent.person_id, consent.pk])


# --- Refused, through both doors ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "says"), REFUSED)
def test_the_api_refuses_the_file_on_its_field(name, content, says, scene, client_for, media):
    before = snapshot()
    response = client_for(scene.owner).post(
        "/api/v1/consents/", {**scene.payload(), "evidence_file": upload(name, content)},
        format="multipart",
    )  # fmt: skip
    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body) == ["evidence_file"], body
    assert says in body["evidence_file"][0], body
    assert snapshot() == before
    assert stored(media) == []


@pytest.mark.parametrize(("name", "content", "says"), REFUSED)
def test_the_page_refuses_the_file_keeping_what_was_typed(name, content, says, scene, media):
    before = snapshot()
    response = page_client(scene.owner).post(
        reverse("web:consent-create", args=[scene.person_id]),
        scene.form(evidence_file=upload(name, content)),
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert says.replace("'", "&#x27;") in page
    assert 'class="fr-error-text"' in page
    assert PURPOSE.replace("'", "&#x27;") in page  # what was typed comes back
    assert snapshot() == before
    assert stored(media) == []


def test_a_file_over_the_limit_is_refused_in_french(scene, client_for, settings, media):
    """Over FILE_UPLOAD_MAX_MEMORY_SIZE (a temporary file, not memory) and over the limit."""
    settings.PARCOURS_EVIDENCE_MAX_BYTES = 1024 * 1024
    big = PDF + b"\n%" + b"0" * (3 * 1024 * 1024)
    before = snapshot()
    response = client_for(scene.owner).post(
        "/api/v1/consents/",
        {**scene.payload(), "evidence_file": upload("accord.pdf", big)},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json() == {
        "evidence_file": ["Ce fichier est trop volumineux : 1\xa0Mo au plus."]
    }
    page = page_client(scene.owner).post(
        reverse("web:consent-create", args=[scene.person_id]),
        scene.form(evidence_file=upload("accord.pdf", big)),
    )
    assert page.status_code == 400
    assert "Ce fichier est trop volumineux : 1\xa0Mo au plus." in page.content.decode()
    assert snapshot() == before
    assert stored(media) == []


def test_the_default_limit_is_ten_megabytes(settings):
    assert settings.PARCOURS_EVIDENCE_MAX_BYTES == 10 * 1024 * 1024
    just_over = SimpleUploadedFile("accord.pdf", b"%PDF-1.4")
    just_over.size = 10 * 1024 * 1024 + 1  # the size is what is checked, not read
    assert evidence.errors(just_over) == ["Ce fichier est trop volumineux : 10\xa0Mo au plus."]


class _Body(io.RawIOBase):
    """A multipart body of `size` bytes of file, produced as it is read (never whole)."""

    def __init__(self, boundary: str, size: int) -> None:
        self.parts = [
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="evidence_file"; '
                'filename="accord.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n'
            ).encode(),
            size,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
        self.length = len(self.parts[0]) + size + len(self.parts[2])

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        while self.parts:
            part = self.parts[0]
            if isinstance(part, int):
                take = min(n if n > 0 else part, part)
                if part - take:
                    self.parts[0] = part - take
                else:
                    self.parts.pop(0)
                return b"0" * take
            if part:
                taken, self.parts[0] = (
                    part[: n if n > 0 else None],
                    part[n if n > 0 else len(part) :],
                )
                return taken
            self.parts.pop(0)
        return b""


def test_a_huge_upload_is_cut_as_it_arrives_never_held_whole(settings):
    """200 MB were accepted before issue 15: a 64 MB body through the upload handlers of the
    settings holds at most the limit and one chunk, in memory or in the temporary file."""
    from django.core.files.uploadhandler import load_handler

    settings.PARCOURS_EVIDENCE_MAX_BYTES = 1024 * 1024
    body = _Body("frontiere", 64 * 1024 * 1024)
    meta = {
        "CONTENT_TYPE": "multipart/form-data; boundary=frontiere",
        "CONTENT_LENGTH": str(body.length),
    }
    handlers = [load_handler(path, None) for path in settings.FILE_UPLOAD_HANDLERS]
    tracemalloc.start()
    try:
        _post, files = MultiPartParser(meta, body, handlers).parse()
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    received = files["evidence_file"]
    assert received.size > settings.PARCOURS_EVIDENCE_MAX_BYTES
    assert received.size <= settings.PARCOURS_EVIDENCE_MAX_BYTES + 64 * 1024
    assert peak < 8 * 1024 * 1024, peak
    assert evidence.errors(received) == ["Ce fichier est trop volumineux : 1\xa0Mo au plus."]
    received.close()


def test_a_recording_that_fails_after_the_file_was_kept_leaves_no_file(scene, media):
    with pytest.raises(InvalidInput):
        consent_record(
            actor=scene.owner,
            person_id=scene.person_id,
            organisation_ids=[999_999],  # refused by the service, after the file was stored
            categories=["identity"],
            purpose=PURPOSE,
            evidence_kind="signed_form",
            evidence_file=upload("accord.pdf", PDF),
        )
    assert stored(media) == []
    assert not Consent.objects.exists()


def test_a_file_is_never_saved_on_the_field_as_it_came(scene):
    consent = ConsentFactory(person=scene.person)
    consent.evidence_file = upload("accord.pdf", PDF)
    with pytest.raises(ValueError, match=r"parcours\.evidence\.keep"):
        consent.save()


# --- Accepted, kept encrypted, read back through the gate ----------------------------------------


def _token_files(media: Path) -> list[Path]:
    files = stored(media)
    assert len(files) == 1, files
    return files


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("Formulaire signé Dupont.pdf", PDF, "application/pdf"),
        ("photo-accord.JPEG", real_image("JPEG"), "image/jpeg"),
        ("accord.png", real_image("PNG"), "image/png"),
    ],
)
def test_an_accepted_file_is_encrypted_and_read_back_identical_through_the_api(
    name, content, content_type, scene, client_for, media
):
    response = client_for(scene.owner).post(
        "/api/v1/consents/",
        {**scene.payload(), "evidence_file": upload(name, content, "text/html")},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    consent = Consent.objects.get(pk=response.json()["id"])

    # On disk: a Fernet token under the field keys, named neither after the person nor the file.
    (path,) = _token_files(media)
    raw = path.read_bytes()
    assert raw != content and content[:8] not in raw and b"Dupont" not in raw
    assert raw.startswith(b"gAAAAA")
    assert Fernet(KEY_A).decrypt(raw) == content
    assert response.json()["has_evidence_file"] is True
    assert consent.evidence_file.name == path.relative_to(media).as_posix()
    for clue in ("Dupont", "Eloise", "Éloïse", "accord", "Formulaire", ".pdf", ".jpeg", ".png"):
        assert clue.lower() not in consent.evidence_file.name.lower()
    assert oct(path.stat().st_mode & 0o777) == "0o600"

    download = client_for(scene.owner).get(_consent_url(consent))
    assert download.status_code == 200
    assert download.content == content
    assert download["Content-Type"] == content_type
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"] == (
        f'attachment; filename="accord-{consent.pk}-piece-justificative'
        f'{evidence.sniff(content).extension}"'
    )
    assert "no-store" in download["Cache-Control"]
    row = AccessEvent.objects.filter(user=scene.owner.user).latest("id")
    assert (row.operation, row.object_type, row.object_id, row.person_id) == (
        "read",
        "consent",
        consent.pk,
        scene.person_id,
    )
    assert (row.categories, row.detail["action"], row.detail["door"]) == (
        ["identity"],
        "consent.evidence_read",
        "api",
    )
    assert "legal:owner" in row.basis.split()


def test_a_client_that_accepts_only_the_file_type_gets_it(scene, client_for):
    """A partner system asking for `Accept: application/pdf` gets the file, never a 406; a
    refusal is still the API's JSON."""
    consent = with_evidence(ConsentFactory(person=scene.person), PDF)
    client = client_for(scene.owner)
    response = client.get(_consent_url(consent), HTTP_ACCEPT="application/pdf")
    assert (response.status_code, response.content) == (200, PDF)
    missing = client.get("/api/v1/consents/999999/evidence/", HTTP_ACCEPT="application/pdf")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Non trouvé."}


def test_the_partner_the_consent_concerns_downloads_it_too(scene, client_for):
    """The SIAE received a referral of Éloïse and her consent names it: it reads the consent."""
    ReferralFactory(
        pathway=scene.person.pathways.get(),
        sender_user=scene.owner.user,
        receiver_organisation=scene.partner.organisation,
        sent=True,
    )
    consent = with_evidence(
        ConsentFactory(person=scene.person, organisations=[scene.partner.organisation]),
        PDF,
    )
    response = client_for(scene.partner).get(_consent_url(consent))
    assert response.status_code == 200
    assert response.content == PDF


def test_an_organisation_without_access_gets_404_like_missing(scene, client_for):
    consent = with_evidence(
        ConsentFactory(person=scene.person, organisations=[scene.partner.organisation]),
        PDF,
    )
    for actor in (scene.stranger, scene.manager):
        response = client_for(actor).get(_consent_url(consent))
        missing = client_for(actor).get("/api/v1/consents/999999/evidence/")
        assert response.status_code == missing.status_code == 404
        assert response.json() == missing.json() == {"detail": "Non trouvé."}
        assert PDF not in response.content
        # The probe is journaled as a refusal, never as a read.
        rows = AccessEvent.objects.filter(user=actor.user, object_id=consent.pk)
        assert [(r.operation, r.detail["refusal"]) for r in rows] == [("denied", "not_found")]


def test_a_consent_without_file_has_nothing_to_download(scene, client_for):
    consent = ConsentFactory(person=scene.person, organisations=[scene.partner.organisation])
    response = client_for(scene.owner).get(_consent_url(consent))
    assert response.status_code == 404
    assert not AccessEvent.objects.filter(operation="read", object_id=consent.pk).exists()


def test_the_page_records_a_signed_form_and_serves_it_through_the_gate(scene, media):
    photo = real_image("JPEG")
    client = page_client(scene.owner)
    response = client.post(
        reverse("web:consent-create", args=[scene.person_id]),
        scene.form(evidence_file=upload("IMG_2031.jpg", photo, "application/pdf")),
    )
    assert response.status_code == 302
    consent = Consent.objects.get(person_id=scene.person_id)
    page = client.get(reverse("web:person-detail", args=[scene.person_id])).content.decode()
    assert f'href="{_page_url(consent)}"' in page
    (path,) = _token_files(media)
    assert photo[:4] not in path.read_bytes()

    download = client.get(_page_url(consent))
    assert download.status_code == 200
    assert download.content == photo
    assert download["Content-Type"] == "image/jpeg"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"].startswith("attachment; ")
    row = AccessEvent.objects.filter(user=scene.owner.user, operation="read").latest("id")
    assert (row.object_id, row.detail["action"], row.detail["door"]) == (
        consent.pk,
        "consent.evidence_read",
        "page",
    )

    # Another organisation, a manager, or the consent under another person's address: 404.
    other_person = PathwayFactory(owner_organisation=scene.owner.organisation).person_id
    for actor, url in (
        (scene.stranger, _page_url(consent)),
        (scene.manager, _page_url(consent)),
        (scene.owner, reverse("web:consent-evidence", args=[other_person, consent.pk])),
    ):
        refused = page_client(actor).get(url)
        assert refused.status_code == 404, (actor.role, url)
        assert "Page introuvable" in refused.content.decode()
        assert photo not in refused.content


def test_the_storage_directory_is_served_by_no_url(scene, client_for, settings):
    consent = with_evidence(ConsentFactory(person=scene.person), PDF)
    name = consent.evidence_file.name

    def views(patterns):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from views(entry.url_patterns)
            elif isinstance(entry, URLPattern):
                yield entry.callback

    assert serve not in set(views(get_resolver().url_patterns))
    assert settings.MEDIA_URL in ("", "/")  # Django's default: nothing is published there
    client = page_client(scene.owner)
    for url in (f"/{name}", f"/media/{name}", f"/static/{name}", f"/var/media/{name}"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert PDF not in response.content


# --- Key rotation and files kept before encryption -----------------------------------------------


def test_rotation_re_encrypts_the_files_so_the_old_key_can_go(scene, client_for, media):
    consent = with_evidence(ConsentFactory(person=scene.person), PDF)
    (path,) = _token_files(media)
    before = path.read_bytes()

    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_B, KEY_A]):
        out = io.StringIO()
        call_command("rotate_field_keys", stdout=out)
        assert "Pièces justificatives : 1 re-chiffrées, 0 déjà sous la clé" in out.getvalue()
        again = io.StringIO()
        call_command("rotate_field_keys", stdout=again)
        assert "Pièces justificatives : 0 re-chiffrées, 1 déjà sous la clé" in again.getvalue()

    after = path.read_bytes()
    assert stored(media) == [path]  # the same name, in place
    assert after != before
    assert Fernet(KEY_B).decrypt(after) == PDF
    with pytest.raises(InvalidToken):
        Fernet(KEY_A).decrypt(after)
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_B]):  # the old key removed
        response = client_for(scene.owner).get(_consent_url(consent))
        assert response.status_code == 200
        assert response.content == PDF


def test_rotation_stops_on_a_file_no_key_decrypts(scene, media):
    consent = ConsentFactory(person=scene.person)
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY_B]):  # a key since removed
        with_evidence(consent, PDF)
    with pytest.raises(CommandError) as error:
        call_command("rotate_field_keys", stdout=io.StringIO())
    assert f"parcours.Consent.evidence_file (n°{consent.pk})" in str(error.value)


def _legacy(consent: Consent, name: str, content: bytes) -> str:
    """A file stored as it came before issue 15, under a name built from its own."""
    saved = evidence._storage().save(name, io.BytesIO(content))
    consent.evidence_file = saved
    consent.save()
    return saved


def test_files_stored_in_clear_before_are_encrypted_and_renamed(scene, client_for, media):
    signed = ConsentFactory(person=scene.person)
    odd = ConsentFactory(person=scene.person)
    old_pdf = _legacy(signed, "consents/2025/formulaire-dupont-eloise.pdf", PDF)
    page = b"<html><body>Accord</body></html>"
    old_html = _legacy(odd, "consents/2025/accord.html", page)

    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out)  # before the command: said, not done
    assert "2 pièces justificatives encore en clair" in out.getvalue()

    out = io.StringIO()
    call_command("encrypt_evidence_files", stdout=out)
    assert (
        "Chiffrement terminé : 2 pièces justificatives chiffrées (dont 1 ni PDF, ni JPEG, ni "
        "PNG), 0 déjà chiffrées, 0 absentes du stockage." in out.getvalue()
    )
    assert "dupont" not in out.getvalue()
    signed.refresh_from_db()
    odd.refresh_from_db()
    for consent, old in ((signed, old_pdf), (odd, old_html)):
        assert consent.evidence_file.name.startswith("evidence/")
        assert not evidence._storage().exists(old)
        names = set(consent.history.values_list("evidence_file", flat=True))
        assert old not in names and consent.evidence_file.name in names
    for path in stored(media):
        assert path.read_bytes().startswith(b"gAAAAA")

    response = client_for(scene.owner).get(_consent_url(signed))
    assert (response.status_code, response.content) == (200, PDF)
    assert response["Content-Type"] == "application/pdf"
    response = client_for(scene.owner).get(_consent_url(odd))  # kept: evidence, but never shown
    assert (response.status_code, response.content) == (200, page)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment; ")
    assert response["Content-Disposition"].endswith('.bin"')

    again = io.StringIO()
    call_command("encrypt_evidence_files", stdout=again)  # idempotent
    assert "0 pièces justificatives chiffrées" in again.getvalue()
    assert "2 déjà chiffrées" in again.getvalue()
