"""The referral state machine, as data.

`MOVES` is the one table of allowed moves. The service (`parcours.services.referral`) applies it,
the tests enumerate it (every allowed and every forbidden move), and the UI reads it to know which
buttons to show. Changing the lifecycle means changing this table, nothing else.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models.referral import ReferralStatus as S


class Party(StrEnum):
    SENDER = "sender"  # the prescribing organisation
    RECEIVER = "receiver"  # the organisation the person is sent to
    SYSTEM = "system"  # periodic tasks (expiry)


class Action(StrEnum):
    SEND = "send"
    WITHDRAW = "withdraw"
    ACCEPT = "accept"
    REFUSE = "refuse"
    EXPIRE = "expire"
    SET_APPOINTMENT = "set_appointment"
    RECORD_ATTENDANCE = "record_attendance"
    RECORD_NO_SHOW = "record_no_show"
    CLOSE = "close"
    CORRECT_ATTENDANCE = "correct_attendance"
    # Réorientation (issue 14): the receiver proposes another partner, the sender confirms or
    # declines; within an agreement that allows it, the receiver transfers at once.
    PROPOSE_TRANSFER = "propose_transfer"
    CONFIRM_TRANSFER = "confirm_transfer"
    DECLINE_TRANSFER = "decline_transfer"
    TRANSFER_UNDER_AGREEMENT = "transfer_under_agreement"


ACTION_LABELS: dict[Action, Promise] = {
    Action.SEND: _("envoyer"),
    Action.WITHDRAW: _("retirer"),
    Action.ACCEPT: _("accepter"),
    Action.REFUSE: _("refuser"),
    Action.EXPIRE: _("expirer"),
    Action.SET_APPOINTMENT: _("fixer un rendez-vous"),
    Action.RECORD_ATTENDANCE: _("constater la venue"),
    Action.RECORD_NO_SHOW: _("constater l'absence"),
    Action.CLOSE: _("clôturer"),
    Action.CORRECT_ATTENDANCE: _("corriger la venue ou l'absence"),
    Action.PROPOSE_TRANSFER: _("proposer une réorientation"),
    Action.CONFIRM_TRANSFER: _("confirmer la réorientation"),
    Action.DECLINE_TRANSFER: _("refuser la réorientation"),
    Action.TRANSFER_UNDER_AGREEMENT: _("réorienter dans le cadre d'une convention"),
}

# Which party may perform an action (the same for every source state of that action).
ACTION_PARTY: dict[Action, Party] = {
    Action.SEND: Party.SENDER,
    Action.WITHDRAW: Party.SENDER,
    Action.ACCEPT: Party.RECEIVER,
    Action.REFUSE: Party.RECEIVER,
    Action.EXPIRE: Party.SYSTEM,
    Action.SET_APPOINTMENT: Party.RECEIVER,
    Action.RECORD_ATTENDANCE: Party.RECEIVER,
    Action.RECORD_NO_SHOW: Party.RECEIVER,
    Action.CLOSE: Party.RECEIVER,
    # Only the member who recorded the outcome, within a delay (rules.AUTHOR_WINDOWS).
    Action.CORRECT_ATTENDANCE: Party.RECEIVER,
    Action.PROPOSE_TRANSFER: Party.RECEIVER,
    Action.CONFIRM_TRANSFER: Party.SENDER,
    Action.DECLINE_TRANSFER: Party.SENDER,
    # Only with an agreement in force between the receiver and the partner that allows it
    # (`Agreement.receiver_may_transfer`, checked by the service): the proposal confirmed at once.
    Action.TRANSFER_UNDER_AGREEMENT: Party.RECEIVER,
}


@dataclass(frozen=True)
class Move:
    action: Action
    source: S
    target: S

    @property
    def party(self) -> Party:
        return ACTION_PARTY[self.action]


MOVES: tuple[Move, ...] = (
    Move(Action.SEND, S.DRAFT, S.SENT),
    Move(Action.WITHDRAW, S.DRAFT, S.WITHDRAWN),
    Move(Action.WITHDRAW, S.SENT, S.WITHDRAWN),
    Move(Action.WITHDRAW, S.ACCEPTED, S.WITHDRAWN),
    Move(Action.WITHDRAW, S.APPOINTMENT_SET, S.WITHDRAWN),
    Move(Action.WITHDRAW, S.NO_SHOW, S.WITHDRAWN),
    Move(Action.ACCEPT, S.SENT, S.ACCEPTED),
    Move(Action.REFUSE, S.SENT, S.REFUSED),
    Move(Action.EXPIRE, S.SENT, S.EXPIRED),
    Move(Action.SET_APPOINTMENT, S.ACCEPTED, S.APPOINTMENT_SET),
    # Rescheduling: the pending appointment is cancelled and replaced.
    Move(Action.SET_APPOINTMENT, S.APPOINTMENT_SET, S.APPOINTMENT_SET),
    # Re-invitation after a no-show.
    Move(Action.SET_APPOINTMENT, S.NO_SHOW, S.APPOINTMENT_SET),
    Move(Action.RECORD_ATTENDANCE, S.APPOINTMENT_SET, S.ATTENDED),
    Move(Action.RECORD_NO_SHOW, S.APPOINTMENT_SET, S.NO_SHOW),
    # Closing feeds the outcome back to the sender (retour d'information).
    Move(Action.CLOSE, S.ACCEPTED, S.CLOSED),
    Move(Action.CLOSE, S.ATTENDED, S.CLOSED),
    Move(Action.CLOSE, S.NO_SHOW, S.CLOSED),
    # A wrong attendance or absence, corrected by its author within a delay; the partners get
    # a new e-mail (docs/architecture.md, "Correcting an attendance or an absence").
    Move(Action.CORRECT_ATTENDANCE, S.NO_SHOW, S.ATTENDED),
    Move(Action.CORRECT_ATTENDANCE, S.ATTENDED, S.NO_SHOW),
    # Réorientation, instead of refusing (or, once accepted, before any appointment): the
    # receiver names another partner; the sender answers.
    Move(Action.PROPOSE_TRANSFER, S.SENT, S.TRANSFER_PROPOSED),
    Move(Action.PROPOSE_TRANSFER, S.ACCEPTED, S.TRANSFER_PROPOSED),
    # Confirmed: this referral ends, a new one goes from the sender to the partner, sent at once.
    Move(Action.CONFIRM_TRANSFER, S.TRANSFER_PROPOSED, S.TRANSFERRED),
    # Declined: the referral goes back to the receiver, who must answer it (accept, refuse or
    # propose another partner) — `sent` again, whether it was sent or accepted before: one move
    # has one target, and the sender's « no » restarts the answer's clock (docs/domain.md).
    Move(Action.DECLINE_TRANSFER, S.TRANSFER_PROPOSED, S.SENT),
    Move(Action.WITHDRAW, S.TRANSFER_PROPOSED, S.WITHDRAWN),
    Move(Action.TRANSFER_UNDER_AGREEMENT, S.SENT, S.TRANSFERRED),
    Move(Action.TRANSFER_UNDER_AGREEMENT, S.ACCEPTED, S.TRANSFERRED),
)

_BY_KEY: dict[tuple[Action, S], Move] = {(m.action, m.source): m for m in MOVES}

# The timestamp stamped when a referral reaches a state.
STAMPED_FIELD: dict[S, str] = {
    S.SENT: "sent_at",
    S.ACCEPTED: "accepted_at",
    S.REFUSED: "refused_at",
    S.WITHDRAWN: "withdrawn_at",
    S.EXPIRED: "expired_at",
    S.ATTENDED: "attended_at",
    S.NO_SHOW: "no_show_at",
    S.CLOSED: "closed_at",
    S.TRANSFER_PROPOSED: "transfer_proposed_at",
    S.TRANSFERRED: "transferred_at",
}


def find_move(action: Action, source: str) -> Move | None:
    return _BY_KEY.get((action, S(source)))


def actions_available(status: str, party: Party) -> list[Action]:
    """What `party` may do from `status`, in table order (the UI shows these buttons)."""
    return [m.action for m in MOVES if m.source == status and m.party == party]
