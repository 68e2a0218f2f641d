"""The error pages in French on the DSFR: 500 (handler500), 403 (handler403 and CSRF failures),
404 (handler404: Django's own view with web/templates/404.html). Under /api/ they answer the
API's JSON instead of a page. handler500 answers 503 instead when what broke is the database
being unreachable, wherever it was raised (a view, a middleware, the session): a pause the
user or the API client may retry, not a bug (issue 16)."""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.template import loader
from django.template.response import TemplateResponse
from django.views import defaults

from parcours.errors import DATABASE_UNAVAILABLE

logger = logging.getLogger(__name__)

SERVER_ERROR = (
    "Une erreur inattendue s'est produite : rien n'a été enregistré. L'équipe technique est "
    "prévenue ; réessayez dans quelques instants."
)
# Last resort when even the 500 template cannot be rendered (a missing static manifest…).
BARE_500 = (
    '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
    "<title>Erreur du serveur — parcours</title></head><body><main>"
    f"<h1>Erreur du serveur</h1><p>{SERVER_ERROR}</p>"
    '<p><a href="/">Retour à l\'accueil</a></p></main></body></html>'
)
BARE_503 = (
    '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
    "<title>Service indisponible — parcours</title></head><body><main>"
    f"<h1>Service momentanément indisponible</h1><p>{DATABASE_UNAVAILABLE}</p>"
    '<p><a href="/">Retour à l\'accueil</a></p></main></body></html>'
)
NOT_FOUND = "Non trouvé."  # the API's own 404 (rest_framework.exceptions.NotFound, in French)
CSRF_FAILED = (
    "Le formulaire a expiré (session terminée, ou page restée ouverte trop longtemps) : rien "
    "n'a été enregistré. Revenez à la page précédente — ce que vous avez saisi y est en général "
    "encore —, rechargez-la, puis envoyez de nouveau le formulaire."
)


# Seconds the client is told to wait before retrying after a 503 (as the API's handler says).
RETRY_AFTER_SECONDS = 5


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500. Renders without the request's context: whatever broke (the database, a
    context processor, the session) must not break the error page too. Django calls it inside
    its `except` block: sys.exc_info() is the error being answered."""
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return _database_unavailable(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": SERVER_ERROR, "code": "server_error"}, status=500)
    try:
        body = loader.get_template("500.html").render({"message": SERVER_ERROR})
    except Exception:  # the page that says something broke must itself never fail
        logger.exception("the 500 page could not be rendered")
        body = BARE_500
    return HttpResponse(body, status=500, content_type="text/html; charset=utf-8")


def _database_unavailable(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"detail": DATABASE_UNAVAILABLE, "code": "service_unavailable"}, status=503
        )
    else:
        try:
            body = loader.get_template("503.html").render({"message": DATABASE_UNAVAILABLE})
        except Exception:  # as for the 500 page: never fail while saying something failed
            logger.exception("the 503 page could not be rendered")
            body = BARE_503
        response = HttpResponse(body, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404. A URL under /api/ that no route matches (`/api/v1/persons/1.5/`: the
    routers' ids exclude dots) answers the API's JSON 404, as its views do, not a page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": NOT_FOUND}, status=404)
    return defaults.page_not_found(request, exception)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler403: a PermissionDenied raised anywhere (its text may be Django's, in English: not
    shown). The gate's refusals have their own page with the table's French reason."""
    return _forbidden(request, "Vous n'avez pas accès à cette page.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form posted without its valid token (expired session, old tab)."""
    return _forbidden(request, CSRF_FAILED, title="Formulaire expiré")


def _forbidden(request: HttpRequest, message: str, *, title: str = "Accès refusé") -> HttpResponse:
    try:
        response = TemplateResponse(
            request, "403.html", {"message": message, "title": title}, status=403
        )
        return response.render()
    except Exception:
        logger.exception("the 403 page could not be rendered")
        return HttpResponseForbidden(message, content_type="text/plain; charset=utf-8")
