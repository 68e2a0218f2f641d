"""The second factor in tests: give an account an authenticator app, compute the code the app
would show (django-otp's own TOTP, from the device's secret), and sign a test client's session
in completely.

`Client.force_login` skips the password; for an account that must give a second factor, the
tests' conftest makes it skip the code too (`verify_session`), as if the person had typed both —
the rule itself is untouched (tests/security/test_second_factor.py checks it, with
`force_login(user, second_factor=False)` or the real forms)."""

import time
from base64 import b32decode

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from parcours.services.account_security import (
    TOTP_NAME,
    has_second_factor,
    second_factor_required,
)


def enrol(user) -> TOTPDevice:
    """The account's confirmed authenticator app (made if it has none)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=True)


def totp_code(key: bytes, *, at: float | None = None, step: int = 30) -> str:
    """The 6 digits an app shows for this secret (`at`: a Unix time, now by default)."""
    totp = TOTP(key, step=step)
    totp.time = time.time() if at is None else at
    return f"{totp.token():06d}"


def code_from_secret(secret: str) -> str:
    """The code for a secret as the setup page shows it (base 32, by groups of four)."""
    compact = "".join(secret.split())
    return totp_code(b32decode(compact + "=" * (-len(compact) % 8)))


def next_code(device: TOTPDevice) -> str:
    """A code the device accepts now: the current step's, or — if that one was already used
    (a second sign-in within 30 s) — the next step's, within the device's tolerance; waits for
    the clock otherwise."""
    device.refresh_from_db()
    while True:
        now = time.time()
        current = int(now - device.t0) // device.step + device.drift
        wanted = max(current, device.last_t + 1)
        if wanted <= current + device.tolerance:
            at = device.t0 + (wanted - device.drift) * device.step
            return totp_code(device.bin_key, at=at, step=device.step)
        time.sleep(1)


def verify_session(client, user) -> None:
    """Mark the client's session as having passed the second factor, with the account's app
    (given one if it has none) — for an account that must have one or has one."""
    if not (second_factor_required(user) or has_second_factor(user)):
        return
    device = enrol(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
