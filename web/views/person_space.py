"""The person's own space, /mon-parcours/ (issue 19): sign-in with a one-time code sent to
their e-mail address, their pathways, who consulted their record, their consents — and the
withdrawal of a consent, the one thing they change.

A person is not a staff user: the space has its own session key and expiry (30 minutes without
activity), never `django.contrib.auth`'s. Signing in as a person ends a staff session in this
browser, and a staff session never opens the space. What the person may see and do is the
gate's (`parcours.gate.person`), reads come from `parcours.selectors.person_space`, the
withdrawal from `parcours.services.person_space`; every page read is journaled under the
door « espace personnel ».
"""

import time

from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from parcours.gate import person as person_gate
from parcours.gate.person import PersonPrincipal
from parcours.models import Consent, Person
from parcours.models.person_space import CODE_MAX_ATTEMPTS, CODE_VALID_MINUTES
from parcours.selectors.person_space import consents_for, consultations_of, pathways_of
from parcours.services.person_space import (
    code_refusal,
    consent_withdraw_by_person,
    person_code_request,
    person_code_verify,
    person_franceconnect_sign_in,
)

from .. import franceconnect
from ..address_limits import PERSON_SPACE_TRIES
from ..oidc import OidcError, OidcUnavailable
from ..person_space_forms import CodeForm, CodeRequestForm

PERSON_KEY = "person_space_person"
METHOD_KEY = "person_space_method"
UNTIL_KEY = "person_space_until"
CODE_KEY = "person_space_code"
TRIES_KEY = "person_space_tries"
IDLE_SECONDS = 30 * 60
PAGE = {"signing_in": True}  # the staff's menus stay hidden on the person's pages


def principal_of(request: HttpRequest) -> PersonPrincipal | None:
    """The person signed in to this browser's space, or None (never a staff user; an expired
    space is closed here)."""
    if request.user.is_authenticated:
        return None
    person_id = request.session.get(PERSON_KEY)
    if not person_id:
        return None
    if request.session.get(UNTIL_KEY, 0) < time.time():
        _close(request)
        return None
    request.session[UNTIL_KEY] = time.time() + IDLE_SECONDS  # slides with activity
    return PersonPrincipal(person_id=person_id, method=request.session.get(METHOD_KEY, ""))


def _close(request: HttpRequest) -> None:
    for key in (PERSON_KEY, METHOD_KEY, UNTIL_KEY, CODE_KEY, TRIES_KEY):
        request.session.pop(key, None)


def _open(request: HttpRequest, principal: PersonPrincipal) -> None:
    if request.user.is_authenticated:
        logout(request)  # a person is not a staff member: one or the other in a browser
    else:
        request.session.cycle_key()
    _close(request)
    request.session[PERSON_KEY] = principal.person_id
    request.session[METHOD_KEY] = principal.method
    request.session[UNTIL_KEY] = time.time() + IDLE_SECONDS


def _signed_in(request: HttpRequest) -> PersonPrincipal:
    principal = principal_of(request)
    if principal is None:
        raise _SignIn
    return principal


class _SignIn(Exception):
    pass


def _too_many_tries(request: HttpRequest) -> HttpResponse:
    """Past PARCOURS_PERSON_SPACE_TRIES codes asked for and wrong codes typed from this address
    in fifteen minutes (web/address_limits.py): the sign-in waits, FranceConnect stays open."""
    return render(
        request,
        "web/person_space/too_many_tries.html",
        {**PAGE, "franceconnect": franceconnect.enabled()},
        status=429,
    )


def _space_view(view):
    """A page of the space: the signed-in person, or off to the sign-in page."""

    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, _signed_in(request), *args, **kwargs)
        except _SignIn:
            return redirect("web:person-space-sign-in")
        except Person.DoesNotExist:  # erased meanwhile
            _close(request)
            return redirect("web:person-space-sign-in")

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return never_cache(wrapped)


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """« Ouvrir mon espace »: address and birth date; the same answer whether or not they are
    known (a code goes out only when exactly one person matches)."""
    if principal_of(request) is not None:
        return redirect("web:person-space")
    form = CodeRequestForm(request.POST or None)
    if request.method == "POST" and PERSON_SPACE_TRIES.exceeded(request):
        return _too_many_tries(request)
    if request.method == "POST" and form.is_valid():
        PERSON_SPACE_TRIES.count(request)
        code_id = person_code_request(
            email=form.cleaned_data["email"], birth_date=form.cleaned_data["birth_date"]
        )
        request.session[CODE_KEY] = code_id or 0
        request.session[TRIES_KEY] = 0
        return redirect("web:person-space-code")
    return render(
        request,
        "web/person_space/sign_in.html",
        {
            **PAGE,
            "form": form,
            "minutes": CODE_VALID_MINUTES,
            "franceconnect": franceconnect.enabled(),
        },
        status=400 if form.errors else 200,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def code(request: HttpRequest) -> HttpResponse:
    """The code received by e-mail. Five tries, then a new code must be asked for."""
    if CODE_KEY not in request.session:
        return redirect("web:person-space-sign-in")
    form = CodeForm(request.POST or None)
    message = ""
    locked = False
    if request.method == "POST" and PERSON_SPACE_TRIES.exceeded(request):
        return _too_many_tries(request)
    if request.method == "POST" and form.is_valid():
        code_id = request.session[CODE_KEY] or None
        check = person_code_verify(code_id=code_id, code=form.cleaned_data["code"])
        if check.principal is not None:
            _open(request, check.principal)
            return redirect("web:person-space")
        if code_id is None:
            # No code was sent: the same answers as for a code sent, tries counted here.
            tries = request.session.get(TRIES_KEY, 0) + 1
            request.session[TRIES_KEY] = tries
            check = code_refusal(CODE_MAX_ATTEMPTS - tries)
        PERSON_SPACE_TRIES.count(request)
        message, locked = check.message, check.tries_left <= 0
        form = CodeForm()
    return render(
        request,
        "web/person_space/code.html",
        {**PAGE, "form": form, "message": message, "locked": locked, "minutes": CODE_VALID_MINUTES},
        status=400 if (message or form.errors) else 200,
    )


@_space_view
@require_http_methods(["GET"])
def space(request: HttpRequest, principal: PersonPrincipal) -> HttpResponse:
    """The person's space: pathways, consultations (a page at a time), consents."""
    person = person_gate.principal_person(principal)
    page = consultations_of(principal, cursor=request.GET.get("apres", ""))
    person_gate.record_space_read(principal, page="space")
    return render(
        request,
        "web/person_space/space.html",
        {
            **PAGE,
            "person": person,
            "pathways": pathways_of(principal),
            "consultations": page,
            "consents": consents_for(principal),
            "first_page": not request.GET.get("apres"),
        },
    )


@_space_view
@require_http_methods(["GET", "POST"])
def consent_withdraw(request: HttpRequest, principal: PersonPrincipal, pk: int) -> HttpResponse:
    """« Retirer mon consentement »: the consent, what withdrawing it means, then the button."""
    try:
        if request.method == "POST":
            consent_withdraw_by_person(principal=principal, consent_id=pk)
            return redirect("web:person-space-consent-withdrawn")
        consent = person_gate.locate_consent(principal, pk, lock=False)
    except Consent.DoesNotExist:
        raise Http404 from None
    person_gate.record_space_read(principal, page="consent_withdraw")
    line = next(c for c in consents_for(principal) if c.pk == consent.pk)
    return render(request, "web/person_space/consent_withdraw.html", {**PAGE, "consent": line})


@_space_view
@require_http_methods(["GET"])
def consent_withdrawn(request: HttpRequest, principal: PersonPrincipal) -> HttpResponse:
    return render(request, "web/person_space/consent_withdrawn.html", PAGE)


@never_cache
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """Close the space; signed in with FranceConnect, end its session too (in the browser)."""
    id_token = request.session.pop(franceconnect.ID_TOKEN_SESSION_KEY, "")
    _close(request)
    request.session.cycle_key()
    if id_token and franceconnect.enabled():
        try:
            return franceconnect.logout_redirect(request, id_token)
        except OidcError:
            pass  # the space is closed all the same; the page says to close the browser
    return render(request, "web/person_space/signed_out.html", PAGE)


# --- FranceConnect (off unless configured: 404) ------------------------------------------------


def _require_franceconnect() -> None:
    if not franceconnect.enabled():
        raise Http404


def _franceconnect_error(request: HttpRequest, error: OidcError) -> HttpResponse:
    unavailable = isinstance(error, OidcUnavailable)
    return render(
        request,
        "web/person_space/franceconnect_error.html",
        {
            **PAGE,
            "title": "FranceConnect indisponible" if unavailable else "Connexion refusée",
            "message": error.message,
        },
        status=503 if unavailable else 400,
    )


@never_cache
@require_POST
def franceconnect_start(request: HttpRequest) -> HttpResponse:
    """« S'identifier avec FranceConnect »: off to the provider."""
    _require_franceconnect()
    try:
        return franceconnect.authorize_redirect(request)
    except OidcError as error:
        return _franceconnect_error(request, error)


@never_cache
@require_http_methods(["GET"])
def franceconnect_callback(request: HttpRequest) -> HttpResponse:
    """The provider's way back: the pivot identity checked, then matched against the records —
    exactly one opens the space; none or several, a French page saying what to do."""
    _require_franceconnect()
    try:
        identity = franceconnect.complete(request)
    except OidcError as error:
        return _franceconnect_error(request, error)
    match = person_franceconnect_sign_in(claims=identity.claims)
    if match.principal is None:
        request.session[franceconnect.ID_TOKEN_SESSION_KEY] = identity.id_token
        return render(
            request,
            "web/person_space/not_found.html",
            {**PAGE, "several": match.matches > 1},
            status=404,
        )
    _open(request, match.principal)
    request.session[franceconnect.ID_TOKEN_SESSION_KEY] = identity.id_token
    return redirect("web:person-space")


@never_cache
@require_http_methods(["GET"])
def franceconnect_logged_out(request: HttpRequest) -> HttpResponse:
    """FranceConnect's way back after its logout."""
    _require_franceconnect()
    confirmed = franceconnect.confirm_logout(request)
    return render(request, "web/person_space/signed_out.html", {**PAGE, "confirmed": confirmed})
