"""Every form of the pages fed junk (issue 13): a user who may use the form posts empty values,
oversized strings, NUL bytes, impossible dates, invalid NIRs and France Travail ids, unknown
choices and unknown ids — one field at a time, the rest of a valid submission kept.

Each answer must be:

* never a 500;
* the form shown again (200 or 400, as each page answers a failed form) with the values typed in
  its text, date and number fields, and a French message on the field or above the form — never
  a default English one of Django's ("This field is required"…); a move without a form (a
  button) answers with its French message on the page it redirects to;
* nothing written: the rows of every table of `parcours` and `notifications` (their history
  tables included) are counted, and the newest `updated_at` of each compared, before and after.
  The journal is not counted: a refused move journals its refusal and a page shown again
  journals what it shows, as any page does (docs/journal.md).

The pages come from the URL resolver: a page of the `web` namespace that is neither fuzzed here
nor named in NO_FORM fails `test_every_page_is_fuzzed_or_has_no_form`.
"""

import copy
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.hashers import check_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parcours.models import AccessRequest
from parcours.services.account_security import totp_pending
from tests.factories import (
    AppointmentFactory,
    ConsentFactory,
    PathwayFactory,
    ReferralFactory,
    WebhookSubscriptionFactory,
    valid_nir,
)
from tests.rows import snapshot
from tests.worlds import built_once

from .test_page_matrix import (
    ON_AGENDA,
    PASSWORD,
    PROPOSAL,
    SESSION,
    UNVERIFIED,
    World,
    _committee_world,
    _plan,
)

pytestmark = pytest.mark.django_db

LONG = "x" * 10_001  # beyond every text field's limit (the API's longest is 10 000)
NUL = "Léa\x00Martin"
BLANK = "   "
UNKNOWN = "martien"
IMPOSSIBLE_DATES = ("2023-02-30", "0001-01-01", "9999-12-31", "demain", NUL)
BAD_NIRS = ("123", "190056211912345", "2" * 15, "1 85 05 62 041 123 4X", LONG)
BAD_FRANCE_TRAVAIL_IDS = ("12", "ABCDEFGHIJK", "1234567-89", LONG)
UNKNOWN_IDS = ("999999", "abc", "-1", "99999999999999999999999")
# Uploads (a fresh file each time it is posted): name, content, the content type the client says.
FILES = {
    "HTML_FILE": ("accord.html", b"<html><script>alert(1)</script></html>", "application/pdf"),
    "SVG_FILE": ("accord.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
    "EXE_AS_PDF": ("accord.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64, "application/pdf"),
    "PNG_AS_PDF": ("accord.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "application/pdf"),
    "EMPTY_FILE": ("accord.pdf", b"", "application/pdf"),
}
# Django's default messages in English, and its bare error pages: none may reach a user.
ENGLISH = re.compile(
    r"This field is required|Enter a valid|Select a valid choice|Ensure this value|"
    r"Null characters are not allowed|is not one of the available choices|"
    r"Server Error|Traceback|Bad Request|CSRF verification failed|Not Found|Forbidden",
)
FIELD_ERROR = ('class="fr-error-text"', "fr-message--error", "fr-alert--error")


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _day(delta_days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=delta_days)).isoformat()


class FuzzWorld(World):
    """The page matrix's world, with a referral in each state a move form acts on."""

    def __init__(self):
        super().__init__()

        def received(**state):
            return ReferralFactory(
                pathway=PathwayFactory(owner_organisation=self.siae),
                receiver_organisation=self.home,
                **state,
            )

        self.accepted = received(accepted=True)
        self.booked = received(appointment_set=True)
        self.appointment = AppointmentFactory(
            referral=self.booked, starts_at=timezone.now() + dt.timedelta(days=1)
        )
        self.attended = received(attended=True)
        self.absent = received(
            no_show=True,
            attendance_recorded_by=self.me,
            attendance_correctable_until=timezone.now() + dt.timedelta(days=2),
        )
        self.refused = ReferralFactory(
            pathway=self.pathway,
            sender_user=self.me,
            receiver_organisation=self.elsewhere,
            refused=True,
        )
        # A record held by `home` to ask access to by its NIR (the world's `access_request` is
        # pending for `home` to answer), and a request `home` already answered.
        self.person.nir = valid_nir(61)
        self.person.save()
        self.answered_request = AccessRequest.objects.create(
            pathway=PathwayFactory(owner_organisation=self.home),
            requesting_organisation=self.elsewhere,
            requested_by=self.stranger,
            reason="Déjà traitée",
            status="refused",
            decided_at=timezone.now(),
            decided_by=self.me,
        )
        # A referral `me` sent, which the SIAE proposes to pass on to an SIAE the person never
        # consented to: confirming it is refused (no basis), declining it is a form.
        self.proposed = ReferralFactory(
            pathway=PathwayFactory(owner_organisation=self.home),
            sender_user=self.me,
            receiver_organisation=self.siae,
            transfer_proposed=True,
        )
        self.revoked = ConsentFactory(
            person=self.person,
            organisations=[self.siae],
            collected_by=self.me,
            collected_by_organisation=self.home,
            revoked_at=timezone.now(),
            revoked_by=self.me,
        )


@pytest.fixture(scope="module")
def world_template(django_db_setup, django_db_blocker):
    """Built once for the module, each test on a copy (tests/worlds.py)."""
    with built_once(django_db_blocker):
        yield FuzzWorld()


@pytest.fixture
def world(world_template, db):
    return copy.deepcopy(world_template)


# --- the pages and their junk ---------------------------------------------------------------------


@dataclass(frozen=True)
class FormPage:
    """A form page: who may use it, a valid submission, and per field the values to refuse."""

    name: str
    who: str
    kwargs: Callable[[World], dict]
    valid: Callable[[World], dict]
    junk: dict[str, tuple]
    method: str = "POST"
    # Fields whose typed value the page shows again (text, dates, numbers; not choices).
    kept: tuple[str, ...] = ()
    # Whole submissions that must be refused too (a rule across fields, a service's refusal).
    refused: tuple[Callable[[World], dict], ...] = ()
    # "form": the form shown again; "message": a button, its French message after a redirect.
    expect: str = "form"
    label: str = ""

    def __str__(self) -> str:
        return self.label or self.name


def _person(w: World, **changes) -> dict:
    return {
        "first_name": w.person.first_name,
        "last_name": w.person.last_name,
        "birth_date": w.person.birth_date.isoformat(),
        "nir": "",
        "france_travail_id": "",
        "email": w.person.email,
        "phone": w.person.phone,
        "address": w.person.address,
        "postal_code": w.person.postal_code,
        "city": w.person.city,
        **changes,
    }


NAMES = ("", BLANK, LONG, NUL)
BIRTH_DATES = (
    "",
    *IMPOSSIBLE_DATES,
    "31/12/2031",  # the French format, a future day
    "1899-12-31",
    "TOMORROW",
    "TEN_YEARS_OLD",
)
PERSON_JUNK = {
    "first_name": NAMES,
    "last_name": NAMES,
    "birth_date": BIRTH_DATES,
    "nir": (*BAD_NIRS, NUL),
    "france_travail_id": BAD_FRANCE_TRAVAIL_IDS,
    "email": ("pas-un-email", LONG, NUL),
    "phone": (LONG, NUL, "12", "06 12 34", "06 12 34 56 78 90", "abc", "+1", "06.12.34.56.7x"),
    "address": (LONG, NUL),
    "postal_code": ("123", "6230", "62 300", "ABCDE", "1234567890", LONG, NUL),
    "city": (LONG, NUL),
}
PERSON_TEXT = tuple(PERSON_JUNK)
# Relative days, resolved when posted (the test's today).
RELATIVE = {"TOMORROW": lambda: _day(1), "TEN_YEARS_OLD": lambda: _day(-3653)}


def _move(action: str, referral: str):
    return lambda w: {"pk": getattr(w, referral).pk, "action": action}


PERIOD_JUNK = {
    "du": (*IMPOSSIBLE_DATES, "31/12/2031"),
    "au": (*IMPOSSIBLE_DATES, "31/12/2031"),
}
PERIOD = lambda w: {"du": "2026-01-01", "au": "2026-02-01"}  # noqa: E731


def _webhook_form(name: str, kwargs) -> "FormPage":
    """« Webhooks »'s subscription form (issue 19), to create one or change one: the same
    fields, the same wrong values."""
    return FormPage(
        name,
        "admin",
        kwargs,
        lambda w: {
            "description": "Logiciel rSa",
            "url": "https://partenaire.example.org/webhooks",
            "events": ["referral.sent", "referral.closed", "pathway.closed"],
        },
        {
            "description": ("", BLANK, LONG, NUL, "Logiciel\u202erSa", "SI\x07"),
            "url": (
                "",
                BLANK,
                LONG,
                NUL,
                "ftp://partenaire.example.org/",
                "https://10.0.0.1/hooks",
                "https://user:pw@partenaire.example.org/",
                "https://partenaire.example.org:99999/",
                "pas une adresse",
            ),
            "events": (UNKNOWN, "", "referral.deleted", "pathway.deleted", LONG),
        },
        kept=("description", "url"),
        # Plain http to a public host: https only (the service's rule, its French sentence).
        refused=(
            lambda w: {
                "description": "Logiciel rSa",
                "url": "http://partenaire.example.org/webhooks",
                "events": ["referral.sent"],
            },
        ),
    )


PAGES: list[FormPage] = [
    FormPage(
        "person-create",
        "me",
        lambda w: {},
        lambda w: {"first_name": "Inès", "last_name": "Durand", "birth_date": "1991-02-03"},
        PERSON_JUNK,
        kept=PERSON_TEXT,
        # The same person again (the duplicate rule of the service).
        refused=(lambda w: _person(w),),
    ),
    FormPage(
        "person-edit",
        "me",
        lambda w: {"pk": w.person.pk},
        _person,
        PERSON_JUNK,
        kept=PERSON_TEXT,
    ),
    FormPage(
        "person-search",
        "me",
        lambda w: {},
        lambda w: {"last_name": "Mart"},
        {
            "last_name": (LONG, NUL),
            "birth_date": ("2023-02-30", "demain", NUL),
            "nir": (LONG, NUL),
            "france_travail_id": (LONG, NUL),
        },
        kept=("last_name", "birth_date", "nir", "france_travail_id"),
    ),
    FormPage(
        "consent-create",
        "me",
        lambda w: {"pk": w.person.pk},
        lambda w: {
            "organisations": [w.siae.pk],
            "categories": ["contact"],
            "purpose": "Coordination",
            "evidence_kind": "oral",
        },
        {
            "organisations": ([], *([i] for i in UNKNOWN_IDS)),
            "organisation_kinds": ([UNKNOWN], [LONG], [NUL], ["mission_locale", UNKNOWN]),
            "categories": ([], [UNKNOWN]),
            "purpose": ("", BLANK, LONG, NUL),
            "evidence_kind": ("", UNKNOWN),
            # Files the audit uploaded, by their content whatever their name (issue 15).
            "evidence_file": tuple(FILES),
        },
        kept=("purpose",),
        # The categories of one organisation only: unknown ones, or none at all for it.
        refused=(
            lambda w: {
                "organisations": [w.siae.pk],
                f"partage_{w.siae.pk}": [UNKNOWN],
                "purpose": "Coordination",
                "evidence_kind": "oral",
            },
            lambda w: {
                "organisations": [w.siae.pk, w.target.pk],
                f"partage_{w.siae.pk}": ["contact"],
                "purpose": "Coordination",
                "evidence_kind": "oral",
            },
            lambda w: {
                "organisations": [w.siae.pk],
                f"partage_{w.siae.pk}": ["contact"],
                "purpose": "Coordination",
                "evidence_kind": "oral",
                "ends_on": "2000-01-01",
            },
            # Kinds of organisation receive the categories for all: none ticked.
            lambda w: {
                "organisation_kinds": ["mission_locale"],
                "purpose": "Coordination",
                "evidence_kind": "oral",
            },
            lambda w: {
                "organisations": [w.siae.pk],
                f"partage_{w.siae.pk}": ["contact"],
                "organisation_kinds": ["cap_emploi"],
                "purpose": "Coordination",
                "evidence_kind": "oral",
            },
            # Kinds only, with a valid share, but dates the service refuses.
            lambda w: {
                "organisation_kinds": ["mission_locale"],
                "categories": ["contact"],
                "purpose": "Coordination",
                "evidence_kind": "oral",
                "starts_on": "2031-01-02",
                "ends_on": "2031-01-01",
            },
        ),
    ),
    FormPage(
        "consent-narrow",
        "me",
        lambda w: {"pk": w.person.pk, "consent_pk": w.consent.pk},
        lambda w: {"categories": ["identity"]},
        {"categories": ([], [UNKNOWN], ["health"], ["identity", "health"])},
    ),
    FormPage(
        "consent-revoke",
        "me",
        lambda w: {"pk": w.person.pk, "consent_pk": w.revoked.pk},
        lambda w: {},
        {},
        refused=(lambda w: {"junk": UNKNOWN},),
        expect="message",
        label="consent-revoke-already-revoked",
    ),
    FormPage(
        "break-glass",
        "receiver",
        lambda w: {"pk": w.person.pk},
        lambda w: {"category": "health", "reason": "Urgence : vérifier la RQTH"},
        {"category": ("", UNKNOWN), "reason": ("", BLANK, LONG, NUL)},
        kept=("reason",),
    ),
    FormPage(
        "referral-create",
        "me",
        lambda w: {"pathway_pk": w.pathway.pk},
        lambda w: {
            "receiver_organisation": w.target.pk,
            "kind": "substitution",
            "reason": "Inscription comme demandeur d'emploi",
            "context_note": "Déménage à Arras",
        },
        {
            "receiver_organisation": ("", *UNKNOWN_IDS, "OWN"),
            "receiver_service": UNKNOWN_IDS,
            "kind": ("", UNKNOWN),
            "shared_categories": ([UNKNOWN], ["health"]),
            "reason": ("", BLANK, LONG, NUL),
            "context_note": (LONG, NUL),
        },
        kept=("reason", "context_note"),
    ),
    FormPage(
        "referral-move",
        "me",
        _move("refuse", "incoming"),
        lambda w: {"refusal_reason": "no_capacity", "comment": "Pas de place", "confirm": "1"},
        {"refusal_reason": ("", UNKNOWN), "comment": (LONG, NUL)},
        kept=("comment",),
        refused=(lambda w: {"refusal_reason": "other", "comment": BLANK, "confirm": "1"},),
        label="referral-move-refuse",
    ),
    FormPage(
        "referral-move",
        "me",
        _move("set_appointment", "accepted"),
        lambda w: {
            "starts_at": _local(timezone.now() + dt.timedelta(days=3)),
            "channel": "in_person",
            "place": "3 rue Basly, Lens",
        },
        {
            "starts_at": (
                "",
                "2020-01-01T10:00",
                "0001-01-01T00:00",
                "9999-12-31T23:59",
                "2023-02-30T10:00",
                "demain",
                NUL,
                "PAST_HOUR",
                "IN_TWO_YEARS",
                "SOON_BEYOND_OFFSET",
            ),
            "channel": ("", UNKNOWN),
            "place": (LONG, NUL),
        },
        kept=("starts_at", "place"),
        label="referral-move-set-appointment",
    ),
    FormPage(
        "referral-move",
        "me",
        _move("close", "attended"),
        lambda w: {"outcome": "job", "comment": "En CDD", "confirm": "1"},
        {"outcome": ("", UNKNOWN), "comment": (LONG, NUL)},
        kept=("comment",),
        label="referral-move-close",
    ),
    FormPage(
        "referral-move",
        "me",
        _move("correct_attendance", "absent"),
        lambda w: {"reason": "La personne est venue", "confirm": "1"},
        {"reason": ("", BLANK, LONG, NUL)},
        kept=("reason",),
        label="referral-move-correct-attendance",
    ),
    FormPage(
        "referral-move",
        "me",
        _move("decline_transfer", "proposed"),
        lambda w: {"comment": "La personne préfère rester", "confirm": "1"},
        {"comment": (LONG, "x" * 2001, NUL)},
        kept=("comment",),
        label="referral-move-decline-transfer",
    ),
    FormPage(
        "referral-transfer",
        "me",
        lambda w: {"pk": w.incoming.pk},
        lambda w: {"receiver_organisation": w.target.pk, "reason": "Plus proche de chez elle"},
        {
            # Its own organisation (the receiver) and the sender are refused by the service.
            "receiver_organisation": ("", *UNKNOWN_IDS, "OWN", "SIAE", LONG, NUL),
            "receiver_service": (*UNKNOWN_IDS, LONG, NUL),
            "reason": ("", BLANK, "x" * 2001, LONG, NUL),
        },
        kept=("reason",),
    ),
    FormPage(
        "referral-message-post",
        "me",
        lambda w: {"pk": w.incoming.pk},
        lambda w: {"text": "Bonjour, nous recevons Léa jeudi."},
        {"text": ("", BLANK, LONG, NUL)},
        kept=("text",),
        label="referral-message-post",
    ),
    # Buttons: the junk is the moment or the state, the answer a French message.
    FormPage(
        "referral-move",
        "me",
        _move("record_no_show", "booked"),
        lambda w: {},
        {},
        refused=(lambda w: {"confirm": "1"}, lambda w: {"junk": UNKNOWN, "confirm": "1"}),
        expect="message",
        label="referral-move-no-show-before-the-appointment",
    ),
    FormPage(
        "referral-move",
        "me",
        _move("record_attendance", "booked"),
        lambda w: {},
        {},
        refused=(lambda w: {},),
        expect="message",
        label="referral-move-attendance-before-the-appointment",
    ),
    FormPage(
        "referral-move",
        "me",
        _move("withdraw", "refused"),
        lambda w: {},
        {},
        refused=(lambda w: {},),
        expect="message",
        label="referral-move-withdraw-a-refused-referral",
    ),
    FormPage(
        "referral-move",
        "me",
        _move("confirm_transfer", "proposed"),
        lambda w: {},
        {},
        # The partner has no basis to receive what the referral carries: the service says so.
        refused=(lambda w: {"confirm": "1"},),
        expect="message",
        label="referral-move-confirm-a-transfer-without-consent",
    ),
    FormPage(
        "referral-move",
        "me",
        _move("accept", "accepted"),
        lambda w: {},
        {},
        refused=(lambda w: {},),
        expect="message",
        label="referral-move-accept-twice",
    ),
    # The receiving team: « Confier à », one of the organisation's active case workers.
    FormPage(
        "referral-assign",
        "me",
        lambda w: {"pk": w.incoming.pk},
        lambda w: {"user": w.me.pk},
        {"user": ("", *UNKNOWN_IDS, LONG, NUL, "STRANGER", "MANAGER")},
    ),
    FormPage(
        "referral-assign",
        "me",
        # Closed two days ago: no longer the receiver's to hand out (the service's 409).
        lambda w: {
            "pk": ReferralFactory(
                pathway=PathwayFactory(owner_organisation=w.siae),
                receiver_organisation=w.home,
                closed=True,
            ).pk
        },
        lambda w: {},
        {},
        refused=(lambda w: {"user": w.me.pk},),
        expect="message",
        label="referral-assign-a-closed-referral",
    ),
    # The pathway's writes (web/views/pathways.py's WRITES).
    FormPage(
        "pathway-write",
        "me",
        lambda w: {"pathway_pk": w.pathway.pk, "write": "note"},
        lambda w: {"kind": "note", "text": "Appel de la personne"},
        {"kind": ("", UNKNOWN), "text": ("", BLANK, LONG, NUL)},
        kept=("text",),
        label="pathway-write-note",
    ),
    FormPage(
        "pathway-write",
        "me",
        lambda w: {"pathway_pk": w.pathway.pk, "write": "frein"},
        lambda w: {"kind": "mobility", "status": "identified", "detail": "Pas de permis"},
        {"kind": ("", UNKNOWN), "status": ("", UNKNOWN), "detail": (LONG, NUL)},
        kept=("detail",),
        label="pathway-write-barrier",
    ),
    FormPage(
        "pathway-write",
        "me",
        lambda w: {"pathway_pk": w.pathway.pk, "write": "modalite"},
        lambda w: {"modality": "renforce"},
        {"modality": ("", UNKNOWN, LONG, NUL)},
        label="pathway-write-modality",
    ),
    FormPage(
        "pathway-write",
        "me",
        lambda w: {"pathway_pk": w.pathway.pk, "write": "referent"},
        lambda w: {"referent": w.me.pk},
        {"referent": ("", *UNKNOWN_IDS, "STRANGER")},
        label="pathway-write-referent",
    ),
    FormPage(
        "pathway-write",
        "me",
        lambda w: {"pathway_pk": w.pathway.pk, "write": "cloture"},
        lambda w: {"outcome": "job", "confirm": "on"},
        {"outcome": ("", UNKNOWN), "confirm": ("",)},
        # The outgoing referral is still open: the service refuses to close.
        refused=(lambda w: {"outcome": "job", "confirm": "on"},),
        label="pathway-write-close",
    ),
    FormPage(
        "pathway-write",
        "me",
        lambda w: {"pathway_pk": w.pathway.pk, "write": "reactivation"},
        lambda w: {"reason": "La personne revient"},
        {"reason": ("", BLANK, LONG, NUL)},
        kept=("reason",),
        # Not archived: the service refuses.
        refused=(lambda w: {"reason": "La personne revient"},),
        label="pathway-write-reactivate",
    ),
    # The care team (issue 13).
    FormPage(
        "care-team-add",
        "me",
        # The team's member exists before the snapshot (the refused submission names it).
        lambda w: w.care_team_member() and {"pathway_pk": w.pathway.pk},
        lambda w: {"organisation": w.target.pk},
        {"organisation": ("", *UNKNOWN_IDS, LONG, NUL)},
        # Already in the team: the service's conflict, on the form.
        refused=(lambda w: {"organisation": w.care_team_member().organisation_id},),
    ),
    FormPage(
        "care-team-end",
        "me",
        lambda w: {"pk": w.care_team_member().pk},
        lambda w: {"reason": "Accompagnement terminé"},
        {"reason": ("", BLANK, LONG, NUL)},
        kept=("reason",),
    ),
    FormPage(
        "diagnostic-write",
        "me",
        lambda w: {"pathway_pk": w.pathway.pk, "domain": "logement"},
        lambda w: {"text": "Hébergée chez sa sœur", "level": "to_work_on"},
        {"text": ("", BLANK, "x" * 2001, LONG, NUL), "level": (UNKNOWN, LONG, NUL)},
        kept=("text",),
        label="diagnostic-write-housing",
    ),
    FormPage(
        "objection-record",
        "me",
        lambda w: {"pk": w.person.pk},
        lambda w: {"reason": "Ne souhaite plus de partage"},
        {"reason": (LONG, NUL)},
        kept=("reason",),
    ),
    FormPage(
        "access-request-create",
        "stranger",
        lambda w: {},
        lambda w: {"nir": w.person.nir, "reason": "La personne nous est adressée"},
        {
            "nir": (LONG, NUL),
            "france_travail_id": (LONG, NUL),
            "reason": ("", BLANK, LONG, NUL),
        },
        kept=("nir", "france_travail_id", "reason"),
        refused=(
            lambda w: {"nir": "", "france_travail_id": "", "reason": "Sans identifiant"},
            lambda w: {"nir": valid_nir(63), "reason": "Personne inconnue"},
        ),
    ),
    FormPage(
        "access-request-decide",
        "me",
        lambda w: {"pk": w.access_request.pk, "decision": "refuser"},
        lambda w: {"comment": "Pas de lien avec la personne"},
        {"comment": (LONG, NUL)},
        kept=("comment",),
        label="access-request-decide",
    ),
    FormPage(
        "access-request-decide",
        "me",
        lambda w: {"pk": w.answered_request.pk, "decision": "accepter"},
        lambda w: {"comment": "Finalement oui"},
        {},
        # Answered already: no form left to answer it with, the error stands under it.
        refused=(lambda w: {"comment": "Finalement oui"},),
        label="access-request-decide-already-answered",
    ),
    FormPage(
        "preferences",
        "me",
        lambda w: {},
        lambda w: {"mode": "digest", "answers_mode": "digest"},
        {"mode": ("", UNKNOWN, LONG, NUL), "answers_mode": ("", UNKNOWN, LONG, NUL)},
    ),
    FormPage(
        "acting-organisation",
        "me",
        lambda w: {},
        lambda w: {"organisation": w.home.pk},
        {"organisation": ("", *UNKNOWN_IDS, "SIAE")},
    ),
    FormPage(
        "login",
        "anonymous",
        lambda w: {},
        lambda w: {"username": w.me.username, "password": "pas le bon"},
        {"username": ("", LONG, NUL), "password": ("", LONG, NUL)},
        kept=("username",),
        refused=(lambda w: {"username": w.me.username, "password": "pas le bon"},),
    ),
    FormPage(
        "password-change",
        "me",
        lambda w: {},
        lambda w: {
            "old_password": PASSWORD,
            "new_password1": "Un-nouveau-mot-de-passe-42",
            "new_password2": "Un-nouveau-mot-de-passe-42",
        },
        {
            "old_password": ("", "pas le bon", LONG, NUL),
            "new_password1": ("", "court", NUL),
            "new_password2": ("", "Un-autre-mot-de-passe-43"),
        },
        # The CNIL's rule (parcours/passwords.py): long but of one kind, or short of four.
        refused=tuple(
            (
                lambda w, weak=weak: {
                    "old_password": PASSWORD,
                    "new_password1": weak,
                    "new_password2": weak,
                }
            )
            for weak in ("toutenminusculesbienlong", "Court-1!aB", "MOTDEPASSEFORT2026")
        ),
    ),
    # The second factor (issue 15): a code after the password, a code confirming a new app.
    FormPage(
        "second-factor",
        "pending_dpo",
        lambda w: {},
        lambda w: {"code": "000000"},
        {"code": ("", BLANK, LONG, NUL)},
        refused=(lambda w: {"code": "12345678"},),
    ),
    FormPage(
        "second-factor-setup",
        "new_dpo",
        lambda w: {},
        # The page made the app it shows; the junk is posted against it.
        lambda w: (totp_pending(w.new_dpo), {"code": "000000"})[1],
        {"code": ("", BLANK, LONG, NUL)},
        refused=(lambda w: {"code": "12345678"},),
    ),
    # No app yet: no recovery codes to make (a button).
    FormPage(
        "second-factor-recovery-codes",
        "me",
        lambda w: {},
        lambda w: {},
        {},
        refused=(lambda w: {},),
        expect="message",
    ),
    # The DPO's pages.
    FormPage(
        "dpo-home",
        "dpo",
        lambda w: {},
        lambda w: {"first_name": "Léa", "last_name": "Martin", "birth_date": "1990-05-17"},
        {
            "last_name": ("", LONG, NUL),
            "first_name": (LONG, NUL),
            "birth_date": ("2023-02-30", "demain", NUL),
            "nir": (LONG, NUL),
        },
        kept=("last_name", "first_name", "birth_date", "nir"),
    ),
    FormPage(
        "dpo-person-report",
        "dpo",
        lambda w: {"pk": w.person.pk},
        PERIOD,
        {
            **PERIOD_JUNK,
            "version": (UNKNOWN,),
            "organisation": UNKNOWN_IDS,
            "operation": (UNKNOWN,),
        },
        method="GET",
        kept=("du", "au"),
        refused=(
            lambda w: {"du": "2026-02-01", "au": "2026-01-01"},
            lambda w: {"du": "0001-01-01", "export": "csv"},
            lambda w: {"au": "9999-12-31", "export": "pdf"},
        ),
    ),
    FormPage(
        "dpo-user-report",
        "dpo",
        lambda w: {"pk": w.me.pk},
        PERIOD,
        PERIOD_JUNK,
        method="GET",
        kept=("du", "au"),
        refused=(lambda w: {"au": "0001-01-01"}, lambda w: {"du": "9999-12-31"}),
    ),
    FormPage(
        "dpo-anomalies",
        "dpo",
        lambda w: {},
        PERIOD,
        {
            **PERIOD_JUNK,
            "volume_factor": ("abc", "1e309", "nan", "0", "101"),
            "volume_min_people": ("abc", "0", "99999999999999999999"),
            "denials_per_day": ("abc", "-1", "99999999999999999999"),
        },
        method="GET",
        kept=("du", "au", "volume_factor", "volume_min_people", "denials_per_day"),
    ),
    FormPage(
        "dpo-integrity",
        "dpo",
        lambda w: {},
        PERIOD,
        PERIOD_JUNK,
        method="GET",
        kept=("du", "au"),
    ),
    # The coordinator's dashboard and overdue list (issue 18): their area filter besides.
    FormPage(
        "statistics",
        "coordinator",
        lambda w: {},
        lambda w: {"du": "2026-01", "au": "2026-06", "bassin": ""},
        {
            "bassin": (*UNKNOWN_IDS, LONG, NUL),
            "partenaire": (*UNKNOWN_IDS, LONG, NUL),
        },
        method="GET",
        kept=("du", "au"),
        label="statistics (coordinator)",
    ),
    FormPage(
        "territory-overdue",
        "coordinator",
        lambda w: {},
        lambda w: {"bassin": ""},
        {"bassin": (*UNKNOWN_IDS, "abc", LONG, NUL)},
        method="GET",
    ),
    FormPage(
        "dpo-rights-request-create",
        "dpo",
        lambda w: {"pk": w.person.pk},
        lambda w: {
            "kind": "objection",
            "channel": "desk",
            "received_on": timezone.localdate().isoformat(),
            "details": "Demande reçue au guichet",
        },
        {
            "kind": ("", UNKNOWN),
            "channel": ("", UNKNOWN),
            "received_on": ("", *IMPOSSIBLE_DATES, "31/12/2031", "TOMORROW"),
            "details": (LONG, NUL),
        },
        kept=("received_on", "details"),
    ),
    FormPage(
        "dpo-rights-request",
        "dpo",
        lambda w: {"pk": w.request.pk},
        lambda w: {
            "action": "decider",
            "decision-status": "refused",
            "decision-decision": "Obligation légale de conservation",
        },
        {
            "decision-status": ("", UNKNOWN),
            "decision-decision": ("", BLANK, LONG, NUL),
        },
        kept=("decision-decision",),
        label="dpo-rights-request-decide",
    ),
    FormPage(
        "dpo-rights-request",
        "dpo",
        lambda w: {"pk": w.request.pk},
        lambda w: {"action": "prolonger", "prolonger-reason": "Demande complexe"},
        {"prolonger-reason": ("", BLANK, LONG, NUL)},
        kept=("prolonger-reason",),
        label="dpo-rights-request-extend",
    ),
    # « Orientations envoyées »'s filters (a GET form: choices and ids only, issue 14).
    FormPage(
        "sent-referrals",
        "me",
        lambda w: {},
        lambda w: {
            "par": "organisation",
            "statut": "refused",
            "destinataire": w.siae.pk,
            "depuis": "30",
            "a_regarder": "oui",
        },
        {
            "par": (UNKNOWN, "me", LONG, NUL),
            "statut": (UNKNOWN, "draft", LONG, NUL),
            # France Travail never sent to itself: not a receiver to filter on.
            "destinataire": (*UNKNOWN_IDS, "OWN", NUL),
            "depuis": ("12", "0", "-7", "abc", "99999999999999999999", LONG, NUL),
        },
        method="GET",
    ),
    # The managers' dashboard (issue 18): a GET form of months, a direction and a partner.
    FormPage(
        "statistics",
        "manager",
        lambda w: {},
        lambda w: {"du": "2026-01", "au": "2026-06", "sens": "recues", "partenaire": ""},
        {
            "du": ("2026-13", "abc", "1999-01", "0000-01", LONG, NUL),
            "au": ("2999-01", "2025-12", "abc", LONG, NUL),
            "sens": (UNKNOWN, LONG, NUL),
            "partenaire": (*UNKNOWN_IDS, LONG, NUL),
        },
        method="GET",
        kept=("du", "au"),
    ),
    # The agreement indicators (issue 18): a row per catalogue indicator, its target a number.
    FormPage(
        "agreement-indicators-edit",
        "manager",
        lambda w: {"pk": w.agreement().pk},
        lambda w: {
            "annexe_show_rate": "on",
            "cible_show_rate": "70",
            "periode_show_rate": "yearly",
        },
        {
            "cible_show_rate": ("", BLANK, "abc", "-1", "101", "1e400", "12,345", LONG, NUL),
            "periode_show_rate": (UNKNOWN, LONG, NUL),
        },
        kept=("cible_show_rate",),
    ),
    # The action plan (web/views/action_plan.py): the forms, and the status buttons.
    FormPage(
        "plan-objective-add",
        "me",
        lambda w: {"pathway_pk": w.pathway.pk},
        lambda w: {"title": "Trouver un logement"},
        {"title": ("", BLANK, LONG, NUL)},
        kept=("title",),
    ),
    FormPage(
        "plan-action-add",
        "me",
        lambda w: {"pk": _plan(w).objective_id},
        lambda w: {"label": "Atelier CV", "owner_organisation": w.siae.pk, "due_on": _day(7)},
        {
            "label": ("", BLANK, LONG, NUL),
            "owner_organisation": ("", *UNKNOWN_IDS),
            "due_on": ("", *IMPOSSIBLE_DATES, "2001-01-01", "31/12/2031"),
        },
        kept=("label", "due_on"),
        # An organisation of the directory that does not work on Léa's pathway.
        refused=(
            lambda w: {"label": "Atelier", "owner_organisation": w.target.pk, "due_on": _day(7)},
        ),
    ),
    FormPage(
        "plan-objective-status",
        "me",
        lambda w: {"pk": _plan(w).objective_id},
        lambda w: {"status": "achieved"},
        {"status": ("", UNKNOWN, LONG, NUL)},
        refused=(lambda w: {"status": "open"},),  # it is open already
        expect="message",
    ),
    FormPage(
        "plan-action-status",
        "me",
        lambda w: {"pk": _plan(w).pk},
        lambda w: {"status": "done"},
        {"status": ("", UNKNOWN, LONG, NUL)},
        refused=(lambda w: {"status": "todo"},),  # to do already
        expect="message",
    ),
    # Partner systems' tokens (issue 15): the organisation's administrator.
    FormPage(
        "api-tokens",
        "admin",
        lambda w: {},
        lambda w: {
            "system_name": "Logiciel rSa",
            "member": "",
            "role": "counsellor",
            "scopes": ["referrals:read"],
            "valid_days": "30",
            "requests_per_minute": "120",
        },
        {
            "system_name": ("", BLANK, LONG, NUL, "Logiciel\u202erSa", "SI\x07"),
            "member": (*UNKNOWN_IDS, "STRANGER"),
            "role": (UNKNOWN, "admin", "national_dpo", LONG),
            "scopes": (UNKNOWN, "", "referrals:admin", LONG),
            "valid_days": ("0", "366", "-1", "abc", LONG, NUL),
            "requests_per_minute": ("0", "6001", "abc", LONG),
        },
        kept=("system_name", "valid_days", "requests_per_minute"),
        # Neither a member nor the technical account's role.
        refused=(
            lambda w: {
                "system_name": "Logiciel rSa",
                "member": "",
                "role": "",
                "scopes": ["referrals:read"],
                "valid_days": "30",
                "requests_per_minute": "120",
            },
        ),
    ),
    # Partner systems' webhooks (issue 19): the organisation's administrator.
    _webhook_form("webhooks", lambda w: {}),
    _webhook_form(
        "webhook-change",
        lambda w: {"pk": WebhookSubscriptionFactory(organisation=w.home).pk},
    ),
]

# Pages without a form to fuzz: reads, and buttons whose only input is the URL (the matrix
# tests check those). Their query strings are fuzzed by test_query_strings_never_crash.
NO_FORM = {
    "home",
    "accessibility",
    "legal-notice",
    "personal-data",
    "access-requests",  # a list; its answers are access-request-decide's forms
    "objection-withdraw",  # a button; out of scope or already withdrawn is a 404
    "consent-evidence",  # a download (the consent's read rule; tests/security/test_evidence.py)
    "logout",
    # ProConnect: a button (its `next` is checked in test_proconnect.py) and the provider's two
    # ways back, whose query strings are forged there (404 while ProConnect is not configured).
    "proconnect-start",
    "proconnect-callback",
    "proconnect-logged-out",
    "second-factor-disable",  # a button; refused to a DPO with the 403 page (page matrix)
    "person-detail",
    "inbox",
    "caseload",  # lists behind « À traiter »'s « voir tout »: a page number only
    "overdue-actions",
    "referral-detail",
    "alerts",
    "alert-ack",  # a button; its `next` is fuzzed below
    "answer-seen",  # a button; out of the user's answers is a 404
    "dpo-subject-access-pack",
    "dpo-users",
    "dpo-integrity-verify",
    "dpo-register",
    "dpo-rights-requests",
    # The directory's search is a GET form (no personal data): its query strings are below.
    "directory-organisations",
    "directory-organisation",
    # Buttons on « Accès API »: the token in the URL is all they take (the page matrix checks
    # another organisation's is a 404).
    "api-token-renew",
    "api-token-revoke",
    # The agreement indicators' report: its export links take csv or pdf, anything else the page.
    "agreement-indicators",
    # Buttons and the log of « Webhooks »: the subscription or delivery in the URL is all they
    # take (the page matrix checks another organisation's is a 404).
    "webhook-rotate",
    "webhook-disable",
    "webhook-deliveries",
    "webhook-replay",
}
# Placeholders resolved against the world or the clock when posted.
PLACEHOLDERS: dict[str, Callable[[World], object]] = {
    **{name: (lambda w, f=f: SimpleUploadedFile(*f)) for name, f in FILES.items()},
    "OWN": lambda w: w.home.pk,
    "STRANGER": lambda w: w.stranger.pk,
    "MANAGER": lambda w: w.manager.pk,
    "SIAE": lambda w: w.siae.pk,
    "PAST_HOUR": lambda w: _local(timezone.now() - dt.timedelta(hours=1)),
    "IN_TWO_YEARS": lambda w: _local(timezone.now() + dt.timedelta(days=730)),
    # An offset Django's field reads and PostgreSQL cannot store (a 500 before issue 15).
    "SOON_BEYOND_OFFSET": lambda w: _local(timezone.now() + dt.timedelta(days=3)) + "+16:00",
    **{name: (lambda w, f=f: f()) for name, f in RELATIVE.items()},
}


def _resolve(w: World, value):
    if isinstance(value, str) and value in PLACEHOLDERS:
        return PLACEHOLDERS[value](w)
    return value


# The case committee (web/views/committees.py): the coordinator's session, agenda, refusal and
# decision forms, the proposal from the person page; the list, the proposal's page and the
# cancel button have no form (the page matrix covers them).
def _local_in(days: int) -> str:
    return (timezone.localtime() + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


PAGES += [
    FormPage(
        "committee-create",
        "coordinator",
        lambda w: _committee_world(w),
        lambda w: {
            "employment_area": w.home.employment_area_id,
            "meets_at": _local_in(5),
            "place": "Visio",
        },
        {
            "employment_area": ("", *UNKNOWN_IDS),
            "meets_at": ("", *IMPOSSIBLE_DATES, "2001-01-01T10:00", "2099-01-01T10:00"),
            "place": ("", BLANK, LONG, NUL),
            "attendees": ("999999", "abc"),
        },
        kept=("place",),
    ),
    FormPage(
        "committee-detail",
        "coordinator",
        SESSION,
        lambda w: {"proposal": w.proposal.pk},
        {"proposal": ("", *UNKNOWN_IDS, NUL)},
    ),
    FormPage(
        "committee-proposal-move",
        "coordinator",
        ON_AGENDA,
        lambda w: {"offset": "1"},
        {"offset": ("", UNKNOWN, "5", NUL, LONG)},
        expect="message",
    ),
    FormPage(
        "committee-proposal-decline",
        "coordinator",
        PROPOSAL,
        lambda w: {"reason": "Hors du champ du comité."},
        {"reason": ("", BLANK, LONG, NUL)},
        kept=("reason",),
    ),
    FormPage(
        "committee-proposal-decide",
        "coordinator",
        ON_AGENDA,
        lambda w: {"decision": "Le parcours continue.", "outcome": "no_follow_up"},
        {
            "decision": ("", BLANK, LONG, NUL),
            "outcome": ("", UNKNOWN, LONG, NUL),
            "action_label": (LONG, NUL, "Une action sans organisation ni échéance"),
            "action_owner": UNKNOWN_IDS,
            "action_due_on": IMPOSSIBLE_DATES,
            "referral_receiver": UNKNOWN_IDS,
            "referral_kind": (UNKNOWN, NUL),
            "referral_reason": (LONG, NUL, "Un motif sans destinataire"),
        },
        kept=("decision",),
        # Follow-ups decided, none given; an action held by an organisation that does not see
        # Léa's pathway (the service's refusal, the decision not recorded).
        refused=(
            lambda w: {"decision": "Des suites.", "outcome": "follow_up"},
            lambda w: {
                "decision": "Une action.",
                "outcome": "follow_up",
                "action_label": "Immersion",
                "action_owner": w.target.pk,
                "action_due_on": _day(7),
            },
        ),
    ),
    FormPage(
        "committee-propose",
        "me",
        lambda w: {"pathway_pk": w.pathway.pk},
        lambda w: {
            "reason": "Parcours à l'arrêt",
            "question": "Qui peut aider ?",
            "summary": "Résumé.",
            "basis": "legal:spe",
        },
        {
            "reason": ("", BLANK, LONG, NUL),
            "question": ("", BLANK, LONG, NUL),
            "summary": ("", BLANK, LONG, NUL),
            "basis": ("", UNKNOWN, "consent:999999", "legal:rsa", NUL),
        },
        kept=("reason", "question", "summary"),
    ),
]
NO_FORM |= {"committees", "committee-cancel", "committee-proposal"}
# The person's own space: its two forms (address and birth date, the code) are fuzzed in
# tests/person_space/test_pages.py (its world has a person to sign in; this one has none).
NO_FORM |= {
    "person-space",
    "person-space-sign-in",
    "person-space-code",
    "person-space-sign-out",
    "person-space-consent-withdraw",
    "person-space-consent-withdrawn",
    "person-space-franceconnect-start",
    "person-space-franceconnect-callback",
    "person-space-franceconnect-logged-out",
}


# The link of a receiver without an account (issue 19): its forms are the staff's, posted by
# nobody signed in; its page (a GET) and the sender's revocation (a button) have none.
def _link_move(action: str, *, accepted: bool = False):
    def kwargs(w: World) -> dict:
        from parcours.services.receiver_link import link_actor
        from parcours.services.referral import referral_accept

        link = w.ccas_link()
        url = {**w.link_kwargs(), "action": action}  # the token, before any use blanks it
        if accepted:
            referral_accept(actor=link_actor(link), referral_id=link.referral_id)
        return url

    return kwargs


PAGES += [
    FormPage(
        "receiver-link-move",
        "anonymous",
        _link_move("refuse"),
        lambda w: {"refusal_reason": "no_capacity", "comment": "Pas de place"},
        {"refusal_reason": ("", UNKNOWN), "comment": (LONG, NUL)},
        kept=("comment",),
        refused=(lambda w: {"refusal_reason": "other", "comment": BLANK},),
        label="receiver-link-move-refuse",
    ),
    FormPage(
        "receiver-link-move",
        "anonymous",
        _link_move("set_appointment", accepted=True),
        lambda w: {
            "starts_at": _local(timezone.now() + dt.timedelta(days=3)),
            "channel": "in_person",
            "place": "Mairie de Liévin",
        },
        {
            "starts_at": ("", "2020-01-01T10:00", "9999-12-31T23:59", "demain", NUL, "PAST_HOUR"),
            "channel": ("", UNKNOWN),
            "place": (LONG, NUL),
        },
        kept=("starts_at", "place"),
        label="receiver-link-move-set-appointment",
    ),
    FormPage(
        "receiver-link-move",
        "anonymous",
        _link_move("close", accepted=True),
        lambda w: {"outcome": "job", "comment": "En CDD"},
        {"outcome": ("", UNKNOWN), "comment": (LONG, NUL)},
        kept=("comment",),
        label="receiver-link-move-close",
    ),
]
NO_FORM |= {"receiver-link", "referral-receiver-link"}


def test_every_page_is_fuzzed_or_has_no_form():
    from web import urls

    names = {p.name for p in urls.urlpatterns if isinstance(p, URLPattern)}
    fuzzed = {page.name for page in PAGES}
    assert fuzzed | NO_FORM == names
    assert not fuzzed & NO_FORM


def _client(w: World, who: str) -> Client:
    client = Client()
    if who != "anonymous":
        client.force_login(getattr(w, who), second_factor=who not in UNVERIFIED)
    return client


def _send(client: Client, page: FormPage, url: str, data: dict):
    if page.method == "GET":
        return client.get(url, data)
    return client.post(url, data)


def _assert_refused(w, page: FormPage, client: Client, url: str, data: dict, before) -> None:
    case = f"{page} { ({k: repr(v)[:40] for k, v in data.items()}) }"
    response = _send(client, page, url, data)
    assert response.status_code < 500, case
    if page.expect == "message":
        assert response.status_code == 302, case
        response = client.get(response.url)
        html = response.content.decode()
        assert "fr-alert--error" in html, case
    else:
        expected = (200,) if page.method == "GET" else (200, 400)
        assert response.status_code in expected, (case, response.status_code)
        html = response.content.decode()
        assert any(mark in html for mark in FIELD_ERROR), case
        for name in page.kept:
            typed = data.get(name)
            if isinstance(typed, str) and typed:
                assert escape(typed) in html, (case, name, "typed value lost")
    assert not ENGLISH.search(html), (case, ENGLISH.search(html).group(0))
    assert snapshot() == before, (case, "something was written")


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_junk_is_refused_in_french_keeping_what_was_typed(page, world):
    # The URL first: a page's records (and the user of some, a coordinator) are made on demand.
    url = reverse(f"web:{page.name}", kwargs=page.kwargs(world))
    client = _client(world, page.who)
    before = snapshot()
    valid = page.valid(world)
    for name, values in page.junk.items():
        for value in values:
            data = {**valid, name: _resolve(world, value)}
            _assert_refused(world, page, client, url, data, before)
    for submission in page.refused:
        _assert_refused(world, page, client, url, submission(world), before)
    if page.name == "password-change":
        assert check_password(PASSWORD, type(world.me).objects.get(pk=world.me.pk).password)


# A few hundred random strings where people type: the same promises for any text at all.
TYPED = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first_name=TYPED, city=TYPED, nir=TYPED)
def test_any_text_typed_in_a_refused_person_form_comes_back(world, first_name, city, nir):
    """The birth date is in the future: the form is always refused, whatever the rest (the
    service says so once the form's own fields are right)."""
    client = _client(world, "me")
    before = snapshot()
    data = {
        "first_name": first_name,
        "last_name": "Durand",
        "birth_date": "2031-12-31",
        "city": city,
        "nir": nir,
    }
    response = client.post(reverse("web:person-create"), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert any(mark in html for mark in FIELD_ERROR)
    for name in ("first_name", "city", "nir"):
        if data[name]:
            assert escape(data[name]) in html, name
    assert not ENGLISH.search(html)
    assert snapshot() == before


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(du=st.dates(), au=st.dates())
def test_any_report_period_is_a_report_or_a_french_error(world, du, au):
    """Any two days (0001-01-01 to 9999-12-31) on the DPO's reports: a report or a form error."""
    client = _client(world, "dpo")
    for name, kwargs in (
        ("dpo-person-report", {"pk": world.person.pk}),
        ("dpo-anomalies", {}),
    ):
        response = client.get(
            reverse(f"web:{name}", kwargs=kwargs), {"du": du.isoformat(), "au": au.isoformat()}
        )
        assert response.status_code == 200, (name, du, au)
        html = response.content.decode()
        assert not ENGLISH.search(html)
        assert du.isoformat() in html and au.isoformat() in html


QUERIES = [
    ("inbox", lambda w: {}, {"age": "99999999999999"}),
    ("inbox", lambda w: {}, {"age": "²"}),
    ("inbox", lambda w: {}, {"age": NUL, "statut": UNKNOWN, "page": "abc"}),
    ("inbox", lambda w: {}, {"attribution": UNKNOWN, "page": "abc"}),
    ("inbox", lambda w: {}, {"attribution": NUL, "statut": LONG}),
    ("alerts", lambda w: {}, {"etat": UNKNOWN, "page": "-1"}),
    ("inbox", lambda w: {}, {"statut": "issue-a-saisir", "page": "99999999999999999999"}),
    ("sent-referrals", lambda w: {}, {"page": "abc", UNKNOWN: NUL}),
    ("sent-referrals", lambda w: {}, {"par": "organisation", "page": "-1"}),
    ("caseload", lambda w: {}, {"page": "abc"}),
    ("overdue-actions", lambda w: {}, {"page": "99999999999999999999"}),
    ("referral-create", lambda w: {"pathway_pk": w.pathway.pk}, {"receiver_organisation": "abc"}),
    (
        "referral-create",
        lambda w: {"pathway_pk": w.pathway.pk},
        {"receiver_organisation": "99999999999999999999999"},
    ),
    (
        "referral-create",
        lambda w: {"pathway_pk": w.pathway.pk},
        {"area": "abc", "kind": UNKNOWN, "barrier": NUL},
    ),
    (
        "directory-organisations",
        lambda w: {},
        {"annuaire-q": LONG, "annuaire-area": "abc", "annuaire-kind": UNKNOWN},
    ),
    (
        "directory-organisations",
        lambda w: {},
        {"annuaire-q": NUL, "annuaire-barrier": NUL, "champ": UNKNOWN, UNKNOWN: "abc"},
    ),
    (
        "directory-organisations",
        lambda w: {},
        {"champ": "organisations", "organisations": ["abc", "99999999999999999999"]},
    ),
    (
        "directory-organisation",
        lambda w: {"pk": w.siae.pk},
        {"champ": "receiver_service", "receiver_service": "abc"},
    ),
    ("dpo-users", lambda w: {}, {"page": "99999"}),
    ("dpo-rights-requests", lambda w: {}, {"etat": NUL, "page": "abc"}),
    ("dpo-register", lambda w: {}, {"export": UNKNOWN}),
    ("dpo-person-report", lambda w: {"pk": w.person.pk}, {"export": UNKNOWN}),
]


def test_query_strings_never_crash(world):
    """Filters, pages and exports typed into a URL: the page, never a 500."""
    for name, kwargs, query in QUERIES:
        who = "dpo" if name.startswith("dpo-") else "me"
        response = _client(world, who).get(reverse(f"web:{name}", kwargs=kwargs(world)), query)
        assert response.status_code == 200, (name, query, response.status_code)
        assert not ENGLISH.search(response.content.decode()), (name, query)


def test_acknowledging_an_alert_never_leaves_the_site(world):
    client = _client(world, "me")
    url = reverse("web:alert-ack", args=[world.alert.pk])
    for next_url in ("https://ailleurs.example/", "//ailleurs.example", "javascript:alert(1)"):
        response = client.post(url, {"next": next_url})
        assert (response.status_code, response.url) == (302, reverse("web:alerts")), next_url
    for junk in (NUL, LONG, "/\\ailleurs.example"):
        response = client.post(url, {"next": junk})
        assert response.status_code == 302, repr(junk)[:40]
        assert response.url == reverse("web:alerts"), repr(junk)[:40]
    response = client.post(url, {"next": reverse("web:home")})
    assert response.url == reverse("web:home")


def test_every_page_view_puts_model_errors_on_its_form():
    """A page that catches only the domain's errors lets a model's ValidationError through
    (a 500 on an invalid NIR before issue 13): the views catch web.forms.INPUT_ERRORS."""
    views = Path(__file__).resolve().parents[2] / "web" / "views"
    offenders = [
        f"{path.name}:{number}"
        for path in sorted(views.glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"except \(?DomainError\b", line)
    ]
    assert not offenders


def test_a_failed_narrowing_of_a_consent_out_of_scope_is_not_found(world):
    """The form shown again names the consent: one the actor may not see is a 404, as the
    service answers a valid form."""
    url = reverse("web:consent-narrow", args=[world.person.pk, world.foreign_consent.pk])
    response = _client(world, "me").post(url, {"categories": [UNKNOWN]})
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


def test_a_failed_answer_to_an_access_request_out_of_scope_is_not_found(world):
    url = reverse("web:access-request-decide", args=[world.foreign_access_request.pk, "refuser"])
    response = _client(world, "me").post(url, {"comment": LONG})
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


def test_an_objection_recorded_twice_says_so_on_the_person_page(world):
    url = reverse("web:objection-record", args=[world.person.pk])
    client = _client(world, "me")
    assert client.post(url, {"reason": "Première fois"}).status_code == 302
    before = snapshot()
    response = client.post(url, {"reason": "Deuxième fois"})
    assert response.status_code == 400
    assert "Une opposition est déjà enregistrée pour cette personne." in response.content.decode()
    assert snapshot() == before
