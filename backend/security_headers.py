"""Response headers Django has no setting for (docs/security.md, "Headers"): Permissions-Policy,
and the ProConnect provider allowed as a form's destination when it is configured.

Content-Security-Policy comes from django-csp (`CONTENT_SECURITY_POLICY`); Referrer-Policy,
X-Content-Type-Options and HSTS from Django's SecurityMiddleware.
"""

from urllib.parse import urlsplit

from django.conf import settings


def proconnect_origin() -> str | None:
    """The ProConnect provider's origin when sign-in through it is configured: the sign-in button
    and the logout button post forms whose answer redirects there (`form-action` covers the
    redirects that follow a form post)."""
    if not (settings.PROCONNECT_CLIENT_ID and settings.PROCONNECT_ISSUER):
        return None
    parts = urlsplit(settings.PROCONNECT_ISSUER)
    return f"{parts.scheme}://{parts.netloc}"


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        origin = proconnect_origin()
        if origin:
            # Read by django-csp's middleware, which answers after this one.
            update = dict(getattr(response, "_csp_update", None) or {})
            update["form-action"] = [*update.get("form-action", []), origin]
            response._csp_update = update
        policy = settings.PARCOURS_PERMISSIONS_POLICY
        if policy:
            response.headers.setdefault("Permissions-Policy", policy)
        return response
