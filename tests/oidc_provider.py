"""A real OpenID provider on loopback standing in for ProConnect (tools/oidc-provider: the
certified `oidc-provider` package on Node.js), started and stopped by the tests, and a small
"browser" that walks its pages over real HTTP.

Nothing is mocked: parcours' Authlib client fetches the provider's discovery document, keys,
tokens and signed userinfo from the running process.
"""

import json
import re
import secrets
import shutil
import subprocess
import tempfile
import urllib.request
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import requests

from .processes import free_port, stop, wait_until

PROVIDER_DIR = Path(__file__).resolve().parents[1] / "tools" / "oidc-provider"
CALLBACK_PATH = "/connexion/proconnect/retour/"
LOGGED_OUT_PATH = "/deconnexion/proconnect/retour/"
# The same provider standing in for FranceConnect (OIDC_FLAVOUR=franceconnect): the persons'
# sign-in to their own space (issue 19), with FranceConnect's pivot identity.
FRANCECONNECT_CALLBACK_PATH = "/mon-parcours/connexion/franceconnect/retour/"
FRANCECONNECT_LOGGED_OUT_PATH = "/mon-parcours/deconnexion/franceconnect/retour/"


@dataclass
class Agent:
    """A demo account at the provider: its login form's credentials and the claims it releases."""

    login: str
    siret: str
    email: str
    given_name: str = "Camille"
    usual_name: str = "Durand"
    password: str = "mot-de-passe-fi"
    sub: str = field(default_factory=lambda: secrets.token_hex(16))
    uid: str = field(default_factory=lambda: secrets.token_hex(4))
    idp_id: str = "fia-local"

    def as_account(self) -> dict:
        return {
            "login": self.login,
            "password": self.password,
            "sub": self.sub,
            "claims": {
                "email": self.email,
                "given_name": self.given_name,
                "usual_name": self.usual_name,
                "siret": self.siret,
                "uid": self.uid,
                "idp_id": self.idp_id,
            },
        }


@dataclass
class Citizen:
    """A FranceConnect account at the provider: its pivot identity (as FranceConnect releases
    it: all first names, the birth name, the birth date, the INSEE code of the birthplace)."""

    login: str
    given_name: str
    family_name: str
    birthdate: str
    email: str = ""
    preferred_username: str = ""
    gender: str = "female"
    birthplace: str = "62498"
    birthcountry: str = "99100"
    password: str = "mot-de-passe-fc"
    sub: str = field(default_factory=lambda: secrets.token_hex(32))

    def as_account(self) -> dict:
        claims = {
            "given_name": self.given_name,
            "family_name": self.family_name,
            "birthdate": self.birthdate,
            "gender": self.gender,
            "birthplace": self.birthplace,
            "birthcountry": self.birthcountry,
            "email": self.email,
            "preferred_username": self.preferred_username,
        }
        return {"login": self.login, "password": self.password, "sub": self.sub, "claims": claims}


class LocalOidcProvider:
    """`oidc-provider` on a free port of 127.0.0.1, with one client (parcours at `base_url`):
    ProConnect's by default, FranceConnect's with `flavour="franceconnect"`."""

    def __init__(
        self, *, base_url: str, agents: list[Agent] | list[Citizen], flavour: str = "proconnect"
    ) -> None:
        self.port = free_port()
        self.base_url = base_url.rstrip("/")
        self.agents = agents
        self.flavour = flavour
        self.client_id = "parcours-test"
        self.client_secret = secrets.token_urlsafe(24)
        self.process: subprocess.Popen | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="oidc-provider-"))

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self) -> dict:
        """The parcours settings that point at this provider."""
        if self.flavour == "franceconnect":
            return {
                "FRANCECONNECT_CLIENT_ID": self.client_id,
                "FRANCECONNECT_CLIENT_SECRET": self.client_secret,
                "FRANCECONNECT_ISSUER": self.issuer,
                "PARCOURS_PUBLIC_URL": self.base_url,
            }
        return {
            "PROCONNECT_CLIENT_ID": self.client_id,
            "PROCONNECT_CLIENT_SECRET": self.client_secret,
            "PROCONNECT_ISSUER": self.issuer,
            "PARCOURS_PUBLIC_URL": self.base_url,
        }

    def start(self) -> "LocalOidcProvider":
        node = shutil.which("node")
        if node is None or not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError(
                "Le fournisseur ProConnect local n'est pas installé : lancez bin/test (ou, dans "
                "tools/oidc-provider, `npm ci`) avec Node.js 20.19 ou plus récent."
            )
        callback, logged_out = (
            (FRANCECONNECT_CALLBACK_PATH, FRANCECONNECT_LOGGED_OUT_PATH)
            if self.flavour == "franceconnect"
            else (CALLBACK_PATH, LOGGED_OUT_PATH)
        )
        accounts = self._dir / "accounts.json"
        accounts.write_text(json.dumps([agent.as_account() for agent in self.agents]))
        self.log_path = self._dir / "provider.log"
        env = {
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "OIDC_PORT": str(self.port),
            "OIDC_CLIENT_ID": self.client_id,
            "OIDC_CLIENT_SECRET": self.client_secret,
            "OIDC_REDIRECT_URIS": self.base_url + callback,
            "OIDC_POST_LOGOUT_REDIRECT_URIS": self.base_url + logged_out,
            "OIDC_FLAVOUR": self.flavour,
            "OIDC_ACCOUNTS_FILE": str(accounts),
            "NODE_ENV": "test",
        }

        def answers() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"oidc-provider exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                url = self.issuer + "/.well-known/openid-configuration"
                with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (loopback)
                    return response.status == 200
            except OSError:
                return False

        # A node process that never opened its port was seen once on a clean clone (alive,
        # no listening socket, nothing logged): it is stopped — never left running — and one
        # new process is started; a second hang fails the test.
        for attempt in (1, 2):
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    [node, "provider.mjs"], cwd=PROVIDER_DIR, env=env, stdout=log, stderr=log
                )
            try:
                wait_until(answers, timeout=30, what="the local OpenID provider")
                return self
            except AssertionError:
                stop(self.process)
                self.process = None
                if attempt == 2:
                    raise
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None
        shutil.rmtree(self._dir, ignore_errors=True)


FORM = re.compile(r"<form[^>]*action=\"([^\"]+)\"[^>]*>(.*?)</form>", re.S)
HIDDEN = re.compile(r"<input[^>]*type=\"hidden\"[^>]*name=\"([^\"]+)\"[^>]*value=\"([^\"]*)\"")


class ProviderBrowser:
    """The agent's browser at the provider: real HTTP, cookies kept (the provider's session).
    Redirects are followed at the provider and stop at the first one back to parcours, which
    the test hands to Django's test client."""

    def __init__(self, provider: LocalOidcProvider) -> None:
        self.provider = provider
        self.session = requests.Session()
        self.page = ""

    def _follow(self, response: requests.Response) -> str | None:
        """Follow the provider's redirects; the URL back to parcours, or None on a page."""
        self.page = ""
        for _ in range(20):
            if response.status_code not in (301, 302, 303, 307, 308):
                self.page = response.text
                return None
            location = urljoin(response.url, response.headers["location"])
            if not location.startswith(self.provider.issuer):
                return location
            response = self.session.get(location, allow_redirects=False, timeout=10)
        raise AssertionError("too many redirects at the provider")

    def open(self, url: str) -> str | None:
        return self._follow(self.session.get(url, allow_redirects=False, timeout=10))

    @property
    def shows_login_form(self) -> bool:
        return 'name="password"' in self.page

    def sign_in(self, agent: Agent | Citizen, *, password: str | None = None) -> str | None:
        """Fill the provider's login form; the URL back to parcours (or None: a page again)."""
        action = FORM.search(self.page)
        assert action and self.shows_login_form, self.page[:500]
        response = self.session.post(
            urljoin(self.provider.issuer, unescape(action.group(1))),
            data={"login": agent.login, "password": password or agent.password},
            allow_redirects=False,
            timeout=10,
        )
        return self._follow(response)

    def confirm_logout(self) -> str | None:
        """The provider's logout page submits its form by itself (script); submitted here."""
        match = FORM.search(self.page)
        assert match, self.page[:500]
        data = {unescape(k): unescape(v) for k, v in HIDDEN.findall(match.group(2))}
        response = self.session.post(
            urljoin(self.provider.issuer, unescape(match.group(1))),
            data=data,
            allow_redirects=False,
            timeout=10,
        )
        return self._follow(response)
