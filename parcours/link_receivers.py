"""The receiver's link's share of the `referral_moved` signal (connected in ParcoursConfig.ready):
a referral sent to an organisation without an account gets its link in the send's transaction
(services/receiver_link.py)."""

from .transitions import Action


def issue_link_on_send(sender, *, referral, action, now, event=None, **kwargs) -> None:
    if action != Action.SEND:
        return
    from .services.receiver_link import receiver_link_on_send

    receiver_link_on_send(
        referral=referral, created_by_id=event.actor_id if event is not None else None, now=now
    )
