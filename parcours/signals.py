"""Domain signals: how the domain tells other apps that something happened, without importing
them (notifications depends on parcours, never the reverse).

`referral_moved` is sent inside the transaction of every referral move, after the new state is
saved: receivers run in that same transaction (the alerts of a referral that moved on resolve
atomically with the move). `pathway_changed` is its counterpart for the pathway itself.
"""

from django.dispatch import Signal

# Arguments: referral (the saved Referral), action (transitions.Action), now (datetime), event
# (the PathwayEvent the move appended to the timeline), source (the state the referral left:
# an appointment set after an acceptance, a rescheduling and a re-invitation after an absence
# are the same action, and the sender is told each differently).
referral_moved = Signal()

# Arguments: pathway (the saved Pathway), kind (models.EventKind: REFERENT_CHANGED,
# MODALITY_CHANGED or PATHWAY_CLOSED), event (the PathwayEvent the change appended to the
# timeline), now (datetime). Sent inside the change's transaction, after the event is recorded,
# by services/pathway.py — only for a real change (a modality set to its current value sends
# nothing): the partner systems' webhooks are written in it (parcours/webhook_receivers.py).
pathway_changed = Signal()

# Arguments: break_glass (the BreakGlass just opened). Its organisation's DPOs must be told.
break_glass_opened = Signal()

# Arguments: message (the ReferralMessage just saved), referral (its Referral). Sent inside the
# post's transaction: the other party's e-mails are written in it (exactly once per address).
referral_message_posted = Signal()

# Arguments: sign_in_request (the SignInRequest of a refused ProConnect sign-in, new or seen
# again). Sent inside the sign-in's transaction: the administrators' e-mails are written in it,
# exactly once per address and request.
sign_in_refused = Signal()

# Arguments: code (the PersonSignInCode just issued, issue 19). Sent inside the request's
# transaction: the person's e-mail is written in it (one outbox row per code).
person_code_issued = Signal()
# Arguments: link (the ReceiverLink just made, its token still in `mail_token`), now. Sent inside
# the transaction that made it (a send, or the sender's new link): the e-mail to the receiver's
# contact address is written in it (notifications/receivers.py).
receiver_link_issued = Signal()
