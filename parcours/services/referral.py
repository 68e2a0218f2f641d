"""Referral lifecycle. Every move goes through `_move`, which reads the one transitions table.

Each public service locks the referral row, checks that the actor's organisation is the party
the table names for that action, applies the move (status + timestamp), writes history with the
actor and a reason, and appends a timeline event — all in one transaction.
"""

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access, gate
from ..actor import Actor, actor_for
from ..categories import ALL_CATEGORIES, REFERRAL_MINIMUM, DataCategory
from ..errors import (
    DuplicateReferral,
    ForbiddenTransition,
    InvalidInput,
    NoMembership,
    NotAllowed,
)
from ..gate import Action as GateAction
from ..gate import Subject
from ..gate.journal import holding, record_write
from ..gate.relations import relations_to_referral
from ..labels import organisation_with_service
from ..models import (
    OPEN_REFERRAL_STATUSES,
    Agreement,
    Appointment,
    AppointmentOutcome,
    EventKind,
    Organisation,
    Pathway,
    PathwayStatus,
    Referral,
    ReferralOutcome,
    ReferralStatus,
    RefusalReason,
    Service,
)
from ..rules import move_action
from ..signals import referral_moved
from ..transitions import (
    ACTION_LABELS,
    STAMPED_FIELD,
    Action,
    Move,
    Party,
    actions_available,
    find_move,
)
from .access_grants import access_recompute, basis_codes_for
from .archive import raise_if_archived
from .delays import add_working_days, delays_for
from .history import save_with_history
from .referral_assignment import assignee_on_accept, take_on
from .timeline import timeline_record

# How far ahead an appointment may be set: beyond, the date is a typing error (the year).
APPOINTMENT_MAX_AHEAD = dt.timedelta(days=365)

PARTY_REFUSAL = {
    Party.SENDER: _("Seul l'organisme prescripteur peut « %(action)s » cette orientation."),
    Party.RECEIVER: _("Seul l'organisme destinataire peut « %(action)s » cette orientation."),
    Party.SYSTEM: _("« %(action)s » est réservé au traitement automatique."),
}


def party_of(actor: Actor | None, referral: Referral) -> Party | None:
    if actor is None:
        return Party.SYSTEM
    if referral.sender_organisation_id == actor.organisation.pk:
        return Party.SENDER
    if referral.receiver_organisation_id == actor.organisation.pk:
        return Party.RECEIVER
    return None


def _lock(actor: Actor | None, referral_id: int, action: Action) -> Referral:
    queryset = Referral.objects if actor is None else access.referrals_visible_to(actor)
    # The pathway is locked first, then the referral: the order of the retention job (which
    # archives and anonymises under the pathway's lock) and of the last-contact stamp, so a move
    # never lands on a pathway archived meanwhile and the two never deadlock.
    located = queryset.only("pk", "pathway_id")
    if actor is None:
        pathway_id = located.get(pk=referral_id).pathway_id
    else:
        pathway_id = gate.locate(actor, located, referral_id, action=move_action(action)).pathway_id
    pathway = Pathway.objects.select_for_update().only("archived_at").get(pk=pathway_id)
    raise_if_archived(pathway)
    return queryset.select_for_update(of=("self",)).get(pk=referral_id)


def _move(
    *,
    referral_id: int,
    actor: Actor | None,
    action: Action,
    reason: str,
    prepare: Callable[[Referral, dt.datetime], None] | None = None,
    text: str | Callable[[], str] = "",
    journal: bool = True,
) -> Referral:
    referral = _lock(actor, referral_id, action)
    move = find_move(action, referral.status)
    if move is None:
        raise ForbiddenTransition(
            current_label=str(ReferralStatus(referral.status).label),
            action_label=str(ACTION_LABELS[action]),
        )
    if actor is None:  # the system (a periodic task) makes the system's moves only
        if move.party != Party.SYSTEM:
            raise NotAllowed(PARTY_REFUSAL[move.party] % {"action": ACTION_LABELS[action]})
    else:
        gate.require(
            actor,
            move_action(action),
            relations=relations_to_referral(actor, referral),
            subject=Subject("referral", referral.pk, referral.pathway.person_id),
        )
        held = holding(actor, [referral.pathway_id])  # the move may end the actor's own bases
    now = timezone.now()
    if prepare is not None:
        prepare(referral, now)
    # A text may name what `prepare` checked (a partner): then it is read once prepared.
    written = text() if callable(text) else text
    _advance(referral, move=move, actor=actor, reason=reason, now=now, text=written)
    if actor is not None and journal:
        _journal(actor, move_action(action), referral, held)
    return referral


def _advance(
    referral: Referral, *, move: Move, actor: Actor | None, reason: str, now: dt.datetime, text: str
) -> None:
    """The move made, once allowed: the state and its stamp, history, grants, the timeline's
    event and the `referral_moved` signal (its receivers run in this transaction)."""
    referral.status = move.target
    stamped = STAMPED_FIELD.get(move.target)
    if stamped:
        setattr(referral, stamped, now)
    save_with_history(referral, actor=actor, reason=reason)
    access_recompute(pathway_id=referral.pathway_id)
    event = timeline_record(
        pathway=referral.pathway,
        kind=EventKind.REFERRAL_MOVED,
        actor=actor,
        referral=referral,
        text=text,
    )
    referral_moved.send(
        sender=Referral,
        referral=referral,
        action=move.action,
        now=now,
        event=event,
        source=move.source,
    )


def _journal(actor: Actor, action: GateAction, referral: Referral, held=None) -> None:
    written = {DataCategory.PATHWAY}
    if referral.context_note:
        written.add(DataCategory.SOCIAL)
    record_write(
        actor,
        action,
        object_type="referral",
        object_id=referral.pk,
        person_id=referral.pathway.person_id,
        pathway_ids=[referral.pathway_id],
        categories=written,
        held=held,
    )


def _stamp_acknowledge_due(referral: Referral, now: dt.datetime) -> None:
    delays = delays_for(
        sender=referral.sender_organisation, receiver=referral.receiver_organisation, on=now.date()
    )
    referral.acknowledge_due_at = add_working_days(now, delays.acknowledge_working_days)


@transaction.atomic
def referral_create(
    *,
    actor: Actor,
    pathway_id: int,
    receiver_organisation_id: int,
    kind: str,
    reason: str,
    receiver_service_id: int | None = None,
    context_note: str = "",
    shared_categories: list[str] | None = None,
    send: bool = True,
) -> Referral:
    """Create a referral from the actor's organisation (sent at once unless `send` is False).

    `shared_categories` are what the receiver will see (identity and pathway always): each
    must be visible to the sender and covered for the receiver by a legal basis or the person's
    consent — the receiver's view is limited to them.

    Raises DuplicateReferral (409) when an open referral of this person to the same receiver
    and service exists; InvalidInput for an unknown receiver or service, a closed pathway, or a
    category the receiver has no basis for.
    """
    # Scope first: a pathway the actor may not see is "not found" (404), whatever their role;
    # then the gate: the organisations that follow the pathway orient the person (a receiver
    # sending the person on would become a sender and see more than it was shared).
    pathway = gate.pathway_for(actor, pathway_id, GateAction.REFERRAL_CREATE)
    raise_if_archived(pathway)
    if pathway.status != PathwayStatus.OPEN:
        raise InvalidInput(_("Ce parcours est clôturé : on ne peut plus orienter la personne."))
    receiver = Organisation.objects.filter(pk=receiver_organisation_id).first()
    if receiver is None:
        raise InvalidInput(
            _("Organisme destinataire inconnu."),
            fields={"receiver_organisation": [_("Organisme inconnu.")]},
        )
    if receiver.pk == actor.organisation.pk:
        raise InvalidInput(
            _("Une organisation ne peut pas s'orienter à elle-même."),
            fields={"receiver_organisation": [_("Choisissez une autre organisation.")]},
        )
    service = None
    if receiver_service_id is not None:
        service = Service.objects.filter(
            pk=receiver_service_id, organisation=receiver, is_active=True
        ).first()
        if service is None:
            raise InvalidInput(
                _("Ce service n'est pas proposé par l'organisme destinataire."),
                fields={"receiver_service": [_("Service inconnu ou inactif pour cet organisme.")]},
            )
    shared = _check_shared_categories(
        actor=actor, pathway=pathway, receiver=receiver, requested=shared_categories
    )
    _raise_if_duplicate(pathway, receiver, service)
    referral = Referral(
        pathway=pathway,
        sender_organisation=actor.organisation,
        sender_user=actor.user,
        receiver_organisation=receiver,
        receiver_service=service,
        kind=kind,
        reason=reason.strip(),
        context_note=context_note.strip(),
        shared_categories=sorted(shared),
        created_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            save_with_history(referral, actor=actor, reason=_("Création de l'orientation"))
    except IntegrityError as exc:  # a concurrent twin won the race
        raise DuplicateReferral(
            _("Une orientation vers %(receiver)s est déjà en cours pour cette personne.")
            % {"receiver": receiver.name},
            existing_referral_id=None,
        ) from exc
    _journal(actor, GateAction.REFERRAL_CREATE, referral)
    if send:  # one user action, one journal row: the creation says it was sent at once
        return _send(actor=actor, referral_id=referral.pk, journal=False)
    # A draft already makes its sender a party (selectors/relationships.py): its rows say so.
    access_recompute(pathway_id=pathway.pk)
    return referral


def _raise_if_duplicate(pathway: Pathway, receiver: Organisation, service: Service | None) -> None:
    """DuplicateReferral (409) when the person already has an open referral to this receiver
    and service (the database's unique constraints say the same, for a race)."""
    existing = pathway.referrals.filter(
        receiver_organisation=receiver,
        receiver_service=service,
        status__in=OPEN_REFERRAL_STATUSES,
    ).first()
    if existing is not None:
        raise DuplicateReferral(
            _(
                "Une orientation vers %(receiver)s est déjà en cours pour cette personne "
                "(%(reference)s, %(status)s) : complétez-la plutôt que d'en créer une seconde."
            )
            % {
                "receiver": receiver.name,
                "reference": existing.reference,
                "status": existing.get_status_display(),
            },
            existing_referral_id=existing.pk,
        )


def _check_shared_categories(
    *, actor: Actor, pathway, receiver: Organisation, requested: list[str] | None
) -> set[str]:
    shared = set(requested or ()) | REFERRAL_MINIMUM
    unknown = shared - ALL_CATEGORIES
    if unknown:
        raise InvalidInput(
            _("Catégorie inconnue."),
            fields={
                "shared_categories": [_("Catégories inconnues : %s") % ", ".join(sorted(unknown))]
            },
        )
    mine = access.categories_for(actor, [pathway.pk])[pathway.pk]
    if not shared <= mine:
        raise InvalidInput(
            _("Vous ne pouvez partager que ce que votre organisation voit."),
            fields={"shared_categories": [_("Catégorie non partagée avec votre organisation.")]},
        )
    covered = basis_codes_for(receiver, pathway)
    missing = sorted(str(DataCategory(c).label) for c in shared if c not in covered)
    if missing:
        raise InvalidInput(
            _(
                "%(receiver)s n'a pas de base pour recevoir : %(missing)s. Recueillez d'abord "
                "l'accord de la personne pour cet organisme."
            )
            % {"receiver": receiver.name, "missing": ", ".join(missing)},
            fields={
                "shared_categories": [_("Accord de la personne manquant pour ce destinataire.")]
            },
        )
    return shared


@transaction.atomic
def referral_send(*, actor: Actor, referral_id: int) -> Referral:
    """Send a draft: the receiver now sees it and must answer within the agreed working days."""
    return _send(actor=actor, referral_id=referral_id, journal=True)


def _send(*, actor: Actor, referral_id: int, journal: bool) -> Referral:
    return _move(
        referral_id=referral_id,
        actor=actor,
        action=Action.SEND,
        reason=_("Envoi de l'orientation"),
        prepare=_stamp_acknowledge_due,
        journal=journal,
    )


@transaction.atomic
def referral_withdraw(*, actor: Actor, referral_id: int, comment: str = "") -> Referral:
    """Withdraw (sender). A pending appointment is cancelled: the person will not come."""

    def cancel_pending(referral: Referral, now: dt.datetime) -> None:
        for pending in referral.appointments.filter(outcome=AppointmentOutcome.PENDING):
            pending.outcome = AppointmentOutcome.CANCELLED
            pending.outcome_recorded_at = now
            save_with_history(pending, actor=actor, reason=_("Orientation retirée"))

    return _move(
        referral_id=referral_id,
        actor=actor,
        action=Action.WITHDRAW,
        reason=_("Retrait de l'orientation par le prescripteur"),
        prepare=cancel_pending,
        text=comment,
    )


@transaction.atomic
def referral_accept(*, actor: Actor, referral_id: int) -> Referral:
    """Accept: an appointment must now be set within the agreed days, and the person seen
    within the agreed first-appointment delay (both watched by the no-show alerts).

    The receiving team (services/referral_assignment.py): a case worker who accepts a referral
    nobody is in charge of becomes its counsellor in charge; once someone is, the receiving
    organisation joins the pathway's care team (grants recomputed in this transaction)."""

    def stamp_first_appointment_due(referral: Referral, now: dt.datetime) -> None:
        delays = delays_for(
            sender=referral.sender_organisation,
            receiver=referral.receiver_organisation,
            on=now.date(),
        )
        referral.appointment_due_at = now + dt.timedelta(days=delays.appointment_set_days)
        referral.first_appointment_due_at = now + dt.timedelta(days=delays.first_appointment_days)
        assignee_on_accept(actor, referral)

    referral = _move(
        referral_id=referral_id,
        actor=actor,
        action=Action.ACCEPT,
        reason=_("Acceptation de l'orientation"),
        prepare=stamp_first_appointment_due,
    )
    take_on(actor, referral)
    return referral


@transaction.atomic
def referral_refuse(
    *, actor: Actor, referral_id: int, refusal_reason: str, comment: str = ""
) -> Referral:
    """Refuse with a structured reason (mandatory) and an optional comment."""
    if refusal_reason not in RefusalReason.values:
        raise InvalidInput(
            _("Le motif de refus est obligatoire."),
            fields={"refusal_reason": [_("Choisissez un motif de refus.")]},
        )
    if refusal_reason == RefusalReason.OTHER and not comment.strip():
        raise InvalidInput(
            _("Précisez le motif de refus."),
            fields={"comment": [_("Un commentaire est obligatoire pour le motif « Autre ».")]},
        )

    def stamp(referral: Referral, now: dt.datetime) -> None:
        referral.refusal_reason = refusal_reason
        referral.refusal_comment = comment.strip()

    return _move(
        referral_id=referral_id,
        actor=actor,
        action=Action.REFUSE,
        reason=_("Refus de l'orientation"),
        prepare=stamp,
        text=str(RefusalReason(refusal_reason).label),
    )


@transaction.atomic
def referral_set_appointment(
    *,
    actor: Actor,
    referral_id: int,
    starts_at: dt.datetime,
    channel: str = "in_person",
    place: str = "",
) -> Appointment:
    """Set (or reschedule, or re-invite to) the appointment. A pending one is cancelled.

    An appointment is set ahead (from the current minute, up to APPOINTMENT_MAX_AHEAD): there is
    no recording of a past one — a meeting that happened without being set is the timeline's
    note, not a pending appointment shown « À venir » (docs/domain.md, "Appointments")."""
    # First: the event's text below formats the date, which overflows at 9999-12-31 23:59 UTC.
    _check_appointment_start(starts_at, timezone.now())
    created: list[Appointment] = []

    def book(referral: Referral, now: dt.datetime) -> None:
        for pending in referral.appointments.filter(outcome=AppointmentOutcome.PENDING):
            pending.outcome = AppointmentOutcome.CANCELLED
            pending.outcome_recorded_at = now
            save_with_history(pending, actor=actor, reason=_("Rendez-vous remplacé"))
        delays = delays_for(
            sender=referral.sender_organisation,
            receiver=referral.receiver_organisation,
            on=now.date(),
        )
        appointment = Appointment(
            referral=referral,
            starts_at=starts_at,
            outcome_due_at=starts_at + dt.timedelta(hours=delays.no_show_grace_hours),
            channel=channel,
            place=place.strip(),
            created_by=actor.user,  # None through a receiver's link
        )
        save_with_history(appointment, actor=actor, reason=_("Rendez-vous fixé"))
        created.append(appointment)

    _move(
        referral_id=referral_id,
        actor=actor,
        action=Action.SET_APPOINTMENT,
        reason=_("Rendez-vous fixé"),
        prepare=book,
        text=timezone.localtime(starts_at).strftime("%d/%m/%Y %H:%M"),
    )
    return created[0]


def _check_appointment_start(starts_at: dt.datetime, now: dt.datetime) -> None:
    """InvalidInput (field `starts_at`) unless the appointment starts from the current minute
    (a form gives minutes: « now » typed is not the past) to APPOINTMENT_MAX_AHEAD ahead."""
    if starts_at < now.replace(second=0, microsecond=0):
        message = _("Un rendez-vous se fixe à venir : cette date est passée.")
        raise InvalidInput(message, fields={"starts_at": [message]})
    if starts_at > now + APPOINTMENT_MAX_AHEAD:
        message = _("Un rendez-vous se fixe au plus un an à l'avance.")
        raise InvalidInput(message, fields={"starts_at": [message]})


def _record_outcome_on_pending(outcome: str, actor: Actor, reason: str):
    def record(referral: Referral, now: dt.datetime) -> None:
        pending = referral.appointments.filter(outcome=AppointmentOutcome.PENDING).first()
        if pending is not None and pending.starts_at > now:
            # Whether the person came is known once the appointment has begun; an absence
            # recorded ahead would tell the partners (by e-mail) something that has not happened.
            raise InvalidInput(
                _(
                    "Le rendez-vous n'a pas encore eu lieu (%(starts)s) : sa venue ou l'absence "
                    "de la personne se constate à partir de son heure."
                )
                % {"starts": timezone.localtime(pending.starts_at).strftime("%d/%m/%Y à %H:%M")}
            )
        if pending is not None:
            pending.outcome = outcome
            pending.outcome_recorded_at = now
            save_with_history(pending, actor=actor, reason=reason)
        # Its author may correct it for a few working days (referral_correct_attendance).
        referral.attendance_recorded_by = actor.user
        referral.attendance_correctable_until = add_working_days(
            now, settings.PARCOURS_ATTENDANCE_CORRECTION_WORKING_DAYS
        )

    return record


@transaction.atomic
def referral_record_attendance(*, actor: Actor, referral_id: int) -> Referral:
    return _move(
        referral_id=referral_id,
        actor=actor,
        action=Action.RECORD_ATTENDANCE,
        reason=_("Venue de la personne constatée"),
        prepare=_record_outcome_on_pending(
            AppointmentOutcome.ATTENDED, actor, _("Venue de la personne constatée")
        ),
    )


@transaction.atomic
def referral_record_no_show(*, actor: Actor, referral_id: int) -> Referral:
    return _move(
        referral_id=referral_id,
        actor=actor,
        action=Action.RECORD_NO_SHOW,
        reason=_("Absence de la personne constatée"),
        prepare=_record_outcome_on_pending(
            AppointmentOutcome.NO_SHOW, actor, _("Absence de la personne constatée")
        ),
    )


@transaction.atomic
def referral_close(*, actor: Actor, referral_id: int, outcome: str, comment: str = "") -> Referral:
    """Close with the outcome fed back to the sender (retour d'information)."""
    if outcome not in ReferralOutcome.values:
        raise InvalidInput(
            _("La suite donnée est obligatoire."),
            fields={"outcome": [_("Choisissez la suite donnée à l'orientation.")]},
        )

    def stamp(referral: Referral, now: dt.datetime) -> None:
        referral.outcome = outcome
        referral.outcome_comment = comment.strip()

    return _move(
        referral_id=referral_id,
        actor=actor,
        action=Action.CLOSE,
        reason=_("Clôture de l'orientation avec retour d'information"),
        prepare=stamp,
        text=str(ReferralOutcome(outcome).label),
    )


@transaction.atomic
def referral_expire(*, referral_id: int) -> Referral:
    """System move: a sent referral nobody answered within PARCOURS_REFERRAL_EXPIRY_DAYS."""
    return _move(
        referral_id=referral_id,
        actor=None,
        action=Action.EXPIRE,
        reason=_("Expiration : aucune réponse de l'organisme destinataire"),
    )


# What a correction turns a recorded outcome into: (referral state, appointment outcome).
CORRECTED_TO: dict[str, tuple[ReferralStatus, AppointmentOutcome]] = {
    ReferralStatus.NO_SHOW: (ReferralStatus.ATTENDED, AppointmentOutcome.ATTENDED),
    ReferralStatus.ATTENDED: (ReferralStatus.NO_SHOW, AppointmentOutcome.NO_SHOW),
}
CORRECTION_REASON_MAX = 1000


def correction_refusal(actor: Actor, referral: Referral) -> str | None:
    """Why the actor may not correct the referral's recorded outcome as its author (the gate's
    AUTHOR_WINDOWS), or None: what the referral page reads to offer « Corriger »."""
    return gate.author_refusal(
        actor,
        GateAction.REFERRAL_CORRECT_ATTENDANCE,
        author_id=referral.attendance_recorded_by_id,
        until=referral.attendance_correctable_until,
    )


def moves_offered(actor: Actor, referral: Referral) -> list[Action]:
    """The moves the actor's party may make from the referral's state (the transitions table)
    that the gate's table lets the actor's role make (a receiver's link: the receiver's answers
    only), less a correction the actor may not make as its author: the buttons and the API's
    `available_actions`, in table order — the same for every door."""
    party = party_of(actor, referral)
    if party is None:
        return []
    relations = relations_to_referral(actor, referral)
    return [
        action
        for action in actions_available(referral.status, party)
        if action not in NOT_OFFERED
        and gate.may(actor, move_action(action), relations)
        and (action != Action.CORRECT_ATTENDANCE or correction_refusal(actor, referral) is None)
    ]


# Moves the table holds that are no button of their own: a proposal of transfer becomes a
# transfer at once when an agreement allows it (`referral_propose_transfer` decides, once the
# partner is chosen), so the receiver is offered « proposer une réorientation » only.
NOT_OFFERED = frozenset({Action.TRANSFER_UNDER_AGREEMENT})


@transaction.atomic
def referral_correct_attendance(*, actor: Actor, referral_id: int, reason: str) -> Referral:
    """Correct a wrong attendance or absence: the referral and its appointment take the other
    outcome, with history and a timeline event carrying the reason.

    Preconditions: the transitions table (from `no_show` or `attended`), the receiver's side
    (rules.RULES), and its author within the delay (rules.AUTHOR_WINDOWS, refusals journaled);
    a reason (InvalidInput otherwise). Side effects, in this transaction: the partners' e-mail
    saying what was corrected (notifications, on `referral_moved` with this action: outbox
    rows); to an attendance, the absence's alerts resolve and their unsent e-mails are
    cancelled; to an absence, the scan treats it as a fresh no-show (its alert, unless that
    appointment was already alerted as missed — ADR 0006, amended by issue 14). The delay runs
    from the first recording."""
    reason = reason.strip()
    if not reason:
        message = _("Dites ce qui s'est réellement passé : le motif de la correction est requis.")
        raise InvalidInput(message, fields={"reason": [message]})
    if len(reason) > CORRECTION_REASON_MAX:
        message = _("Le motif tient en %(max)s caractères au plus.") % {
            "max": CORRECTION_REASON_MAX
        }
        raise InvalidInput(message, fields={"reason": [message]})

    def correct(referral: Referral, now: dt.datetime) -> None:
        gate.require_author(
            actor,
            GateAction.REFERRAL_CORRECT_ATTENDANCE,
            author_id=referral.attendance_recorded_by_id,
            until=referral.attendance_correctable_until,
            subject=Subject("referral", referral.pk, referral.pathway.person_id),
        )
        target, outcome = CORRECTED_TO[referral.status]
        was = CORRECTED_TO[target][1]
        appointment = (
            referral.appointments.filter(outcome=was).order_by("-starts_at", "-id").first()
        )
        if appointment is not None:
            appointment.outcome = outcome
            appointment.outcome_recorded_at = now
            save_with_history(appointment, actor=actor, reason=_("Correction de l'issue saisie"))

    # Locked first to name the two states in the event (locking again in `_move` is a no-op).
    referral = _lock(actor, referral_id, Action.CORRECT_ATTENDANCE)
    source = str(ReferralStatus(referral.status).label)
    target_label = (
        str(CORRECTED_TO[referral.status][0].label) if referral.status in CORRECTED_TO else ""
    )
    return _move(
        referral_id=referral_id,
        actor=actor,
        action=Action.CORRECT_ATTENDANCE,
        reason=_("Correction de la venue ou de l'absence saisie"),
        prepare=correct,
        text=_("Correction : « %(source)s » devient « %(target)s ». Motif : %(reason)s")
        % {"source": source, "target": target_label, "reason": reason},
    )


# --- Réorientation (transfer) --------------------------------------------------------------------
#
# The receiver proposes another partner instead of refusing (`referral_propose_transfer`); the
# sender confirms (`referral_confirm_transfer`: this referral ends `transferred`, a new one goes
# from the sender to the partner, sent at once) or declines (`referral_decline_transfer`: back to
# the receiver, who must answer). Within an agreement in force between the receiver and the
# partner that allows it (`Agreement.receiver_may_transfer`), the proposal is confirmed at once
# (`referral_transfer`, the move `transfer_under_agreement`). docs/domain.md, "Réorientation".

TRANSFER_REASON_MAX = 2000


def _check_transfer_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        message = _("Dites pourquoi ce partenaire conviendrait mieux : le motif est requis.")
        raise InvalidInput(message, fields={"reason": [message]})
    if len(reason) > TRANSFER_REASON_MAX:
        message = _("Le motif tient en %(max)s caractères au plus.") % {"max": TRANSFER_REASON_MAX}
        raise InvalidInput(message, fields={"reason": [message]})
    return reason


def _as_id(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None


def _transfer_partner(
    actor: Actor, referral: Referral, organisation_id: object, service_id: object
) -> tuple[Organisation, Service | None]:
    """The partner a receiver proposes (and its service), from the directory: InvalidInput for
    an unknown one, one of the referral's two organisations, or a service it does not offer
    (or no longer: an inactive one)."""
    key = _as_id(organisation_id)
    partner = (
        access.organisations_visible_to(actor).filter(pk=key).first() if key is not None else None
    )
    if partner is None:
        raise InvalidInput(
            _("Partenaire inconnu : choisissez-le dans l'annuaire."),
            fields={"receiver_organisation": [_("Organisme inconnu.")]},
        )
    if partner.pk == referral.receiver_organisation_id:
        message = _(
            "Proposez un autre partenaire que l'organisme destinataire : pour garder la personne, "
            "acceptez l'orientation."
        )
        raise InvalidInput(message, fields={"receiver_organisation": [message]})
    if partner.pk == referral.sender_organisation_id:
        message = _(
            "%(sender)s est l'organisme prescripteur : pour lui rendre la personne, refusez "
            "l'orientation avec un motif."
        ) % {"sender": partner.name}
        raise InvalidInput(message, fields={"receiver_organisation": [message]})
    service = None
    if service_id not in (None, ""):
        key = _as_id(service_id)
        service = (
            Service.objects.filter(pk=key, organisation=partner, is_active=True).first()
            if key is not None
            else None
        )
        if service is None:
            raise InvalidInput(
                _("Ce service n'est pas proposé par le partenaire choisi."),
                fields={"receiver_service": [_("Service inconnu ou inactif pour cet organisme.")]},
            )
    return partner, service


def _sender_actor(referral: Referral) -> Actor | None:
    """The sending counsellor, acting for the sending organisation: the new referral of a
    transfer made at once by the receiver is theirs (None if they left the organisation)."""
    try:
        return actor_for(referral.sender_user, referral.sender_organisation_id)
    except NoMembership:
        return None


def _successor_check(
    *, sender: Actor, referral: Referral, partner: Organisation, service: Service | None
) -> set[str]:
    """What `referral_create` checks, for the referral that follows a transfer: the same shared
    categories, still within what the sender sees and covered for the partner by a basis (the
    person's consent, a legal basis, an agreement), and no open referral there already."""
    shared = _check_shared_categories(
        actor=sender,
        pathway=referral.pathway,
        receiver=partner,
        requested=list(referral.shared_categories),
    )
    _raise_if_duplicate(referral.pathway, partner, service)
    return shared


def _agreement_allowing_transfer(referral: Referral, partner: Organisation) -> Agreement | None:
    return (
        Agreement.objects.allowing_transfer(
            referral.receiver_organisation_id, partner.pk, timezone.localdate()
        )
        .order_by("pk")
        .first()
    )


def _transfer(
    *,
    actor: Actor,
    referral_id: int,
    action: Action,
    sender: Actor,
    partner: Organisation | None = None,
    service: Service | None = None,
    reason: str = "",
    agreement: Agreement | None = None,
) -> Referral:
    """The original moves to `transferred` and a new referral, from `sender` to the partner,
    is created and sent — one transaction, one journal row per referral written.

    `partner`, `service` and `reason` are the proposal's when the sender confirms it, the ones
    given when the receiver transfers at once (`agreement` names the agreement that allows it)."""
    referral = _lock(actor, referral_id, action)
    held = holding(actor, [referral.pathway_id])
    successor: list[Referral] = []

    def open_successor(original: Referral, now: dt.datetime) -> None:
        if action == Action.TRANSFER_UNDER_AGREEMENT:
            assert partner is not None
            target, target_service = partner, service
            original.transfer_organisation = partner
            original.transfer_service = service
            original.transfer_reason = reason
            original.transfer_proposed_at = now
        else:  # the proposal stands: its partner and service, checked again
            target, target_service = _transfer_partner(
                actor,
                original,
                original.transfer_organisation_id,
                original.transfer_service_id,
            )
        shared = _successor_check(
            sender=sender, referral=original, partner=target, service=target_service
        )
        new = Referral(
            pathway=original.pathway,
            sender_organisation=original.sender_organisation,
            sender_user=sender.user,
            receiver_organisation=target,
            receiver_service=target_service,
            kind=original.kind,
            reason=original.reason,
            context_note=original.context_note,
            shared_categories=sorted(shared),
            created_at=now,
        )
        try:
            with transaction.atomic():
                save_with_history(
                    new,
                    actor=actor,
                    reason=_("Création par la réorientation de %(reference)s")
                    % {"reference": original.reference},
                )
        except IntegrityError as exc:  # a concurrent twin won the race
            raise DuplicateReferral(
                _("Une orientation vers %(receiver)s est déjà en cours pour cette personne.")
                % {"receiver": target.name},
                existing_referral_id=None,
            ) from exc
        original.transferred_to = new
        successor.append(new)
        written.append(
            _("Réorientée vers %(partner)s.")
            % {"partner": organisation_with_service(target, target_service)}
        )
        if agreement is not None:
            written.append(
                _("Dans le cadre de la convention « %(agreement)s ».")
                % {"agreement": agreement.name}
            )

    written: list[str] = []
    referral = _move(
        referral_id=referral_id,
        actor=actor,
        action=action,
        reason=_("Réorientation vers un autre partenaire"),
        prepare=open_successor,
        text=lambda: " ".join(written),
        journal=False,
    )
    new = successor[0]
    # Sent at once, through the table's own move: its stamp, its answer's deadline, its event.
    send = find_move(Action.SEND, new.status)
    assert send is not None
    now = timezone.now()
    _stamp_acknowledge_due(new, now)
    _advance(
        new,
        move=send,
        actor=actor,
        reason=_("Envoi de l'orientation issue d'une réorientation"),
        now=now,
        text=_("Suite de la réorientation de %(reference)s.") % {"reference": referral.reference},
    )
    _journal(actor, move_action(action), referral, held)
    _journal(actor, move_action(action), new, held)
    return referral


@transaction.atomic
def referral_propose_transfer(
    *,
    actor: Actor,
    referral_id: int,
    receiver_organisation_id: object,
    reason: str,
    receiver_service_id: object = None,
) -> Referral:
    """The receiver proposes another partner (an organisation of the directory, optionally one
    of its services) with a reason, instead of refusing (or, accepted, before any appointment).

    Preconditions: the transitions table (from `sent` or `accepted`), the receiver's side
    (rules.RULES); a reason; a partner other than the two organisations of the referral, with
    an active service if one is named, and no open referral of the person there already.

    When an agreement in force between the receiver and the partner allows it, the actor may
    send people on (a case worker) and `referral_create`'s checks pass for the sending
    counsellor, the proposal is confirmed at once (`referral_transfer`); otherwise the referral
    waits in `transfer_proposed` for the sender's answer (its alerts resolve: it moved on)."""
    reason = _check_transfer_reason(reason)
    referral = _lock(actor, referral_id, Action.PROPOSE_TRANSFER)
    at_once = _transfer_at_once(actor, referral, receiver_organisation_id, receiver_service_id)
    if at_once is not None:
        partner, service, agreement, sender = at_once
        return _transfer(
            actor=actor,
            referral_id=referral_id,
            action=Action.TRANSFER_UNDER_AGREEMENT,
            sender=sender,
            partner=partner,
            service=service,
            reason=reason,
            agreement=agreement,
        )
    proposal: list[str] = []

    def stamp_proposal(original: Referral, now: dt.datetime) -> None:
        partner, service = _transfer_partner(
            actor, original, receiver_organisation_id, receiver_service_id
        )
        _raise_if_duplicate(original.pathway, partner, service)
        original.transfer_organisation = partner
        original.transfer_service = service
        original.transfer_reason = reason
        proposal.append(organisation_with_service(partner, service))

    return _move(
        referral_id=referral_id,
        actor=actor,
        action=Action.PROPOSE_TRANSFER,
        reason=_("Proposition de réorientation"),
        prepare=stamp_proposal,
        text=lambda: (
            _("Réorientation proposée vers %(partner)s. Motif : %(reason)s")
            % {"partner": proposal[0], "reason": reason}
        ),
    )


def _transfer_at_once(
    actor: Actor, referral: Referral, organisation_id: object, service_id: object
) -> tuple[Organisation, Service | None, Agreement, Actor] | None:
    """The partner, its service, the agreement and the sending counsellor when the receiver's
    proposal may be confirmed at once; None when it must wait for the sender (or be refused by
    the proposal's own checks)."""
    if find_move(Action.TRANSFER_UNDER_AGREEMENT, referral.status) is None:
        return None
    if not gate.may(
        actor,
        move_action(Action.TRANSFER_UNDER_AGREEMENT),
        relations_to_referral(actor, referral),
    ):
        return None
    try:
        partner, service = _transfer_partner(actor, referral, organisation_id, service_id)
    except InvalidInput:
        return None
    agreement = _agreement_allowing_transfer(referral, partner)
    sender = _sender_actor(referral) if agreement is not None else None
    if agreement is None or sender is None:
        return None
    try:
        _successor_check(sender=sender, referral=referral, partner=partner, service=service)
    except (InvalidInput, DuplicateReferral):
        return None  # the sender will see why when it answers the proposal
    return partner, service, agreement, sender


@transaction.atomic
def referral_transfer(
    *,
    actor: Actor,
    referral_id: int,
    receiver_organisation_id: object,
    reason: str,
    receiver_service_id: object = None,
) -> Referral:
    """The receiver transfers at once, within an agreement in force between it and the partner
    that allows it (`receiver_may_transfer`): the move `transfer_under_agreement`, case workers
    only. InvalidInput when no such agreement binds them, or when `referral_create`'s checks fail
    for the sending counsellor (then propose instead: the sender confirms)."""
    reason = _check_transfer_reason(reason)
    referral = _lock(actor, referral_id, Action.TRANSFER_UNDER_AGREEMENT)
    move = find_move(Action.TRANSFER_UNDER_AGREEMENT, referral.status)
    if move is None:
        raise ForbiddenTransition(
            current_label=str(ReferralStatus(referral.status).label),
            action_label=str(ACTION_LABELS[Action.TRANSFER_UNDER_AGREEMENT]),
        )
    gate.require(
        actor,
        move_action(Action.TRANSFER_UNDER_AGREEMENT),
        relations=relations_to_referral(actor, referral),
        subject=Subject("referral", referral.pk, referral.pathway.person_id),
    )
    partner, service = _transfer_partner(
        actor, referral, receiver_organisation_id, receiver_service_id
    )
    agreement = _agreement_allowing_transfer(referral, partner)
    if agreement is None:
        message = _(
            "Aucune convention en vigueur entre votre organisation et %(partner)s ne permet de "
            "réorienter sans l'accord du prescripteur : proposez la réorientation."
        ) % {"partner": partner.name}
        raise InvalidInput(message, fields={"receiver_organisation": [message]})
    sender = _sender_actor(referral)
    if sender is None:
        message = _(
            "Le conseiller prescripteur n'est plus membre de son organisme : proposez la "
            "réorientation, un autre membre la confirmera."
        )
        raise InvalidInput(message)
    return _transfer(
        actor=actor,
        referral_id=referral_id,
        action=Action.TRANSFER_UNDER_AGREEMENT,
        sender=sender,
        partner=partner,
        service=service,
        reason=reason,
        agreement=agreement,
    )


@transaction.atomic
def referral_confirm_transfer(*, actor: Actor, referral_id: int) -> Referral:
    """The sender confirms the receiver's proposal: this referral ends `transferred`, pointing
    to a new referral from the actor (its sending counsellor now) to the partner, with the same
    pathway, kind, reason, context and shared categories — checked again as `referral_create`
    checks them (what the actor sees, the partner's basis, no duplicate) — sent at once. The
    partner's access follows from the grants' recompute; this referral's alerts resolve."""
    return _transfer(
        actor=actor, referral_id=referral_id, action=Action.CONFIRM_TRANSFER, sender=actor
    )


@transaction.atomic
def referral_decline_transfer(*, actor: Actor, referral_id: int, comment: str = "") -> Referral:
    """The sender declines the proposal: the referral goes back to the receiver (`sent`), who
    must answer it — accept, refuse or propose another partner. Its answer's deadline and the
    expiry delay run again from now; an acceptance given before the proposal is undone (the
    history keeps it). The proposal is cleared from the referral (history and timeline keep
    it)."""
    comment = (comment or "").strip()
    if len(comment) > TRANSFER_REASON_MAX:
        message = _("Le commentaire tient en %(max)s caractères au plus.") % {
            "max": TRANSFER_REASON_MAX
        }
        raise InvalidInput(message, fields={"comment": [message]})
    referral = _lock(actor, referral_id, Action.DECLINE_TRANSFER)
    proposed = referral.transfer_organisation
    partner = organisation_with_service(proposed, referral.transfer_service) if proposed else "—"

    def back_to_receiver(original: Referral, now: dt.datetime) -> None:
        original.transfer_organisation = None
        original.transfer_service = None
        original.transfer_reason = ""
        original.transfer_proposed_at = None
        original.accepted_at = None
        original.appointment_due_at = None
        original.first_appointment_due_at = None
        _stamp_acknowledge_due(original, now)

    text = _("Réorientation vers %(partner)s refusée par le prescripteur.") % {"partner": partner}
    if comment:
        text += " " + comment
    return _move(
        referral_id=referral_id,
        actor=actor,
        action=Action.DECLINE_TRANSFER,
        reason=_("Réorientation refusée par le prescripteur"),
        prepare=back_to_receiver,
        text=text,
    )


# The service behind each move a party makes (EXPIRE is the system's alone), keyed by the
# transitions table's actions: pages post an action name and call `referral_move`.
PARTY_MOVE_SERVICES: dict[Action, Callable[..., object]] = {
    Action.SEND: referral_send,
    Action.WITHDRAW: referral_withdraw,
    Action.ACCEPT: referral_accept,
    Action.REFUSE: referral_refuse,
    Action.SET_APPOINTMENT: referral_set_appointment,
    Action.RECORD_ATTENDANCE: referral_record_attendance,
    Action.RECORD_NO_SHOW: referral_record_no_show,
    Action.CLOSE: referral_close,
    Action.CORRECT_ATTENDANCE: referral_correct_attendance,
    Action.PROPOSE_TRANSFER: referral_propose_transfer,
    Action.CONFIRM_TRANSFER: referral_confirm_transfer,
    Action.DECLINE_TRANSFER: referral_decline_transfer,
    Action.TRANSFER_UNDER_AGREEMENT: referral_transfer,
}


def referral_move(*, actor: Actor, referral_id: int, action: Action, **details: object) -> None:
    """Apply the party move `action` with its details (reason, appointment, outcome…)."""
    PARTY_MOVE_SERVICES[action](actor=actor, referral_id=referral_id, **details)
