"""The footer's mandatory pages (accessibilité, mentions légales, données personnelles): public,
read by anyone, logged in or not; what each deployment must say comes from its settings."""

from django.conf import settings
from django.shortcuts import render

from parcours.selectors.retention import retention_rules_in_force

# RGAA's three statuses, as the footer and the declaration must word them.
ACCESSIBILITY_STATUSES = {
    "non": "non conforme",
    "partiellement": "partiellement conforme",
    "totalement": "totalement conforme",
}


def accessibility_status() -> str:
    return ACCESSIBILITY_STATUSES.get(settings.PARCOURS_ACCESSIBILITY_STATUS, "non conforme")


def _operator() -> dict[str, str]:
    return {
        "name": settings.PARCOURS_OPERATOR_NAME,
        "address": settings.PARCOURS_OPERATOR_ADDRESS,
        "director": settings.PARCOURS_PUBLICATION_DIRECTOR,
        "host": settings.PARCOURS_HOST,
        "dpo": settings.PARCOURS_DPO_CONTACT,
    }


def accessibility(request):
    return render(
        request,
        "web/information/accessibility.html",
        {"status": accessibility_status(), "operator": _operator()},
    )


def legal_notice(request):
    return render(request, "web/information/legal_notice.html", {"operator": _operator()})


def personal_data(request):
    return render(
        request,
        "web/information/personal_data.html",
        {"operator": _operator(), "retention": retention_rules_in_force()},
    )
