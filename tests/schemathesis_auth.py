"""How a partner system authenticates to the API, for the tests that call it over HTTP
(tests/api/test_schemathesis.py).

Every detail of the credential lives in `api_headers`: when the API's tokens change kind, only
this function's body changes."""

from parcours.models import Membership


def api_headers(user, organisation) -> dict[str, str]:
    """The headers of a request made by `user`'s partner system, acting for `organisation`: a
    partner-system token with every scope (parcours/api_scopes.py) and a rate no run reaches —
    what it may do is then the account's role's, which is what the contract run explores."""
    from .factories import api_token_for

    membership = Membership.objects.get(user=user, organisation=organisation)
    _token, secret = api_token_for(membership, requests_per_minute=100_000, days=1)
    return {
        "Authorization": f"Token {secret}",
        "X-Parcours-Organisation": str(organisation.pk),
    }
