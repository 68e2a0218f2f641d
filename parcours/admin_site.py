"""Django's admin site, for staff who passed their second factor (docs/security.md).

Staff sign in on the admin's own login page or on the pages' (both refuse a locked-out account,
django-axes); the second factor is then asked on the pages' « Vérification en deux étapes »
(web.middleware.SecondFactorMiddleware sends an account that has not typed its code there before
anything else). The site itself also refuses a session that has not passed it, whatever the way
in: a staff member's password alone never opens the admin.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class ParcoursAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        verified = getattr(request.user, "is_verified", None)  # django_otp's middleware sets it
        return super().has_permission(request) and callable(verified) and bool(verified())


class ParcoursAdminConfig(AdminConfig):
    default_site = "parcours.admin_site.ParcoursAdminSite"
