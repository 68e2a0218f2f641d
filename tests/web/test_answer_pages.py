"""« Réponses à vos orientations » on the home page (issue 14): the receivers' answers to the
referrals the user sent, not yet seen — the person named only when the organisation sees their
identity, each row journaled as the home's lists are, an exact count, « marquer comme vu »; and
the preferences page's choice for these answers' e-mails."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import AnswerNotice, NotificationPreference
from parcours.models import AccessEvent, Role
from tests.factories import (
    AnswerNoticeFactory,
    AppointmentFactory,
    CareTeamMemberFactory,
    ConsentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
    ReferralFactory,
)

from .test_pages import World, client_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return World()


def journal_since(before: int):
    return list(AccessEvent.objects.filter(id__gt=before).order_by("id"))


def last_journal_id() -> int:
    return AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_the_home_lists_the_answers_with_the_person_and_journals_them(world):
    world.outgoing.status = "refused"
    world.outgoing.refused_at = timezone.now()
    world.outgoing.refusal_reason = "no_capacity"
    world.outgoing.save()
    notice = AnswerNoticeFactory(referral=world.outgoing, recipient=world.me, answer="refused")
    before = last_journal_id()
    page = client_of(world.me).get(reverse("web:home")).content.decode()
    assert "Réponses à vos orientations : 1" in page
    assert "Réponses à vos orientations (1)" in page
    assert "Léa Martin" in page
    assert world.outgoing.reference in page
    assert reverse("web:referral-detail", args=[world.outgoing.pk]) in page
    assert "Chantier Les Jardins" in page
    assert "Orientation refusée" in page and "Motif : Plus de place disponible" in page
    assert reverse("web:answer-seen", args=[notice.pk]) in page
    assert "Marquer comme vu" in page
    assert "refused" not in page.replace("fr-badge", "")  # never a raw code
    # The answers' rows are journaled as a list of referrals, like the home's other lists.
    (row,) = [
        r
        for r in journal_since(before)
        if (r.operation, r.object_type) == ("list", "referral")
        and world.outgoing.pk in r.object_ids
    ]
    assert row.detail["action"] == "referral.list"
    assert sorted(row.categories) == ["identity", "pathway"]


def test_a_person_the_organisation_no_longer_identifies_is_not_named(world):
    """A care-team partner that sent the person on sees the pathway (the person's consent), not
    the identity, once the referral's own basis ended (closed beyond the grace period): its
    answer, not yet seen, says what happened, never who."""
    siae_holder = OrganisationFactory(siae=True, name="Régie de quartier")
    partner = OrganisationFactory(siae=True, name="Atelier Vélo Solidaire")
    counsellor = MembershipFactory(organisation=partner, role=Role.COUNSELLOR).user
    person = PersonFactory(first_name="Inès", last_name="Durand")
    pathway = PathwayFactory(person=person, owner_organisation=siae_holder)
    CareTeamMemberFactory(pathway=pathway, organisation=partner)
    ConsentFactory(person=person, organisations=[partner], categories=["pathway"])
    now = timezone.now()
    referral = ReferralFactory(
        pathway=pathway,
        sender_organisation=partner,
        sender_user=counsellor,
        receiver_organisation=world.siae,
        closed=True,
        created_at=now - dt.timedelta(days=60),
        sent_at=now - dt.timedelta(days=59),
        accepted_at=now - dt.timedelta(days=58),
        attended_at=now - dt.timedelta(days=50),
        closed_at=now - dt.timedelta(days=40),
    )
    AnswerNoticeFactory(referral=referral, recipient=counsellor, answer="closed")
    before = last_journal_id()
    page = client_of(counsellor).get(reverse("web:home")).content.decode()
    assert referral.reference in page
    assert "Orientation clôturée" in page and "Suite donnée : Accompagnement engagé" in page
    assert "Inès" not in page and "Durand" not in page
    assert "Identité non partagée avec votre organisation" in page
    (row,) = [
        r
        for r in journal_since(before)
        if r.object_type == "referral" and referral.pk in r.object_ids
    ]
    assert sorted(row.categories) == ["pathway"]  # what the row showed


def test_only_the_users_own_unseen_answers_for_the_acting_organisation(world):
    mine = AnswerNoticeFactory(referral=world.outgoing, recipient=world.me)
    seen = AnswerNoticeFactory(
        referral=world.outgoing, recipient=world.me, seen_at=timezone.now(), answer="closed"
    )
    colleague = MembershipFactory(organisation=world.home).user
    AnswerNoticeFactory(referral=world.outgoing, recipient=colleague, answer="attended")
    page = client_of(world.me).get(reverse("web:home")).content.decode()
    assert reverse("web:answer-seen", args=[mine.pk]) in page
    assert reverse("web:answer-seen", args=[seen.pk]) not in page
    assert "Personne venue au rendez-vous" not in page  # the colleague's
    assert "Réponses à vos orientations (1)" in page
    # Acting for another organisation, the user reads that one's answers only.
    MembershipFactory(user=world.me, organisation=world.elsewhere)
    client = client_of(world.me)
    client.post(reverse("web:acting-organisation"), {"organisation": world.elsewhere.pk})
    page = client.get(reverse("web:home")).content.decode()
    assert "Réponses à vos orientations (0)" in page
    assert "Aucune nouvelle réponse à vos orientations." in page


def test_the_count_is_exact_beyond_the_rows_shown(world):
    for _ in range(23):
        AnswerNoticeFactory(
            referral=ReferralFactory(
                pathway=PathwayFactory(owner_organisation=world.home),
                sender_user=world.me,
                accepted=True,
            ),
            recipient=world.me,
        )
    page = client_of(world.me).get(reverse("web:home")).content.decode()
    assert "Réponses à vos orientations : 23" in page
    assert "Réponses à vos orientations (23)" in page
    assert page.count('action="/reponses/') == 20
    assert "Les 20 réponses les plus récentes sont affichées" in page


def test_an_appointment_answer_says_when(world):
    appointment = AppointmentFactory(
        referral=world.outgoing, starts_at=timezone.now() + dt.timedelta(days=2)
    )
    AnswerNoticeFactory(
        referral=world.outgoing,
        recipient=world.me,
        answer="appointment_moved",
        appointment=appointment,
    )
    page = client_of(world.me).get(reverse("web:home")).content.decode()
    when = timezone.localtime(appointment.starts_at).strftime("%d/%m/%Y à %H:%M")
    assert "Rendez-vous déplacé" in page
    assert f"Nouveau rendez-vous le {when}" in page


def test_marking_an_answer_seen_takes_it_off_the_home(world):
    notice = AnswerNoticeFactory(referral=world.outgoing, recipient=world.me)
    client = client_of(world.me)
    response = client.post(reverse("web:answer-seen", args=[notice.pk]))
    assert response.status_code == 302
    assert response.url == reverse("web:home") + "#reponses"
    notice.refresh_from_db()
    assert notice.seen_at is not None
    page = client.get(response.url).content.decode()
    assert "Réponse marquée comme vue" in page
    assert "Réponses à vos orientations (0)" in page


def test_another_users_answer_is_not_found_and_left_unseen(world):
    notice = AnswerNoticeFactory(referral=world.outgoing, recipient=world.me)
    colleague = MembershipFactory(organisation=world.home).user
    for user in (colleague, world.stranger):
        response = client_of(user).post(reverse("web:answer-seen", args=[notice.pk]))
        assert response.status_code == 404
        assert "Page introuvable" in response.content.decode()
    assert client_of(world.me).get(reverse("web:answer-seen", args=[notice.pk])).status_code == 405
    notice.refresh_from_db()
    assert notice.seen_at is None


def test_the_home_reads_the_answers_in_a_bounded_number_of_queries(world):
    client = client_of(world.me)
    client.get(reverse("web:home"))  # warm the session and the permission cache

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("web:home")).status_code == 200
        return len(queries)

    def add(n: int) -> None:
        for _ in range(n):
            referral = ReferralFactory(
                pathway=PathwayFactory(owner_organisation=world.home),
                sender_user=world.me,
                refused=True,
            )
            AnswerNoticeFactory(referral=referral, recipient=world.me, answer="refused")

    add(2)
    few = count()
    add(30)  # beyond the rows shown: the exact count is one more query, whatever the number
    many = count()
    assert many <= few + 1
    add(10)
    assert count() == many


def test_the_preferences_page_offers_the_answers_choice_in_french(world):
    client = client_of(world.me)
    page = client.get(reverse("web:preferences")).content.decode()
    assert "Réception des réponses à vos orientations" in page
    assert "Immédiatement, un e-mail par réponse" in page
    assert "Dans le récapitulatif quotidien" in page
    response = client.post(
        reverse("web:preferences"), {"mode": "immediate", "answers_mode": "digest"}
    )
    assert response.status_code == 302
    preference = NotificationPreference.objects.get(user=world.me)
    assert (preference.mode, preference.answers_mode) == ("immediate", "digest")
    page = client.get(reverse("web:preferences")).content.decode()
    assert 'value="digest" checked' in page
    # An unknown choice: a French error, nothing saved.
    response = client.post(reverse("web:preferences"), {"mode": "digest", "answers_mode": "x"})
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert NotificationPreference.objects.get(user=world.me).mode == "immediate"
    assert AnswerNotice.objects.count() == 0
