import pytest

from parcours.services.person import person_create


@pytest.mark.django_db
def test_person_create_opens_a_pathway_owned_by_the_actor(counsellor, client_for):
    import datetime as dt

    person = person_create(
        actor=counsellor, first_name="Léa", last_name="Martin", birth_date=dt.date(2001, 3, 4)
    )
    pathway = person.pathways.get()
    assert pathway.owner_organisation == counsellor.organisation
    response = client_for(counsellor).get("/api/v1/pathways/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [pathway.pk]
