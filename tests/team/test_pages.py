"""The receiving team on the pages: « Conseiller en charge » and « Confier à » on the referral
page, the inbox's « Mes orientations » / « Toute l'équipe » / « Non attribuées » (kept when
paginating, the assignee on each row, constant queries), and the home's caseload."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parcours.models import AccessEvent, Referral
from parcours.services.referral_assignment import referral_assign
from tests.factories import PathwayFactory, ReferralFactory

pytestmark = pytest.mark.django_db


def client_of(actor) -> Client:
    client = Client()
    client.force_login(actor.user)
    return client


def _page(actor, referral) -> str:
    response = client_of(actor).get(reverse("web:referral-detail", args=[referral.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _options(html: str) -> list[str]:
    form = html[html.index('action="/orientations/') : html.index("Confier</button>")]
    return re.findall(r"<option value=\"\d+\" ?>([^<]+)</option>", form)


def test_the_receiver_sees_who_is_in_charge_and_whom_to_hand_it_to(team):
    html = _page(team.ml_manager, team.referral)
    assert "Conseiller en charge :</strong> personne pour l'instant" in html
    assert "Confier l'orientation" in html
    # Active case workers of the Mission locale only: no manager, nobody who left, no
    # deactivated account, nobody of France Travail.
    assert _options(html) == ["Karim Benali", "Inès Moreau", "Zoé Petit"]


def test_the_sender_reads_the_name_but_has_no_form(team):
    referral_assign(
        actor=team.ml_manager, referral_id=team.referral.pk, user_id=team.ml_counsellor.user.pk
    )
    html = _page(team.ft_counsellor, team.referral)
    assert "Conseiller en charge :</strong> Inès Moreau" in html
    assert "Confier" not in html


def test_a_finished_referral_has_no_form(team):
    closed = team.received(closed=True)
    html = _page(team.ml_manager, closed)
    assert "Conseiller en charge :</strong> personne pour l'instant" in html
    assert "Confier" not in html


def test_handing_it_to_a_colleague_from_the_page(team):
    url = reverse("web:referral-assign", args=[team.referral.pk])
    client = client_of(team.ml_manager)
    response = client.post(url, {"user": team.ml_colleague.user.pk})
    assert response.status_code == 302
    assert response.url == reverse("web:referral-detail", args=[team.referral.pk])
    page = client.get(response.url).content.decode()
    assert f"Orientation {team.referral.reference} confiée à Karim Benali." in page
    assert "Conseiller en charge :</strong> Karim Benali" in page
    assert "Confier à un autre conseiller" in page
    assert Referral.objects.get(pk=team.referral.pk).assigned_user == team.ml_colleague.user


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ("", "Choisissez le conseiller à qui confier l&#x27;orientation."),
        (
            "manager",
            "Choisissez un conseiller ou un travailleur social actif de votre organisation.",
        ),
        ("left", "Choisissez un conseiller ou un travailleur social actif de votre organisation."),
        ("abc", "Choisissez un conseiller ou un travailleur social actif de votre organisation."),
    ],
)
def test_a_wrong_choice_is_a_french_error_on_the_form(team, user, message):
    ids = {"manager": team.ml_manager.user.pk, "left": team.left.user_id}
    url = reverse("web:referral-assign", args=[team.referral.pk])
    response = client_of(team.ml_counsellor).post(url, {"user": ids.get(user, user)})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'class="fr-error-text"' in html
    assert Referral.objects.get(pk=team.referral.pk).assigned_user_id is None


def test_the_sender_posting_gets_the_403_page(team):
    url = reverse("web:referral-assign", args=[team.referral.pk])
    response = client_of(team.ft_counsellor).post(url, {"user": team.ft_counsellor.user.pk})
    assert response.status_code == 403
    assert (
        "Seul l&#x27;organisme destinataire confie cette orientation" in response.content.decode()
    )
    assert Referral.objects.get(pk=team.referral.pk).assigned_user_id is None


def test_a_get_is_not_allowed(team):
    url = reverse("web:referral-assign", args=[team.referral.pk])
    assert client_of(team.ml_manager).get(url).status_code == 405


# --- the inbox -----------------------------------------------------------------------------------


def _inbox(actor, **query) -> str:
    response = client_of(actor).get(reverse("web:inbox"), query)
    assert response.status_code == 200
    return response.content.decode()


def _references(html: str) -> set[str]:
    return set(re.findall(r">(OR-\d{7})</a>", html))


def test_the_inbox_filters_mine_the_teams_and_the_unassigned(team):
    mine = team.received(sent=True)
    colleagues = team.received(accepted=True)
    referral_assign(actor=team.ml_manager, referral_id=mine.pk, user_id=team.ml_counsellor.user.pk)
    referral_assign(
        actor=team.ml_manager, referral_id=colleagues.pk, user_id=team.ml_colleague.user.pk
    )
    everyone = {mine.reference, colleagues.reference, team.referral.reference}
    assert _references(_inbox(team.ml_counsellor)) == everyone  # the whole team by default
    assert _references(_inbox(team.ml_counsellor, attribution="equipe")) == everyone
    html = _inbox(team.ml_counsellor, attribution="mes-orientations")
    assert _references(html) == {mine.reference}
    assert '<option value="mes-orientations" selected>Mes orientations</option>' in html
    assert "<td>Inès Moreau</td>" in html
    html = _inbox(team.ml_counsellor, attribution="non-attribuees")
    assert _references(html) == {team.referral.reference}
    assert "<em>non attribuée</em>" in html
    # The same filter for the colleague is the colleague's own.
    assert _references(_inbox(team.ml_colleague, attribution="mes-orientations")) == {
        colleagues.reference
    }
    # Typed junk: the whole team, never an error.
    assert _references(_inbox(team.ml_counsellor, attribution="\x00")) == everyone


def test_the_filter_is_kept_when_paginating_and_journaled_as_listed(team):
    for _ in range(26):  # one more than a page
        referral = ReferralFactory(
            pathway=PathwayFactory(owner_organisation=team.ft),
            receiver_organisation=team.ml,
            sent=True,
            assigned_user=team.ml_counsellor.user,
        )
    before = AccessEvent.objects.count()
    html = _inbox(team.ml_counsellor, attribution="mes-orientations")
    assert "26 orientation(s)" in html
    assert "attribution=mes-orientations&amp;page=2" in html
    (row,) = AccessEvent.objects.order_by("id")[before:]
    assert (row.operation, row.object_type, len(row.object_ids)) == ("list", "referral", 25)
    second = _inbox(team.ml_counsellor, attribution="mes-orientations", page=2)
    assert _references(second) == {referral.reference}


def _inbox_queries(actor, **query) -> int:
    client = client_of(actor)
    client.get(reverse("web:inbox"), query)  # warm the session
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("web:inbox"), query)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("attribution", ["equipe", "mes-orientations", "non-attribuees"])
def test_the_inbox_costs_the_same_whatever_its_length(team, attribution):
    def add(n: int) -> None:
        for i in range(n):
            ReferralFactory(
                pathway=PathwayFactory(owner_organisation=team.ft),
                receiver_organisation=team.ml,
                sent=True,
                assigned_user=team.ml_counsellor.user if i % 2 else None,
            )

    add(2)
    at_2 = _inbox_queries(team.ml_counsellor, attribution=attribution)
    add(10)
    assert _inbox_queries(team.ml_counsellor, attribution=attribution) == at_2


# --- the home's caseload ------------------------------------------------------------------------


def test_the_home_caseload_holds_the_referrals_in_my_charge(team):
    home = client_of(team.ml_counsellor).get(reverse("web:home")).content.decode()
    assert "Mes personnes suivies (0)" in home
    referral_assign(
        actor=team.ml_manager, referral_id=team.referral.pk, user_id=team.ml_counsellor.user.pk
    )
    home = client_of(team.ml_counsellor).get(reverse("web:home")).content.decode()
    assert "Mes personnes suivies (1)" in home
    assert f'href="/personnes/{team.pathway.person_id}/">Léa Martin</a>' in home
    # Not the colleague's.
    other = client_of(team.ml_colleague).get(reverse("web:home")).content.decode()
    assert "Mes personnes suivies (0)" in other


def _home_queries(actor) -> int:
    client = client_of(actor)
    client.get(reverse("web:home"))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("web:home"))
    assert response.status_code == 200
    return len(queries)


def test_the_home_costs_the_same_whatever_the_caseload(team):
    def add(n: int) -> None:
        for _ in range(n):
            ReferralFactory(
                pathway=PathwayFactory(owner_organisation=team.ft),
                receiver_organisation=team.ml,
                accepted=True,
                assigned_user=team.ml_counsellor.user,
            )

    add(1)
    at_1 = _home_queries(team.ml_counsellor)
    add(5)
    home = client_of(team.ml_counsellor).get(reverse("web:home")).content.decode()
    assert "Mes personnes suivies (6)" in home
    assert _home_queries(team.ml_counsellor) == at_1


def test_the_persons_timeline_says_who_took_the_referral_on(team):
    referral_assign(
        actor=team.ml_manager, referral_id=team.referral.pk, user_id=team.ml_counsellor.user.pk
    )
    response = client_of(team.ft_counsellor).get(
        reverse("web:person-detail", args=[team.pathway.person_id])
    )
    html = response.content.decode()
    assert (
        f"Orientation confiée à un conseiller {team.referral.reference} (envoyée) : "
        "Mission locale de Lens, Conseiller en charge : Inès Moreau"
    ) in html


def test_a_wrong_choice_on_a_finished_referral_still_shows_its_error(team):
    closed = team.received(closed=True)
    url = reverse("web:referral-assign", args=[closed.pk])
    response = client_of(team.ml_manager).post(url, {"user": ""})
    assert response.status_code == 400
    assert "Choisissez le conseiller à qui confier l&#x27;orientation." in response.content.decode()
    # A valid choice: the state is the reason, said above the page.
    client = client_of(team.ml_manager)
    response = client.post(url, {"user": team.ml_counsellor.user.pk})
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "elle ne se confie plus à un conseiller" in page
    assert Referral.objects.get(pk=closed.pk).assigned_user_id is None
