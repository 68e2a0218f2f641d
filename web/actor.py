"""The acting user and organisation of a page request, shared with the API (same session key)."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from parcours.actor import Actor
from parcours.api.actor import request_actor
from parcours.errors import NoMembership, NotAllowed


def actor_of(request: HttpRequest) -> Actor:
    return request_actor(request)


def member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged in (else the login page), member of an organisation (else a 403 page), any
    record out of the actor's scope answers 404 like a missing one, and an action the gate's
    table refuses answers the 403 page with its French reason."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            request.actor = actor_of(request)  # type: ignore[attr-defined]
        except NoMembership as refusal:
            return render(request, "web/forbidden.html", {"message": refusal.message}, status=403)
        try:
            return view(request, *args, **kwargs)
        except ObjectDoesNotExist:
            raise Http404 from None
        except NotAllowed as refusal:  # the gate's table said no (journaled there)
            return render(request, "web/forbidden.html", {"message": refusal.message}, status=403)

    return wrapper
