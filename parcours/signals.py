"""Domain signals: how the domain tells other apps that something happened, without importing
them (notifications depends on parcours, never the reverse).

`referral_moved` is sent inside the transaction of every referral move, after the new state is
saved: receivers run in that same transaction (the alerts of a referral that moved on resolve
atomically with the move).
"""

from django.dispatch import Signal

# Arguments: referral (the saved Referral), action (transitions.Action), now (datetime), event
# (the PathwayEvent the move appended to the timeline).
referral_moved = Signal()

# Arguments: break_glass (the BreakGlass just opened). Its organisation's DPOs must be told.
break_glass_opened = Signal()
