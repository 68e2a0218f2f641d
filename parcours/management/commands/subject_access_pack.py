"""The subject-access pack of one person (GDPR art. 15), as a ZIP file.

    manage.py subject_access_pack --person 42 [--output dossier.zip] [--by dpo.username]

The ZIP holds a French PDF, the same data as JSON and a LISEZMOI.txt (docs/subject-access.md).
The generation is journaled (`export`). Who may ask for it is decided before: this command is
for the operators acting on a DPO's written request.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...models import Person
from ...services.subject_access import subject_access_pack_generate


class Command(BaseCommand):
    help = "Dossier d'accès d'une personne (RGPD art. 15) : ZIP avec PDF, JSON et LISEZMOI."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--person", type=int, required=True)
        parser.add_argument(
            "--output", default=None, help="fichier ZIP (par défaut : son nom, ici)"
        )
        parser.add_argument("--by", default=None, help="identifiant de l'utilisateur demandeur")

    def handle(self, *args, **options) -> None:
        if not Person.objects.filter(pk=options["person"]).exists():
            raise CommandError(f"Personne n°{options['person']} introuvable.")
        user = None
        if options["by"]:
            user = get_user_model().objects.filter(username=options["by"]).first()
            if user is None:
                raise CommandError(f"Utilisateur « {options['by']} » introuvable.")
        pack = subject_access_pack_generate(person_id=options["person"], user=user)
        path = options["output"] or pack.filename
        with open(path, "wb") as stream:
            stream.write(pack.content)
        counts = pack.counts
        self.stdout.write(
            f"Dossier d'accès écrit dans {path} ({len(pack.content)} octets) : "
            f"{counts['pathways']} parcours, {counts['referrals']} orientation(s), "
            f"{counts['consents']} accord(s), {counts['access_rows']} accès journalisé(s)."
        )
