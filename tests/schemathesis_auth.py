"""How a partner system authenticates to the API, for the tests that call it over HTTP
(tests/api/test_schemathesis.py).

Every detail of the credential lives in `api_headers`: when the API's tokens change kind, only
this function's body changes."""

from rest_framework.authtoken.models import Token


def api_headers(user, organisation) -> dict[str, str]:
    """The headers of a request made by `user`'s partner system, acting for `organisation`:
    a DRF token (made if the account has none) and the acting organisation."""
    token, _ = Token.objects.get_or_create(user=user)
    return {
        "Authorization": f"Token {token.key}",
        "X-Parcours-Organisation": str(organisation.pk),
    }
