"""The care team (équipe de suivi) on the person page (issue 13): listed to whom sees the
pathway, « Ajouter une organisation » and « Retirer » only where the gate's table allows them;
removing asks a reason and ends the member's access in the same request."""

import pytest
from django.urls import reverse

from parcours.models import CareTeamMember
from tests.factories import MembershipFactory

from .test_page_matrix import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return World()


def _page(client, user, world) -> str:
    client.force_login(user)
    return client.get(reverse("web:person-detail", args=[world.person.pk])).content.decode()


def test_the_owner_sees_the_team_and_its_buttons(client, world):
    member = world.care_team_member()
    page = _page(client, world.me, world)
    section = page.split('id="equipe-de-suivi"')[1].split("<h2")[0]
    assert "Mission locale Arras" in section
    assert reverse("web:care-team-end", args=[member.pk]) in section
    assert reverse("web:care-team-add", args=[world.pathway.pk]) in section


def test_a_referrals_receiver_sees_the_team_without_buttons(client, world):
    member = world.care_team_member()
    page = _page(client, world.receiver, world)
    section = page.split('id="equipe-de-suivi"')[1].split("<h2")[0]
    assert "Mission locale Arras" in section
    assert reverse("web:care-team-end", args=[member.pk]) not in page
    assert reverse("web:care-team-add", args=[world.pathway.pk]) not in page


def test_an_empty_team_says_so(client, world):
    page = _page(client, world.me, world)
    assert "Aucune organisation n'a été ajoutée à l'équipe de suivi." in page


def test_the_added_member_sees_the_record_and_loses_it_when_removed(client, world):
    """France Travail Arras (a public employment service: a legal basis for the file, once it
    follows the person), added to the team, reads Léa's record; removed, it no longer does."""
    colleague = MembershipFactory(organisation=world.target).user
    url = reverse("web:person-detail", args=[world.person.pk])
    client.force_login(colleague)
    assert client.get(url).status_code == 404
    client.force_login(world.me)
    add = reverse("web:care-team-add", args=[world.pathway.pk])
    assert client.post(add, {"organisation": world.target.pk}).status_code == 302
    member = CareTeamMember.objects.get(pathway=world.pathway, organisation=world.target)
    client.force_login(colleague)
    assert client.get(url).status_code == 200
    client.force_login(world.me)
    response = client.post(
        reverse("web:care-team-end", args=[member.pk]), {"reason": "Accompagnement terminé"}
    )
    assert response.status_code == 302
    client.force_login(colleague)
    assert client.get(url).status_code == 404


def test_the_picker_suggests_the_pathways_partners_and_searches(client, world):
    client.force_login(world.me)
    add = reverse("web:care-team-add", args=[world.pathway.pk])
    page = client.get(add).content.decode()
    assert f'name="organisation" value="{world.siae.pk}"' in page  # the referral's receiver
    assert 'hx-get="/annuaire/organismes/' not in page  # no sheet on this picker
    fragment = client.get(
        reverse("web:directory-organisations"),
        {"annuaire-q": "Arras", "champ": "organisation"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert f'name="organisation" value="{world.elsewhere.pk}"' in fragment
