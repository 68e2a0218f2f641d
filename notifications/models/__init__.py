"""Alerts about referrals, their deliveries and the e-mail outbox."""

from .alert import ALERT_STATE_MOVES, Alert, AlertKind, AlertLevel, AlertState
from .answer import ANSWER_OF_MOVE, AnswerKind, AnswerNotice, answer_kind_of
from .outbox import Audience, Delivery, OutboxKind, OutboxMessage, OutboxStatus
from .preference import DeliveryMode, NotificationPreference
from .reminder import Reminder, ReminderDeadline, ReminderState
from .rights_end import RightsEndWarning

__all__ = [
    "ALERT_STATE_MOVES",
    "ANSWER_OF_MOVE",
    "Alert",
    "AlertKind",
    "AlertLevel",
    "AlertState",
    "AnswerKind",
    "AnswerNotice",
    "Audience",
    "Delivery",
    "DeliveryMode",
    "NotificationPreference",
    "OutboxKind",
    "OutboxMessage",
    "OutboxStatus",
    "Reminder",
    "ReminderDeadline",
    "ReminderState",
    "RightsEndWarning",
    "answer_kind_of",
]
