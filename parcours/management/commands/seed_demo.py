"""Demo data: one realistic employment area, one organisation of each kind, users for every
role, 200 people with pathways and referrals in every state (a few overdue). Idempotent."""

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from faker import Faker
from stdnum import luhn

from parcours.actor import Actor
from parcours.diagnostic_domains import DiagnosticDomain, domain_category
from parcours.models import (
    Agreement,
    AgreementIndicator,
    AgreementParty,
    AgreementPartyStatus,
    Appointment,
    Barrier,
    BarrierKind,
    BarrierStatus,
    Committee,
    CommitteeProposal,
    Consent,
    DiagnosticEntry,
    EmploymentArea,
    EventKind,
    Membership,
    ModalityPeriod,
    Objective,
    Organisation,
    Pathway,
    PathwayEvent,
    Person,
    PlanAction,
    PlanActionStatus,
    ProposalBasis,
    Referral,
    ReferralKind,
    ReferralStatus,
    Role,
    Service,
    SupportModality,
)
from parcours.models.person import normalise_name
from parcours.models.referral import OPEN_REFERRAL_STATUSES
from parcours.services.access_grants import access_recompute
from parcours.services.api_token import api_token_seed
from parcours.services.organisation import organisation_create
from parcours.services.receiver_link import current_link, link_url
from parcours.services.referral import referral_create
from parcours.services.referral_figures import referral_figures_refresh

DEMO_PASSWORD = "demo-parcours-2026"  # documented in the README; local use only
AREA = {"code": "6210", "name": "Lens – Hénin", "departement": "62"}


def siret(n: int) -> str:
    """A valid SIRET: a Luhn-valid SIREN followed by an establishment number, Luhn over all 14."""
    siren = f"{n % 10**8:08d}"
    siren += luhn.calc_check_digit(siren)
    body = f"{siren}000{n // 10**8 % 10}"
    return body + luhn.calc_check_digit(body)


def _local_part(name: str) -> str:
    return normalise_name(name).replace(" ", "")


ORGANISATIONS = [
    # key, kind, siae_kind, name, services (name, delay days)
    ("ft", "france_travail", "", "France Travail Lens", [("Accompagnement guidé", 10)]),
    (
        "cd",
        "departement",
        "",
        "Département du Pas-de-Calais — Maison du Département Solidarité de Lens",
        [("Accompagnement social rSa", 15), ("Accompagnement global", 15)],
    ),
    (
        "ml",
        "mission_locale",
        "",
        "Mission locale de Lens-Liévin",
        [("Contrat d'engagement jeune", 8)],
    ),
    ("cap", "cap_emploi", "", "Cap emploi Pas-de-Calais", [("Accompagnement vers l'emploi", 15)]),
    (
        "siae",
        "siae",
        "ACI",
        "Les Jardins du Bassin (chantier d'insertion)",
        [("Maraîchage biologique", 10), ("Entretien des espaces verts", 10)],
    ),
    ("plie", "plie", "", "PLIE de Lens-Liévin", [("Parcours renforcé PLIE", 15)]),
    ("ccas", "ccas", "", "CCAS de Lens", [("Aide aux démarches administratives", 7)]),
    ("asso", "association", "", "Association Solidarité Bassin", [("Diagnostic social", 7)]),
    # A CCAS without any account (issue 19): what France Travail sends it reaches it by a link.
    ("ccas_lievin", "ccas", "", "CCAS de Liévin", [("Aide alimentaire et énergie", 7)]),
]

# The freins périphériques each demo service works on (the referral form filters on them).
BARRIERS_ADDRESSED = {
    "Accompagnement social rSa": ["housing", "debt", "access_to_rights", "isolation"],
    "Accompagnement global": ["housing", "mobility", "childcare", "health"],
    "Contrat d'engagement jeune": ["mobility", "digital"],
    "Accompagnement vers l'emploi": ["health"],
    "Parcours renforcé PLIE": ["mobility", "childcare", "language"],
    "Aide aux démarches administratives": ["access_to_rights", "digital", "debt"],
    "Diagnostic social": ["housing", "isolation", "illiteracy", "addiction"],
}

# Demo situations per domain of the shared diagnostic: successive versions (text, level).
DIAGNOSTIC_SITUATIONS = {
    "professional_project": [
        ("Souhaite travailler dans la logistique, sans expérience du secteur.", "to_work_on"),
        ("Projet validé après une immersion de deux semaines en entrepôt.", "strength"),
    ],
    "training": [
        ("Niveau CAP non obtenu ; à l'aise à l'oral, difficultés à l'écrit.", "to_work_on"),
    ],
    "mobility": [
        ("Pas de permis ni de véhicule ; bus limités en horaires décalés.", "blocking"),
        ("Inscrite au code de la route avec l'aide au permis.", "to_work_on"),
    ],
    "housing": [
        ("Hébergée chez un tiers, demande de logement social déposée.", "blocking"),
        ("Logement social attribué à Lens, emménagement le mois prochain.", "strength"),
    ],
    "budget": [("Dettes de loyer, dossier de surendettement à constituer.", "to_work_on")],
    "family": [("Deux enfants de 3 et 6 ans ; pas de solution de garde le matin.", "blocking")],
    "access_to_rights": [("Droits à la complémentaire santé solidaire à ouvrir.", "to_work_on")],
    "digital": [("Smartphone uniquement ; n'a pas d'adresse électronique active.", "to_work_on")],
}

USERS = [
    # username, first, last, organisation key, role
    ("ft.conseiller", "Claire", "Dubois", "ft", Role.COUNSELLOR),
    ("ft.conseiller2", "Karim", "Benali", "ft", Role.COUNSELLOR),
    ("ft.responsable", "Sophie", "Lefebvre", "ft", Role.MANAGER),
    ("ft.dpo", "Marc", "Lambert", "ft", Role.DPO),
    ("cd.social", "Nadia", "Moreau", "cd", Role.SOCIAL_WORKER),
    ("cd.responsable", "Pierre", "Lemaire", "cd", Role.MANAGER),
    ("cd.dpo", "Isabelle", "Mercier", "cd", Role.DPO),
    ("ml.conseiller", "Julie", "Caron", "ml", Role.COUNSELLOR),
    ("cap.conseiller", "Thomas", "Roussel", "cap", Role.COUNSELLOR),
    ("siae.conseiller", "Amandine", "Leroy", "siae", Role.COUNSELLOR),
    ("siae.responsable", "Olivier", "Fontaine", "siae", Role.MANAGER),
    ("plie.conseiller", "Hélène", "Garnier", "plie", Role.COUNSELLOR),
    ("ccas.social", "Yasmine", "Haddad", "ccas", Role.SOCIAL_WORKER),
    ("asso.social", "Luc", "Bernard", "asso", Role.SOCIAL_WORKER),
    ("admin", "Alice", "Admin", "ft", Role.ADMIN),
    # The platform operator's DPO (here hosted by the département's organisation).
    ("dpo.national", "Bernard", "Petit", "cd", Role.NATIONAL_DPO),
    # The territorial coordinator of the Lens – Hénin area, for the département (which leads the
    # area's partnership for the rSa): the partners' aggregates, never a person's record.
    ("coord.territoire", "Aurélie", "Vasseur", "cd", Role.COORDINATOR),
]

# How many referrals of each state the demo holds (every state present, a few overdue).
REFERRAL_MIX = [
    (ReferralStatus.DRAFT, 6),
    (ReferralStatus.SENT, 24),
    (ReferralStatus.ACCEPTED, 20),
    (ReferralStatus.REFUSED, 10),
    (ReferralStatus.WITHDRAWN, 5),
    (ReferralStatus.EXPIRED, 4),
    (ReferralStatus.APPOINTMENT_SET, 20),
    (ReferralStatus.ATTENDED, 12),
    (ReferralStatus.NO_SHOW, 10),
    (ReferralStatus.CLOSED, 15),
    # Réorientation: proposals waiting for the sender, transfers confirmed (each followed by a
    # referral sent to the partner).
    (ReferralStatus.TRANSFER_PROPOSED, 4),
    (ReferralStatus.TRANSFERRED, 3),
]
# How many days a referral in each state needs behind it: its moves (accepted a day after it was
# sent, seen or missed five days later, closed the day after, expired after thirty) all happened
# before today — never an answer dated in the future.
DAYS_OF_HISTORY = {
    ReferralStatus.ACCEPTED: 2,
    ReferralStatus.REFUSED: 3,
    ReferralStatus.WITHDRAWN: 2,
    ReferralStatus.EXPIRED: 31,
    ReferralStatus.ATTENDED: 8,
    ReferralStatus.NO_SHOW: 8,
    ReferralStatus.CLOSED: 9,
    ReferralStatus.TRANSFER_PROPOSED: 2,
    ReferralStatus.TRANSFERRED: 2,
}


# The demo's partner system: the département's rSa software (`make run` prints its token; the
# secret is public, the demo's only).
DEMO_API_TOKEN = "prc_demo-logiciel-rsa-usage-local-uniquement"
DEMO_API_SCOPES = ["persons:read", "pathways:read", "referrals:read", "referrals:write"]


# The indicators every demo agreement annexes: (catalogue code, target, reporting period).
DEMO_INDICATORS = (
    ("answered_on_time_rate", 80, "quarterly"),
    ("answer_days", 5, "monthly"),
    ("show_rate", 75, "quarterly"),
    ("positive_exit_rate", 30, "yearly"),
)


class Command(BaseCommand):
    help = "Charge les données de démonstration (idempotent : ne fait rien si elles existent)."

    def handle(self, *args, **options):
        if Organisation.objects.filter(siret=siret(1_000_001)).exists():
            self.stdout.write("Données de démonstration déjà présentes : rien à faire.")
            return
        rng = random.Random(2026)
        fake = Faker("fr_FR")
        fake.seed_instance(2026)
        with transaction.atomic():
            orgs = self._organisations()
            users = self._users(orgs)
            self._agreements(orgs)
            pathways = self._people(orgs, users, fake, rng)
            count = self._referrals(orgs, users, pathways, rng)
            self._plans(orgs, users)
            self._committee(orgs, users)
            api_token_seed(
                organisation=orgs["cd"],
                system_name="Logiciel rSa du Département",
                role=Role.SOCIAL_WORKER,
                scopes=DEMO_API_SCOPES,
                secret=DEMO_API_TOKEN,
            )
            for pathway, _username in pathways:
                access_recompute(pathway_id=pathway.pk)
            link = self._referral_by_link(orgs, users, pathways)
        # The managers' dashboard reads figures the nightly task computes: computed once here,
        # so `make run` shows a populated « Tableau de bord ».
        referral_figures_refresh(full=True)
        self.stdout.write(
            self.style.SUCCESS(
                f"Démo chargée : {len(orgs)} organisations, {len(users)} comptes, "
                f"{len(pathways)} personnes, {count + 1} orientations."
            )
        )
        self.stdout.write(
            "Lien d'accès sans compte de démonstration (CCAS de Liévin, orientation envoyée par "
            f"France Travail ; aussi dans l'e-mail de var/mail/) : {link}"
        )

    def _referral_by_link(self, orgs, users, pathways) -> str:
        """France Travail orients one person to the CCAS without accounts, through the service
        a counsellor's « Envoyer » calls: the link is made and its e-mail queued in the outbox
        (the relay of `make run` writes it to var/mail/). Its URL, for the demo's user."""
        sender = users["ft.conseiller"]
        pathway = next(p for p, username in pathways if username == "ft.conseiller")
        ccas = orgs["ccas_lievin"]
        consent = Consent.objects.create(
            person=pathway.person,
            categories=["identity", "pathway"],
            purpose=f"Orientation vers {ccas.name}",
            starts_on=timezone.localdate(),
            collected_by=sender,
            collected_by_organisation=orgs["ft"],
            evidence_kind="oral",
        )
        consent.organisations.set([ccas])
        access_recompute(pathway_id=pathway.pk)
        referral = referral_create(
            actor=Actor(user=sender, organisation=orgs["ft"], role=Role.COUNSELLOR),
            pathway_id=pathway.pk,
            receiver_organisation_id=ccas.pk,
            kind="upstream",
            reason="Aide alimentaire et factures d'énergie en retard",
        )
        link = current_link(referral)
        assert link is not None and link.mail_token  # a CCAS without accounts gets a link
        return link_url(link.mail_token, referral.pk)

    def _organisations(self) -> dict[str, Organisation]:
        area, _ = EmploymentArea.objects.get_or_create(
            code=AREA["code"], defaults={"name": AREA["name"], "departement": AREA["departement"]}
        )
        EmploymentArea.objects.get_or_create(
            code="6220", defaults={"name": "Béthune – Bruay", "departement": "62"}
        )
        orgs = {}
        for index, (key, kind, siae_kind, name, services) in enumerate(ORGANISATIONS, start=1):
            org = organisation_create(
                kind=kind,
                siae_kind=siae_kind,
                name=name,
                siret=siret(1_000_000 + index),
                departement="62",
                employment_area=area,
                address=f"{index} rue de la République, 62300 Lens",
                contact_email=f"contact.{key}@parcours-demo.fr",
            )
            for service_name, delay in services:
                Service.objects.create(
                    organisation=org,
                    name=service_name,
                    barriers_addressed=BARRIERS_ADDRESSED.get(service_name, []),
                    description=f"{service_name} — {name}",
                    eligibility="Personnes résidant dans le bassin de Lens – Hénin.",
                    usual_delay_days=delay,
                )
            orgs[key] = org
        return orgs

    def _users(self, orgs):
        User = get_user_model()
        users = {}
        for username, first, last, org_key, role in USERS:
            user = User.objects.create_user(
                username=username,
                password=DEMO_PASSWORD,
                first_name=first,
                last_name=last,
                email=f"{username}@parcours-demo.fr",
                is_staff=role == Role.ADMIN,
                is_superuser=role == Role.ADMIN,
            )
            membership = Membership.objects.create(user=user, organisation=orgs[org_key], role=role)
            if role == Role.COORDINATOR:
                # The demo's organisations are all in one area: the coordinator covers it.
                membership.employment_areas.set([orgs[org_key].employment_area_id])
            users[username] = user
        # One counsellor works for two structures: shows the choice of acting organisation.
        Membership.objects.create(
            user=users["plie.conseiller"], organisation=orgs["ml"], role=Role.COUNSELLOR
        )
        return users

    def _agreements(self, orgs):
        for name, parties, first_days in [
            ("Cotraitance jeunes France Travail – Mission locale", ["ft", "ml"], 8),
            ("Convention rSa : orientation et accompagnement", ["ft", "cd"], 15),
            ("Partenariat IAE du bassin de Lens", ["ft", "siae", "plie", "cd"], 10),
        ]:
            agreement = Agreement.objects.create(
                name=name,
                level="local",
                proposed_by=orgs[parties[0]],
                starts_on=dt.date(2025, 1, 1),
                review_on=dt.date(2027, 1, 1),
                first_appointment_within_days=first_days,
            )
            # Demo agreements are in force: every party has accepted them.
            for key in parties:
                signature = AgreementParty(
                    agreement=agreement,
                    organisation=orgs[key],
                    status=AgreementPartyStatus.ACCEPTED,
                    decided_at=timezone.now(),
                )
                signature._change_reason = "Données de démonstration : acceptée"
                signature.save()
            # Annexed indicators (issue 18): the report and the dashboard's block show them.
            for code, target, period in DEMO_INDICATORS:
                indicator = AgreementIndicator(
                    agreement=agreement, code=code, target=target, period=period
                )
                indicator._change_reason = "Données de démonstration : indicateur annexé"
                indicator.save()

    def _people(self, orgs, users, fake, rng):
        owners = (
            [("ft", "ft.conseiller")] * 5
            + [("ft", "ft.conseiller2")] * 3
            + [("cd", "cd.social")] * 4
            + [("ml", "ml.conseiller")] * 3
            + [("ccas", "ccas.social"), ("asso", "asso.social")]
        )
        now = timezone.now()
        pathways = []
        for _ in range(200):
            org_key, username = rng.choice(owners)
            young = org_key == "ml"
            birth = fake.date_of_birth(
                minimum_age=17 if young else 26, maximum_age=25 if young else 62
            )
            first, last = fake.first_name(), fake.last_name()
            person = Person.objects.create(
                first_name=first,
                last_name=last,
                birth_date=birth,
                name_key=f"{normalise_name(last)}|{normalise_name(first)}",
                email=f"{_local_part(first)}.{_local_part(last)}@exemple.fr",
                phone=f"06{rng.randrange(10**8):08d}",
                postal_code="62300",
                city="Lens",
                receives_rsa=org_key == "cd" or rng.random() < 0.2,
                rights_ending=rng.random() < 0.1,
                rqth=rng.random() < 0.08,
                lives_in_qpv=rng.random() < 0.3,
                created_by=users[username],
            )
            if person.rights_ending:
                # A known end for those in « fin de droits », some inside the warning's window
                # (issue 18) — taken from the birth date, so the demo's other draws stay as
                # they were.
                person.rights_end_date = now.date() + dt.timedelta(
                    days=10 + birth.toordinal() % 150
                )
                person.save(update_fields=["rights_end_date"])
            opened = now - dt.timedelta(days=rng.randrange(30, 400))
            modality = rng.choice(SupportModality.values)
            pathway = Pathway.objects.create(
                person=person,
                owner_organisation=orgs[org_key],
                referent=users[username],
                referent_organisation=orgs[org_key],
                modality=modality,
                opened_at=opened,
                diagnostic_summary="Synthèse du diagnostic partagé (démonstration).",
            )
            ModalityPeriod.objects.create(
                pathway=pathway, modality=modality, started_at=opened, set_by=users[username]
            )
            for kind in rng.sample(BarrierKind.values, k=rng.randrange(0, 3)):
                Barrier.objects.create(
                    pathway=pathway,
                    kind=kind,
                    status=BarrierStatus.IDENTIFIED,
                    identified_at=opened,
                )
            PathwayEvent.objects.create(
                pathway=pathway,
                kind=EventKind.PATHWAY_OPENED,
                occurred_at=opened,
                actor=users[username],
                organisation=orgs[org_key],
            )
            if len(pathways) % 3 == 0:  # a third of the people have a shared diagnostic
                self._diagnostic(pathway, users[username], opened, rng)
            pathways.append((pathway, username))
        return pathways

    def _diagnostic(self, pathway, author, opened, rng):
        """A few domains of the shared diagnostic, some rewritten since (a version each)."""
        for domain in rng.sample(list(DIAGNOSTIC_SITUATIONS), k=rng.randrange(1, 4)):
            versions = DIAGNOSTIC_SITUATIONS[domain]
            written = opened + dt.timedelta(days=rng.randrange(1, 10))
            for text, level in versions[: rng.randrange(1, len(versions) + 1)]:
                if written > timezone.now():
                    break  # a version not written yet: the pathway is too young for it
                DiagnosticEntry.objects.create(
                    pathway=pathway,
                    domain=domain,
                    level=level,
                    text=text,
                    author=author,
                    author_organisation=pathway.owner_organisation,
                    created_at=written,
                )
                PathwayEvent.objects.create(
                    pathway=pathway,
                    kind=EventKind.DIAGNOSTIC_WRITTEN,
                    occurred_at=written,
                    actor=author,
                    organisation=pathway.owner_organisation,
                    text=str(DiagnosticDomain(domain).label),
                    category=domain_category(domain),
                )
                written += dt.timedelta(days=rng.randrange(15, 60))

    def _referrals(self, orgs, users, pathways, rng):
        """Referrals with coherent timestamps. Each pathway gets at most one per receiver."""
        receivers = {
            "siae": "siae.conseiller",
            "ml": "ml.conseiller",
            "cap": "cap.conseiller",
            "plie": "plie.conseiller",
            "cd": "cd.social",
            "ccas": "ccas.social",
        }
        now = timezone.now()
        slots = [(p, u) for p, u in pathways]
        rng.shuffle(slots)
        count = 0
        for status, how_many in REFERRAL_MIX:
            for overdue_index in range(how_many):
                pathway, sender_username = slots[count % len(slots)]
                sender_key = next(
                    k for k, o in orgs.items() if o.pk == pathway.owner_organisation_id
                )
                candidates = [k for k in receivers if k != sender_key]
                receiver_key = candidates[count % len(candidates)]
                # The partner a réorientation names: another receiver than these two.
                partner_key = candidates[(count + 1) % len(candidates)]
                # The first two of each active state are overdue (alerts have something to show).
                age = rng.randrange(20, 40) if overdue_index < 2 else rng.randrange(1, 6)
                age = max(age, DAYS_OF_HISTORY.get(status, 0) + rng.randrange(0, 5))
                self._referral(
                    status=status,
                    pathway=pathway,
                    sender=orgs[sender_key],
                    sender_user=users[sender_username],
                    receiver=orgs[receiver_key],
                    receiver_user=users[receivers[receiver_key]],
                    sent_at=now - dt.timedelta(days=age),
                    rng=rng,
                    partner=(orgs[partner_key], users[receivers[partner_key]]),
                )
                count += 1
        return count

    def _referral(
        self,
        *,
        status,
        pathway,
        sender,
        sender_user,
        receiver,
        receiver_user,
        sent_at,
        rng,
        partner=None,
    ):
        service = receiver.services.first()
        referral = Referral(
            pathway=pathway,
            sender_organisation=sender,
            sender_user=sender_user,
            receiver_organisation=receiver,
            receiver_service=service,
            kind=rng.choice(ReferralKind.values),
            reason=f"Orientation vers {service.name.lower()} : besoin repéré lors du diagnostic.",
            context_note="Éléments de contexte partagés avec l'accord de la personne.",
            status=status,
            created_at=sent_at - dt.timedelta(hours=2),
        )
        moves = [(ReferralStatus.DRAFT, referral.created_at, sender_user)]
        if status != ReferralStatus.DRAFT:
            referral.sent_at = sent_at
            referral.acknowledge_due_at = sent_at + dt.timedelta(days=7)
            moves.append((ReferralStatus.SENT, sent_at, sender_user))
        step = sent_at
        if status in ("accepted", "appointment_set", "attended", "no_show", "closed"):
            step = step + dt.timedelta(days=1)
            referral.accepted_at = step
            referral.first_appointment_due_at = step + dt.timedelta(days=15)
            moves.append((ReferralStatus.ACCEPTED, step, receiver_user))
        if status == "refused":
            referral.refused_at = sent_at + dt.timedelta(days=2)
            referral.refusal_reason = rng.choice(["no_capacity", "not_eligible", "wrong_service"])
            moves.append((ReferralStatus.REFUSED, referral.refused_at, receiver_user))
        if status == "withdrawn":
            referral.withdrawn_at = sent_at + dt.timedelta(days=1)
            moves.append((ReferralStatus.WITHDRAWN, referral.withdrawn_at, sender_user))
        if status == "expired":
            referral.expired_at = sent_at + dt.timedelta(days=30)
            moves.append((ReferralStatus.EXPIRED, referral.expired_at, None))
        if status in ("attended", "closed"):
            referral.attended_at = step + dt.timedelta(days=5)
            moves.append((ReferralStatus.ATTENDED, referral.attended_at, receiver_user))
        if status == "no_show":
            referral.no_show_at = step + dt.timedelta(days=5)
            moves.append((ReferralStatus.NO_SHOW, referral.no_show_at, receiver_user))
        if status == "closed":
            referral.closed_at = referral.attended_at + dt.timedelta(days=1)
            referral.outcome = rng.choice(["support_started", "job", "training"])
            referral.outcome_comment = "Accompagnement engagé, point d'étape dans un mois."
            moves.append((ReferralStatus.CLOSED, referral.closed_at, receiver_user))
        if status in ("transfer_proposed", "transferred"):
            assert partner is not None
            referral.transfer_organisation = partner[0]
            referral.transfer_reason = (
                f"{partner[0].name} propose un accompagnement plus adapté et plus proche."
            )
            referral.transfer_proposed_at = sent_at + dt.timedelta(hours=20)
            moves.append(
                (ReferralStatus.TRANSFER_PROPOSED, referral.transfer_proposed_at, receiver_user)
            )
        if status == "transferred":
            referral.transferred_at = referral.transfer_proposed_at + dt.timedelta(hours=6)
            moves.append((ReferralStatus.TRANSFERRED, referral.transferred_at, sender_user))
            # The referral that followed, from the same sender, sent when it was confirmed.
            referral.transferred_to = self._referral(
                status=ReferralStatus.SENT,
                pathway=pathway,
                sender=sender,
                sender_user=sender_user,
                receiver=partner[0],
                receiver_user=partner[1],
                sent_at=referral.transferred_at,
                rng=rng,
            )
        # The person agreed, when the referral was prepared, that the receiver sees what it needs.
        shared = (
            ["identity", "pathway", "social"] if rng.random() < 0.5 else ["identity", "pathway"]
        )
        referral.shared_categories = shared
        consent = Consent.objects.create(
            person=pathway.person,
            categories=shared,
            purpose=f"Orientation vers {receiver.name}",
            starts_on=(referral.created_at - dt.timedelta(days=1)).date(),
            collected_by=sender_user,
            collected_by_organisation=sender,
            evidence_kind="oral",
        )
        consent.organisations.set([receiver])
        referral._change_reason = "Données de démonstration"
        referral.save()
        if status in ("appointment_set", "attended", "no_show", "closed"):
            pending = status == "appointment_set"
            starts = step + dt.timedelta(days=5)
            Appointment.objects.create(
                referral=referral,
                starts_at=starts,
                place=receiver.address,
                outcome="pending"
                if pending
                else ("no_show" if status == "no_show" else "attended"),
                outcome_recorded_at=None if pending else starts + dt.timedelta(hours=2),
                created_by=receiver_user,
            )
        for moved_to, at, user in moves:
            PathwayEvent.objects.create(
                pathway=pathway,
                kind=EventKind.REFERRAL_MOVED,
                occurred_at=at,
                actor=user,
                organisation=(sender if user == sender_user else receiver) if user else None,
                referral=referral,
                referral_status=moved_to,
            )
        return referral

    def _plans(self, orgs, users):
        """Action plans on a few of France Travail's pathways followed with the SIAE: one action
        the SIAE holds is overdue (its « À traiter » shows it), one of France Travail's too."""
        today = timezone.localdate()
        now = timezone.now()
        counsellor = users["ft.conseiller"]
        pathways = (
            Pathway.objects.filter(
                owner_organisation=orgs["ft"],
                referent=counsellor,
                referrals__receiver_organisation=orgs["siae"],
                referrals__status__in=OPEN_REFERRAL_STATUSES,
            )
            .distinct()
            .order_by("pk")[:3]
        )
        for pathway in pathways:
            job = Objective.objects.create(
                pathway=pathway,
                title="Accéder à un emploi durable",
                created_at=now - dt.timedelta(days=30),
                created_by=counsellor,
                created_by_organisation=orgs["ft"],
            )
            mobility = Objective.objects.create(
                pathway=pathway,
                title="Lever le frein de la mobilité",
                created_at=now - dt.timedelta(days=30),
                created_by=counsellor,
                created_by_organisation=orgs["ft"],
            )
            for objective, label, owner, due_in, status in (
                (job, "Bilan des compétences acquises sur le chantier", "siae", -5, "todo"),
                (job, "Point d'étape avec la conseillère", "ft", 10, "in_progress"),
                (mobility, "Demande d'aide au permis B", "ft", -3, "todo"),
                (mobility, "Inscription à l'atelier vélo", "siae", -20, "done"),
            ):
                PlanAction.objects.create(
                    objective=objective,
                    pathway=pathway,
                    label=label,
                    owner_organisation=orgs[owner],
                    due_on=today + dt.timedelta(days=due_in),
                    status=status,
                    done_at=now - dt.timedelta(days=21)
                    if status == PlanActionStatus.DONE
                    else None,
                    created_at=now - dt.timedelta(days=30),
                    created_by=counsellor,
                    created_by_organisation=orgs["ft"],
                )
            PathwayEvent.objects.create(
                pathway=pathway,
                kind=EventKind.PLAN_OBJECTIVE,
                occurred_at=now - dt.timedelta(days=30),
                actor=counsellor,
                organisation=orgs["ft"],
                text="Plan d'action construit avec la personne (démonstration).",
            )

    def _committee(self, orgs, users):
        """The Lens – Hénin case committee (CLCVP): one session planned in ten days, run by the
        territorial coordinator, the SIAE and the PLIE invited; France Travail's counsellor has
        proposed one of her pathways (France Travail's public-service mission is the basis),
        waiting for the coordinator to put it on the agenda."""
        now = timezone.now()
        counsellor = users["ft.conseiller"]
        pathway = (
            Pathway.objects.filter(owner_organisation=orgs["ft"], referent=counsellor)
            .order_by("pk")
            .first()
        )
        committee = Committee.objects.create(
            employment_area_id=orgs["ft"].employment_area_id,
            meets_at=(now + dt.timedelta(days=10)).replace(hour=9, minute=30, second=0),
            place="Maison de l'emploi de Lens, salle du conseil",
            created_by=users["coord.territoire"],
            created_by_organisation=orgs["cd"],
            created_at=now,
        )
        committee.attendees.set([orgs["siae"], orgs["plie"], orgs["ft"]])
        if pathway is not None:
            CommitteeProposal.objects.create(
                employment_area_id=orgs["ft"].employment_area_id,
                pathway=pathway,
                proposed_by=counsellor,
                proposer_organisation=orgs["ft"],
                created_at=now - dt.timedelta(days=2),
                reason="Parcours à l'arrêt depuis quatre mois : deux orientations sans suite.",
                question="Quel partenaire peut proposer une mise en situation professionnelle ?",
                summary=(
                    "Personne motivée, sans moyen de transport ; a refusé deux formations "
                    "éloignées de son domicile."
                ),
                basis_kind=ProposalBasis.LEGAL,
                legal_basis="legal:spe",
            )
