"""Response headers Django has no setting for (docs/security.md, "Headers"): Permissions-Policy,
and the ProConnect and FranceConnect providers allowed as a form's destination when they are
configured.

Content-Security-Policy comes from django-csp (`CONTENT_SECURITY_POLICY`); Referrer-Policy,
X-Content-Type-Options and HSTS from Django's SecurityMiddleware.
"""

from urllib.parse import urlsplit

from django.conf import settings


def _origin(client_id: str, issuer: str) -> str | None:
    if not (client_id and issuer):
        return None
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}"


def proconnect_origin() -> str | None:
    """The ProConnect provider's origin when sign-in through it is configured: the sign-in button
    and the logout button post forms whose answer redirects there (`form-action` covers the
    redirects that follow a form post)."""
    return _origin(settings.PROCONNECT_CLIENT_ID, settings.PROCONNECT_ISSUER)


def franceconnect_origin() -> str | None:
    """The same for FranceConnect (the person's space, issue 19): its sign-in button and
    « Fermer mon espace » post forms whose answer redirects there."""
    return _origin(settings.FRANCECONNECT_CLIENT_ID, settings.FRANCECONNECT_ISSUER)


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        origins = [o for o in (proconnect_origin(), franceconnect_origin()) if o]
        if origins:
            # Read by django-csp's middleware, which answers after this one.
            update = dict(getattr(response, "_csp_update", None) or {})
            update["form-action"] = [*update.get("form-action", []), *dict.fromkeys(origins)]
            response._csp_update = update
        policy = settings.PARCOURS_PERMISSIONS_POLICY
        if policy:
            response.headers.setdefault("Permissions-Policy", policy)
        return response
