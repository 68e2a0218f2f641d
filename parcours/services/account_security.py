"""Signing in: who must give a second factor, enrolling one (TOTP with recovery codes),
checking a code, and the journal's security events (docs/security.md, "Signing in").

- The lockout is django-axes' (per username and address, AXES_* settings): a failed password
  reaches `login_failed` below through Django's `user_login_failed` signal, after axes counted it;
  a refused second-factor code is counted by `second_factor_check` the same way.
- Every failure, lockout, enrolment, recovery code used and removal is a journal row
  (`gate.journal.record_security_event`, operation in `SECURITY_OPERATIONS`), which the DPO's
  anomaly report reads (selectors/anomalies.py).
- The second factor is mandatory for members whose role is in `rules.SECOND_FACTOR_ROLES` and
  for staff of the admin; anyone else may enrol. The pages ask for it
  (web.middleware.SecondFactorMiddleware) and the admin site refuses a session without it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.utils import timezone
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ..gate.journal import record_security_event
from ..models import AccessOperation, Membership
from ..rules import SECOND_FACTOR_ROLES

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# The names the devices carry (shown in the admin).
TOTP_NAME = "Application d'authentification"
RECOVERY_NAME = "Codes de secours"
TOTP_DIGITS = 6  # django-otp's default for a new TOTPDevice


class SecondFactorStep(StrEnum):
    """What a signed-in account must still do before anything else."""

    NONE = ""  # nothing: no second factor, and none required
    VERIFY = "verify"  # type a code: the account has a second factor
    ENROL = "enrol"  # set one up: required for the account, none yet


def lockout_cool_off(request: HttpRequest | None = None) -> dt.timedelta:
    """How long a username + address stays locked (AXES_COOLOFF_TIME names this function)."""
    return dt.timedelta(minutes=settings.PARCOURS_LOGIN_COOLOFF_MINUTES)


# The longest username axes records (its column holds 255; our accounts' names, 150).
USERNAME_KEPT = 150


def axes_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The username axes counts failures under (AXES_USERNAME_CALLABLE): the one typed, cut to
    what an account's name may be — a 10 000-character name on the admin's login form must be
    a failed sign-in, not a database error."""
    if credentials:
        username = credentials.get("username")
    else:
        username = getattr(request, "POST", {}).get("username")
    return str(username)[:USERNAME_KEPT] if username is not None else None


# --- who must ----------------------------------------------------------------------------------


def second_factor_required(user: User) -> bool:
    """Staff of the admin, and members (active) with a role of `SECOND_FACTOR_ROLES`."""
    if user.is_staff or user.is_superuser:
        return True
    return Membership.objects.filter(
        user=user, is_active=True, role__in=SECOND_FACTOR_ROLES
    ).exists()


def has_second_factor(user: User) -> bool:
    """A confirmed authenticator app (recovery codes alone do not count: they come with it)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def second_factor_step(user: User) -> SecondFactorStep:
    """One query: whether the account has a second factor and whether it must."""
    from django.contrib.auth import get_user_model

    found = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(
            device=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
            bound=Exists(
                Membership.objects.filter(
                    user=OuterRef("pk"), is_active=True, role__in=SECOND_FACTOR_ROLES
                )
            ),
        )
        .values("device", "bound", "is_staff", "is_superuser")
        .first()
    )
    if found is None:
        return SecondFactorStep.NONE
    if found["device"]:
        return SecondFactorStep.VERIFY
    if found["bound"] or found["is_staff"] or found["is_superuser"]:
        return SecondFactorStep.ENROL
    return SecondFactorStep.NONE


# --- failed sign-ins and lockouts --------------------------------------------------------------


def _account_named(username: str | None) -> User | None:
    from django.contrib.auth import get_user_model

    if not username:
        return None
    model = get_user_model()
    return model.objects.filter(**{model.USERNAME_FIELD: username}).first()


def _axes_outcome(request: HttpRequest) -> tuple[bool, int | None]:
    """(newly locked, failures counted) as axes left them on the request for this failure.
    Refused while already locked, axes counts nothing (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_
    LOCKOUT = False) and leaves no count: that attempt is a failure, not a new lockout."""
    failures = getattr(request, "axes_failures_since_start", None)
    locked = bool(getattr(request, "axes_locked_out", False))
    return locked and failures is not None, failures


def _journal_failure(
    operation: str, *, user: User | None, username: str, request: HttpRequest
) -> bool:
    """The failure's row, then the lockout's when this failure caused one. Returns whether it
    did."""
    newly_locked, failures = _axes_outcome(request)
    already_locked = bool(getattr(request, "axes_locked_out", False)) and not newly_locked
    detail: dict[str, Any] = {"failures": failures, "while_locked": already_locked}
    if user is None:
        detail["username"] = username[:USERNAME_KEPT]  # a name that matches no account
    record_security_event(operation, user=user, request=request, detail=detail)
    if newly_locked:
        lock_detail: dict[str, Any] = {
            "failures": failures,
            "cool_off_minutes": int(lockout_cool_off().total_seconds() // 60),
            "after": operation,
        }
        if user is None:
            lock_detail["username"] = username[:USERNAME_KEPT]
        record_security_event(
            AccessOperation.LOCKOUT, user=user, request=request, detail=lock_detail
        )
    return newly_locked


def login_failed(sender, credentials: dict, request: HttpRequest | None = None, **kwargs) -> None:
    """Django's `user_login_failed` (a wrong password, or refused because locked): journaled,
    after axes (connected before us) counted it."""
    if request is None:
        return
    username = str(credentials.get("username") or "")[:USERNAME_KEPT]
    _journal_failure(
        AccessOperation.LOGIN_FAILED,
        user=_account_named(username),
        username=username,
        request=request,
    )


def is_locked_out(request: HttpRequest, user: User) -> bool:
    """Whether axes holds this username + address locked now."""
    from axes.handlers.proxy import AxesProxyHandler

    return AxesProxyHandler.is_locked(request, {"username": user.get_username()})


def lockout_ends_at(request: HttpRequest, username: str | None) -> dt.datetime | None:
    """When the lockout of this username + address ends (the last counted failure + the
    cool-off), for the French page; None if axes holds no count for it."""
    from axes.handlers.proxy import AxesProxyHandler

    if not username:
        return None
    AxesProxyHandler.update_request(request)
    handler = AxesProxyHandler.get_implementation()
    getter = getattr(handler, "get_user_attempts", None)
    if getter is None:
        return None
    latest = [
        attempts.order_by("-attempt_time").values_list("attempt_time", flat=True).first()
        for attempts in getter(request, {"username": username})
    ]
    found = [when for when in latest if when is not None]
    return max(found) + lockout_cool_off(request) if found else None


# --- the second factor -------------------------------------------------------------------------


def totp_pending(user: User) -> TOTPDevice:
    """The authenticator app being set up: an unconfirmed device, kept between the page that
    shows its secret and the code that confirms it (the same secret if the page is reloaded)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def _new_recovery_codes(user: User) -> list[str]:
    """Replace the account's recovery codes with new ones (in the caller's transaction)."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(settings.PARCOURS_RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@dataclass
class Enrolment:
    device: TOTPDevice
    recovery_codes: list[str]


class InvalidCode(Exception):
    """The code does not match (or the device refuses codes for a while after failures)."""

    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.locked = locked


WRONG_CODE = "Ce code n'est pas le bon : vérifiez l'heure de votre téléphone et réessayez."
CODE_THROTTLED = (
    "Trop de codes erronés à la suite : attendez quelques instants avant de réessayer "
    "(jusqu'à {until})."
)
LOCKED = "Trop d'échecs : le compte est verrouillé pour {minutes} minutes depuis cette adresse."


def _throttled_until(device) -> dt.datetime | None:
    allowed, data = device.verify_is_allowed()
    if allowed or not data:
        return None
    return data.get("locked_until")


def second_factor_enrol(*, user: User, code: str, request: HttpRequest) -> Enrolment:
    """Confirm the pending authenticator app with a code it shows: the app becomes the
    account's second factor (any previous one is replaced), ten new recovery codes are made
    (returned once, never shown again), and the enrolment is journaled.

    Raises InvalidCode (journaled as a refused code) if the code does not match."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("-pk")
            .first()
        )
        if device is None:
            raise InvalidCode("La configuration a expiré : rechargez la page et recommencez.")
        throttled = _throttled_until(device)
        verified = throttled is None and device.verify_token(_digits(code))
        if verified:
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            codes = _new_recovery_codes(user)
    if not verified:
        if _refused(user=user, request=request, during="enrolment"):
            raise InvalidCode(_locked_message(), locked=True)
        if throttled is not None:
            when = timezone.localtime(throttled)
            raise InvalidCode(CODE_THROTTLED.format(until=f"{when:%H:%M:%S}"))
        raise InvalidCode(WRONG_CODE)
    record_security_event(
        AccessOperation.OTP_ENROLLED,
        user=user,
        request=request,
        detail={"device": "totp", "recovery_codes": len(codes)},
    )
    return Enrolment(device=device, recovery_codes=codes)


def _digits(code: str) -> str:
    return "".join(code.split())


@dataclass
class CheckedCode:
    device: Any  # the TOTPDevice or StaticDevice that accepted it
    recovery_codes_left: int | None = None  # a recovery code was used: how many remain


def second_factor_check(*, user: User, code: str, request: HttpRequest) -> CheckedCode:
    """Check a code from the authenticator app, or a recovery code (used up by this check).

    A refused code is journaled and counted towards the lockout of the username + address like
    a wrong password (axes); raises InvalidCode, with `locked` when it locked the account. A
    device that refused several codes in a row also refuses any for a growing delay
    (django-otp's throttling: 1, 2, 4 … seconds), which no lockout reset shortens."""
    if is_locked_out(request, user):
        raise InvalidCode(_locked_message(), locked=True)
    token = _digits(code)
    # Six digits: the app's code; anything else: a recovery code. Each goes to its own device
    # only, so that a recovery code never counts as a wrong code of the app (and the reverse).
    from_app = token.isdigit() and len(token) == TOTP_DIGITS
    accepted = None
    throttled: dt.datetime | None = None
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            if isinstance(device, TOTPDevice) != from_app:
                continue
            until = _throttled_until(device)
            if until is not None:
                throttled = until
                continue
            if device.verify_token(token if from_app else token.lower()):
                accepted = device
                break
        left = accepted.token_set.count() if isinstance(accepted, StaticDevice) else None
    if accepted is None:
        locked = _refused(user=user, request=request, during="sign_in")
        if locked:
            raise InvalidCode(_locked_message(), locked=True)
        if throttled is not None:
            when = timezone.localtime(throttled)
            raise InvalidCode(CODE_THROTTLED.format(until=f"{when:%H:%M:%S}"))
        raise InvalidCode(WRONG_CODE)
    if left is not None:
        record_security_event(
            AccessOperation.OTP_RECOVERY,
            user=user,
            request=request,
            detail={"recovery_codes_left": left},
        )
    return CheckedCode(device=accepted, recovery_codes_left=left)


def _locked_message() -> str:
    return LOCKED.format(minutes=int(lockout_cool_off().total_seconds() // 60))


def _refused(*, user: User, request: HttpRequest, during: str) -> bool:
    """A refused code: counted by axes as a failed sign-in of this username + address, then
    journaled (with the lockout it caused, if any). Returns whether it locked the account."""
    from axes.handlers.proxy import AxesProxyHandler

    credentials = {"username": user.get_username()}
    AxesProxyHandler.user_login_failed(sender=__name__, credentials=credentials, request=request)
    return _journal_failure(
        AccessOperation.OTP_FAILED, user=user, username=user.get_username(), request=request
    )


def second_factor_passed(*, user: User, request: HttpRequest) -> None:
    """After a good code: the username + address starts again from no failure."""
    from axes.handlers.proxy import AxesProxyHandler

    AxesProxyHandler.reset_attempts(
        username=user.get_username(), ip_address=getattr(request, "axes_ip_address", None)
    )


def recovery_codes_renew(*, user: User, request: HttpRequest) -> list[str]:
    """New recovery codes (the old ones stop working), journaled. Needs an enrolled app."""
    if not has_second_factor(user):
        raise InvalidCode("Activez d'abord la double authentification.")
    with transaction.atomic():
        codes = _new_recovery_codes(user)
    record_security_event(
        AccessOperation.OTP_CODES, user=user, request=request, detail={"recovery_codes": len(codes)}
    )
    return codes


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


class SecondFactorMandatory(Exception):
    message = (
        "La double authentification est obligatoire pour votre rôle (délégué à la protection "
        "des données, administrateur) : elle ne peut pas être désactivée."
    )


def second_factor_remove(*, user: User, request: HttpRequest) -> None:
    """Remove the account's second factor (app and recovery codes), journaled; refused to an
    account that must have one."""
    if second_factor_required(user):
        raise SecondFactorMandatory()
    with transaction.atomic():
        removed = TOTPDevice.objects.filter(user=user).delete()[0]
        StaticDevice.objects.filter(user=user).delete()
    if removed:
        record_security_event(
            AccessOperation.OTP_REMOVED, user=user, request=request, detail={"by": "owner"}
        )


def device_removed_elsewhere(sender, instance: TOTPDevice, **kwargs) -> None:
    """An authenticator app deleted by someone else (an administrator, in the admin, for a
    lost phone) is journaled on its owner's account; the owner's own removal is journaled by
    `second_factor_remove` (the `by` of its row says which)."""
    from django.contrib.auth import get_user_model

    from ..gate import context

    if isinstance(kwargs.get("origin"), get_user_model()):
        return  # the account itself is being deleted: nothing left to protect
    request = context.current_request()
    acting = getattr(request, "user", None) if request is not None else None
    if not instance.confirmed or (acting is not None and acting.pk == instance.user_id):
        return
    record_security_event(
        AccessOperation.OTP_REMOVED,
        user=instance.user,
        request=request,
        detail={"by": "administrator", "administrator": getattr(acting, "pk", None)},
    )
