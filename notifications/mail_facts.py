"""What the e-mails of a relay batch are built from, read for the whole batch at once (issue 17).

Building an e-mail used to cost its own queries — the deliveries with their alerts, referrals,
people and organisations (eight joins), or the break-glass opening, the event, the reminder… —
about as long as the rest of the send. `mail_facts_load` reads each kind of fact once for all
the outbox rows of a batch (one query per kind present in it) and `notifications/mail.py` builds
each e-mail from them: the same rows, the same filters, only fewer round trips.

The facts are read after the batch is claimed, as the e-mails were built after their claim; what
changes between that read and a row's send (an alert resolved a fraction of a second before) is
what changed between the build and the send before.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from parcours.models import (
    Appointment,
    BreakGlass,
    PathwayEvent,
    PersonSignInCode,
    ReceiverLink,
    ReferralMessage,
    SignInRequest,
)

from .answers import ANSWER_LINE_RELATED
from .mail_parts import Templates
from .models import (
    AnswerNotice,
    Delivery,
    OutboxKind,
    OutboxMessage,
    Reminder,
    RightsEndWarning,
)
from .models.alert import UNRESOLVED_STATES

# What `mail.alert_line` reads through a delivery, for select_related — and only those fields:
# the person's other fields and the referral's texts are encrypted, and decrypting them for
# every e-mail cost as much as the rest of its facts.
DELIVERY_RELATED = (
    "alert__referral__pathway__person",
    "alert__referral__sender_organisation",
    "alert__referral__receiver_organisation",
    "alert__referral__receiver_service",
    "alert__appointment",
)
DELIVERY_FIELDS = (
    "audience",
    "outbox",
    "alert__kind",
    "alert__level",
    "alert__audience",
    "alert__due_at",
    "alert__created_at",
    "alert__appointment__starts_at",
    "alert__referral__sent_at",
    "alert__referral__accepted_at",
    "alert__referral__pathway__person__first_name",
    "alert__referral__pathway__person__last_name",
    "alert__referral__sender_organisation__name",
    "alert__referral__receiver_organisation__name",
    "alert__referral__receiver_service__name",
)
EVENT_RELATED = (
    "actor",
    "organisation",
    "referral__pathway__person",
    "referral__sender_organisation",
    "referral__receiver_organisation",
    "referral__receiver_service",
)
REFERRAL_MESSAGE_RELATED = (
    "author_organisation",
    "referral__sender_organisation",
    "referral__receiver_organisation",
    "referral__receiver_service",
)
REMINDER_RELATED = (
    "referral__sender_organisation",
    "referral__receiver_organisation",
    "referral__receiver_service",
)


@dataclass
class MailFacts:
    """Per outbox row (its id) or per object it names: what its e-mail says. An id missing from
    a map is a fact gone meanwhile (deleted, or an alert resolved): nothing to tell."""

    deliveries: dict[int, list[Delivery]] = field(default_factory=dict)
    answers: dict[int, list[AnswerNotice]] = field(default_factory=dict)
    break_glass: dict[int, BreakGlass] = field(default_factory=dict)
    events: dict[int, PathwayEvent] = field(default_factory=dict)
    # (referral, outcome) → its latest appointment with that outcome: what a correction is about.
    appointments: dict[tuple[int, str], Appointment] = field(default_factory=dict)
    referral_messages: dict[int, ReferralMessage] = field(default_factory=dict)
    reminders: dict[int, Reminder] = field(default_factory=dict)
    sign_in_requests: dict[int, SignInRequest] = field(default_factory=dict)
    rights_end_warnings: dict[int, RightsEndWarning] = field(default_factory=dict)
    person_codes: dict[int, PersonSignInCode] = field(default_factory=dict)
    receiver_links: dict[int, ReceiverLink] = field(default_factory=dict)
    templates: Templates = field(default_factory=Templates)


def _grouped(rows: Iterable, key: str) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, key)].append(row)
    return dict(grouped)


def mail_facts_load(messages: Iterable[OutboxMessage]) -> MailFacts:
    """The facts of every e-mail of `messages`: one query per kind of fact they need."""
    messages = list(messages)
    facts = MailFacts()

    def ids(kinds: set[str], attribute: str = "pk") -> set[int]:
        return {
            getattr(m, attribute)
            for m in messages
            if m.kind in kinds and getattr(m, attribute) is not None
        }

    if alerting := ids({OutboxKind.ALERT, OutboxKind.DIGEST}):
        facts.deliveries = _grouped(
            Delivery.objects.filter(outbox_id__in=alerting, alert__state__in=UNRESOLVED_STATES)
            .select_related(*DELIVERY_RELATED)
            .only(*DELIVERY_FIELDS)
            .order_by("alert__created_at", "alert_id"),
            "outbox_id",
        )
    if answering := ids({OutboxKind.ANSWER, OutboxKind.DIGEST}):
        facts.answers = _grouped(
            AnswerNotice.objects.filter(outbox_id__in=answering)
            .select_related(*ANSWER_LINE_RELATED)
            .order_by("created_at", "id"),
            "outbox_id",
        )
    if openings := ids({OutboxKind.BREAK_GLASS}, "break_glass_id"):
        facts.break_glass = BreakGlass.objects.select_related("user", "organisation").in_bulk(
            openings
        )
    if events := ids({OutboxKind.CORRECTION}, "event_id"):
        facts.events = PathwayEvent.objects.select_related(*EVENT_RELATED).in_bulk(events)
        wanted = {
            (e.referral_id, e.referral_status) for e in facts.events.values() if e.referral_id
        }
        # Oldest first, so that the latest of each (referral, outcome) is the one kept.
        for appointment in Appointment.objects.filter(
            referral_id__in={referral for referral, _outcome in wanted}
        ).order_by("starts_at", "id"):
            key = (appointment.referral_id, appointment.outcome)
            if key in wanted:
                facts.appointments[key] = appointment
    if posted := ids({OutboxKind.REFERRAL_MESSAGE}, "referral_message_id"):
        facts.referral_messages = ReferralMessage.objects.select_related(
            *REFERRAL_MESSAGE_RELATED
        ).in_bulk(posted)
    if reminders := ids({OutboxKind.REMINDER}, "reminder_id"):
        facts.reminders = Reminder.objects.select_related(*REMINDER_RELATED).in_bulk(reminders)
    if refused := ids({OutboxKind.SIGN_IN_REQUEST}, "sign_in_request_id"):
        facts.sign_in_requests = SignInRequest.objects.select_related(
            "organisation", "user"
        ).in_bulk(refused)
    if warned := ids({OutboxKind.RIGHTS_END}, "rights_end_warning_id"):
        facts.rights_end_warnings = RightsEndWarning.objects.select_related(
            "pathway__owner_organisation"
        ).in_bulk(warned)
    if codes := ids({OutboxKind.PERSON_CODE}, "person_sign_in_code_id"):
        facts.person_codes = PersonSignInCode.objects.in_bulk(codes)
    if linked := ids({OutboxKind.RECEIVER_LINK}, "receiver_link_id"):
        facts.receiver_links = ReceiverLink.objects.select_related(
            "referral__sender_organisation", "referral__receiver_organisation", "organisation"
        ).in_bulk(linked)
    return facts
