"""The person's own space (issue 19), through its pages: sign-in with a one-time code (right,
wrong, expired, exhausted, unknown address — the same answers), what the space shows (the
organisations that consulted the record, when and why, never a staff name; their consents;
not another person's data), the withdrawal of a consent (the grants move in its transaction,
journaled with the person as the actor), and the separation of a person's and a staff session.
The e-mail's way through the real relay and SMTP server: test_code_mail.py."""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from notifications.models import OutboxKind, OutboxMessage
from parcours.access import categories_for
from parcours.models import AccessEvent, Consent, PersonSignInCode

from .world import BIRTH, EMAIL, build_world

pytestmark = pytest.mark.django_db

SIGN_IN = reverse("web:person-space-sign-in")
CODE = reverse("web:person-space-code")
SPACE = reverse("web:person-space")


@pytest.fixture
def world():
    return build_world()


def ask_code(client: Client, email: str = EMAIL, birth: dt.date = BIRTH):
    return client.post(SIGN_IN, {"email": email, "birth_date": birth.isoformat()})


def last_code(world) -> str:
    return PersonSignInCode.objects.filter(person=world.person).latest("created_at").mail_code


def signed_in(world) -> Client:
    client = Client()
    ask_code(client)
    response = client.post(CODE, {"code": last_code(world)})
    assert response.status_code == 302 and response.url == SPACE
    return client


def ccas_reads_the_record(world) -> None:
    """The CCAS's social worker opens the person's page: a read journaled for the CCAS."""
    staff = Client()
    staff.force_login(world.ccas.user)
    assert staff.get(reverse("web:person-detail", args=[world.person.pk])).status_code == 200


def seen_by_ccas(world) -> frozenset[str]:
    return categories_for(world.ccas, [world.pathway.pk]).get(world.pathway.pk, frozenset())


# --- Sign-in -----------------------------------------------------------------------------------


def test_the_right_code_opens_the_space_once(world):
    client = Client()
    response = ask_code(client)
    assert response.status_code == 302 and response.url == CODE
    assert OutboxMessage.objects.get(kind=OutboxKind.PERSON_CODE).to_email == EMAIL
    code = last_code(world)
    assert len(code) == 6 and code.isdigit()
    row = PersonSignInCode.objects.get()
    assert row.code_hash != code and code not in row.code_hash
    assert client.post(CODE, {"code": code}).url == SPACE
    page = client.get(SPACE)
    assert page.status_code == 200
    assert "Mon espace parcours" in page.text and "Inès" in page.text
    row.refresh_from_db()
    assert row.used_at is not None and row.mail_code == ""
    # Spent: the same code does not open a second browser.
    other = Client()
    ask_code_session = other.session
    ask_code_session["person_space_code"] = row.pk
    ask_code_session.save()
    again = other.post(CODE, {"code": code})
    assert again.status_code == 400 and "plus valable" in again.text


def test_a_wrong_code_counts_and_five_lock_it(world):
    client = Client()
    ask_code(client)
    code = last_code(world)
    wrong = "000000" if code != "000000" else "111111"
    first = client.post(CODE, {"code": wrong})
    assert first.status_code == 400 and "Il vous reste 4 essai(s)" in first.text
    for _ in range(3):
        client.post(CODE, {"code": wrong})
    locked = client.post(CODE, {"code": wrong})
    assert "trop d&#x27;essais" in locked.text and "Demander un nouveau code" in locked.text
    row = PersonSignInCode.objects.get()
    assert row.attempts == 5 and row.locked_at is not None and row.mail_code == ""
    # The right code, now: refused all the same.
    after = client.post(CODE, {"code": code})
    assert "plus valable" in after.text
    assert client.get(SPACE).url == SIGN_IN


def test_an_expired_code_is_refused(world):
    client = Client()
    ask_code(client)
    code = last_code(world)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=11)):
        response = client.post(CODE, {"code": code})
    assert response.status_code == 400 and "a expiré" in response.text
    assert client.get(SPACE).url == SIGN_IN


def test_a_new_code_replaces_the_old_one(world):
    client = Client()
    ask_code(client)
    old = last_code(world)
    ask_code(client)
    new = last_code(world)
    assert PersonSignInCode.objects.filter(locked_at__isnull=True).count() == 1
    if old != new:
        assert client.post(CODE, {"code": old}).status_code == 400
    assert client.post(CODE, {"code": new}).url == SPACE


@pytest.mark.parametrize(
    "email, birth",
    [
        ("personne.inconnue@exemple.fr", BIRTH),  # unknown address
        (EMAIL, dt.date(1994, 4, 3)),  # known address, another birth date
    ],
)
def test_an_unknown_address_gets_the_same_answers_and_no_mail(world, email, birth):
    known, unknown = Client(), Client()
    known_answer = ask_code(known)
    unknown_answer = ask_code(unknown, email=email, birth=birth)
    assert (unknown_answer.status_code, unknown_answer.url) == (
        known_answer.status_code,
        known_answer.url,
    )
    assert OutboxMessage.objects.filter(kind=OutboxKind.PERSON_CODE).count() == 1  # the known
    known_page, unknown_page = known.get(CODE), unknown.get(CODE)
    assert unknown_page.status_code == known_page.status_code == 200
    for expected in ("Il vous reste 4 essai(s)", "Il vous reste 3 essai(s)"):
        a = known.post(CODE, {"code": "000001"})
        b = unknown.post(CODE, {"code": "000001"})
        assert a.status_code == b.status_code == 400
        assert expected in a.text and expected in b.text
    for _ in range(3):
        b = unknown.post(CODE, {"code": "000001"})
    assert "trop d&#x27;essais" in b.text


def test_bad_input_is_answered_in_french_with_the_values_kept(world):
    client = Client()
    response = client.post(SIGN_IN, {"email": "pas-une-adresse", "birth_date": ""})
    assert response.status_code == 400
    assert "Indiquez une adresse e-mail valide" in response.text
    assert "Indiquez votre date de naissance." in response.text
    assert 'value="pas-une-adresse"' in response.text
    ask_code(client)
    wrong = client.post(CODE, {"code": "12ab"})
    assert wrong.status_code == 400 and "Le code a 6 chiffres." in wrong.text


def test_the_code_page_without_a_request_leads_to_the_sign_in(world):
    assert Client().get(CODE).url == SIGN_IN
    assert Client().get(SPACE).url == SIGN_IN


# --- The space ---------------------------------------------------------------------------------


def test_the_space_shows_who_consulted_when_and_why_never_who_exactly(world):
    ccas_reads_the_record(world)
    client = signed_in(world)
    page = client.get(SPACE)
    text = page.text
    read = AccessEvent.objects.filter(organisation=world.ccas.organisation, operation="read")
    assert read.exists()
    when = timezone.localtime(read.latest("occurred_at").occurred_at).strftime("%d/%m/%Y à %H:%M")
    assert "<strong>CCAS de Lens</strong> a consulté votre dossier le " + when in text
    assert read.latest("occurred_at").purpose in text
    # Never a staff member's name, and never the codes of the journal.
    assert "Sandrine" not in text and "Vasseur" not in text
    assert world.ccas.user.username not in text
    assert "care_team" not in text and "consent:" not in text
    # Their referral and their consent, in words.
    assert world.referral_receiver.name in text and "Envoyée" in text
    assert "Accord pour CCAS de Lens" in text
    assert "Accompagnement social et aide au logement" in text
    assert "Retirer mon consentement" in text


def test_the_space_shows_nothing_of_another_person(world):
    client = signed_in(world)
    text = client.get(SPACE).text
    other = world.other_consent.person
    assert other.first_name not in text and other.last_name not in text
    assert str(world.other_consent.purpose) not in text or world.consent.purpose in text
    assert reverse("web:person-space-consent-withdraw", args=[world.other_consent.pk]) not in text


def test_the_persons_own_reads_are_journaled_but_not_shown_as_consultations(world):
    client = signed_in(world)
    client.get(SPACE)
    client.get(SPACE)
    own = AccessEvent.objects.filter(person_id=world.person.pk, detail__door="person_space")
    assert own.filter(detail__action="person_space.read").count() == 2
    assert own.filter(detail__action="person_space.sign_in").count() == 1
    assert all(row.organisation_id is None and row.user_id is None for row in own)
    assert "Aucun organisme n'a consulté votre dossier" in client.get(SPACE).text


def test_consultations_page_by_keyset(world):
    for _ in range(23):
        ccas_reads_the_record(world)
    client = signed_in(world)
    first = client.get(SPACE)
    assert first.text.count("<strong>CCAS de Lens</strong> a consulté") == 20
    cursor = first.context["consultations"].next_cursor
    assert cursor
    second = client.get(SPACE, {"apres": cursor})
    assert second.text.count("<strong>CCAS de Lens</strong> a consulté") == 3
    assert second.context["consultations"].next_cursor == ""
    # A cursor that is not one: the first page.
    assert client.get(SPACE, {"apres": "n'importe quoi"}).status_code == 200


# --- Withdrawing a consent ---------------------------------------------------------------------


def test_withdrawing_a_consent_moves_the_grants_and_is_journaled(world):
    assert "social" in seen_by_ccas(world)
    client = signed_in(world)
    url = reverse("web:person-space-consent-withdraw", args=[world.consent.pk])
    confirm = client.get(url)
    assert confirm.status_code == 200 and "Oui, retirer mon consentement" in confirm.text
    assert Consent.objects.get(pk=world.consent.pk).revoked_at is None  # nothing before POST
    done = client.post(url)
    assert done.status_code == 302
    assert "Votre consentement est retiré" in client.get(done.url).text
    consent = Consent.objects.get(pk=world.consent.pk)
    assert consent.revoked_at is not None and consent.revoked_by_person
    assert consent.revoked_by is None
    assert consent.history.first().history_change_reason == "Retrait de l'accord par la personne"
    # The CCAS's access rested on that consent alone: gone, at its next page load.
    assert seen_by_ccas(world) == frozenset()
    staff = Client()
    staff.force_login(world.ccas.user)
    assert staff.get(reverse("web:person-detail", args=[world.person.pk])).status_code == 404
    row = AccessEvent.objects.get(detail__action="person_space.consent_withdraw")
    assert (row.operation, row.object_type, row.object_id, row.person_id) == (
        "write",
        "consent",
        consent.pk,
        world.person.pk,
    )
    assert row.organisation_id is None and row.user_id is None
    assert row.detail["door"] == "person_space" and row.detail["principal"] == "person"
    # Withdrawn: no button any more, and the confirmation page is not found.
    assert "Retiré le" in client.get(SPACE).text
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404


def test_another_persons_consent_is_not_found_and_the_probe_journaled(world):
    client = signed_in(world)
    url = reverse("web:person-space-consent-withdraw", args=[world.other_consent.pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert Consent.objects.get(pk=world.other_consent.pk).revoked_at is None
    refusals = AccessEvent.objects.filter(operation="denied", object_id=world.other_consent.pk)
    assert refusals.count() == 2
    assert {r.person_id for r in refusals} == {world.other_consent.person_id}
    assert all(r.detail["by_person"] == world.person.pk for r in refusals)
    assert (
        client.get(reverse("web:person-space-consent-withdraw", args=[999999])).status_code == 404
    )


def test_withdrawal_needs_a_signed_in_person(world):
    url = reverse("web:person-space-consent-withdraw", args=[world.consent.pk])
    assert Client().post(url).url == SIGN_IN
    staff = Client()
    staff.force_login(world.owner.user)
    assert staff.post(url).url == SIGN_IN  # a staff session is not a person's
    assert Consent.objects.get(pk=world.consent.pk).revoked_at is None


# --- Sessions ----------------------------------------------------------------------------------


def test_a_person_and_a_staff_member_never_share_a_session(world):
    client = Client()
    client.force_login(world.owner.user)
    ask_code(client)
    client.post(CODE, {"code": last_code(world)})
    # Signing in as the person ended the staff session in this browser.
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("web:home")).status_code == 302  # staff pages: sign in again
    assert client.get(SPACE).status_code == 200
    # And a staff session never opens the space.
    client.force_login(world.owner.user)
    assert client.get(SPACE).url == SIGN_IN


def test_the_space_closes_after_thirty_minutes_without_activity_and_on_sign_out(world):
    client = signed_in(world)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=20)):
        assert client.get(SPACE).status_code == 200  # activity: slides
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=45)):
        assert client.get(SPACE).status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=80)):
        assert client.get(SPACE).url == SIGN_IN
    client = signed_in(world)
    response = client.post(reverse("web:person-space-sign-out"))
    assert "Votre espace est fermé" in response.text
    assert client.get(SPACE).url == SIGN_IN


# --- The space's pages, each with its allow and its deny (left out of -------------------------
# tests/web/test_page_matrix.py, whose world has no signed-in person) --------------------------

PERSON_SPACE_PAGES = {
    "person-space",
    "person-space-sign-in",
    "person-space-code",
    "person-space-sign-out",
    "person-space-consent-withdraw",
    "person-space-consent-withdrawn",
}


def _url(name: str, world) -> str:
    if name == "person-space-consent-withdraw":
        return reverse(f"web:{name}", args=[world.consent.pk])
    return reverse(f"web:{name}")


# name → (method, status for the signed-in person, what the page says)
ALLOWED = {
    "person-space": ("get", 200, "Qui a consulté mon dossier"),
    "person-space-sign-in": ("get", 302, SPACE),  # already in: off to the space
    "person-space-code": ("get", 200, "Taper le code reçu par e-mail"),
    "person-space-sign-out": ("post", 200, "Votre espace est fermé"),
    "person-space-consent-withdraw": ("get", 200, "Oui, retirer mon consentement"),
    "person-space-consent-withdrawn": ("get", 200, "Votre consentement est retiré"),
}


@pytest.mark.parametrize("name", sorted(PERSON_SPACE_PAGES))
def test_each_page_allows_the_signed_in_person(world, name):
    client = signed_in(world)
    if name == "person-space-code":  # the code page is for whoever just asked for a code
        client = Client()
        ask_code(client)
    method, status, says = ALLOWED[name]
    response = getattr(client, method)(_url(name, world))
    assert response.status_code == status
    assert says in (response.url if status == 302 else response.text)


# name → (who, method, status, where to or what): anonymous and staff never reach a person's
# data; another person's consent is not found.
DENIED = {
    "person-space": ("staff", "get", 302, SIGN_IN),
    "person-space-sign-in": ("anonymous", "put", 405, ""),
    "person-space-code": ("anonymous", "get", 302, SIGN_IN),
    "person-space-sign-out": ("anonymous", "get", 405, ""),
    "person-space-consent-withdraw": ("other", "post", 404, ""),
    "person-space-consent-withdrawn": ("anonymous", "get", 302, SIGN_IN),
}


@pytest.mark.parametrize("name", sorted(PERSON_SPACE_PAGES))
def test_each_page_denies_who_is_not_the_person(world, name):
    who, method, status, where = DENIED[name]
    url = _url(name, world)
    if who == "staff":
        client = Client()
        client.force_login(world.ccas.user)
    elif who == "other":
        client = signed_in(world)
        url = reverse(f"web:{name}", args=[world.other_consent.pk])
    else:
        client = Client()
    response = getattr(client, method)(url)
    assert response.status_code == status
    if where:
        assert response.url == where


def test_every_space_page_is_in_the_tables():
    """A new page of the space without its rows fails here."""
    from tests.web.test_page_matrix import _web_names

    # FranceConnect's three have theirs with the real provider: test_franceconnect.py.
    names = {
        name
        for name in _web_names()
        if name.startswith("person-space") and "franceconnect" not in name
    }
    assert names == PERSON_SPACE_PAGES == set(ALLOWED) == set(DENIED)


# --- The two forms, fuzzed: a French error, the form again, never a 500, nothing written ------

LONG = "x" * 10_001
NUL = "Inès\x00Robert"
JUNK = ("", "   ", LONG, NUL, "ines.robert@exemple.fr\x00", "😀@exemple.fr", "2026-02-30", "-1")


@pytest.mark.parametrize("email", JUNK)
@pytest.mark.parametrize("birth", ["", "1994-02-30", NUL, LONG, "02/04/1994x"])
def test_the_address_form_refuses_junk_in_french(world, email, birth):
    response = Client().post(SIGN_IN, {"email": email, "birth_date": birth})
    assert response.status_code == 400
    assert "fr-message--error" in response.text or "fr-error-text" in response.text
    assert not PersonSignInCode.objects.exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    "code", ["", "   ", LONG, NUL, "12345", "1234567", "abcdef", "１２３４５６"]
)
def test_the_code_form_refuses_junk_in_french(world, code):
    client = Client()
    ask_code(client)
    response = client.post(CODE, {"code": code})
    assert response.status_code == 400
    assert "Le code a 6 chiffres." in response.text or "Tapez le code" in response.text
    assert PersonSignInCode.objects.get().attempts == 0  # not even a try counted
    assert client.get(SPACE).url == SIGN_IN


# --- The DPO's report names the person's own accesses; the space's queries are bounded --------


def test_the_dpo_report_names_the_persons_own_accesses_as_theirs(world):
    from parcours.selectors.access_reports import THE_PERSON, person_access_report

    ccas_reads_the_record(world)
    client = signed_in(world)
    client.get(SPACE)
    now = timezone.now()
    report = person_access_report(
        person_id=world.person.pk,
        start=now - dt.timedelta(hours=1),
        end=now + dt.timedelta(hours=1),
        version="internal",
    )
    theirs = [row for row in report.rows if row.user == THE_PERSON]
    assert len(theirs) == 2  # the sign-in and the space's page
    assert {row.organisation for row in theirs} == {"—"}
    assert any(row.organisation == "CCAS de Lens" for row in report.rows)


def test_the_space_page_has_a_bounded_number_of_queries(world, django_assert_max_num_queries):
    from tests.factories import AppointmentFactory, ReferralFactory

    for _ in range(5):
        referral = ReferralFactory(
            appointment_set=True, pathway=world.pathway, sender_user=world.owner.user
        )
        AppointmentFactory(referral=referral)
    for _ in range(25):
        ccas_reads_the_record(world)
    client = signed_in(world)
    with django_assert_max_num_queries(16):  # 14 today, whatever the data
        response = client.get(SPACE)
    assert response.status_code == 200


def test_no_more_than_three_codes_in_a_quarter_of_an_hour(world):
    client = Client()
    for _ in range(5):
        assert ask_code(client).url == CODE  # the same answer each time
    assert PersonSignInCode.objects.count() == 3
    assert OutboxMessage.objects.filter(kind=OutboxKind.PERSON_CODE).count() == 3
    # The fourth request sent nothing: the code page answers as for an unknown address.
    assert client.session["person_space_code"] == 0
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=16)):
        ask_code(client)
        assert PersonSignInCode.objects.count() == 4


def test_too_many_tries_from_one_address_are_throttled(world, settings):
    """Codes asked for and wrong codes typed count together per address; past the limit both
    sign-in pages answer 429 in French and nothing is sent, while another address goes on."""
    from django.core.cache import caches

    settings.PARCOURS_PERSON_SPACE_TRIES = TRIES_ALLOWED = 4
    address = "203.0.113.91"
    caches["throttle"].delete(f"person-space-tries:{address}")
    client = Client(REMOTE_ADDR=address)
    ask_code(client)
    ask_code(client)
    code = last_code(world)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(TRIES_ALLOWED - 2):
        assert client.post(CODE, {"code": wrong}).status_code == 400
    codes_sent = PersonSignInCode.objects.count()
    # Even the right code, from that address, waits for the window to end.
    refused = client.post(CODE, {"code": code})
    assert refused.status_code == 429 and "Trop d'essais depuis votre connexion" in refused.text
    assert client.get(SPACE).url == SIGN_IN
    assert ask_code(client).status_code == 429
    assert PersonSignInCode.objects.count() == codes_sent
    # Reading the sign-in page is not a try, and another address is not concerned.
    assert client.get(SIGN_IN).status_code == 200
    other = Client(REMOTE_ADDR="198.51.100.23")
    caches["throttle"].delete("person-space-tries:198.51.100.23")
    assert ask_code(other).url == CODE
    assert other.post(CODE, {"code": last_code(world)}).url == SPACE


def test_sign_in_codes_are_deleted_a_day_after_they_were_made(world):
    from parcours.services.person_space import person_sign_in_codes_purge

    ask_code(Client())
    with time_machine.travel(timezone.now() + dt.timedelta(hours=23)):
        assert person_sign_in_codes_purge() == 0
    with time_machine.travel(timezone.now() + dt.timedelta(hours=25)):
        assert person_sign_in_codes_purge() == 1
    assert not PersonSignInCode.objects.exists()
