"""The compose stack connects with the right database roles (no Docker engine here, so the file
is read, not run): migrations as the owner, everything else as the application's role, the
roles created by the init script, the journal's signing key on the worker only."""

from pathlib import Path

import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "beat")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def database_user(service: dict) -> str:
    url = service["environment"]["DATABASE_URL"]
    return url.removeprefix("postgres://").split(":", 1)[0]


def test_app_services_connect_as_the_app_role_and_migrate_as_the_owner():
    services = compose()["services"]
    for name in APP_SERVICES:
        assert database_user(services[name]) == settings.PARCOURS_DB_APP_ROLE, name
    migrate = services["migrate"]
    assert database_user(migrate) == "parcours_owner"
    command = " ".join(migrate["command"])
    assert "migrate --no-input && python manage.py db_grant_app_role" in command


def test_the_init_script_creates_both_roles_without_superuser():
    services = compose()["services"]
    assert (
        "./docker/postgres-init:/docker-entrypoint-initdb.d:ro" in services["postgres"]["volumes"]
    )
    script = (ROOT / "docker/postgres-init/10-parcours-roles.sh").read_text()
    for role in ("parcours_owner", settings.PARCOURS_DB_APP_ROLE):
        assert f"CREATE ROLE {role} LOGIN NOSUPERUSER" in script
    assert "OWNER TO parcours_owner" in script
    example = (ROOT / ".env.example").read_text()
    assert "PARCOURS_DB_OWNER_PASSWORD=" in example and "PARCOURS_DB_APP_PASSWORD=" in example


def test_only_the_worker_holds_the_signing_key():
    services = compose()["services"]
    holders = {
        name
        for name, service in services.items()
        if "JOURNAL_SIGNING_KEY_FILE" in (service.get("environment") or {})
    }
    assert holders == {"worker"}
    assert any(volume.endswith(":ro") for volume in services["worker"]["volumes"])
