"""`make run`'s local ProConnect: the demo accounts written from the demo data
(`manage.py proconnect_demo_accounts`) serve the same provider (tools/oidc-provider); a demo
counsellor signs in, the agent of an unknown establishment and France Travail's newcomer are
refused with their French pages."""

import json

import pytest
from django.core.management import call_command
from django.test import Client

from parcours.models import Organisation
from tests.oidc_provider import Agent, LocalOidcProvider, ProviderBrowser

from .test_proconnect import sign_in, text

pytestmark = pytest.mark.django_db


def test_the_demo_accounts_sign_in_as_make_run_offers(tmp_path, settings):
    call_command("seed_demo")
    output = tmp_path / "accounts.json"
    call_command("proconnect_demo_accounts", output=str(output))
    accounts = {a["login"]: a for a in json.loads(output.read_text())}
    assert {"ft.conseiller", "cd.social", "agent.inconnu", "ft.nouveau"} <= set(accounts)
    france_travail = Organisation.objects.get(name="France Travail Lens")
    assert accounts["ft.conseiller"]["claims"]["siret"] == france_travail.siret
    assert not Organisation.objects.filter(siret=accounts["agent.inconnu"]["claims"]["siret"])

    agents = {
        login: Agent(login=login, password=a["password"], sub=a["sub"], **a["claims"])
        for login, a in accounts.items()
        if login in ("ft.conseiller", "agent.inconnu", "ft.nouveau")
    }
    server = LocalOidcProvider(base_url="http://testserver", agents=list(agents.values())).start()
    try:
        for name, value in server.settings().items():
            setattr(settings, name, value)
        client = Client()
        response, _back, _browser = sign_in(client, server, agents["ft.conseiller"])
        assert (response.status_code, response.url) == (302, "/")
        assert "À traiter" in text(client.get("/"))
        for login, says in (
            ("agent.inconnu", "Votre structure n'utilise pas encore parcours"),
            ("ft.nouveau", "Votre compte attend son activation"),
        ):
            response, _back, _browser = sign_in(
                Client(), server, agents[login], ProviderBrowser(server)
            )
            assert response.status_code == 403 and says in text(response), login
    finally:
        server.stop()
