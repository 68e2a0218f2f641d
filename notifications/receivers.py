"""Reactions to domain signals (connected in NotificationsConfig.ready). Both signals are sent
inside the domain's transaction, so what a receiver writes commits or rolls back with it."""

from django.dispatch import receiver

from parcours.queueing import enqueue_on_commit
from parcours.signals import (
    break_glass_opened,
    person_code_issued,
    receiver_link_issued,
    referral_message_posted,
    referral_moved,
    sign_in_refused,
)
from parcours.transitions import Action

from .services.alerts import alerts_resolve_for_referral
from .services.answers import answer_notices_create
from .services.break_glass import break_glass_notices_create
from .services.correction import correction_notices_create
from .services.person_code import person_code_notice_create
from .services.receiver_link import receiver_link_notice_create
from .services.referral_message import message_notices_create
from .services.reminders import reminders_schedule
from .services.sign_in import sign_in_notices_create


@receiver(referral_moved, dispatch_uid="notifications.resolve_alerts_on_move")
def resolve_alerts_when_referral_moves(sender, *, referral, action, now, **kwargs) -> None:
    """In the move's own transaction: the referral moved on, its alerts stop."""
    alerts_resolve_for_referral(referral=referral, now=now)


@receiver(referral_moved, dispatch_uid="notifications.schedule_reminders_on_move")
def schedule_reminders_when_referral_moves(sender, *, referral, now, **kwargs) -> None:
    """In the move's own transaction: the deadlines it stamped get their reminders to the
    receiver (sent by the periodic scan when they fall due)."""
    reminders_schedule(referral=referral, now=now)


@receiver(break_glass_opened, dispatch_uid="notifications.tell_dpo_of_break_glass")
def tell_dpo_when_break_glass_opens(sender, *, break_glass, **kwargs) -> None:
    """In the opening's own transaction: one outbox row per DPO of the organisation. Once it
    commits, the relay is woken so the e-mails leave at once; if that fails, the periodic relay
    sends them (the rows are the truth, the wake-up only saves time)."""
    if break_glass_notices_create(break_glass=break_glass):
        enqueue_on_commit(
            "notifications.outbox_relay",
            catch_up="the outbox-relay beat entry sends the break-glass notices",
        )


@receiver(referral_moved, dispatch_uid="notifications.tell_partners_of_correction")
def tell_partners_when_attendance_is_corrected(
    sender, *, referral, action, event=None, **kwargs
) -> None:
    """In the correction's own transaction (after its alerts resolved, the receiver above being
    connected first): the partners' e-mails, then the relay woken once it commits (the periodic
    relay sends them anyway)."""
    if action != Action.CORRECT_ATTENDANCE or event is None:
        return
    if correction_notices_create(referral=referral, event=event):
        enqueue_on_commit(
            "notifications.outbox_relay",
            catch_up="the outbox-relay beat entry sends the correction notices",
        )


@receiver(referral_message_posted, dispatch_uid="notifications.tell_other_party_of_message")
def tell_other_party_of_a_message(sender, *, message, referral, **kwargs) -> None:
    """In the post's own transaction: the other party's e-mails, then the relay woken once it
    commits (the periodic relay sends them anyway)."""
    if message_notices_create(message=message, referral=referral):
        enqueue_on_commit(
            "notifications.outbox_relay",
            catch_up="the outbox-relay beat entry sends the message notices",
        )


@receiver(referral_moved, dispatch_uid="notifications.tell_sender_of_answer")
def tell_sender_when_receiver_answers(
    sender, *, referral, action, now, event=None, source=None, **kwargs
) -> None:
    """In the receiver's move's own transaction (issue 14): the sending side's « À traiter »
    items and the e-mails of those who want them at once, then the relay woken once it commits
    (the periodic relay sends them anyway). Moves that are no answer write nothing."""
    if event is None:
        return
    if answer_notices_create(referral=referral, event=event, action=action, source=source, now=now):
        enqueue_on_commit(
            "notifications.outbox_relay",
            catch_up="the outbox-relay beat entry sends the answers to the sender",
        )


@receiver(sign_in_refused, dispatch_uid="notifications.tell_administrators_of_sign_in")
def tell_administrators_of_a_refused_sign_in(sender, *, sign_in_request, **kwargs) -> None:
    """In the sign-in's own transaction: the administrators' e-mails (once per address and
    request, however often the agent tries), then the relay woken once it commits (the periodic
    relay sends them anyway)."""
    if sign_in_notices_create(sign_in_request=sign_in_request):
        enqueue_on_commit(
            "notifications.outbox_relay",
            catch_up="the outbox-relay beat entry sends the sign-in notices",
        )


@receiver(person_code_issued, dispatch_uid="notifications.send_person_code")
def send_a_person_their_code(sender, *, code, **kwargs) -> None:
    """In the code's own transaction: one outbox row to the person's address, then the relay
    woken once it commits (the periodic relay sends it anyway, while the code is valid)."""
    person_code_notice_create(code=code)
    enqueue_on_commit(
        "notifications.outbox_relay",
        catch_up="the outbox-relay beat entry sends the person's code",
    )


@receiver(receiver_link_issued, dispatch_uid="notifications.send_receiver_link")
def send_receiver_link(sender, *, link, now, **kwargs) -> None:
    """In the transaction that made the link (a send, a new link): the e-mail to the receiver's
    contact address, then the relay woken once it commits (the periodic relay sends it anyway)."""
    if receiver_link_notice_create(link=link, now=now):
        enqueue_on_commit(
            "notifications.outbox_relay",
            catch_up="the outbox-relay beat entry sends the receiver's link",
        )
