"""The correction move through the API's referral moves (issue 13): its author within the delay
gets the referral back; a colleague 403 in French, a missing reason 400 on the field, an unrelated
organisation 404."""

import datetime as dt

import pytest
from django.utils import timezone

from parcours.models import Referral, ReferralStatus
from tests.factories import PathwayFactory, ReferralFactory

pytestmark = pytest.mark.django_db


def _absence(world, author):
    return ReferralFactory(
        pathway=PathwayFactory(owner_organisation=world.siae),
        receiver_organisation=world.home,
        no_show=True,
        attendance_recorded_by=author.user,
        attendance_correctable_until=timezone.now() + dt.timedelta(days=2),
    )


def _url(referral) -> str:
    return f"/api/v1/referrals/{referral.pk}/correct-attendance/"


def test_the_author_corrects_and_the_others_are_told_why_not(world, client_for):
    referral = _absence(world, world.me)
    detail = client_for(world.me).get(f"/api/v1/referrals/{referral.pk}/").json()
    assert "correct_attendance" in detail["available_actions"]
    seen_by_colleague = client_for(world.manager).get(f"/api/v1/referrals/{referral.pk}/")
    assert "correct_attendance" not in seen_by_colleague.json()["available_actions"]

    missing = client_for(world.me).post(_url(referral), {})
    assert missing.status_code == 400
    assert "reason" in missing.json()

    colleague = client_for(world.manager).post(_url(referral), {"reason": "Saisie inversée"})
    assert colleague.status_code == 403
    assert colleague.json()["detail"].startswith("Seule la personne qui a saisi la venue")
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.NO_SHOW

    done = client_for(world.me).post(_url(referral), {"reason": "Saisie inversée"})
    assert done.status_code == 200, done.content
    assert done.json()["status"] == ReferralStatus.ATTENDED
    assert "correct_attendance" in done.json()["available_actions"]  # back, within the delay


def test_an_unrelated_organisation_finds_nothing(world, client_for):
    referral = _absence(world, world.me)
    response = client_for(world.stranger).post(_url(referral), {"reason": "Saisie inversée"})
    assert response.status_code == 404
