"""Break-glass: the organisation's DPOs are told who opened what and why, never the content."""

import pytest
from django.core import mail

from notifications.tasks import notify_dpo_of_break_glass
from parcours.models import Role
from parcours.services.break_glass import break_glass_open
from tests.factories import MembershipFactory, PersonFactory, ReferralFactory

pytestmark = pytest.mark.django_db


def test_opening_break_glass_schedules_one_dpo_mail_after_commit(
    make_actor, django_capture_on_commit_callbacks
):
    referral = ReferralFactory(
        sent=True, pathway__person=PersonFactory(rqth=True, first_name="Inès")
    )
    receiver = make_actor(organisation=referral.receiver_organisation)
    dpo = MembershipFactory(organisation=receiver.organisation, role=Role.DPO)
    MembershipFactory(organisation=receiver.organisation, role=Role.COUNSELLOR)  # not told

    with django_capture_on_commit_callbacks() as callbacks:
        grant = break_glass_open(
            actor=receiver,
            pathway_id=referral.pathway_id,
            category="health",
            reason="Adapter le poste de travail proposé dès le premier jour",
        )
    assert len(callbacks) == 1  # the mail is queued only once the opening is committed

    assert notify_dpo_of_break_glass(grant.pk) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [dpo.user.email]
    assert "Accès exceptionnel" in message.subject
    assert "« Santé et handicap »" in message.body  # the category, in French
    assert "Adapter le poste de travail" in message.body
    assert "Inès" not in message.body  # no record content, not even the person's name
    assert f"parcours n°{referral.pathway_id}" in message.body


def test_no_dpo_no_mail(make_actor):
    referral = ReferralFactory(sent=True)
    receiver = make_actor(organisation=referral.receiver_organisation)
    grant = break_glass_open(
        actor=receiver,
        pathway_id=referral.pathway_id,
        category="social",
        reason="Comprendre les freins avant le premier rendez-vous",
    )
    assert notify_dpo_of_break_glass(grant.pk) == 0
    assert mail.outbox == []
