"""No English and no codes in front of users (issue 13): every page and document a demo user
reaches, and every e-mail the demo's alerts produce, is read as a person would read it, and
fails on a raw value of a choice (``appointment_set``, ``health``), a basis code
(``legal:owner``, ``consent:12``), an English record word (``person n°204``) or an English status
in parentheses.

The pages are found as a user finds them: from the home page, following the links of each page
(a few records of each kind, not all 200 people), as one demo user of each role; the person
search is posted. Documents (PDF, CSV, ZIP) are followed like pages and read as text.
"""

import csv
import io
import re
import zipfile
from collections import Counter
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from pypdf import PdfReader

from notifications.mail import build_email
from notifications.models import OutboxMessage
from notifications.services.alerts import alerts_scan
from notifications.services.digest import digests_compose
from parcours import access
from parcours.actor import actor_for
from parcours.models import Role

pytestmark = pytest.mark.django_db

# One demo user of each role and kind of organisation (parcours/management/commands/seed_demo.py).
USERS = [
    "ft.conseiller",
    "ft.responsable",
    "ft.dpo",
    "cd.social",
    "ml.conseiller",
    "siae.conseiller",
    "dpo.national",
    "coord.territoire",
    "admin",
]
DPO_ROLES = {Role.DPO, Role.NATIONAL_DPO}
# How many pages of one URL pattern the crawl visits per user (person pages, referrals…).
PER_PATTERN = 4
MAX_PAGES = 120
# Never followed: they act (log out) or leave the pages.
SKIP = {"logout"}
# Words that are both a code and ordinary French (a label reads the same): not a leak.
FRENCH_WORDS_TOO = {"social", "transport", "mobilité", "logement", "formation", "email", "mail"}

BASIS_CODE = re.compile(r"\b(?:legal|consent|referral|agreement|break_glass|care_team):[\w-]+")
ENGLISH_RECORD = re.compile(r"\b(?:person|pathway|referral|consent|user)\s+n°", re.IGNORECASE)


def raw_codes() -> set[str]:
    """Every stored value of a field with choices whose French label differs from it, minus the
    values that are also ordinary French words of some label."""
    codes: set[str] = set()
    label_words: set[str] = set()
    for model in apps.get_models():
        if model._meta.app_label not in {"parcours", "notifications"}:
            continue
        for field in model._meta.get_fields():
            for value, label in getattr(field, "flatchoices", None) or ():
                if isinstance(value, str) and value and str(label) != value:
                    codes.add(value)
                label_words.update(re.findall(r"[\w'-]+", str(label).lower()))
    return {c for c in codes if c not in label_words and c not in FRENCH_WORDS_TOO}


class _Text(HTMLParser):
    """What a person reads: text outside scripts and styles, and the attributes that are read
    out (title, aria-label, placeholder, alt) — not option values or ids."""

    READ_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt"}

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style"}:
            self._hidden += 1
        for name, value in attrs:
            if name in self.READ_ATTRIBUTES and value:
                self.parts.append(value)
            if tag == "a" and name == "href" and value:
                self.links.append(value)

    def handle_endtag(self, tag):
        if tag in {"script", "style"} and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def leaks(text: str, codes: set[str]) -> list[str]:
    found = set(BASIS_CODE.findall(text)) | set(ENGLISH_RECORD.findall(text))
    # A dotted or @ word is an address or a username ("siae.conseiller"): data, not a code.
    found |= {word for word in re.findall(r"(?<![\w.@])[\w:]+(?![\w.@])", text) if word in codes}
    return sorted(found)


def document_text(response) -> str:
    content_type = response.get("Content-Type", "")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if "pdf" in content_type:
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    if "csv" in content_type:
        rows = csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";")
        return "\n".join(" ".join(row) for row in rows)
    if "zip" in content_type:
        parts = []
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            for name in archive.namelist():
                data = archive.read(name)
                if name.endswith(".pdf"):
                    parts.extend(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
                elif name.endswith((".csv", ".txt", ".md")):
                    parts.append(data.decode("utf-8-sig"))
        return "\n".join(parts)
    return ""


def crawl(
    client: Client, codes: set[str], start: list[str]
) -> tuple[dict[str, list[str]], Counter]:
    """Follow the links from the start pages (and redirects); answer {url: leaks} and the pages
    seen per kind."""
    found: dict[str, list[str]] = {}
    per_pattern: Counter = Counter()
    queue = list(start)
    per_pattern.update(resolve(urlparse(url).path).url_name for url in start)
    seen = set(queue)
    visited = 0
    while queue and visited < MAX_PAGES:
        url = queue.pop(0)
        response = client.get(url)
        visited += 1
        assert response.status_code < 500, f"{url} answered {response.status_code}"
        if response.status_code in {301, 302} and response["Location"] not in seen:
            seen.add(response["Location"])
            queue.append(response["Location"])
        if response.status_code != 200:
            continue
        if "html" not in response.get("Content-Type", ""):
            per_pattern["document"] += 1
            text = document_text(response)
            assert text.strip(), f"{url}: a document without text"
            if bad := leaks(text, codes):
                found[url] = bad
            continue
        parser = _Text()
        parser.feed(response.content.decode())
        if bad := leaks(" ".join(parser.parts), codes):
            found[url] = bad
        for link in parser.links:
            target = urldefrag(urljoin(url, link)).url
            if not target.startswith("/") or urlparse(target).path.startswith(("/admin", "/api")):
                continue
            try:
                match = resolve(urlparse(target).path)
            except Resolver404:
                continue
            name = (match.url_name or "") + (" (export)" if "export=" in target else "")
            if target in seen or name in SKIP or per_pattern[name] >= PER_PATTERN:
                continue
            per_pattern[name] += 1
            seen.add(target)
            queue.append(target)
    return found, per_pattern


def start_pages(user) -> list[str]:
    """The home page; for a DPO also a few people's reports, which a DPO reaches by looking a
    person up (a form), not by a link."""
    start = ["/"]
    actor = actor_for(user)
    if actor.role in DPO_ROLES:
        people = access.persons_reportable_by(actor).order_by("pk")
        start += [
            reverse("web:dpo-person-report", args=[pk])
            for pk in people[:3].values_list("pk", flat=True)
        ]
    return start


@pytest.fixture
def demo(django_user_model):
    call_command("seed_demo", verbosity=0)
    return {u.username: u for u in django_user_model.objects.filter(username__in=USERS)}


def test_the_demo_journeys_show_no_raw_code(demo, django_user_model):
    codes = raw_codes()
    assert {"appointment_set", "no_show", "health"} <= codes  # the detector knows the codes
    usernames = set(django_user_model.objects.values_list("username", flat=True))
    found: dict[str, dict[str, list[str]]] = {}
    kinds: Counter = Counter()
    for username in USERS:
        client = Client()
        client.force_login(demo[username])
        leaked, seen = crawl(client, codes, start_pages(demo[username]))
        kinds.update(seen)
        # The person search is posted (names never travel in a URL).
        response = client.post("/personnes/", {"last_name": "M"})
        parser = _Text()
        parser.feed(response.content.decode())
        if bad := leaks(" ".join(parser.parts), codes):
            leaked["/personnes/ (recherche)"] = bad
        # Usernames are what people typed ("admin" is one), shown as such on the DPO's pages.
        leaked = {
            url: bad
            for url, words in leaked.items()
            if (bad := [w for w in words if w not in usernames])
        }
        if leaked:
            found[username] = leaked
    assert not found, f"raw codes in front of users: {found}"
    # The crawl did reach the records, not only the home pages.
    for kind in ("person-detail", "referral-detail", "inbox", "alerts", "dpo-person-report"):
        assert kinds[kind], f"the crawl never reached {kind}: {dict(kinds)}"
    assert kinds["document"] >= 5, f"the crawl read too few documents: {dict(kinds)}"


def test_the_demo_e_mails_show_no_raw_code(demo):
    codes = raw_codes()
    now = timezone.now()
    alerts_scan(now=now)
    digests_compose(now=now)
    messages = list(OutboxMessage.objects.all())
    assert messages, "the demo raises alerts: its e-mails are read here"
    found = {}
    for message in messages:
        email = build_email(message)  # what the relay sends
        if email is None:
            continue
        html = _Text()
        html.feed("".join(str(content) for content, _type in email.alternatives))
        text = f"{email.subject}\n{email.body}\n{' '.join(html.parts)}"
        if bad := leaks(text, codes):
            found[message.pk] = bad
    assert not found, f"raw codes in e-mails: {found}"
