"""What a page says before a move that cannot be undone from the pages, or that tells the
partners at once: who it concerns and what follows, in French. Shown in a DSFR modal when the
browser runs the DSFR's JavaScript, and on the form shown again without it (the move is made only
with the confirmation posted: `confirm=1`)."""

from dataclasses import dataclass

from django.utils import timezone

from parcours.models import AppointmentOutcome, Pathway, Referral, ReferralStatus
from parcours.transitions import Action

# The referral moves a page makes only once confirmed.
CONFIRMED_MOVES: frozenset[Action] = frozenset(
    {
        Action.WITHDRAW,
        Action.REFUSE,
        Action.RECORD_NO_SHOW,
        Action.CLOSE,
        Action.CORRECT_ATTENDANCE,
        Action.CONFIRM_TRANSFER,
        Action.DECLINE_TRANSFER,
    }
)


@dataclass(frozen=True)
class Confirmation:
    title: str
    text: str
    confirm: str  # the label of the button that makes the move


def _person(referral_or_pathway: Referral | Pathway, named: bool) -> str:
    """« Marie Dupont » when the page may name her, else « la personne »."""
    pathway = (
        referral_or_pathway.pathway
        if isinstance(referral_or_pathway, Referral)
        else referral_or_pathway
    )
    if not named:
        return "la personne"
    person = pathway.person
    return f"{person.first_name} {person.last_name}".strip()


def _of(person: str) -> str:
    return f"de {person}"


def _appointment_on(referral: Referral, outcomes: tuple[str, ...]) -> str:
    appointment = (
        referral.appointments.filter(outcome__in=outcomes).order_by("-starts_at", "-id").first()
    )
    if appointment is None:
        return ""
    moment = timezone.localtime(appointment.starts_at)
    return f" au rendez-vous du {moment:%d/%m/%Y} à {moment:%H:%M}"


def referral_confirmation(action: Action, referral: Referral, *, named: bool) -> Confirmation:
    person = _person(referral, named)
    sender = referral.sender_organisation.name
    receiver = referral.receiver_organisation.name
    if action == Action.REFUSE:
        return Confirmation(
            "Refuser l'orientation ?",
            f"L'orientation {_of(person)} vers {receiver} sera refusée ; l'organisme "
            f"prescripteur, {sender}, en sera informé avec le motif choisi. Un refus est "
            "définitif.",
            "Confirmer le refus",
        )
    if action == Action.WITHDRAW:
        booked = referral.status == ReferralStatus.APPOINTMENT_SET
        return Confirmation(
            "Retirer l'orientation ?",
            f"L'orientation {_of(person)} vers {receiver} sera retirée ; {receiver} n'aura plus "
            "à la traiter"
            + (" et le rendez-vous prévu sera annulé" if booked else "")
            + ". Un retrait est définitif.",
            "Confirmer le retrait",
        )
    if action == Action.RECORD_NO_SHOW:
        return Confirmation(
            "Constater l'absence ?",
            f"L'absence {_of(person)}"
            f"{_appointment_on(referral, (AppointmentOutcome.PENDING,))} sera enregistrée ; "
            f"l'organisme prescripteur, {sender}, en sera prévenu par e-mail.",
            "Confirmer l'absence",
        )
    if action == Action.CLOSE:
        return Confirmation(
            "Clôturer l'orientation ?",
            f"L'orientation {_of(person)} vers {receiver} sera clôturée avec la suite donnée "
            f"choisie ; l'organisme prescripteur, {sender}, recevra ce retour d'information. "
            "Elle ne pourra plus être modifiée.",
            "Confirmer la clôture",
        )
    if action == Action.CORRECT_ATTENDANCE:
        to_attended = referral.status == ReferralStatus.NO_SHOW
        was = (AppointmentOutcome.NO_SHOW,) if to_attended else (AppointmentOutcome.ATTENDED,)
        fact = "L'absence" if to_attended else "La venue"
        becomes = "en venue" if to_attended else "en absence"
        return Confirmation(
            "Corriger la venue ou l'absence ?",
            f"{fact} {_of(person)}{_appointment_on(referral, was)} sera corrigée {becomes} ; "
            f"les partenaires ({sender} et {receiver}) recevront un nouvel e-mail qui le dit. "
            "Le motif reste dans l'historique de l'orientation.",
            "Confirmer la correction",
        )
    if action in (Action.CONFIRM_TRANSFER, Action.DECLINE_TRANSFER):
        partner = referral.transfer_organisation.name if referral.transfer_organisation else ""
        if referral.transfer_service:
            partner += f" ({referral.transfer_service.name})"
        if action == Action.CONFIRM_TRANSFER:
            return Confirmation(
                "Confirmer la réorientation ?",
                f"L'orientation {_of(person)} vers {receiver} prendra fin ; une nouvelle "
                f"orientation, à votre nom, sera envoyée aussitôt à {partner} avec les mêmes "
                "informations partagées, si l'accord de la personne le permet.",
                "Confirmer la réorientation",
            )
        return Confirmation(
            "Refuser la réorientation ?",
            f"La réorientation {_of(person)} vers {partner} ne sera pas faite : l'orientation "
            f"revient à {receiver}, qui devra y répondre à nouveau (accepter, refuser ou proposer "
            "un autre partenaire).",
            "Confirmer le refus de la réorientation",
        )
    raise KeyError(action)


def pathway_close_confirmation(pathway: Pathway, *, named: bool) -> Confirmation:
    return Confirmation(
        "Clôturer le parcours ?",
        f"Le parcours {_of(_person(pathway, named))} sera clôturé avec le motif de sortie "
        "choisi : il ne pourra plus être modifié, et les partenaires qui le suivent le verront "
        "clôturé.",
        "Confirmer la clôture du parcours",
    )
