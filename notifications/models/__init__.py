"""Alerts about referrals, their deliveries and the e-mail outbox."""

from .alert import ALERT_STATE_MOVES, Alert, AlertKind, AlertLevel, AlertState
from .outbox import Audience, Delivery, OutboxKind, OutboxMessage, OutboxStatus
from .preference import DeliveryMode, NotificationPreference

__all__ = [
    "ALERT_STATE_MOVES",
    "Alert",
    "AlertKind",
    "AlertLevel",
    "AlertState",
    "Audience",
    "Delivery",
    "DeliveryMode",
    "NotificationPreference",
    "OutboxKind",
    "OutboxMessage",
    "OutboxStatus",
]
