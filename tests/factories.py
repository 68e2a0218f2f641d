"""factory_boy factories. States are Traits: `ReferralFactory(accepted=True)`.

Factories build coherent rows directly (test set-up); behaviour under test goes through services.
"""

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from stdnum import luhn

from parcours.models import (
    Agreement,
    AgreementParty,
    ApiToken,
    Appointment,
    CareTeamMember,
    Consent,
    EmploymentArea,
    EscalationRung,
    Membership,
    Objective,
    Organisation,
    Pathway,
    PathwayEvent,
    Person,
    PlanAction,
    Referral,
    ReferralMessage,
    Role,
    Service,
    WebhookDelivery,
    WebhookSubscription,
)
from parcours.models.person import normalise_name
from parcours.services.access_grants import access_recompute


def valid_siret(n: int) -> str:
    """A valid SIRET: a Luhn-valid SIREN followed by an establishment number, Luhn over all 14."""
    siren = f"{n % 10**8:08d}"
    siren += luhn.calc_check_digit(siren)
    body = f"{siren}000{n // 10**8 % 10}"
    return body + luhn.calc_check_digit(body)


def valid_nir(n: int) -> str:
    """A syntactically valid NIR (sex 1, born 1990-05, département 62, commune 119)."""
    body = f"1900562119{n % 1000:03d}"
    key = 97 - int(body) % 97
    return f"{body}{key:02d}"


class EmploymentAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmploymentArea
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"B{n:04d}")
    name = factory.Sequence(lambda n: f"Bassin {n}")
    departement = "62"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    kind = "france_travail"
    siae_kind = ""
    name = factory.Sequence(lambda n: f"Organisation {n}")
    siret = factory.Sequence(lambda n: valid_siret(10_000 + n))
    departement = "62"
    employment_area = factory.SubFactory(EmploymentAreaFactory)
    contact_email = factory.Sequence(lambda n: f"contact{n}@partenaire.test")
    group = factory.LazyAttribute(lambda o: Group.objects.create(name=f"organisation:{o.siret}"))

    class Params:
        siae = factory.Trait(kind="siae", siae_kind="ACI")
        mission_locale = factory.Trait(kind="mission_locale")
        departement_council = factory.Trait(kind="departement")


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    usual_delay_days = 10


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Camille"
    last_name = factory.Sequence(lambda n: f"Agent{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@partenaire.test")
    password = factory.django.Password("secret-pass-123")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.COUNSELLOR


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    first_name = factory.Sequence(lambda n: f"Prénom{n}")
    last_name = factory.Sequence(lambda n: f"Nom{n}")
    birth_date = dt.date(1990, 5, 17)
    name_key = factory.LazyAttribute(
        lambda p: f"{normalise_name(p.last_name)}|{normalise_name(p.first_name)}"
    )


class PathwayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pathway
        skip_postgeneration_save = True

    person = factory.SubFactory(PersonFactory)
    owner_organisation = factory.SubFactory(OrganisationFactory)
    referent_organisation = factory.SelfAttribute("owner_organisation")
    opened_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def grants(self, create, extracted, **kwargs):
        """Materialise access rights, as every service does after a change."""
        if create:
            access_recompute(pathway_id=self.pk)


def _ago(days: int):
    return factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=days))


class ReferralFactory(factory.django.DjangoModelFactory):
    """A draft by default; Traits give every lifecycle state with coherent timestamps."""

    class Meta:
        model = Referral
        skip_postgeneration_save = True

    pathway = factory.SubFactory(PathwayFactory)
    sender_organisation = factory.SelfAttribute("pathway.owner_organisation")
    sender_user = factory.SubFactory(UserFactory)
    receiver_organisation = factory.SubFactory(OrganisationFactory, siae=True)
    kind = "substitution"
    reason = "Accès à un chantier d'insertion"
    created_at = _ago(20)

    class Params:
        sent = factory.Trait(status="sent", sent_at=_ago(19), acknowledge_due_at=_ago(12))
        accepted = factory.Trait(
            sent=True,
            status="accepted",
            accepted_at=_ago(18),
            appointment_due_at=_ago(13),
            first_appointment_due_at=_ago(3),
        )
        refused = factory.Trait(
            sent=True, status="refused", refused_at=_ago(18), refusal_reason="no_capacity"
        )
        withdrawn = factory.Trait(sent=True, status="withdrawn", withdrawn_at=_ago(18))
        expired = factory.Trait(sent=True, status="expired", expired_at=_ago(1))
        appointment_set = factory.Trait(accepted=True, status="appointment_set")
        attended = factory.Trait(accepted=True, status="attended", attended_at=_ago(5))
        no_show = factory.Trait(accepted=True, status="no_show", no_show_at=_ago(5))
        closed = factory.Trait(
            attended=True, status="closed", closed_at=_ago(2), outcome="support_started"
        )
        # The receiver proposed another partner (an SIAE of its own); the sender has to answer.
        transfer_proposed = factory.Trait(
            sent=True,
            status="transfer_proposed",
            transfer_proposed_at=_ago(10),
            transfer_organisation=factory.SubFactory(OrganisationFactory, siae=True),
            transfer_reason="Un chantier plus proche du domicile",
        )
        # Confirmed: the referral that follows goes from the same sender to the partner.
        transferred = factory.Trait(
            transfer_proposed=True,
            status="transferred",
            transferred_at=_ago(9),
            transferred_to=factory.SubFactory(
                "tests.factories.ReferralFactory",
                pathway=factory.SelfAttribute("..pathway"),
                sender_user=factory.SelfAttribute("..sender_user"),
                receiver_organisation=factory.SelfAttribute("..transfer_organisation"),
                sent=True,
            ),
        )

    @factory.post_generation
    def with_consent(self, create, extracted, **kwargs):
        """By default the person consented to the receiver seeing what a referral always
        carries (identity, pathway), as the referral service requires before sending.
        `ReferralFactory(with_consent=False)` builds a referral without it."""
        if not create:
            return
        if extracted is not False:
            ConsentFactory(
                person=self.pathway.person,
                organisations=[self.receiver_organisation],
                categories=["identity", "pathway"],
            )
        access_recompute(pathway_id=self.pathway_id)


def _holder_of(person):
    """The organisation holding the person's (first) pathway, else a new one."""
    pathway = person.pathways.order_by("pk").first()
    return pathway.owner_organisation if pathway is not None else OrganisationFactory()


class ConsentFactory(factory.django.DjangoModelFactory):
    """A consent in force, collected by a member of the pathway's owner organisation."""

    class Meta:
        model = Consent
        skip_postgeneration_save = True

    person = factory.SubFactory(PersonFactory)
    categories = factory.LazyFunction(lambda: ["identity", "pathway"])
    purpose = "Coordination de l'accompagnement vers l'emploi"
    starts_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=1))
    collected_by = factory.SubFactory(UserFactory)
    collected_by_organisation = factory.LazyAttribute(lambda o: _holder_of(o.person))
    evidence_kind = "oral"

    @factory.post_generation
    def organisations(self, create, extracted, **kwargs):
        if create and extracted:
            self.organisations.set(extracted)
        if create:
            for pathway_id in self.person.pathways.values_list("pk", flat=True):
                access_recompute(pathway_id=pathway_id)


class CareTeamMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareTeamMember
        skip_postgeneration_save = True

    pathway = factory.SubFactory(PathwayFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    started_at = factory.LazyFunction(timezone.now)
    added_by = factory.SubFactory(UserFactory)

    @factory.post_generation
    def grants(self, create, extracted, **kwargs):
        if create:
            access_recompute(pathway_id=self.pathway_id)


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    referral = factory.SubFactory(ReferralFactory, appointment_set=True)
    starts_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=3))
    outcome_due_at = factory.LazyAttribute(lambda o: o.starts_at + dt.timedelta(hours=24))
    created_by = factory.SelfAttribute("referral.sender_user")


class AgreementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agreement
        skip_postgeneration_save = True  # the hook only sets the parties (m2m)

    name = factory.Sequence(lambda n: f"Convention {n}")
    level = "local"
    starts_on = dt.date(2024, 1, 1)

    @factory.post_generation
    def parties(self, create, extracted, pending=(), declined=(), **kwargs):
        """`parties=[a, b]`: both accepted (the agreement binds them). Some may still have to
        answer or have declined: `parties__pending=[b]`, `parties__declined=[b]`."""
        if not (create and extracted):
            return
        now = timezone.now()
        for organisation in extracted:
            if organisation in pending:
                AgreementParty.objects.create(agreement=self, organisation=organisation)
                continue
            status = "declined" if organisation in declined else "accepted"
            AgreementParty.objects.create(
                agreement=self, organisation=organisation, status=status, decided_at=now
            )

    @factory.post_generation
    def ladder(self, create, extracted, **kwargs):
        """`ladder=[(24, "counsellors"), (72, "managers")]`: its escalation rungs, in order."""
        if not (create and extracted):
            return
        for order, (hours, audience) in enumerate(extracted, start=1):
            EscalationRung.objects.create(
                agreement=self, order=order, after_hours=hours, audience=audience
            )


class ObjectiveFactory(factory.django.DjangoModelFactory):
    """An open objective of a pathway's action plan, added by its owner organisation."""

    class Meta:
        model = Objective

    pathway = factory.SubFactory(PathwayFactory)
    title = factory.Sequence(lambda n: f"Objectif {n}")
    created_at = factory.LazyFunction(timezone.now)
    created_by = factory.SubFactory(UserFactory)
    created_by_organisation = factory.SelfAttribute("pathway.owner_organisation")

    class Params:
        achieved = factory.Trait(status="achieved", closed_at=factory.LazyFunction(timezone.now))


class AnswerNoticeFactory(factory.django.DjangoModelFactory):
    """A receiver's answer told to the sender (issue 14), with the timeline event of its move
    (an acceptance by default); the services write them on each move (notifications)."""

    class Meta:
        model = "notifications.AnswerNotice"

    referral = factory.SubFactory(ReferralFactory, accepted=True)
    event = factory.LazyAttribute(
        lambda o: PathwayEvent.objects.create(
            pathway=o.referral.pathway,
            kind="referral_moved",
            occurred_at=timezone.now(),
            referral=o.referral,
            referral_status=o.referral.status,
            organisation=o.referral.receiver_organisation,
        )
    )
    answer = "accepted"
    recipient = factory.SelfAttribute("referral.sender_user")
    email = factory.LazyAttribute(lambda o: o.recipient.email if o.recipient else "")
    created_at = factory.LazyFunction(timezone.now)


class PlanActionFactory(factory.django.DjangoModelFactory):
    """An action to do, due in ten days, held by the pathway's owner unless told otherwise;
    `overdue=True`: due three days ago; `done=True`: done."""

    class Meta:
        model = PlanAction

    objective = factory.SubFactory(ObjectiveFactory)
    pathway = factory.SelfAttribute("objective.pathway")
    label = factory.Sequence(lambda n: f"Action {n}")
    owner_organisation = factory.SelfAttribute("pathway.owner_organisation")
    due_on = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=10))
    created_at = factory.LazyFunction(timezone.now)
    created_by = factory.SelfAttribute("objective.created_by")
    created_by_organisation = factory.SelfAttribute("objective.created_by_organisation")

    class Params:
        overdue = factory.Trait(
            due_on=factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=3))
        )
        done = factory.Trait(status="done", done_at=factory.LazyFunction(timezone.now))


class ReferralMessageFactory(factory.django.DjangoModelFactory):
    """A message of a referral's thread, written by its sender unless told otherwise
    (`from_receiver=True`: by a member of the receiving organisation)."""

    class Meta:
        model = ReferralMessage

    referral = factory.SubFactory(ReferralFactory, sent=True)
    author = factory.SelfAttribute("referral.sender_user")
    author_organisation = factory.SelfAttribute("referral.sender_organisation")
    text = factory.Sequence(lambda n: f"Message {n}")
    created_at = factory.LazyFunction(timezone.now)

    class Params:
        from_receiver = factory.Trait(
            author=factory.SubFactory(UserFactory),
            author_organisation=factory.SelfAttribute("referral.receiver_organisation"),
        )


class WebhookSubscriptionFactory(factory.django.DjangoModelFactory):
    """A partner system's subscription to referral events (issue 19), with a fixed secret: the
    tests that sign with it use `webhook_subscription_create` for a real one."""

    class Meta:
        model = WebhookSubscription

    organisation = factory.SubFactory(OrganisationFactory)
    url = "https://partenaire.example.org/webhooks"
    description = "Logiciel rSa"
    events = factory.LazyFunction(lambda: ["referral.accepted"])
    secret = "whsec_" + "A" * 44
    secret_prefix = "whsec_AAAAAA"


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    """One message of a subscription's delivery log."""

    class Meta:
        model = WebhookDelivery

    subscription = factory.SubFactory(WebhookSubscriptionFactory)
    event_type = "referral.accepted"
    source_event_id = 1
    message_id = factory.Sequence(lambda n: f"msg_factory_{n}")
    body = "{}"


# --- Consent evidence files (parcours/evidence.py) ------------------------------------------------


def real_pdf(text: str = "Accord de la personne signé") -> bytes:
    """A real one-page PDF (reportlab), as a scanner or a word processor makes one."""
    import io

    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, invariant=1)  # the same bytes each time (no date, no random id)
    page.drawString(72, 720, text)
    page.save()
    return out.getvalue()


def real_image(kind: str = "PNG") -> bytes:
    """A real small PNG or JPEG (Pillow), as a phone's photo of a signed form."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(out, format=kind)
    return out.getvalue()


def with_evidence(consent: Consent, content: bytes | None = None, name: str = "accord.pdf"):
    """The consent with an evidence file kept as the consent services keep one (checked,
    encrypted, under a random name)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from parcours import evidence

    consent.evidence_file = evidence.keep(SimpleUploadedFile(name, content or real_pdf()))
    consent.save(update_fields=["evidence_file"])
    return consent


def api_token_for(
    member,
    *,
    scopes=None,
    days: int = 30,
    requests_per_minute: int = 120,
    system_name: str = "Logiciel partenaire",
) -> tuple[ApiToken, str]:
    """A partner system's token acting as `member`'s account (a Membership or an Actor) for its
    organisation, and its secret (made like the service makes them: only the digest is stored)."""
    from parcours import api_scopes
    from parcours.services.api_token import _new_secret

    secret, prefix, digest = _new_secret()
    now = timezone.now()
    token = ApiToken.objects.create(
        organisation=member.organisation,
        system_name=system_name,
        account=member.user,
        prefix=prefix,
        digest=digest,
        scopes=list(api_scopes.SCOPES if scopes is None else scopes),
        requests_per_minute=requests_per_minute,
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    return token, secret
