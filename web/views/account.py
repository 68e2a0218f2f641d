"""Login, logout, password change and the choice of acting organisation."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from parcours import access
from parcours.api.actor import SESSION_KEY

from .. import proconnect
from ..actor import member_required
from ..forms import ActingOrganisationForm


class LoginView(auth_views.LoginView):
    template_name = "web/registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["proconnect"] = proconnect.enabled()
        context["proconnect_local"] = settings.PROCONNECT_LOCAL_PROVIDER
        return context


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
