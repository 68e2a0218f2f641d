"""Template context shared by every page."""

from django.http import HttpRequest


def csp_nonce(request: HttpRequest) -> dict[str, str]:
    """The response's Content-Security-Policy nonce, generated now (docs/security.md).

    django-csp makes `request.csp_nonce` lazily and names it in the header only once read;
    django-dsfr's `dsfr_js` asks `{% if nonce %}` first, which a nonce not yet read answers
    False: the DSFR's script tags then went out without it, and the header had none. Every page
    now has one, which an inline script or style must carry (`nonce="{{ csp_nonce }}"`)."""
    nonce = getattr(request, "csp_nonce", None)
    return {"csp_nonce": str(nonce)} if nonce is not None else {}
