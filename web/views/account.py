"""Login, the second factor (code, enrolment, recovery codes), logout, password change and the
choice of acting organisation. Thin: who must give a second factor, checking codes, the lockout
and the journal are parcours.services.account_security's."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from parcours import access
from parcours.api.actor import SESSION_KEY
from parcours.services import account_security as security
from parcours.services.account_security import SecondFactorStep

from .. import proconnect
from ..account_forms import EnrolmentForm, LoginForm, SecondFactorForm
from ..actor import member_required
from ..confirmations import Confirmation
from ..forms import ActingOrganisationForm
from ..second_factor import STEP_SESSION_KEY, qr_code_svg, secret_for_typing

# Recovery codes just made, shown once by the next page (then gone from the session).
FRESH_CODES_SESSION_KEY = "parcours_recovery_codes"
DISABLE = Confirmation(
    title="Désactiver la double authentification ?",
    text=(
        "Votre compte ne sera plus protégé que par son mot de passe ; vos codes de secours "
        "cesseront de fonctionner. Vous pourrez la réactiver à tout moment."
    ),
    confirm="Désactiver",
)


def _next_url(request: HttpRequest, fallback: str | None = None) -> str:
    """Where to go after the sign-in: the `next` asked for, if it is one of ours."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return fallback or reverse(settings.LOGIN_REDIRECT_URL)


def _with_next(name: str, target: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': target})}"


class LoginView(auth_views.LoginView):
    template_name = "web/registration/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["proconnect"] = proconnect.enabled()
        context["proconnect_local"] = settings.PROCONNECT_LOCAL_PROVIDER
        return context

    def get_success_url(self) -> str:
        """An account with a second factor types its code next; one that must have one and
        has none sets it up first (the middleware would send it there anyway)."""
        target = super().get_success_url()
        user = self.request.user
        if getattr(user, "is_verified", lambda: False)():
            return target
        step = security.second_factor_step(user)
        self.request.session[STEP_SESSION_KEY] = str(step)
        if step == SecondFactorStep.VERIFY:
            return _with_next("web:second-factor", target)
        if step == SecondFactorStep.ENROL:
            return _with_next("web:second-factor-setup", target)
        return target


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' lockout answer (AXES_LOCKOUT_CALLABLE), for the pages' login, the admin's
    and a refused second-factor code: the French page, 429. A session that was half signed in
    (password typed, code refused) is ended."""
    username = (credentials or {}).get("username") or request.POST.get("username")
    if request.user.is_authenticated:
        username = username or request.user.get_username()
        logout(request)
    ends = security.lockout_ends_at(request, username)
    return render(
        request,
        "web/registration/locked_out.html",
        {
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "cool_off": settings.PARCOURS_LOGIN_COOLOFF_MINUTES,
            "ends_at": timezone.localtime(ends) if ends else None,
        },
        status=429,
    )


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default): a link cannot log anyone out. A session opened with
    ProConnect (or a refused ProConnect sign-in) also ends the provider's session: the browser
    goes to its logout with the ID token as `id_token_hint`, after the local session ended."""

    def post(self, request, *args, **kwargs):
        id_token = request.session.get(proconnect.ID_TOKEN_SESSION_KEY)
        response = super().post(request, *args, **kwargs)  # the local session ends first
        if not (id_token and proconnect.enabled()):
            return response
        try:
            return proconnect.logout_redirect(request, id_token)
        except proconnect.ProConnectError as error:
            messages.warning(
                request,
                "Vous êtes déconnecté(e) de parcours, mais ProConnect ne répond pas : fermez "
                "votre navigateur pour terminer aussi votre session ProConnect. " + error.message,
            )
            return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "web/registration/password_change.html"
    success_url = reverse_lazy("web:home")

    def form_valid(self, form):
        messages.success(self.request, "Votre mot de passe a été changé.")
        return super().form_valid(form)


@login_required
def second_factor(request: HttpRequest) -> HttpResponse:
    """« Vérification en deux étapes »: the code after the password."""
    user = request.user
    target = _next_url(request)
    if user.is_verified():  # type: ignore[union-attr]
        return redirect(target)
    step = security.second_factor_step(user)  # type: ignore[arg-type]
    request.session[STEP_SESSION_KEY] = str(step)
    if step == SecondFactorStep.ENROL:
        return redirect(_with_next("web:second-factor-setup", target))
    if step == SecondFactorStep.NONE:
        return redirect(target)
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            checked = security.second_factor_check(
                user=user,  # type: ignore[arg-type]
                code=form.cleaned_data["code"],
                request=request,
            )
        except security.InvalidCode as refusal:
            if refusal.locked:
                return locked_out(request, credentials={"username": user.get_username()})
            form.add_error("code", refusal.message)
        else:
            otp_login(request, checked.device)
            security.second_factor_passed(user=user, request=request)  # type: ignore[arg-type]
            if checked.recovery_codes_left is not None:
                messages.warning(
                    request,
                    f"Code de secours utilisé : il vous en reste {checked.recovery_codes_left}. "
                    "Générez-en de nouveaux depuis « Préférences » › « Double authentification ».",
                )
            return redirect(target)
    return render(
        request,
        "web/registration/second_factor.html",
        {"form": form, "next": target, "signing_in": True},
    )


@login_required
def second_factor_setup(request: HttpRequest) -> HttpResponse:
    """« Double authentification »: set up an authenticator app (mandatory for DPOs and
    administrators, who are sent here after their password), or see its state."""
    user = request.user
    target = _next_url(request)
    step = security.second_factor_step(user)  # type: ignore[arg-type]
    verified = user.is_verified()  # type: ignore[union-attr]
    if step == SecondFactorStep.VERIFY and not verified:
        # An app is set up: its code first (anyone holding the password alone stops here).
        return redirect(_with_next("web:second-factor", request.get_full_path()))
    mandatory = security.second_factor_required(user)  # type: ignore[arg-type]
    if step == SecondFactorStep.VERIFY:
        return render(
            request,
            "web/registration/second_factor_status.html",
            {
                "mandatory": mandatory,
                "codes_left": security.recovery_codes_left(user),  # type: ignore[arg-type]
                "disable": DISABLE,
                "confirming": request.GET.get("confirmer"),
            },
        )
    device = security.totp_pending(user)  # type: ignore[arg-type]
    form = EnrolmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            enrolment = security.second_factor_enrol(
                user=user,  # type: ignore[arg-type]
                code=form.cleaned_data["code"],
                request=request,
            )
        except security.InvalidCode as refusal:
            if refusal.locked:
                return locked_out(request, credentials={"username": user.get_username()})
            form.add_error("code", refusal.message)
        else:
            otp_login(request, enrolment.device)
            request.session[STEP_SESSION_KEY] = str(SecondFactorStep.VERIFY)
            request.session[FRESH_CODES_SESSION_KEY] = enrolment.recovery_codes
            messages.success(request, "La double authentification est activée.")
            return redirect(_with_next("web:second-factor-recovery-codes", target))
    return render(
        request,
        "web/registration/second_factor_setup.html",
        {
            "form": form,
            "next": target,
            "mandatory": mandatory,
            "signing_in": step == SecondFactorStep.ENROL and not verified,
            "qr_code": qr_code_svg(device.config_url),
            "secret": secret_for_typing(device),
        },
    )


@login_required
def second_factor_recovery_codes(request: HttpRequest) -> HttpResponse:
    """The recovery codes just made, shown once; a POST makes new ones (the old ones stop
    working)."""
    user = request.user
    if request.method == "POST":
        try:
            codes = security.recovery_codes_renew(user=user, request=request)  # type: ignore[arg-type]
        except security.InvalidCode as refusal:
            messages.error(request, refusal.message)
            return redirect("web:second-factor-setup")
        request.session[FRESH_CODES_SESSION_KEY] = codes
        messages.success(
            request, "Vos nouveaux codes de secours sont prêts ; les anciens ne valent plus."
        )
        return redirect("web:second-factor-recovery-codes")
    codes = request.session.pop(FRESH_CODES_SESSION_KEY, None)
    return render(
        request,
        "web/registration/recovery_codes.html",
        {
            "codes": codes,
            "next": _next_url(request),
            "enrolled": security.has_second_factor(user),  # type: ignore[arg-type]
            "codes_left": security.recovery_codes_left(user),  # type: ignore[arg-type]
        },
    )


@require_POST
@login_required
def second_factor_disable(request: HttpRequest) -> HttpResponse:
    """Remove one's own second factor, once confirmed; refused to those who must keep it."""
    user = request.user
    if request.POST.get("confirm") != "1":
        return redirect(f"{reverse('web:second-factor-setup')}?confirmer=disable")
    try:
        security.second_factor_remove(user=user, request=request)  # type: ignore[arg-type]
    except security.SecondFactorMandatory as refusal:
        return render(request, "web/forbidden.html", {"message": refusal.message}, status=403)
    request.session[STEP_SESSION_KEY] = str(SecondFactorStep.NONE)
    messages.success(request, "La double authentification est désactivée.")
    return redirect("web:second-factor-setup")


@member_required
def acting_organisation(request):
    memberships = list(access.memberships_of(request.actor))
    form = ActingOrganisationForm(
        request.POST or None,
        memberships=memberships,
        initial={"organisation": request.actor.organisation.pk},
    )
    if request.method == "POST" and form.is_valid():
        request.session[SESSION_KEY] = int(form.cleaned_data["organisation"])
        messages.success(request, "Organisation changée.")
        return redirect("web:home")
    return render(request, "web/registration/organisation.html", {"form": form})
