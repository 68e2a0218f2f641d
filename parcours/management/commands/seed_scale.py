"""Fill a benchmark database with national-scale data, fast.

    manage.py seed_scale --pathways 1000000 [--referrals-per-pathway 3.0] [--organisations 2000]
                         [--seed 42] [--reset] [--drop-indexes] [--no-timeline] [--no-grants]

Reference data (territory, organisations and their groups, services, users, memberships,
agreements) is small and goes through the ORM. The volume tables (persons, pathways, modality
periods, "pathway_opened" events, referrals, appointments) are streamed with PostgreSQL COPY from
plain Python tuples, with explicit ids so that later tables can point at earlier ones without a
round trip. Every constraint and trigger stays on: a row that breaks a CHECK, a partial unique index
or a foreign key makes COPY fail, so a finished run proves the data is valid.

The access rights the rules imply are generated too (unless --no-grants): the consents that
referrals rely on (with their organisation rows) and the materialised group object permissions of
every pathway, computed in memory exactly as `parcours.services.access_grants.effective_grants`
would (owner, référent's organisation, senders of referrals and receivers of referrals that were
sent, open or ended less than PARCOURS_RELATIONSHIP_GRACE_DAYS ago × legal bases and consents),
then COPYed.
Calling `access_recompute` per pathway would take hours at a million pathways.

What is deliberately NOT generated: the simple-history tables (historical*) — bulk data has no
change history — barriers, notes, care teams, objections, agreements' shared categories,
break-glass grants. Benchmarks needing them add their own rows.

Encrypted fields (parcours/fields.py) are written as Fernet tokens under the newest key, and the
person blind indexes are computed, exactly as save() would. To stay fast, values shared by many
rows (booleans, empty strings, the diagnostic and context texts, towns, postal codes) take one of
a small pool of pre-computed tokens; unique values (NIR, France Travail id, e-mail, phone,
address) are encrypted per row. Reads cannot tell the difference.
"""

import bisect
import datetime as dt
import itertools
import math
import os
import random
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone
from stdnum import luhn
from stdnum.fr import nir as nir_module

from parcours.bases import AGE_LIMITS, birthday, legal_bases, legal_covers
from parcours.categories import (
    ALL_CATEGORIES,
    REFERRAL_MINIMUM,
    SENSITIVE_CATEGORIES,
    DataCategory,
    permission_codename,
)
from parcours.fields import newest_fernet
from parcours.models import (
    Agreement,
    AgreementLevel,
    AgreementParty,
    AgreementPartyStatus,
    EmploymentArea,
    Membership,
    Organisation,
    OrganisationKind,
    Pathway,
    Person,
    Referral,
    Role,
    Service,
    SiaeKind,
)
from parcours.models.grant import CHANGE_PERMISSION, permission_ids
from parcours.models.person import age_on, normalise_name, search_keys

# Users made by this command are recognisable, so that --reset removes them and nothing else.
USERNAME_PREFIX = "scale-"
GROUP_PREFIX = "organisation:"
DAY = 86_400.0
HOUR = 3_600.0
TOKEN_POOL = 16  # pre-computed tokens per shared value
# Settings defaults of the no-show alert delays (a referral is stamped with them when accepted
# or booked).
APPOINTMENT_SET_DAYS = 5
NO_SHOW_GRACE_HOURS = 24
COPY_BATCH = 100_000  # rows per COPY statement: bounds the per-statement FK-check queue

# ---------------------------------------------------------------------------------------------
# Territory: 30 départements, ~100 employment areas named after real towns.
# ---------------------------------------------------------------------------------------------
TERRITORY: dict[str, tuple[str, list[str]]] = {
    "02": ("Aisne", ["Saint-Quentin", "Soissons", "Laon"]),
    "06": ("Alpes-Maritimes", ["Nice", "Cannes-Grasse", "Menton"]),
    "13": ("Bouches-du-Rhône", ["Marseille", "Aix-en-Provence", "Arles", "Martigues", "Aubagne"]),
    "14": ("Calvados", ["Caen", "Lisieux", "Bayeux"]),
    "2A": ("Corse-du-Sud", ["Ajaccio", "Porto-Vecchio"]),
    "21": ("Côte-d'Or", ["Dijon", "Beaune", "Montbard"]),
    "25": ("Doubs", ["Besançon", "Montbéliard", "Pontarlier"]),
    "29": ("Finistère", ["Brest", "Quimper", "Morlaix"]),
    "31": ("Haute-Garonne", ["Toulouse", "Saint-Gaudens", "Muret", "Colomiers"]),
    "33": ("Gironde", ["Bordeaux", "Libourne", "Arcachon", "Langon"]),
    "34": ("Hérault", ["Montpellier", "Béziers", "Sète", "Lunel"]),
    "35": ("Ille-et-Vilaine", ["Rennes", "Saint-Malo", "Vitré", "Fougères"]),
    "38": ("Isère", ["Grenoble", "Vienne", "Bourgoin-Jallieu", "Voiron"]),
    "42": ("Loire", ["Saint-Étienne", "Roanne", "Montbrison"]),
    "44": ("Loire-Atlantique", ["Nantes", "Saint-Nazaire", "Ancenis", "Châteaubriant"]),
    "45": ("Loiret", ["Orléans", "Montargis", "Gien"]),
    "51": ("Marne", ["Reims", "Châlons-en-Champagne", "Épernay"]),
    "54": ("Meurthe-et-Moselle", ["Nancy", "Lunéville", "Longwy"]),
    "57": ("Moselle", ["Metz", "Thionville", "Forbach", "Sarreguemines"]),
    "59": ("Nord", ["Lille", "Roubaix-Tourcoing", "Valenciennes", "Dunkerque", "Maubeuge"]),
    "62": ("Pas-de-Calais", ["Lens-Liévin", "Arras", "Calais", "Boulogne-sur-Mer", "Béthune"]),
    "63": ("Puy-de-Dôme", ["Clermont-Ferrand", "Riom", "Thiers"]),
    "67": ("Bas-Rhin", ["Strasbourg", "Haguenau", "Sélestat", "Saverne"]),
    "69": ("Rhône", ["Lyon", "Villefranche-sur-Saône", "Vénissieux", "Givors"]),
    "75": ("Paris", ["Paris Nord-Est", "Paris Sud", "Paris Ouest", "Paris Centre"]),
    "76": ("Seine-Maritime", ["Rouen", "Le Havre", "Dieppe", "Elbeuf"]),
    "80": ("Somme", ["Amiens", "Abbeville", "Péronne"]),
    "93": ("Seine-Saint-Denis", ["Saint-Denis", "Montreuil", "Aulnay-sous-Bois", "Bobigny"]),
    "95": ("Val-d'Oise", ["Cergy-Pontoise", "Argenteuil", "Sarcelles"]),
    "974": ("La Réunion", ["Saint-Denis (Réunion)", "Saint-Pierre", "Saint-Paul", "Le Port"]),
}

# Plausible names, with accents, hyphens and apostrophes so that name_key normalisation matters.
# fmt: off
FIRST_NAMES = [
    "Adam", "Agathe", "Ahmed", "Aïcha", "Alexandre", "Alice", "Amina", "Anaïs", "Antoine",
    "Arthur", "Aurélie", "Bastien", "Camille", "Céline", "Chloé", "Clément", "Damien", "Émilie",
    "Éloïse", "Enzo", "Fatima", "Florian", "François", "Gaëlle", "Guillaume", "Hélène", "Hugo",
    "Inès", "Jérôme", "Jessica", "Julien", "Karim", "Kévin", "Laetitia", "Léa", "Léo", "Loïc",
    "Lucas", "Manon", "Marie", "Mathis", "Mélanie", "Mohamed", "Nadia", "Nathalie", "Nicolas",
    "Noémie", "Océane", "Pauline", "Rachid", "Samir", "Sandrine", "Sarah", "Sébastien", "Sophie",
    "Stéphane", "Sylvie", "Théo", "Thomas", "Valérie", "Yasmine", "Yannick", "Zoé"
]
LAST_NAMES = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet",
    "François", "Martinez", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin",
    "Muller", "Henry", "Roussel", "Nicolas", "Perrin", "Morin", "Mathieu", "Clément", "Gauthier",
    "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin", "Benali", "Diallo", "Traoré", "Nguyen",
    "Haddad", "Bénard", "N'Diaye", "D'Angelo", "Dupont-Moreau", "Saint-Jean", "Kowalski",
    "Ferreira", "Lemaître", "Hoarau", "Payet", "Grondin", "Le Goff", "Le Gall", "Da Silva"
]
# fmt: on

# Organisation mix for 2,000 organisations, scaled to --organisations.
KIND_SHARE = {
    OrganisationKind.FRANCE_TRAVAIL: 0.075,
    OrganisationKind.DEPARTEMENT: 0.03,
    OrganisationKind.MISSION_LOCALE: 0.06,
    OrganisationKind.CAP_EMPLOI: 0.015,
    OrganisationKind.SIAE: 0.45,
    OrganisationKind.PLIE: 0.02,
    OrganisationKind.CCAS: 0.175,
    OrganisationKind.ASSOCIATION: 0.175,
}
# Share of pathways owned (opened) by each kind, and of referrals received.
OWN_SHARE = {
    OrganisationKind.FRANCE_TRAVAIL: 0.55,
    OrganisationKind.DEPARTEMENT: 0.15,
    OrganisationKind.MISSION_LOCALE: 0.12,
    OrganisationKind.CAP_EMPLOI: 0.04,
    OrganisationKind.SIAE: 0.05,
    OrganisationKind.PLIE: 0.03,
    OrganisationKind.CCAS: 0.03,
    OrganisationKind.ASSOCIATION: 0.03,
}
RECEIVE_SHARE = {
    OrganisationKind.FRANCE_TRAVAIL: 0.14,
    OrganisationKind.DEPARTEMENT: 0.10,
    OrganisationKind.MISSION_LOCALE: 0.15,
    OrganisationKind.CAP_EMPLOI: 0.07,
    OrganisationKind.SIAE: 0.26,
    OrganisationKind.PLIE: 0.08,
    OrganisationKind.CCAS: 0.10,
    OrganisationKind.ASSOCIATION: 0.10,
}
# A handful of very large owners (big agencies, départements): ~5 % of all pathways each, i.e.
# ~50 k at 1 M pathways — the "large organisation" of the performance notes.
LARGE_OWNER_SHARE = 0.05
LARGE_OWNERS_PER_2000 = {OrganisationKind.FRANCE_TRAVAIL: 6, OrganisationKind.DEPARTEMENT: 2}

KIND_LABEL = {
    OrganisationKind.FRANCE_TRAVAIL: "Agence France Travail",
    OrganisationKind.DEPARTEMENT: "Conseil départemental — maison des solidarités",
    OrganisationKind.MISSION_LOCALE: "Mission locale",
    OrganisationKind.CAP_EMPLOI: "Cap emploi",
    OrganisationKind.PLIE: "PLIE",
    OrganisationKind.CCAS: "CCAS",
    OrganisationKind.ASSOCIATION: "Association",
}
SIAE_LABEL = {
    SiaeKind.ACI: "Chantier d'insertion",
    SiaeKind.EI: "Entreprise d'insertion",
    SiaeKind.AI: "Association intermédiaire",
    SiaeKind.ETTI: "ETTI",
    SiaeKind.EITI: "EITI",
}
ASSOCIATION_NAMES = [
    "Secours solidaire",
    "Accueil et insertion",
    "Le Relais",
    "SPIP",
    "Habitat et humanisme",
    "Maison de l'emploi",
    "Restos solidaires",
    "Emmaüs",
]
SERVICES = {
    OrganisationKind.FRANCE_TRAVAIL: [
        ("Diagnostic et orientation", 10),
        ("Accompagnement intensif des jeunes", 15),
        ("Accompagnement global", 15),
        ("Aide à la mobilité", 15),
        ("Prestation d'évaluation de compétences", 20),
    ],
    OrganisationKind.DEPARTEMENT: [
        ("Accompagnement socio-professionnel rSa", 15),
        ("Accompagnement social global", 15),
        ("Aide au logement (FSL)", 20),
    ],
    OrganisationKind.MISSION_LOCALE: [
        ("Contrat d'engagement jeune", 8),
        ("PACEA", 8),
        ("Logement des jeunes", 10),
    ],
    OrganisationKind.CAP_EMPLOI: [
        ("Accompagnement vers l'emploi (RQTH)", 15),
        ("Maintien dans l'emploi", 20),
    ],
    OrganisationKind.SIAE: [
        ("Parcours d'insertion (CDDI)", 15),
        ("Mise en situation professionnelle", 10),
        ("Mise à disposition", 10),
    ],
    OrganisationKind.PLIE: [("Parcours PLIE renforcé", 15), ("Clauses sociales", 15)],
    OrganisationKind.CCAS: [
        ("Accès aux droits", 10),
        ("Domiciliation", 5),
        ("Aide alimentaire", 5),
    ],
    OrganisationKind.ASSOCIATION: [
        ("Diagnostic social", 10),
        ("Accompagnement logement", 20),
        ("Cours de français (FLE)", 20),
        ("Atelier numérique", 10),
        ("Suivi justice", 15),
    ],
}
CASEWORK_ROLE = {
    OrganisationKind.DEPARTEMENT: Role.SOCIAL_WORKER,
    OrganisationKind.CCAS: Role.SOCIAL_WORKER,
    OrganisationKind.ASSOCIATION: Role.SOCIAL_WORKER,
}
REASONS = [
    "Besoin d'un accompagnement renforcé vers l'emploi.",
    "Levée des freins liés au logement avant reprise d'activité.",
    "Jeune de moins de 26 ans sans qualification : entrée en CEJ proposée.",
    "Personne reconnue travailleur handicapé : accompagnement spécialisé.",
    "Proposition d'un contrat à durée déterminée d'insertion.",
    "Bénéficiaire du rSa : accompagnement socio-professionnel.",
    "Difficultés de mobilité : permis et aide au transport.",
    "Accès aux droits à rétablir (CAF, CPAM).",
    "Besoin de cours de français avant formation.",
    "Retour vers le conseiller d'origine après la fin de l'accompagnement.",
]
CONTEXT_NOTES = [
    "",
    "",
    "Personne motivée, disponible immédiatement.",
    "Garde d'enfants à organiser le matin.",
    "Pas de véhicule, dépend des transports en commun.",
    "Dettes en cours, dossier de surendettement déposé.",
]
DIAGNOSTICS = [
    "",
    "Projet professionnel défini, freins périphériques identifiés.",
    "Expérience dans le BTP, souhaite se reconvertir.",
    "Isolement social, besoin d'un accompagnement global.",
    "Sortie de formation qualifiante, recherche active.",
]
TRANSFER_REASON = "Un partenaire plus proche du domicile de la personne."
OUTCOME_COMMENTS = ["", "Embauche en CDD de 6 mois.", "Entrée en formation qualifiante.", ""]
REFUSAL_COMMENTS = {"other": "Personne déjà en emploi à temps partiel."}
STREET_NAMES = ["rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "place du Marché"]

# What every sent referral shares, and what the consent behind it covers (parcours/categories.py).
SHARED_ON_REFERRAL = sorted(REFERRAL_MINIMUM)
SHARED_JSON = "[" + ", ".join(f'"{c}"' for c in SHARED_ON_REFERRAL) + "]"
# Person conditions of legal bases (parcours/bases.py) that the generator knows, as bit flags.
CONDITION_BITS = {"": 0, "receives_rsa": 1, "under_26": 2, "rqth": 4}
EVIDENCE_KINDS = ["oral", "oral", "signed_form", "electronic"]


class Columns:
    """Rows of numbers kept as one typed array per column (a few bytes per value instead of a
    tuple of Python objects): what the generator remembers between passes stays small at any
    --pathways. Appends and yields tuples, like the list of tuples it replaces."""

    def __init__(self, *typecodes: str) -> None:
        self.columns = [array(code) for code in typecodes]

    def append(self, row: Sequence) -> None:
        for column, value in zip(self.columns, row, strict=True):
            column.append(value)

    def __len__(self) -> int:
        return len(self.columns[0])

    def __getitem__(self, k: int) -> tuple:
        return tuple(column[k] for column in self.columns)

    def __iter__(self) -> Iterator[tuple]:
        return zip(*self.columns, strict=True)


@dataclass
class Org:
    id: int
    group_id: int
    kind: OrganisationKind
    departement: str
    town: str
    own_weight: float
    receive_weight: float
    users: list[int] = field(default_factory=list)  # every member
    caseworkers: list[int] = field(default_factory=list)  # counsellors and social workers
    services: list[int] = field(default_factory=list)
    first_appointment_days: int = 15


def siret_for(n: int) -> str:
    """A valid SIRET: Luhn-valid SIREN (9 digits) + establishment number, Luhn on all 14."""
    siren_body = f"{80_000_000 + n:08d}"
    siren = siren_body + luhn.calc_check_digit(siren_body)
    body = f"{siren}{n % 9000 + 10:04d}"
    return body + luhn.calc_check_digit(body)


def weighted(rng: random.Random, items: Sequence, cum: Sequence[float]):
    return items[bisect.bisect(cum, rng.random() * cum[-1])]


def poisson_table(mean: float, limit: int) -> list[float]:
    """Cumulative weights of a Poisson(mean) truncated to 0..limit (referrals per pathway)."""
    weights = [math.exp(-mean) * mean**k / math.factorial(k) for k in range(limit + 1)]
    return list(itertools.accumulate(weights))


class Progress:
    def __init__(self, write: Callable[[str], None], table: str, total: int) -> None:
        self.write, self.table, self.total = write, table, total
        self.started = time.perf_counter()
        self.rows = 0

    def tick(self, rows: int) -> None:
        self.rows += rows
        elapsed = time.perf_counter() - self.started
        self.write(
            f"  {self.table}: {self.rows:,} / ~{self.total:,} rows, "
            f"{self.rows / max(elapsed, 1e-9):,.0f} rows/s"
        )

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


class Command(BaseCommand):
    help = "Generate national-scale benchmark data with COPY (bench databases only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pathways", type=int, required=True)
        parser.add_argument("--referrals-per-pathway", type=float, default=3.0)
        parser.add_argument("--organisations", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Truncate the parcours tables and remove this command's users and groups first.",
        )
        parser.add_argument(
            "--drop-indexes",
            action="store_true",
            help="Drop the plain (non-unique) indexes before each COPY and rebuild them after. "
            "Same speed on this machine at 1 M pathways (see bench/README.md) but more compact "
            "indexes; may help on slow disks.",
        )
        parser.add_argument(
            "--bulk-fk-checks",
            action="store_true",
            help="Check each loaded table's foreign keys once, after its rows, instead of row by "
            "row: they are dropped and added back (validated) in the table's transaction, so a "
            "finished run still proves every row valid.",
        )
        parser.add_argument(
            "--no-timeline",
            action="store_true",
            help="Skip the modality period and 'pathway_opened' event written for each pathway.",
        )
        parser.add_argument(
            "--no-grants",
            action="store_true",
            help="Skip the consents and the materialised object permissions the access rules imply "
            "(every scoped read then sees nothing).",
        )

    # -----------------------------------------------------------------------------------------
    def handle(self, *args, **opts) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("seed_scale needs PostgreSQL (it loads with COPY).")
        n_pathways: int = opts["pathways"]
        n_orgs: int = opts["organisations"]
        if n_pathways < 1 or n_orgs < 20:
            raise CommandError("--pathways >= 1 and --organisations >= 20.")
        self.rng = random.Random(opts["seed"])
        # Token pools draw from their own generator: the data stays what the seed says.
        self.pool_rng = random.Random(opts["seed"])
        self.fernet = newest_fernet()
        self.token_pools: dict[str, list[str]] = {}
        self.drop_indexes = opts["drop_indexes"]
        self.bulk_fk_checks = opts["bulk_fk_checks"]
        # (step, rows, wall seconds, CPU seconds of this process): the CPU is the Python side of
        # the step (building rows, COPY framing); the rest of the wall time is PostgreSQL's.
        self.timings: list[tuple[str, int, float, float]] = []
        self.now = dt.datetime.now(tz=dt.UTC).replace(microsecond=0)
        self.now_ts = self.now.timestamp()
        self.with_grants = not opts["no_grants"]
        started = time.perf_counter()

        with connection.cursor() as cursor:
            # Session settings only (reset below): faster commits and index builds.
            cursor.execute("SET synchronous_commit TO off")
            cursor.execute("SET maintenance_work_mem TO '512MB'")
        try:
            if opts["reset"]:
                self._reset()
            else:
                self._refuse_if_not_empty()

            t0, c0 = time.perf_counter(), time.process_time()
            with transaction.atomic():
                self._reference_data(n_orgs, n_pathways)
            self.timings.append(
                (
                    "reference data (ORM)",
                    self.reference_rows,
                    time.perf_counter() - t0,
                    time.process_time() - c0,
                )
            )
            # Each table commits on its own: after a failure, re-run with --reset.
            self._load_pathways(n_pathways, with_timeline=not opts["no_timeline"])
            self._load_referrals(opts["referrals_per_pathway"])
            if self.with_grants:
                self._load_grants()
            self._finish()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
                cursor.execute("RESET maintenance_work_mem")

        total = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS("\nseed_scale summary"))
        for name, rows, seconds, cpu in self.timings:
            rate = f"{rows / seconds:>10,.0f} rows/s" if rows and seconds else f"{'':>17}"
            self.stdout.write(
                f"  {name:<38} {rows:>12,} rows {seconds:>8.1f} s {rate} (Python CPU {cpu:.1f} s)"
            )
        self.stdout.write(
            f"  {'total wall time':<38} {'':>17} {total:>8.1f} s; "
            f"load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            self.stdout.write(f"  database size: {cursor.fetchone()[0]}")

    # -----------------------------------------------------------------------------------------
    def _domain_tables(self) -> list[str]:
        config = apps.get_app_config("parcours")
        tables = {m._meta.db_table for m in config.get_models(include_auto_created=True)}
        return sorted(tables)

    def _refuse_if_not_empty(self) -> None:
        User = get_user_model()
        busy = [
            model._meta.label
            for model in (Organisation, Person, Pathway, Referral, EmploymentArea)
            if model.objects.exists()
        ]
        if User.objects.filter(username__startswith=USERNAME_PREFIX).exists():
            busy.append("scale users")
        if busy:
            raise CommandError(
                f"The database already holds data ({', '.join(busy)}). "
                "seed_scale fills empty bench databases only; pass --reset to wipe it first."
            )

    def _reset(self) -> None:
        t0 = time.perf_counter()
        tables = ", ".join(connection.ops.quote_name(t) for t in self._domain_tables())
        with transaction.atomic():
            with connection.cursor() as cursor:
                # CASCADE also empties rows elsewhere that point at domain rows (e.g. audit).
                cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            # The ORM removes group/user links (memberships of groups, object permissions...).
            Group.objects.filter(name__startswith=GROUP_PREFIX).delete()
            get_user_model().objects.filter(username__startswith=USERNAME_PREFIX).delete()
        self.stdout.write(f"Reset done in {time.perf_counter() - t0:.1f} s")

    # -----------------------------------------------------------------------------------------
    def _reference_data(self, n_orgs: int, n_pathways: int) -> None:
        rng = self.rng
        rows = 0
        areas: dict[str, list[EmploymentArea]] = {}
        area_objs = []
        for dep, (_, towns) in TERRITORY.items():
            for i, town in enumerate(towns, start=1):
                area_objs.append(
                    EmploymentArea(code=f"{dep}{i:02d}", name=f"Bassin de {town}", departement=dep)
                )
        EmploymentArea.objects.bulk_create(area_objs)
        for area in area_objs:
            areas.setdefault(area.departement, []).append(area)
        rows += len(area_objs)

        # Decide each organisation's kind, place and weight before touching the database.
        kinds: list[OrganisationKind] = []
        for kind, share in KIND_SHARE.items():
            kinds += [kind] * max(1, round(share * n_orgs))
        kinds = kinds[:n_orgs]
        rng.shuffle(kinds)
        deps = list(TERRITORY)
        specs: list[tuple[int, OrganisationKind, str, EmploymentArea]] = []
        large_left = {k: max(1, round(v * n_orgs / 2000)) for k, v in LARGE_OWNERS_PER_2000.items()}
        for n, kind in enumerate(kinds):
            dep = deps[n % len(deps)] if n < len(deps) * 2 else rng.choice(deps)
            area = rng.choice(areas[dep])
            specs.append((n, kind, dep, area))
        orgs_by_kind: dict[OrganisationKind, list[int]] = {}
        for n, kind, _, _ in specs:
            orgs_by_kind.setdefault(kind, []).append(n)
        own_weight = [0.0] * len(specs)
        receive_weight = [0.0] * len(specs)
        large = set()
        for kind, members in orgs_by_kind.items():
            for n in members[: large_left.get(kind, 0)]:
                large.add(n)
        small_share = 1.0 - LARGE_OWNER_SHARE * len(large)
        for kind, members in orgs_by_kind.items():
            # Log-normal sizes: many small structures, a few big ones, within each kind.
            sizes = {n: rng.lognormvariate(0.0, 1.0) for n in members}
            normal = [n for n in members if n not in large]
            total = sum(sizes[n] for n in normal) or 1.0
            for n in members:
                if n in large:
                    own_weight[n] = LARGE_OWNER_SHARE
                else:
                    own_weight[n] = OWN_SHARE[kind] * small_share * sizes[n] / total
                receive_weight[n] = RECEIVE_SHARE[kind] * sizes[n] / sum(sizes.values())

        groups = []
        organisations = []
        siae_kinds = list(SiaeKind.values)
        counters: dict[tuple[str, str], int] = {}
        for n, kind, dep, area in specs:
            siret = siret_for(n)
            groups.append(Group(name=f"{GROUP_PREFIX}{siret}"))
            town = area.name.removeprefix("Bassin de ")
            siae_kind = rng.choice(siae_kinds) if kind == OrganisationKind.SIAE else ""
            if kind == OrganisationKind.SIAE:
                label = SIAE_LABEL[SiaeKind(siae_kind)]
            elif kind == OrganisationKind.ASSOCIATION:
                label = rng.choice(ASSOCIATION_NAMES)
            else:
                label = KIND_LABEL[kind]
            key = (label, town)
            counters[key] = counters.get(key, 0) + 1
            suffix = f" {counters[key]}" if counters[key] > 1 else ""
            organisations.append(
                Organisation(
                    kind=kind,
                    siae_kind=siae_kind,
                    name=f"{label} {town}{suffix}",
                    siret=siret,
                    departement=dep,
                    employment_area=area,
                    address=f"{rng.randint(1, 120)} {rng.choice(STREET_NAMES)}, {town}",
                    contact_email=f"contact-{siret}@partenaires.example",
                    first_appointment_within_days=8
                    if kind == OrganisationKind.MISSION_LOCALE
                    else None,
                )
            )
        Group.objects.bulk_create(groups)
        for organisation, group in zip(organisations, groups, strict=True):
            organisation.group = group
        Organisation.objects.bulk_create(organisations)
        rows += 2 * len(organisations)

        self.orgs: list[Org] = []
        for (n, kind, dep, area), organisation in zip(specs, organisations, strict=True):
            self.orgs.append(
                Org(
                    id=organisation.pk,
                    group_id=organisation.group_id,
                    kind=kind,
                    departement=dep,
                    town=area.name,
                    own_weight=own_weight[n],
                    receive_weight=receive_weight[n],
                    first_appointment_days=organisation.first_appointment_within_days or 15,
                )
            )

        services = []
        service_owner = []
        for org in self.orgs:
            offer = SERVICES[org.kind]
            for name, delay in rng.sample(offer, rng.randint(2, min(4, len(offer)))):
                services.append(Service(organisation_id=org.id, name=name, usual_delay_days=delay))
                service_owner.append(org)
        Service.objects.bulk_create(services)
        for service, org in zip(services, service_owner, strict=True):
            org.services.append(service.pk)
        rows += len(services)

        # Users: a few per organisation, more where the caseload is big (~1 per 700 pathways).
        User = get_user_model()
        password = make_password(None)  # unusable: bench users never log in with a password
        users, memberships_spec = [], []
        serial = itertools.count(1)
        for org in self.orgs:
            expected = org.own_weight * n_pathways
            count = min(80, max(2, round(expected / 700))) + rng.randint(0, 2)
            casework = CASEWORK_ROLE.get(org.kind, Role.COUNSELLOR)
            for i in range(count):
                role = Role.MANAGER if i == 0 else (Role.DPO if i == 1 and count >= 5 else casework)
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                number = next(serial)
                users.append(
                    User(
                        username=f"{USERNAME_PREFIX}{number:06d}",
                        first_name=first,
                        last_name=last,
                        email=f"{USERNAME_PREFIX}{number:06d}@bench.parcours.example",
                        password=password,
                    )
                )
                memberships_spec.append((org, role))
        User.objects.bulk_create(users, batch_size=2000)
        memberships = []
        for user, (org, role) in zip(users, memberships_spec, strict=True):
            memberships.append(Membership(user_id=user.pk, organisation_id=org.id, role=role))
            if role != Role.DPO:
                org.users.append(user.pk)
            if role in (Role.COUNSELLOR, Role.SOCIAL_WORKER):
                org.caseworkers.append(user.pk)
        for org in self.orgs:
            if not org.caseworkers:  # two-member organisations: the manager does the casework
                org.caseworkers = list(org.users)
        Membership.objects.bulk_create(memberships, batch_size=2000)
        rows += 2 * len(users)

        # Agreements: one departmental agreement per département between the public partners.
        by_dep: dict[str, list[Org]] = {}
        for org in self.orgs:
            by_dep.setdefault(org.departement, []).append(org)
        public = {
            OrganisationKind.FRANCE_TRAVAIL,
            OrganisationKind.DEPARTEMENT,
            OrganisationKind.MISSION_LOCALE,
            OrganisationKind.CAP_EMPLOI,
        }
        start = (self.now - dt.timedelta(days=900)).date()
        signatures = []
        for dep, dep_orgs in by_dep.items():
            agreement = Agreement.objects.create(
                name=f"Convention départementale pour l'emploi — {TERRITORY[dep][0]}",
                level=AgreementLevel.DEPARTEMENTAL,
                starts_on=start,
                review_on=start + dt.timedelta(days=1095),
            )
            # In force: every party accepted it (one bulk insert, no history, like the volume).
            signatures += [
                AgreementParty(
                    agreement_id=agreement.pk,
                    organisation_id=o.id,
                    status=AgreementPartyStatus.ACCEPTED,
                    decided_at=self.now,
                )
                for o in dep_orgs
                if o.kind in public
            ]
            rows += 1
        AgreementParty.objects.bulk_create(signatures, batch_size=2000)
        rows += len(signatures)
        self.reference_rows = rows
        self.stdout.write(
            f"Reference data: {len(area_objs)} employment areas, {len(self.orgs)} organisations "
            f"(+ groups), {len(services)} services, {len(users)} users"
        )

    # -----------------------------------------------------------------------------------------
    def _copy(self, table: str, columns: Sequence[str], rows: Iterator[tuple], total: int) -> int:
        """COPY `rows` into `table` in one transaction, COPY_BATCH rows per statement.

        With --drop-indexes, plain (non-unique, non-constraint) indexes are dropped first and
        rebuilt after the load inside the same transaction, so a failure rolls the DROP back.
        Unique indexes always stay, so duplicates still fail. FK checks are made IMMEDIATE so each
        statement checks its own rows and the queue of pending checks never holds millions of
        events."""
        progress = Progress(self.stdout.write, table, total)
        cpu0 = time.process_time()
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        count = 0
        with transaction.atomic(), connection.cursor() as django_cursor:
            pg = django_cursor.connection
            cursor = pg.cursor()
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            index_defs = self._drop_plain_indexes(cursor, table) if self.drop_indexes else []
            foreign_keys = self._drop_foreign_keys(cursor, table) if self.bulk_fk_checks else []
            exhausted = False
            while not exhausted:
                written = 0
                with cursor.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
                        written += 1
                        if written == COPY_BATCH:
                            break
                    else:
                        exhausted = True
                count += written
                if written:
                    progress.tick(written)
            load_seconds = progress.elapsed
            t0 = time.perf_counter()
            for index_def in index_defs:
                cursor.execute(index_def)
            if index_defs:
                self.stdout.write(
                    f"  {table}: rebuilt {len(index_defs)} indexes in "
                    f"{time.perf_counter() - t0:.1f} s"
                )
            self._add_foreign_keys(cursor, table, foreign_keys)
        self.timings.append((table, count, progress.elapsed, time.process_time() - cpu0))
        self.stdout.write(
            f"  {table}: {count:,} rows in {progress.elapsed:.1f} s "
            f"(COPY {load_seconds:.1f} s, {count / max(load_seconds, 1e-9):,.0f} rows/s)"
        )
        return count

    @staticmethod
    def _drop_foreign_keys(cursor, table: str) -> list[tuple[str, str]]:
        """--bulk-fk-checks: the table's foreign keys (name, definition), dropped. Inside the
        table's transaction, which holds the table's lock: nobody sees it without them."""
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [table],
        )
        found = cursor.fetchall()
        for name, _ in found:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        return found

    def _add_foreign_keys(self, cursor, table: str, foreign_keys: list[tuple[str, str]]) -> None:
        """The foreign keys back, each validated over every row (one anti-join per key): a row
        pointing nowhere fails the table's transaction, as its COPY would have."""
        if not foreign_keys:
            return
        t0 = time.perf_counter()
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        self.stdout.write(
            f"  {table}: {len(foreign_keys)} foreign keys checked in "
            f"{time.perf_counter() - t0:.1f} s"
        )

    @staticmethod
    def _drop_plain_indexes(cursor, table: str) -> list[str]:
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = %s::regclass
              AND NOT i.indisunique AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            """,
            [table],
        )
        found = cursor.fetchall()
        for name, _ in found:
            cursor.execute(f"DROP INDEX {name}")
        return [definition for _, definition in found]

    def _insert_select(
        self, table: str, statement: str, total: int, params: dict | None = None
    ) -> None:
        """Generate `table` inside PostgreSQL from rows already loaded: `statement` is an INSERT …
        SELECT over ids %(lo)s..%(hi)s, run COPY_BATCH ids at a time in one transaction, with the
        constraints checked per statement as in `_copy`."""
        progress = Progress(self.stdout.write, table, total)
        cpu0 = time.process_time()
        count = 0
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            index_defs = self._drop_plain_indexes(cursor, table) if self.drop_indexes else []
            foreign_keys = self._drop_foreign_keys(cursor, table) if self.bulk_fk_checks else []
            for lo in range(1, total + 1, COPY_BATCH):
                cursor.execute(statement, {**(params or {}), "lo": lo, "hi": lo + COPY_BATCH - 1})
                count += cursor.rowcount
                progress.tick(cursor.rowcount)
            for index_def in index_defs:
                cursor.execute(index_def)
            self._add_foreign_keys(cursor, table, foreign_keys)
        self.timings.append((table, count, progress.elapsed, time.process_time() - cpu0))
        self.stdout.write(
            f"  {table}: {count:,} rows in {progress.elapsed:.1f} s "
            f"(INSERT … SELECT, {count / max(progress.elapsed, 1e-9):,.0f} rows/s)"
        )

    # -----------------------------------------------------------------------------------------
    def _load_pathways(self, n: int, *, with_timeline: bool) -> None:
        """Persons and pathways share ids 1..n (one pathway per person). Keeps compact per-pathway
        arrays (owner, referent org, times, closed) that the referral pass needs."""
        rng = self.rng
        orgs = self.orgs
        owner_cum = list(itertools.accumulate(o.own_weight for o in orgs))
        dep_social: dict[str, list[int]] = {}
        for index, org in enumerate(orgs):
            if org.kind == OrganisationKind.DEPARTEMENT:
                dep_social.setdefault(org.departement, []).append(index)
        now_ts = self.now_ts
        utc = dt.UTC
        fromts = dt.datetime.fromtimestamp
        # Compact per-pathway arrays (a few bytes each): nothing per row is kept as Python
        # objects, so memory stays bounded whatever --pathways.
        self.p_referent_org = referent_org = array("i", bytes(4 * n))
        self.p_opened = opened = array("d", bytes(8 * n))
        self.p_closed = closed = array("d", bytes(8 * n))  # 0.0 = open
        referents = array("i", bytes(4 * n))  # the référent (a user id)
        touched_at = array("d", bytes(8 * n))
        modality_of = bytearray(n)  # index into `modalities`
        diagnostic_of = bytearray(n)  # index into DIAGNOSTICS
        outcome_of = bytearray(n)  # 1 + index into `outcomes`; 0 while open
        # Person conditions of the legal bases (CONDITION_BITS), for the grant pass.
        self.p_flags = flags = bytearray(n)
        # The 26th birthday (a date ordinal) of those under 26: their age-conditioned legal
        # bases end on it (parcours/bases.py).
        self.p_birthday = birthdays = array("i", bytes(4 * n))
        today = timezone.localdate()

        names = [
            (f, ln, f"{normalise_name(ln)}|{normalise_name(f)}")
            for f in FIRST_NAMES
            for ln in LAST_NAMES
        ]
        birth_lo = dt.date(1960, 1, 1).toordinal()
        birth_hi = dt.date(2008, 12, 31).toordinal()
        modalities = ["suivi", "guide", "renforce", "accompagnement_global"]
        modality_cum = [40, 70, 90, 100]
        outcomes = ["job", "training", "other", "lost_contact"]
        outcome_cum = [45, 70, 85, 100]

        # One pass decides everything per pathway while the persons stream into their COPY
        # (one tuple alive at a time); the pathways are then streamed from the arrays.
        rnd = rng.random
        encrypt, pooled = self.encrypt, self.pooled
        # index into self.orgs
        self.p_owner = owner = array("i", rng.choices(range(len(orgs)), cum_weights=owner_cum, k=n))

        def person_rows() -> Iterator[tuple]:
            for i in range(n):
                pid = i + 1
                o = owner[i]
                org = orgs[o]
                first, last, key = names[int(rnd() * len(names))]
                birth = dt.date.fromordinal(birth_lo + int(rnd() * (birth_hi - birth_lo)))
                rsa = rnd() < 0.18
                # Opened up to 4 years ago; last touched within the last 2 years.
                open_ts = now_ts - rnd() * 4 * 365 * DAY
                touched = now_ts - rnd() * min(now_ts - open_ts, 730 * DAY)
                referent_o = o
                if rsa and rnd() < 0.3 and org.departement in dep_social:
                    referent_o = rng.choice(dep_social[org.departement])
                referent = rng.choice(orgs[referent_o].caseworkers)
                close_ts = 0.0
                if rnd() < 0.02:
                    # Closed within the last two years, like every other update.
                    close_from = max(open_ts, now_ts - 730 * DAY)
                    close_ts = close_from + rnd() * (now_ts - close_from)
                    touched = close_ts
                    outcome_of[i] = 1 + bisect.bisect(outcome_cum, rnd() * outcome_cum[-1])
                referent_org[i], opened[i], closed[i] = referent_o, open_ts, close_ts
                referents[i], touched_at[i] = referent, touched
                postal = self._postal_code(org.departement)
                email = (
                    f"{normalise_ascii(first)}.{normalise_ascii(last)}{pid}@courriel.example"
                    if rnd() < 0.7
                    else ""
                )
                phone = f"06{pid % 100_000_000:08d}" if rnd() < 0.8 else ""
                ft_id = f"{pid:07d}{'ABCDEFGHJK'[pid % 10]}" if rnd() < 0.85 else ""
                nir = self._nir(pid, birth) if rnd() < 0.3 else ""
                ass, rights_ending, rqth, court = (
                    rnd() < 0.04,
                    rnd() < 0.06,
                    rnd() < 0.08,
                    rnd() < 0.02,
                )
                _, nir_index, ft_index, identity_index = search_keys(first, last, birth, nir, ft_id)
                row = (
                    pid,
                    first,
                    last,
                    birth,
                    key,
                    nir_index,
                    ft_index,
                    identity_index,
                    encrypt(email) if email else pooled(""),
                    encrypt(phone) if phone else pooled(""),
                    encrypt(f"{1 + pid % 150} {STREET_NAMES[pid % len(STREET_NAMES)]}"),
                    pooled(postal),
                    pooled(org.town.removeprefix("Bassin de ")),
                    encrypt(ft_id) if ft_id else pooled(""),
                    encrypt(nir) if nir else pooled(""),
                    rsa,
                    ass,
                    rights_ending,
                    pooled("1" if rqth else "0"),
                    pooled("1" if court else "0"),
                    rnd() < 0.12,
                    fromts(open_ts, utc),
                    fromts(touched, utc),
                    referent,
                )
                young = age_on(birth, today) < AGE_LIMITS["under_26"]
                flags[i] = (1 if rsa else 0) | (2 if young else 0) | (4 if rqth else 0)
                if young:
                    birthdays[i] = birthday(birth, AGE_LIMITS["under_26"]).toordinal()
                modality_of[i] = bisect.bisect(modality_cum, rnd() * modality_cum[-1])
                diagnostic_of[i] = int(rnd() * len(DIAGNOSTICS))
                yield row

        def pathway_rows() -> Iterator[tuple]:
            for i in range(n):
                pid = i + 1
                close_ts = closed[i]
                opened_at = fromts(opened[i], utc)
                closed_at = fromts(close_ts, utc) if close_ts else None
                yield (
                    pid,
                    pid,
                    orgs[owner[i]].id,
                    referents[i],
                    orgs[referent_org[i]].id,
                    "closed" if close_ts else "open",
                    modalities[modality_of[i]],
                    pooled(DIAGNOSTICS[diagnostic_of[i]]),
                    outcomes[outcome_of[i] - 1] if outcome_of[i] else "",
                    opened_at,
                    closed_at,
                    fromts(touched_at[i], utc),
                    closed_at or opened_at,  # last_contact_at, the retention clock
                )

        self._copy(
            "parcours_person",
            [
                "id",
                "first_name",
                "last_name",
                "birth_date",
                "name_key",
                "nir_index",
                "france_travail_id_index",
                "identity_index",
                "email",
                "phone",
                "address",
                "postal_code",
                "city",
                "france_travail_id",
                "nir",
                "receives_rsa",
                "receives_ass",
                "rights_ending",
                "rqth",
                "court_supervision",
                "lives_in_qpv",
                "created_at",
                "updated_at",
                "created_by_id",
            ],
            person_rows(),
            n,
        )
        self._copy(
            "parcours_pathway",
            [
                "id",
                "person_id",
                "owner_organisation_id",
                "referent_id",
                "referent_organisation_id",
                "status",
                "modality",
                "diagnostic_summary",
                "outcome",
                "opened_at",
                "closed_at",
                "updated_at",
                "last_contact_at",  # the retention clock: the closing, else the opening
            ],
            pathway_rows(),
            n,
        )
        if with_timeline:
            # What pathway_open writes: the current modality period and the timeline's first
            # line. Generated inside PostgreSQL from the pathways just loaded: no Python per row.
            self._insert_select(
                "parcours_modalityperiod",
                "INSERT INTO parcours_modalityperiod "
                "(id, pathway_id, modality, started_at, ended_at, set_by_id) "
                "SELECT id, id, modality, opened_at, NULL, referent_id FROM parcours_pathway "
                "WHERE id BETWEEN %(lo)s AND %(hi)s ORDER BY id",
                n,
            )
            self.pooled("")  # the pool of tokens of an empty text, drawn by id below
            self._insert_select(
                "parcours_pathwayevent",
                "INSERT INTO parcours_pathwayevent (id, pathway_id, kind, occurred_at, actor_id, "
                "organisation_id, referral_status, text, category) "
                "SELECT id, id, 'pathway_opened', opened_at, referent_id, owner_organisation_id, "
                "'', (%(tokens)s::text[])[1 + id %% %(pool)s], %(category)s FROM parcours_pathway "
                "WHERE id BETWEEN %(lo)s AND %(hi)s ORDER BY id",
                n,
                {
                    "tokens": self.token_pools[""],
                    "pool": TOKEN_POOL,
                    "category": str(DataCategory.PATHWAY),
                },
            )

    @staticmethod
    def _postal_code(dep: str) -> str:
        if dep in ("2A", "2B"):
            return "20000"
        return f"{dep}000"[:5] if len(dep) == 2 else f"{dep}00"

    @staticmethod
    def _nir(pid: int, birth: dt.date) -> str:
        """A valid NIR, unique per person id (the id is spread over commune and order number;
        ids above 10^6 also use the birth département slot)."""
        sex = 1 + pid % 2
        dep = 1 + (pid // 1_000_000) % 95
        commune, order = divmod(pid % 1_000_000, 1000)
        body = f"{sex}{birth.year % 100:02d}{birth.month:02d}{dep:02d}{commune:03d}{order:03d}"
        return body + nir_module.calc_check_digits(body)

    def encrypt(self, value: str) -> str:
        """Fernet token of `value` under the newest key, as EncryptedMixin stores it."""
        return self.fernet.encrypt(value.encode()).decode()

    def pooled(self, value: str) -> str:
        """One of TOKEN_POOL tokens of a value shared by many rows (see the module docstring)."""
        pool = self.token_pools.get(value)
        if pool is None:
            pool = self.token_pools[value] = [self.encrypt(value) for _ in range(TOKEN_POOL)]
        return pool[int(self.pool_rng.random() * TOKEN_POOL)]

    # -----------------------------------------------------------------------------------------
    def _load_referrals(self, per_pathway: float) -> None:
        rng = self.rng
        rnd = rng.random
        pooled = self.pooled
        orgs = self.orgs
        n = len(self.p_owner)
        now_ts = self.now_ts
        utc = dt.UTC
        fromts = dt.datetime.fromtimestamp

        # Receivers: mostly partners of the same département, sometimes anywhere in France.
        all_idx = list(range(len(orgs)))
        all_cum = list(itertools.accumulate(o.receive_weight for o in orgs))
        dep_idx: dict[str, list[int]] = {}
        for index, org in enumerate(orgs):
            dep_idx.setdefault(org.departement, []).append(index)
        dep_cum = {
            dep: list(itertools.accumulate(orgs[i].receive_weight for i in members))
            for dep, members in dep_idx.items()
        }
        max_per_pathway = 10
        count_cum = poisson_table(per_pathway, max_per_pathway)
        counts = range(max_per_pathway + 1)

        # Status mix of all referrals; pathways already closed only hold finished referrals.
        statuses = [
            ("draft", 3),
            ("sent", 6),
            ("accepted", 6),
            ("appointment_set", 8),
            ("attended", 7),
            ("no_show", 4),
            ("refused", 12),
            ("withdrawn", 4),
            ("expired", 5),
            ("closed", 45),
            # Réorientation: a proposal waiting for the sender, and transfers confirmed (each
            # with the referral that followed, sent to the partner): open pathways only.
            ("transfer_proposed", 1),
            ("transferred", 1),
        ]
        names = [s for s, _ in statuses]
        status_cum = list(itertools.accumulate(w for _, w in statuses))
        finished = [
            (s, w) for s, w in statuses if s in {"refused", "withdrawn", "expired", "closed"}
        ]
        finished_names = [s for s, _ in finished]
        finished_cum = list(itertools.accumulate(w for _, w in finished))
        # ~1 % of open referrals are overdue: all of them among "sent" and "accepted".
        open_weight = sum(w for s, w in statuses[:6])
        overdue_p = 0.01 * open_weight / (6 + 6)
        kinds = ["substitution", "simultaneous", "upstream", "return"]
        kind_cum = [35, 70, 90, 100]
        refusals = [
            "not_eligible",
            "no_capacity",
            "wrong_service",
            "already_followed",
            "person_declined",
            "other",
        ]
        outcomes = [
            "job",
            "training",
            "support_started",
            "support_completed",
            "not_reached",
            "other",
        ]
        channels = ["in_person", "in_person", "in_person", "phone", "video"]

        appointments = Columns("i", "d", "b", "d", "d", "i")
        # Referrals that still make a relationship (open, or ended within the grace period), in
        # pathway order: (pathway index, sender index, receiver index or -1 if never sent,
        # relationship end or 0.0 for none, sent (else created) timestamp, sender user id,
        # referral id).
        self.r_active = active_refs = Columns("i", "i", "i", "d", "d", "i", "i")
        appointment_outcomes = ["pending", "attended", "no_show"]
        track = self.with_grants
        grace = settings.PARCOURS_RELATIONSHIP_GRACE_DAYS * DAY
        grace_delta = dt.timedelta(days=settings.PARCOURS_RELATIONSHIP_GRACE_DAYS)
        now = self.now

        def appointment(rid, start, outcome, recorded, created, user):
            # Compact now (floats), expanded to datetimes only while streaming to COPY.
            appointments.append(
                (rid, start, appointment_outcomes.index(outcome), recorded or 0.0, created, user)
            )

        def appointment_rows() -> Iterator[tuple]:
            for number, (rid, start, outcome, recorded, created, user) in enumerate(
                appointments, start=1
            ):
                channel = channels[int(rnd() * len(channels))]
                yield (
                    number,
                    rid,
                    fromts(start, utc),
                    channel,
                    "Dans les locaux de la structure" if channel == "in_person" else "",
                    appointment_outcomes[outcome],
                    fromts(recorded, utc) if recorded else None,
                    fromts(created, utc),
                    fromts(recorded or created, utc),
                    user,
                    fromts(start + NO_SHOW_GRACE_HOURS * HOUR, utc),
                )

        def rows() -> Iterator[tuple]:
            rid = 0
            per = [weighted(rng, counts, count_cum) for _ in range(n)]
            for i in range(n):
                k = per[i]
                if not k:
                    continue
                o = self.p_owner[i]
                owner = orgs[o]
                lo = self.p_opened[i]
                closed_ts = self.p_closed[i]
                hi = closed_ts or now_ts
                # Distinct receivers (never the owner) make the partial unique indexes on open
                # referrals impossible to violate, whatever the statuses drawn below.
                taken = {o}
                receivers: list[int] = []
                members, cum = dep_idx[owner.departement], dep_cum[owner.departement]
                attempts = 0
                while len(receivers) < k and attempts < 4 * k + 8:
                    attempts += 1
                    if rnd() < 0.85:
                        r = members[bisect.bisect(cum, rnd() * cum[-1])]
                    else:
                        r = all_idx[bisect.bisect(all_cum, rnd() * all_cum[-1])]
                    if r not in taken:
                        taken.add(r)
                        receivers.append(r)
                senders = [o]
                for r in receivers:
                    rid += 1
                    own = rid
                    # Some referrals are sent on by a partner already involved (e.g. a return).
                    s = senders[int(rnd() * len(senders))] if rnd() < 0.25 else o
                    senders.append(r)
                    sender, receiver = orgs[s], orgs[r]
                    status = (
                        finished_names[bisect.bisect(finished_cum, rnd() * finished_cum[-1])]
                        if closed_ts
                        else names[bisect.bisect(status_cum, rnd() * status_cum[-1])]
                    )
                    partner = -1
                    if status in ("transfer_proposed", "transferred"):
                        # Another partner than the two; a transfer's takes the person (one open
                        # referral per receiver, as for the others).
                        for _attempt in range(8):
                            if rnd() < 0.85:
                                p = members[bisect.bisect(cum, rnd() * cum[-1])]
                            else:
                                p = all_idx[bisect.bisect(all_cum, rnd() * all_cum[-1])]
                            if p not in taken and p != s:
                                partner = p
                                break
                        if partner < 0:
                            status = "sent"
                        elif status == "transferred":
                            taken.add(partner)
                    created = sent = ack_due = accepted = fa_due = None
                    refused = withdrawn = expired = attended = no_show = closed = None
                    proposed = transferred = None
                    refusal_reason = refusal_comment = outcome = outcome_comment = ""
                    fa_days = receiver.first_appointment_days * DAY
                    receiver_user = receiver.users[int(rnd() * len(receiver.users))]

                    if status == "draft":
                        created = lo + rnd() * (hi - lo)
                        last = created
                    elif status in ("transfer_proposed", "transferred"):
                        # Recent: proposed (and confirmed) within the last days, after sending.
                        if status == "transferred":
                            transferred = max(lo, now_ts - rnd() * 5 * DAY)
                            proposed = max(lo, transferred - rnd() * 2 * DAY)
                        else:
                            proposed = max(lo, now_ts - rnd() * 5 * DAY)
                        sent = max(lo, proposed - rnd() * 3 * DAY)
                        created = max(lo, sent - rnd() * DAY)
                        ack_due = sent + 7 * DAY
                        last = transferred or proposed
                    elif status in ("sent", "accepted", "appointment_set"):
                        # Recent by construction: an answer or appointment is still within delay,
                        # except for the overdue few.
                        overdue = status != "appointment_set" and rnd() < overdue_p
                        if status == "sent":
                            age = (8 + rnd() * 20) * DAY if overdue else rnd() * 6.5 * DAY
                            sent = max(lo, now_ts - age)
                        else:
                            if overdue:
                                age = fa_days + (1 + rnd() * 20) * DAY
                            else:
                                age = rnd() * (fa_days - DAY)
                            accepted = max(lo, now_ts - age)
                            sent = max(lo, accepted - rnd() * 5 * DAY)
                            fa_due = accepted + fa_days
                        created = max(lo, sent - rnd() * DAY)
                        ack_due = sent + 7 * DAY
                        last = accepted or sent
                        if status == "appointment_set":
                            assert accepted is not None  # set above for appointment_set
                            booked = accepted + rnd() * (now_ts - accepted)
                            start = now_ts + HOUR + rnd() * 21 * DAY
                            appointment(rid, start, "pending", None, booked, receiver_user)
                            last = booked
                    else:
                        # Finished or past the appointment: a forward chain that fits in [lo, hi].
                        path = status
                        if status == "closed":
                            path = weighted(rng, ("attended", "accepted", "no_show"), (70, 85, 100))
                        elif status == "withdrawn":
                            # A fifth are abandoned drafts: withdrawn without ever being sent.
                            path = weighted(rng, ("draft", "sent", "accepted"), (20, 70, 100))
                        steps = [rnd() * DAY]  # created -> sent
                        if path in ("accepted", "attended", "no_show"):
                            steps.append(rnd() * 5 * DAY)  # -> accepted
                        if path in ("attended", "no_show"):
                            steps.append(DAY + rnd() * (fa_days - DAY))  # -> appointment
                            steps.append(
                                rnd() * 4 * HOUR if path == "attended" else DAY + rnd() * 3 * DAY
                            )
                        if status == "refused":
                            steps.append(rnd() * 10 * DAY)
                        elif status == "expired":
                            steps.append(30 * DAY + rnd() * DAY)
                        elif status in ("withdrawn", "closed"):
                            steps.append(DAY + rnd() * 60 * DAY)
                        span = sum(steps)
                        room = hi - lo
                        if span > room:
                            scale = room / span
                            steps = [s * scale for s in steps]
                            span = room
                        t = lo + rnd() * (room - span)
                        created = t
                        t += steps[0]
                        if path != "draft":
                            sent = t
                            ack_due = sent + 7 * DAY
                        step = 1
                        if path in ("accepted", "attended", "no_show"):
                            t += steps[step]
                            step += 1
                            accepted = t
                            fa_due = accepted + fa_days
                        if path in ("attended", "no_show"):
                            t += steps[step]
                            step += 1
                            start = t
                            t += steps[step]
                            step += 1
                            assert accepted is not None  # set above for attended / no_show
                            booked = accepted + rnd() * (start - accepted)
                            if path == "attended":
                                attended = t
                            else:
                                no_show = t
                            appointment(rid, start, path, t, booked, receiver_user)
                        if status == "refused":
                            refused = t + steps[step]
                            refusal_reason = refusals[int(rnd() * len(refusals))]
                            refusal_comment = REFUSAL_COMMENTS.get(refusal_reason, "")
                        elif status == "expired":
                            expired = t + steps[step]
                        elif status == "withdrawn":
                            withdrawn = t + steps[step]
                        elif status == "closed":
                            closed = t + steps[step]
                            outcome = outcomes[int(rnd() * len(outcomes))]
                            outcome_comment = OUTCOME_COMMENTS[int(rnd() * len(OUTCOME_COMMENTS))]
                        last = refused or expired or withdrawn or closed or t
                    service = (
                        receiver.services[int(rnd() * len(receiver.services))]
                        if rnd() < 0.7
                        else None
                    )
                    sender_user = sender.users[int(rnd() * len(sender.users))]
                    ended = refused or expired or withdrawn or closed or transferred
                    if track and (
                        not ended
                        # Cheap float pre-filter, then the exact datetime test relationships_of
                        # makes (stamps are stored to the microsecond).
                        or (ended + grace > now_ts - DAY and fromts(ended, utc) + grace_delta > now)
                    ):
                        # A draft, or a draft withdrawn without being sent, has no receiver
                        # yet (selectors/relationships.py).
                        active_refs.append(
                            (
                                i,
                                s,
                                -1 if sent is None else r,
                                ended or 0.0,
                                sent or created,
                                sender_user,
                                own,
                            )
                        )
                    successor = None
                    if status == "transferred":
                        # The referral that followed: from the same sender to the partner, sent
                        # when the transfer was confirmed. Written first (its id is the FK's).
                        assert transferred is not None
                        rid += 1
                        successor = rid
                        if track:
                            active_refs.append((i, s, partner, 0.0, transferred, sender_user, rid))
                        yield (
                            rid,
                            i + 1,
                            sender.id,
                            sender_user,
                            orgs[partner].id,
                            None,
                            kinds[bisect.bisect(kind_cum, rnd() * 100)],
                            REASONS[int(rnd() * len(REASONS))],
                            pooled(CONTEXT_NOTES[int(rnd() * len(CONTEXT_NOTES))]),
                            "sent",
                            fromts(transferred, utc),
                            fromts(transferred, utc),
                            fromts(transferred + 7 * DAY, utc),
                            *(None,) * 3,
                            None,
                            "",
                            "",
                            *(None,) * 5,
                            "",
                            "",
                            fromts(transferred, utc),
                            SHARED_JSON,
                            *(None,) * 2,
                            "",
                            *(None,) * 3,
                        )
                    yield (
                        own,
                        i + 1,
                        sender.id,
                        sender_user,
                        receiver.id,
                        service,
                        kinds[bisect.bisect(kind_cum, rnd() * 100)],
                        REASONS[int(rnd() * len(REASONS))],
                        pooled(CONTEXT_NOTES[int(rnd() * len(CONTEXT_NOTES))]),
                        status,
                        fromts(created, utc),
                        fromts(sent, utc) if sent else None,
                        fromts(ack_due, utc) if ack_due else None,
                        fromts(accepted, utc) if accepted else None,
                        fromts(fa_due, utc) if fa_due else None,
                        fromts(accepted + APPOINTMENT_SET_DAYS * DAY, utc) if accepted else None,
                        fromts(refused, utc) if refused else None,
                        refusal_reason,
                        refusal_comment,
                        fromts(withdrawn, utc) if withdrawn else None,
                        fromts(expired, utc) if expired else None,
                        fromts(attended, utc) if attended else None,
                        fromts(no_show, utc) if no_show else None,
                        fromts(closed, utc) if closed else None,
                        outcome,
                        outcome_comment,
                        fromts(last, utc),
                        "[]" if status == "draft" else SHARED_JSON,
                        orgs[partner].id if partner >= 0 else None,
                        None,
                        TRANSFER_REASON if partner >= 0 else "",
                        fromts(proposed, utc) if proposed else None,
                        fromts(transferred, utc) if transferred else None,
                        successor,
                    )

        expected = round(n * per_pathway)
        self._copy(
            "parcours_referral",
            [
                "id",
                "pathway_id",
                "sender_organisation_id",
                "sender_user_id",
                "receiver_organisation_id",
                "receiver_service_id",
                "kind",
                "reason",
                "context_note",
                "status",
                "created_at",
                "sent_at",
                "acknowledge_due_at",
                "accepted_at",
                "first_appointment_due_at",
                "appointment_due_at",
                "refused_at",
                "refusal_reason",
                "refusal_comment",
                "withdrawn_at",
                "expired_at",
                "attended_at",
                "no_show_at",
                "closed_at",
                "outcome",
                "outcome_comment",
                "updated_at",
                "shared_categories",
                "transfer_organisation_id",
                "transfer_service_id",
                "transfer_reason",
                "transfer_proposed_at",
                "transferred_at",
                "transferred_to_id",
            ],
            rows(),
            expected,
        )
        self._copy(
            "parcours_appointment",
            [
                "id",
                "referral_id",
                "starts_at",
                "channel",
                "place",
                "outcome",
                "outcome_recorded_at",
                "created_at",
                "updated_at",
                "created_by_id",
                "outcome_due_at",
            ],
            appointment_rows(),
            len(appointments),
        )

    # -----------------------------------------------------------------------------------------
    def _load_grants(self) -> None:
        """Consents, their organisations and the group object permissions of every pathway.

        Mirrors `access_grants.effective_grants` + `access_recompute` on what this command
        generates (no care team, objection, break-glass, nor agreement shared categories):
        - relationships, each reason with its own span (`selectors.relationships`): owner and
          référent's organisation (no end); sender of a referral that is open or ended less than
          the grace period ago (no cap), and its receiver once it was sent (capped at what the
          referral shares: identity + pathway), both until the referral's end + grace;
        - bases: "legal:owner" / "legal:referent" for every non-sensitive category, the legal
          bases of the organisation's kind for this person (parcours.bases; one with an age
          condition ends on the birthday), and consents;
        - a consent ("consent:<id>", identity + pathway, naming the receiver) is recorded for each
          such receiver whose own bases do not already cover identity and pathway (e.g. a France
          Travail agency receiving an rSa beneficiary relies on "legal:spe legal:rsa" instead);
        - the two parties of a sent, open referral hold "referral:<id>" on identity and pathway;
        - each basis of a category within each span that carries it, clipped to it; one row per
          category and end (every basis generated here starts in the past; one with no end of
          its own and a span with none make a row with no end), with the bases and reasons it
          holds, plus change_pathway with the pathway category's rows.
        """
        orgs = self.orgs
        n = len(self.p_owner)
        utc = dt.UTC
        fromts = dt.datetime.fromtimestamp
        grace = dt.timedelta(days=settings.PARCOURS_RELATIONSHIP_GRACE_DAYS)
        ids = permission_ids()
        change_id = ids[CHANGE_PERMISSION]
        perm_of = {c: ids[permission_codename(c)] for c in ALL_CATEGORIES}
        held = ALL_CATEGORIES - SENSITIVE_CATEGORIES  # what owner and référent hold
        minimum = frozenset(REFERRAL_MINIMUM)

        unknown = {b.condition for b in legal_bases()} - set(CONDITION_BITS)
        if unknown:
            raise CommandError(f"seed_scale cannot generate legal-basis conditions {unknown}.")
        # (organisation kind, person flags) -> category -> legal basis code -> whether it ends on
        # the person's 26th birthday (the only condition with an end: CONDITION_BITS).
        today = timezone.localdate(self.now)
        legal: dict[tuple[str, int], dict[str, dict[str, bool]]] = {}
        for kind in {o.kind for o in orgs}:
            for bits in range(8):
                person = SimpleNamespace(
                    birth_date=today.replace(year=today.year - (20 if bits & 2 else 40), day=1),
                    receives_rsa=bool(bits & 1),
                    rqth=bool(bits & 4),
                )
                legal[(kind, bits)] = {
                    category: {code: ends is not None for code, ends in codes.items()}
                    for category, codes in legal_covers(
                        organisation_kind=kind, person=person, on=today
                    ).items()
                }
        birthdays = self.p_birthday
        start_of_day: dict[int, dt.datetime] = {}

        def birthday_at(i: int) -> dt.datetime:
            """The start of the 26th birthday of the person of pathway `i` (Paris time)."""
            day = birthdays[i]
            at = start_of_day.get(day)
            if at is None:
                at = timezone.make_aware(dt.datetime.combine(dt.date.fromordinal(day), dt.time()))
                start_of_day[day] = at
            return at

        refs = self.r_active
        p_owner, p_referent, p_flags = self.p_owner, self.p_referent_org, self.p_flags

        # Pass 1: the consents (one per receiver without a basis of its own), and their
        # organisations. consent_of[k] is the consent id of refs[k] (0: none).
        consent_of = [0] * len(refs)
        consent_orgs: list[tuple[int, int, int]] = []

        def consent_rows() -> Iterator[tuple]:
            number = 0
            for k, (i, s, r, _ended, sent, sender_user, _rid) in enumerate(refs):
                if r < 0 or r == p_referent[i]:
                    continue  # a draft, or the référent's organisation (holds the file)
                own = legal[(orgs[r].kind, p_flags[i])]
                if all(c in own for c in minimum):
                    continue
                number += 1
                consent_of[k] = number
                consent_orgs.append((number, number, orgs[r].id))
                sent_at = fromts(sent, utc)
                yield (
                    number,
                    i + 1,
                    "[]",
                    SHARED_JSON,
                    "Orientation vers un partenaire et suivi de l'orientation",
                    timezone.localdate(sent_at),
                    None,
                    sender_user,
                    orgs[s].id,
                    EVIDENCE_KINDS[number % len(EVIDENCE_KINDS)],
                    "",
                    sent_at,
                    None,
                    None,
                    False,
                )

        self._copy(
            "parcours_consent",
            [
                "id",
                "person_id",
                "organisation_kinds",
                "categories",
                "purpose",
                "starts_on",
                "ends_on",
                "collected_by_id",
                "collected_by_organisation_id",
                "evidence_kind",
                "evidence_file",
                "created_at",
                "revoked_at",
                "revoked_by_id",
                "revoked_by_person",
            ],
            consent_rows(),
            len(refs),
        )
        self._copy(
            "parcours_consent_organisations",
            ["id", "consent_id", "organisation_id"],
            iter(consent_orgs),
            len(consent_orgs),
        )
        consent_orgs.clear()

        # Pass 2: the grants, pathway by pathway.
        def earlier(a, b):
            return b if a is None else a if b is None else min(a, b)

        def grant_rows() -> Iterator[tuple]:
            number = 0
            k = 0
            n_refs = len(refs)
            ref_pathway = refs.columns[0]
            for i in range(n):
                pathway_id = i + 1
                # org index -> its spans [(reason, cap (None: uncapped), end (None: none))]
                spans: dict[int, list[tuple]] = {}
                spans.setdefault(p_owner[i], []).append(("owner", None, None))
                spans.setdefault(p_referent[i], []).append(("referent", None, None))
                consents: dict[int, int] = {}  # org index -> consent id
                open_referrals: dict[int, list[int]] = {}  # org index -> open referral ids
                while k < n_refs and ref_pathway[k] == i:
                    _, s, r, ended, _, _, rid = refs[k]
                    until = fromts(ended, utc) + grace if ended else None
                    spans.setdefault(s, []).append(("sender", None, until))
                    if r >= 0:
                        spans.setdefault(r, []).append(("receiver", minimum, until))
                        if not ended:  # sent and open: both parties hold `referral:<id>`
                            open_referrals.setdefault(s, []).append(rid)
                            open_referrals.setdefault(r, []).append(rid)
                    if consent_of[k]:
                        consents[r] = consent_of[k]
                    k += 1
                flags = p_flags[i]
                for org, org_spans in spans.items():
                    # category -> code -> end (None: none of its own)
                    codes: dict[str, dict[str, dt.datetime | None]] = {}
                    reasons = {reason for reason, _cap, _until in org_spans}
                    holds = reasons & {"owner", "referent"}
                    if holds:
                        code = f"legal:{sorted(holds)[0]}"
                        for category in held:
                            codes.setdefault(category, {})[code] = None
                    for category, legal_codes in legal[(orgs[org].kind, flags)].items():
                        for code, at_26 in legal_codes.items():
                            codes.setdefault(category, {})[code] = birthday_at(i) if at_26 else None
                    if org in consents:
                        for category in SHARED_ON_REFERRAL:
                            codes.setdefault(category, {})[f"consent:{consents[org]}"] = None
                    for rid in open_referrals.get(org, ()):
                        for category in minimum:
                            codes.setdefault(category, {})[f"referral:{rid}"] = None
                    group_id = orgs[org].group_id
                    for category, category_codes in codes.items():
                        # end -> (bases, reasons): each basis within each span carrying it.
                        rows: dict[dt.datetime | None, tuple[set[str], set[str]]] = {}
                        for reason, cap, until in org_spans:
                            if cap is not None and category not in cap:
                                continue
                            for code, ends in category_codes.items():
                                end = earlier(ends, until)
                                bases, why = rows.setdefault(end, (set(), set()))
                                bases.add(code)
                                why.add(reason)
                        perm = perm_of[category]
                        for end, (bases, why) in rows.items():
                            basis, granted_for = " ".join(sorted(bases)), " ".join(sorted(why))
                            number += 1
                            yield (number, group_id, perm, pathway_id, end, basis, granted_for)
                            if category == DataCategory.PATHWAY:
                                number += 1
                                yield (
                                    number,
                                    group_id,
                                    change_id,
                                    pathway_id,
                                    end,
                                    basis,
                                    granted_for,
                                )

        self._copy(
            "parcours_pathwaygroupobjectpermission",
            [
                "id",
                "group_id",
                "permission_id",
                "content_object_id",
                "valid_until",
                "basis",
                "relations",
            ],
            grant_rows(),
            round(n * 8.5),
        )
        del self.r_active

    # -----------------------------------------------------------------------------------------
    def _finish(self) -> None:
        """Move identity sequences past the explicit ids, then refresh planner statistics."""
        t0, c0 = time.perf_counter(), time.process_time()
        with connection.cursor() as cursor:
            for table in (
                "parcours_person",
                "parcours_pathway",
                "parcours_modalityperiod",
                "parcours_pathwayevent",
                "parcours_referral",
                "parcours_appointment",
                "parcours_consent",
                "parcours_consent_organisations",
                "parcours_pathwaygroupobjectpermission",
            ):
                # Table names are constants of this module, never user input.
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "  # noqa: S608
                    f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)",
                    [table],
                )
            tables = ", ".join([*self._domain_tables(), "auth_user", "auth_group"])
            cursor.execute(f"ANALYZE {tables}")
        self.timings.append(
            ("sequences + ANALYZE", 0, time.perf_counter() - t0, time.process_time() - c0)
        )


def normalise_ascii(value: str) -> str:
    """E-mail local part from a name: accents, spaces and apostrophes removed."""
    return normalise_name(value).replace(" ", "")
