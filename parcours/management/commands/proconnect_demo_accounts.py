"""Write the local OpenID provider's demo accounts (tools/oidc-provider, started by `make run`):
one per demo user, with the claims ProConnect would release for them (their organisation's
SIRET, e-mail, names, an identity provider's uid), plus two agents parcours refuses — one of an
establishment it does not know, one of France Travail Lens it has no account for (awaiting
activation). Local use only: the passwords are the demo's."""

import hashlib
import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from parcours.models import Membership

from .seed_demo import DEMO_PASSWORD, USERS, siret

# An establishment no demo organisation carries (seed_demo numbers its own from 1_000_001).
UNKNOWN_SIRET = siret(1_099_999)


def _sub(login: str) -> str:
    """A stable subject per demo login (the same across runs, as ProConnect's is)."""
    return hashlib.sha256(f"parcours-demo:{login}".encode()).hexdigest()


def _account(login: str, *, email: str, given: str, usual: str, siret_: str) -> dict:
    return {
        "login": login,
        "password": DEMO_PASSWORD,
        "sub": _sub(login),
        "claims": {
            "email": email,
            "given_name": given,
            "usual_name": usual,
            "siret": siret_,
            "uid": _sub(login)[:12],
            "idp_id": "fia-demo-locale",
        },
    }


class Command(BaseCommand):
    help = "Écrit les comptes de démonstration du fournisseur ProConnect local (JSON)."

    def add_arguments(self, parser):
        parser.add_argument("--output", required=True, help="fichier JSON à écrire")

    def handle(self, *args, output: str, **options):
        User = get_user_model()
        accounts = []
        for username, first, last, _org_key, _role in USERS:
            user = User.objects.filter(username=username).first()
            membership = (
                Membership.objects.filter(user=user).select_related("organisation").first()
                if user
                else None
            )
            if user is None or membership is None:
                raise CommandError(
                    f"Compte de démonstration {username} introuvable : lancez seed_demo d'abord."
                )
            accounts.append(
                _account(
                    username,
                    email=user.email,
                    given=first,
                    usual=last,
                    siret_=membership.organisation.siret,
                )
            )
        france_travail = Membership.objects.get(user__username="ft.conseiller").organisation
        accounts += [
            _account(
                "agent.inconnu",
                email="agent.inconnu@structure-inconnue.fr",
                given="Agnès",
                usual="Inconnue",
                siret_=UNKNOWN_SIRET,
            ),
            _account(
                "ft.nouveau",
                email="ft.nouveau@parcours-demo.fr",
                given="Nicolas",
                usual="Nouveau",
                siret_=france_travail.siret,
            ),
        ]
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(accounts, ensure_ascii=False, indent=2))
        self.stdout.write(f"{len(accounts)} comptes écrits dans {path}")
