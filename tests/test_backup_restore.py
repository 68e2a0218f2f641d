"""The backup and restore runbook (docs/operations.md, « Backup and restore »), run for real
(issue 16): a database holding encrypted records and a sealed, checkpointed journal is dumped
with pg_dump, restored with pg_restore into a new database, and the restored one is checked as
the runbook says — the key canaries pass with the kept keys (and refuse others, naming them), the
journal's chain verifies and matches the checkpoint kept outside, records decrypt."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from parcours.models import AccessEvent
from tests.factories import PersonFactory, valid_nir
from tests.processes import database_url

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[1]


def _postgres_args() -> list[str]:
    db = connection.settings_dict
    return ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"]]


def _manage(url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "backend.settings.test"}
        | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def restored_database():
    name = f"parcours_restore_{uuid.uuid4().hex[:10]}"
    subprocess.run(["createdb", *_postgres_args(), name], check=True)
    yield name
    subprocess.run(["dropdb", *_postgres_args(), "--if-exists", "--force", name], check=True)


def test_a_dump_restored_elsewhere_verifies_its_journal_and_decrypts_its_records(
    restored_database, tmp_path
):
    nir = valid_nir(4242)
    person = PersonFactory(first_name="Léa", last_name="Martin", nir=nir)
    from parcours.gate.journal import journal_record

    for _ in range(3):
        journal_record(actor=None, operation="report", object_type="person", object_id=person.pk)
    call_command("journal_seal")
    assert not AccessEvent.objects.filter(chain_seq__isnull=True).exists()
    key = tmp_path / "journal-signing.pem"
    call_command("journal_checkpoint", generate_key=str(key))
    checkpoint = tmp_path / "checkpoint.json"
    call_command("journal_checkpoint", key=str(key), out=str(checkpoint))
    check = _manage(database_url(), "check", "--database", "default")
    assert check.returncode == 0, check.stderr  # the canary is written (post_migrate, check)

    # The runbook: dump, then restore into an empty database.
    dump = tmp_path / "parcours.dump"
    subprocess.run(
        ["pg_dump", *_postgres_args(), "--format=custom", "--file", str(dump),
         connection.settings_dict["NAME"]],
        check=True,
    )  # fmt: skip
    subprocess.run(
        ["pg_restore", *_postgres_args(), "--no-owner", "--no-privileges", "--exit-on-error",
         "--dbname", restored_database, str(dump)],
        check=True,
    )  # fmt: skip
    url = database_url().rsplit("/", 1)[0] + f"/{restored_database}"

    # With the kept keys: the canaries pass, the chain verifies, the checkpoint matches.
    assert _manage(url, "check", "--database", "default").returncode == 0
    verified = _manage(url, "journal_verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("Journal intègre : 3 lignes vérifiées"), verified.stdout
    matched = _manage(
        url, "journal_checkpoint", "--verify", str(checkpoint), "--public-key", f"{key}.pub"
    )
    assert matched.returncode == 0, matched.stdout + matched.stderr
    read = _manage(
        url,
        "shell",
        "-c",
        f"from parcours.models import Person; p = Person.objects.get(pk={person.pk}); "
        "print(p.first_name, p.last_name, p.nir)",
    )
    assert read.stdout.strip().splitlines()[-1].split() == ["Léa", "Martin", nir], read.stderr

    # With another key (lost, or another deployment's), the restored database refuses to start.
    from cryptography.fernet import Fernet

    wrong = _manage(
        url, "check", "--database", "default", FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode()
    )
    assert wrong.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in wrong.stderr + wrong.stdout
