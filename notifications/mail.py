"""Building the e-mails of the outbox, in French, HTML + plain text, from templates.

They carry the minimum: the person's first name and initial, the referral's reference, the
partners' names, dates and a link to the record — never a NIR, an address, a social, health or
justice detail, nor any free text typed about the person. A break-glass notice to a DPO says who
opened which category, for which organisation, when, until when and why, with a link to the
DPO's pages — nothing about the person or the record. An answer to the sender (issue 14,
notifications/answers.py) and a reminder to the receiver do not even name the person: the
reference, the organisations, what happened or what is due and when, and the link. An
escalation to the territorial coordinator (a ladder's last rung) names no person either, and not
even the referral's own reference: the pseudonymous one of their « Orientations en retard »
page, where the link leads (the coordinator has no basis to open the record).
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils.translation import gettext as _

from parcours.categories import DataCategory
from parcours.labels import organisation_with_service
from parcours.models import (
    EscalationAudience,
    Referral,
    ReferralStatus,
    SignInRefusal,
)
from parcours.models.person_space import CODE_VALID_MINUTES
from parcours.selectors.territory import reference_of

from .answers import answer_email, answer_lines
from .mail_facts import MailFacts, mail_facts_load
from .mail_parts import day as _day
from .mail_parts import day_and_time as _day_and_time
from .mail_parts import email_of as _email
from .mail_parts import referral_link
from .models import Alert, Audience, OutboxKind, OutboxMessage
from .rules import REMINDER_RULES, RULES


def person_label(referral: Referral) -> str:
    """First name and initial only ("Léa M.")."""
    person = referral.pathway.person
    initial = (person.last_name or "").strip()[:1].upper()
    return f"{person.first_name.strip()} {initial}." if initial else person.first_name.strip()


@dataclass(frozen=True)
class AlertLine:
    """One alert as the e-mail shows it to one audience."""

    title: str
    fact: str
    ask: str
    escalation: str
    reference: str
    link: str


TERRITORY_PERSON = "la personne orientée"


def territory_link() -> str:
    """Where an escalation sends the coordinator: the overdue referrals of their areas."""
    return f"{settings.PARCOURS_PUBLIC_URL.rstrip('/')}/territoire/orientations-en-retard/"


def alert_line(alert: Alert, audience: str) -> AlertLine:
    rule = RULES[alert.kind]
    referral = alert.referral
    territory = audience == Audience.COORDINATOR
    reference = reference_of(referral.pk) if territory else referral.reference
    values = {
        "reference": reference,
        "person": TERRITORY_PERSON if territory else person_label(referral),
        "sender": referral.sender_organisation.name,
        "receiver": organisation_with_service(
            referral.receiver_organisation, referral.receiver_service
        ),
        "sent_on": _day(referral.sent_at),
        "accepted_on": _day(referral.accepted_at),
        "due_on": _day(alert.due_at),
        "appointment_on": _day_and_time(alert.appointment.starts_at if alert.appointment else None)
        or _day(alert.due_at),
    }
    receiving_side = audience in (Audience.RECEIVER, Audience.RECEIVER_MANAGER)
    if territory:
        fact = str(rule.fact) % values
        return AlertLine(
            title=f"{reference} : {rule.subject}",
            fact=fact[:1].upper() + fact[1:],
            ask=_(
                "Les deux structures n'ont pas pu régler la situation : vous pouvez prendre "
                "contact avec elles pour lever le blocage."
            ),
            escalation=_(
                "Cette situation, signalée aux deux structures, est restée sans évolution : elle "
                "vous est transmise en tant que coordinateur territorial. La personne n'est pas "
                "nommée."
            ),
            reference=reference,
            link=territory_link(),
        )
    escalation = ""
    if alert.is_escalation and alert.audience == EscalationAudience.COUNSELLORS:
        escalation = _(
            "Relance : cette situation vous a été signalée et reste sans évolution ni prise en "
            "compte depuis."
        )
    elif alert.is_escalation:
        escalation = _(
            "Cette situation, signalée aux conseillers, est restée sans évolution depuis : "
            "elle vous est transmise en tant que responsable de structure."
        )
    return AlertLine(
        title=f"{referral.reference} : {rule.subject}",
        fact=str(rule.fact) % values,
        ask=str(rule.ask_receiver if receiving_side else rule.ask_sender),
        escalation=escalation,
        reference=referral.reference,
        link=referral_link(referral.pk),
    )


def dpo_pages_link() -> str:
    """Where a break-glass notice sends the DPO: their pages (reports, journal), after login."""
    return f"{settings.PARCOURS_PUBLIC_URL.rstrip('/')}/protection-des-donnees/"


def _break_glass_email(message: OutboxMessage, facts: MailFacts) -> EmailMultiAlternatives | None:
    grant = facts.break_glass.get(message.break_glass_id or 0)
    if grant is None:
        return None  # the opening was deleted (SET_NULL): nothing left to tell
    who = grant.user.get_full_name() or grant.user.get_username()
    context = {
        "who": who,
        "organisation": grant.organisation.name,
        "category": DataCategory(grant.category).label,
        "opened_at": _day_and_time(grant.starts_at),
        "until": _day_and_time(grant.ends_at),
        "reason": grant.reason,
        "dpo_link": dpo_pages_link(),
    }
    subject = _("[parcours] Accès exceptionnel ouvert par %(who)s (%(organisation)s)") % context
    return _email(
        message,
        subject=subject,
        template="notifications/email/break_glass",
        context=context,
        templates=facts.templates,
    )


def _correction_email(message: OutboxMessage, facts: MailFacts) -> EmailMultiAlternatives | None:
    """A recorded attendance or absence was corrected: what was recorded, what is true, who set
    it right and when — never the reason typed (free text about the person)."""
    event = facts.events.get(message.event_id or 0)
    if event is None:
        return None  # the event went with its pathway (SET_NULL): nothing left to tell
    referral = event.referral
    if referral is None:
        return None
    to_attended = event.referral_status == ReferralStatus.ATTENDED
    appointment = facts.appointments.get((referral.pk, event.referral_status or ""))
    who = (event.actor.get_full_name() or event.actor.get_username()) if event.actor else ""
    values = {
        "person": person_label(referral),
        "reference": referral.reference,
        "sender": referral.sender_organisation.name,
        "receiver": organisation_with_service(
            referral.receiver_organisation, referral.receiver_service
        ),
        "appointment": _day_and_time(appointment.starts_at) if appointment else "",
        "who": who,
        "organisation": event.organisation.name if event.organisation else "",
        "corrected_at": _day_and_time(event.occurred_at),
    }
    at_appointment = (
        _(" au rendez-vous du %(appointment)s") % values if values["appointment"] else ""
    )
    if to_attended:
        fact = _(
            "L'absence de %(person)s%(at)s, signalée pour l'orientation %(reference)s de "
            "%(sender)s vers %(receiver)s, était une erreur : %(who)s (%(organisation)s) l'a "
            "corrigée le %(corrected_at)s. La personne est bien venue."
        )
        consequence = _(
            "Une alerte d'absence reçue pour cette orientation est sans objet ; celles qui "
            "n'étaient pas encore parties ont été annulées."
        )
        subject = _("[parcours] %(reference)s : correction — la personne est bien venue")
    else:
        fact = _(
            "La venue de %(person)s%(at)s, saisie pour l'orientation %(reference)s de "
            "%(sender)s vers %(receiver)s, était une erreur : %(who)s (%(organisation)s) l'a "
            "corrigée le %(corrected_at)s. La personne ne s'est pas présentée."
        )
        consequence = _(
            "Vous pouvez reprendre contact avec la personne pour comprendre ce qui l'a empêchée "
            "de venir ; la structure destinataire peut la réinviter à un nouveau rendez-vous."
        )
        subject = _("[parcours] %(reference)s : correction — la personne était absente")
    context = {
        **values,
        "subject": subject % values,
        "fact": fact % {**values, "at": at_appointment},
        "consequence": consequence,
        "link": referral_link(referral.pk),
    }
    return _email(
        message,
        subject=context["subject"],
        template="notifications/email/correction",
        context=context,
        templates=facts.templates,
    )


def _referral_message_email(
    message: OutboxMessage, facts: MailFacts
) -> EmailMultiAlternatives | None:
    """A message was posted on a referral: which referral, between whom, which organisation
    wrote and when, and the link — never the message's text, the author's or the person's name
    (the reader logs in to read it, and the reading is journaled)."""
    posted = facts.referral_messages.get(message.referral_message_id or 0)
    if posted is None:
        return None  # the message went with its record (SET_NULL): nothing left to tell
    referral = posted.referral
    values = {
        "reference": referral.reference,
        "sender": referral.sender_organisation.name,
        "receiver": organisation_with_service(
            referral.receiver_organisation, referral.receiver_service
        ),
        "author": posted.author_organisation.name,
        "posted_at": _day_and_time(posted.created_at),
    }
    context = {
        **values,
        "subject": _("[parcours] %(reference)s : nouveau message de %(author)s") % values,
        "fact": _(
            "%(author)s vous a écrit le %(posted_at)s au sujet de l'orientation %(reference)s "
            "de %(sender)s vers %(receiver)s."
        )
        % values,
        "link": referral_link(referral.pk) + "#messages",
    }
    return _email(
        message,
        subject=context["subject"],
        template="notifications/email/referral_message",
        context=context,
        templates=facts.templates,
    )


def _reminder_email(message: OutboxMessage, facts: MailFacts) -> EmailMultiAlternatives | None:
    """A deadline of the receiver's comes: which referral, which deadline, what to do — no
    person named. None when the referral moved on since the scan wrote it (nothing to remind)."""
    reminder = facts.reminders.get(message.reminder_id or 0)
    if reminder is None:
        return None
    referral = reminder.referral
    rule = REMINDER_RULES[reminder.deadline]
    if referral.status not in rule.statuses:
        return None
    values = {
        "reference": referral.reference,
        "sender": referral.sender_organisation.name,
        "receiver": organisation_with_service(
            referral.receiver_organisation, referral.receiver_service
        ),
        "sent_on": _day(referral.sent_at),
        "accepted_on": _day(referral.accepted_at),
        "due_on": _day(reminder.due_at),
        "due_at": _day_and_time(reminder.due_at),
    }
    context = {
        **values,
        "subject": _("[parcours] %(reference)s : rappel — %(what)s")
        % {"reference": referral.reference, "what": str(rule.subject) % values},
        "fact": str(rule.fact) % values,
        "ask": str(rule.ask),
        "link": referral_link(referral.pk),
    }
    return _email(
        message,
        subject=context["subject"],
        template="notifications/email/reminder",
        context=context,
        templates=facts.templates,
    )


def admin_link(path: str = "") -> str:
    """Where a sign-in notice sends an administrator: the admin (after logging in)."""
    return f"{settings.PARCOURS_PUBLIC_URL.rstrip('/')}/admin/{path}"


def _sign_in_email(message: OutboxMessage, facts: MailFacts) -> EmailMultiAlternatives | None:
    """An agent could not sign in with ProConnect: who (name, address, SIRET transmitted), for
    which organisation, since when and how often, and what the administrator can do — nothing
    about any person followed."""
    request = facts.sign_in_requests.get(message.sign_in_request_id or 0)
    if request is None:
        return None
    values = {
        "who": request.full_name,
        "email": request.email,
        "siret": request.siret,
        "organisation": request.organisation.name if request.organisation else "",
        "first_seen_at": _day_and_time(request.first_seen_at),
        "attempts": request.attempts,
    }
    if request.reason == SignInRefusal.AWAITING_ACTIVATION:
        subject = _("[parcours] %(who)s attend l'activation de son compte (%(organisation)s)")
        fact = _(
            "%(who)s (%(email)s) s'est identifié(e) avec ProConnect le %(first_seen_at)s pour "
            "%(organisation)s (SIRET %(siret)s), mais son compte parcours n'est pas encore "
            "activé : la connexion a été refusée."
        )
        ask = _(
            "Si cette personne travaille bien dans votre structure, ouvrez son appartenance dans "
            "l'administration, vérifiez son rôle (conseiller par défaut) et cochez « active ». "
            "Sinon, laissez-la inactive : aucune donnée ne lui est accessible."
        )
        link = admin_link(
            f"parcours/membership/?organisation__id__exact={request.organisation_id}"
            "&is_active__exact=0"
        )
    else:
        subject = _("[parcours] Connexion ProConnect d'une structure inconnue (SIRET %(siret)s)")
        fact = _(
            "%(who)s (%(email)s) s'est identifié(e) avec ProConnect le %(first_seen_at)s pour "
            "l'établissement de SIRET %(siret)s, qu'aucune organisation de parcours ne porte : "
            "la connexion a été refusée."
        )
        ask = _(
            "Si cette structure doit utiliser parcours, créez son organisation avec ce SIRET "
            "(ou corrigez le SIRET d'une organisation existante) ; à sa prochaine connexion, "
            "la personne obtiendra un compte en attente d'activation par les administrateurs de "
            "la structure."
        )
        link = admin_link("parcours/organisation/")
    context = {**values, "subject": subject % values, "fact": fact % values, "ask": ask}
    return _email(
        message,
        subject=subject % values,
        template="notifications/email/sign_in",
        context={**context, "link": link},
        templates=facts.templates,
    )


def person_link(person_id: int) -> str:
    """Where a benefit-transition warning sends the reader: the person's page (after logging
    in; the gate decides there what they see)."""
    return f"{settings.PARCOURS_PUBLIC_URL.rstrip('/')}/personnes/{person_id}/"


def _rights_end_email(message: OutboxMessage, facts: MailFacts) -> EmailMultiAlternatives | None:
    """A followed person's unemployment rights end soon (issue 18): the date, what to consider,
    the link — no name (the reader opens the record, where the gate decides what they see). None
    when the pathway was closed or archived since the scan, or erased (nothing to warn about)."""
    warning = facts.rights_end_warnings.get(message.rights_end_warning_id or 0)
    if warning is None:
        return None
    pathway = warning.pathway
    if pathway.status != "open" or pathway.archived_at is not None:
        return None
    values = {
        "end_on": warning.rights_end_date.strftime("%d/%m/%Y"),
        "owner": pathway.owner_organisation.name,
        "pathway": pathway.pk,
    }
    subject = _("[parcours] Fin de droits le %(end_on)s pour une personne que vous suivez") % (
        values
    )
    context = {
        **values,
        "subject": subject,
        "fact": _(
            "Les droits à l'allocation chômage d'une personne dont le parcours n°%(pathway)s "
            "est porté par %(owner)s prennent fin le %(end_on)s. Sans autre ressource, elle "
            "pourrait relever du revenu de solidarité active (rSa)."
        )
        % values,
        "ask": _(
            "Faites le point avec elle avant cette date : ses droits, une demande de rSa, et "
            "si besoin une orientation vers le Conseil départemental."
        ),
        "link": person_link(pathway.person_id),
    }
    return _email(
        message,
        subject=subject,
        template="notifications/email/rights_end",
        context=context,
        templates=facts.templates,
    )


def _person_code_email(message: OutboxMessage, facts: MailFacts) -> EmailMultiAlternatives | None:
    """The one-time code a person asked for to open their space (issue 19). None once the code
    is used, locked, replaced or expired: its `mail_code` is emptied then, nothing is sent."""
    code = facts.person_codes.get(message.person_sign_in_code_id or 0)
    if code is None or not code.mail_code:
        return None
    subject = _("Votre code pour ouvrir votre espace parcours")
    context = {
        "subject": subject,
        "code": code.mail_code,
        "minutes": CODE_VALID_MINUTES,
        "link": f"{settings.PARCOURS_PUBLIC_URL.rstrip('/')}/mon-parcours/connexion/code/",
    }
    return _email(
        message,
        subject=subject,
        template="notifications/email/person_code",
        context=context,
        templates=facts.templates,
    )


def _receiver_link_email(message: OutboxMessage, facts: MailFacts) -> EmailMultiAlternatives | None:
    """The link of a receiver without an account (issue 19), to its organisation's contact
    address: who sends whom (the referral's reference, the sender), until when, the link and
    the invitation to ask for an account — no name of the person (the page shows what the
    receiver's bases allow). None when the link was revoked or expired, or its token is gone."""
    from parcours.models import ReceiverLinkState
    from parcours.services.receiver_link import link_url

    link = facts.receiver_links.get(message.receiver_link_id or 0)
    if link is None or link.state() != ReceiverLinkState.ACTIVE or not link.mail_token:
        return None
    referral = link.referral
    values = {
        "reference": referral.reference,
        "sender": referral.sender_organisation.name,
        "receiver": link.organisation.name,
        "until": _day(link.expires_at),
    }
    subject = _("[parcours] Orientation %(reference)s : une personne vous est adressée") % values
    context = {
        **values,
        "subject": subject,
        "fact": _(
            "%(sender)s vous adresse une personne (orientation %(reference)s). Votre structure "
            "n'ayant pas encore de compte parcours, ce lien personnel vous permet d'y répondre : "
            "accepter ou refuser, fixer le rendez-vous, indiquer la suite donnée."
        )
        % values,
        "ask": _(
            "Ce lien ne sert que pour cette orientation, jusqu'au %(until)s au plus tard ; ne le "
            "transférez pas. Pour suivre vos orientations au quotidien, demandez un compte "
            "parcours depuis la page du lien."
        )
        % values,
        "link": link_url(link.mail_token, referral.pk),  # decrypted by its field
    }
    return _email(
        message,
        subject=subject,
        template="notifications/email/receiver_link",
        context=context,
        templates=facts.templates,
    )


def build_email(
    message: OutboxMessage, facts: MailFacts | None = None
) -> EmailMultiAlternatives | None:
    """The e-mail for an outbox row, or None when there is nothing left to say: every alert it
    is about has been resolved meanwhile (and a digest carries no answer either), or its
    break-glass, correction or answer is gone, or a reminder's referral moved on (nothing is
    sent then). `facts`: what a batch's e-mails are built from, read once for the batch
    (`mail_facts.mail_facts_load`); without them, this row's own are read."""
    if facts is None:
        facts = mail_facts_load([message])
    if message.kind == OutboxKind.BREAK_GLASS:
        return _break_glass_email(message, facts)
    if message.kind == OutboxKind.CORRECTION:
        return _correction_email(message, facts)
    if message.kind == OutboxKind.REMINDER:
        return _reminder_email(message, facts)
    if message.kind == OutboxKind.REFERRAL_MESSAGE:
        return _referral_message_email(message, facts)
    if message.kind == OutboxKind.SIGN_IN_REQUEST:
        return _sign_in_email(message, facts)
    if message.kind == OutboxKind.RIGHTS_END:
        return _rights_end_email(message, facts)
    if message.kind == OutboxKind.PERSON_CODE:
        return _person_code_email(message, facts)
    if message.kind == OutboxKind.RECEIVER_LINK:
        return _receiver_link_email(message, facts)
    notices = facts.answers.get(message.pk, [])
    # Answers to the sender (issue 14): their wording lives with them (notifications/answers.py).
    if message.kind == OutboxKind.ANSWER:
        return answer_email(message, notices, templates=facts.templates)
    deliveries = facts.deliveries.get(message.pk, [])
    answers = answer_lines(notices) if message.kind == OutboxKind.DIGEST else []
    if not deliveries and not answers:
        return None
    lines = [alert_line(d.alert, d.audience) for d in deliveries]
    if message.kind == OutboxKind.DIGEST:
        if not answers:
            subject = _("[parcours] Récapitulatif : %(count)s alerte(s) sur vos orientations") % {
                "count": len(lines)
            }
        elif not lines:
            subject = _("[parcours] Récapitulatif : %(count)s réponse(s) à vos orientations") % {
                "count": len(answers)
            }
        else:
            subject = _(
                "[parcours] Récapitulatif : %(alerts)s alerte(s) et %(answers)s réponse(s) sur "
                "vos orientations"
            ) % {"alerts": len(lines), "answers": len(answers)}
        template = "notifications/email/digest"
    else:
        first = deliveries[0].alert
        prefix = ""
        if first.is_escalation:
            counsellors = first.audience == EscalationAudience.COUNSELLORS
            prefix = _("Relance — ") if counsellors else _("Escalade — ")
        subject = "[parcours] " + prefix + lines[0].title
        template = "notifications/email/alert"
    context = {
        "lines": lines,
        "line": lines[0] if lines else None,
        "answers": answers,
        "public_url": settings.PARCOURS_PUBLIC_URL,
        "preferences_url": settings.PARCOURS_PUBLIC_URL.rstrip("/") + "/preferences/",
    }
    return _email(
        message, subject=subject, template=template, context=context, templates=facts.templates
    )
