"""Response headers Django has no setting for (docs/security.md, "Headers"): Permissions-Policy.

Content-Security-Policy comes from django-csp (`CONTENT_SECURITY_POLICY`); Referrer-Policy,
X-Content-Type-Options and HSTS from Django's SecurityMiddleware.
"""

from django.conf import settings


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.PARCOURS_PERMISSIONS_POLICY
        if policy:
            response.headers.setdefault("Permissions-Policy", policy)
        return response
